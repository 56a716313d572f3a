/**
 * `FsRepositoryStorage`: the embedded default {@link RepositoryStorage}, a directory on the local
 * filesystem laid out as a static web root (`metadata/`, `targets/`; `.tufota/` for the
 * repository's bookkeeping, which need not be served).
 *
 * Every write goes through a temporary file in the destination directory, fsync, rename, fsync of
 * the directory (as `atomic-file.ts` does), so a crash leaves the old file or the new one, never
 * a torn one. Paths are validated before they are joined onto the root: absolute paths, `..`
 * and `.` segments, empty segments, backslashes and control characters are refused with
 * {@link UnsafePathError}, so no caller input can write outside the root.
 *
 * Files that must never change content once published (versioned metadata, hash-named targets)
 * are created with {@link FsRepositoryStorage.createFile}: temporary file, fsync, then a hard link
 * to the final name, which fails atomically when the name exists. A target's second hash name is
 * a hard link to the first ({@link FsRepositoryStorage.link}), not a second copy.
 *
 * Does not implement locking (the CLI takes `storage/repository-lock.ts` around every mutating
 * command), or following symbolic links safely inside the root (the repository owns its
 * directory; do not place links to elsewhere in it).
 *
 * Safe for concurrent use on different paths; concurrent writes of one path each leave a complete
 * file and the last rename wins.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { StorageError, UnsafePathError } from '../errors.js';
import type { RepositoryStorage, StorageData } from '../repository/storage.js';
import { fsyncDirectory, TEMP_PREFIX } from './atomic-file.js';

/** Longest relative path accepted, in UTF-16 code units. */
const MAX_PATH_LENGTH = 4096;

/**
 * Why a storage path is unsafe, or `undefined` when it is a plain relative path.
 */
function unsafeReason(relative: string): string | undefined {
  if (typeof relative !== 'string' || relative.length === 0) return 'it is empty';
  if (relative.length > MAX_PATH_LENGTH) return `it is longer than ${MAX_PATH_LENGTH} characters`;
  if (relative.startsWith('/')) return 'it is absolute';
  if (relative.includes('\\')) return 'it contains a backslash';
  if (/[\u0000-\u001f\u007f]/.test(relative)) return 'it contains a control character';
  for (const segment of relative.split('/')) {
    if (segment === '' || segment === '.' || segment === '..')
      return `it contains a "${segment}" segment`;
  }
  return undefined;
}

/**
 * A repository in a local directory.
 *
 * @example
 * ```ts
 * import { FsRepositoryStorage } from 'tufota/repository';
 * const storage = await FsRepositoryStorage.open('/srv/tuf');
 * const repo = await Repository.open(storage, { signers });
 * ```
 */
export class FsRepositoryStorage implements RepositoryStorage {
  /** The absolute root directory. */
  readonly root: string;

  private constructor(root: string) {
    this.root = root;
  }

  /** Use directory `root` (created if missing). */
  static async open(root: string): Promise<FsRepositoryStorage> {
    const absolute = path.resolve(root);
    try {
      await fs.mkdir(absolute, { recursive: true });
    } catch (error) {
      throw new StorageError(
        `cannot create repository directory ${absolute}: ${(error as Error).message}`,
        {
          cause: error,
          filePath: absolute,
        },
      );
    }
    return new FsRepositoryStorage(absolute);
  }

  /** The absolute path of `relative`, after refusing unsafe paths. */
  resolve(relative: string): string {
    const reason = unsafeReason(relative);
    if (reason !== undefined) {
      throw new UnsafePathError(
        `repository path ${JSON.stringify(String(relative).slice(0, 200))} is refused because ${reason}`,
        { path: String(relative).slice(0, 200) },
      );
    }
    return path.join(this.root, ...relative.split('/'));
  }

  async readFile(
    relative: string,
    options: { maxLength?: number } = {},
  ): Promise<Uint8Array | undefined> {
    const file = this.resolve(relative);
    let handle: fs.FileHandle | undefined;
    try {
      handle = await fs.open(file, 'r');
      const stats = await handle.stat();
      if (!stats.isFile()) return undefined;
      if (options.maxLength !== undefined && stats.size > options.maxLength) {
        throw new StorageError(
          `${relative} is ${stats.size} bytes, more than the ${options.maxLength} allowed`,
          {
            filePath: file,
          },
        );
      }
      const data = await handle.readFile();
      return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    } catch (error) {
      if (error instanceof StorageError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw new StorageError(`cannot read ${file}: ${(error as Error).message}`, {
        cause: error,
        filePath: file,
      });
    } finally {
      await handle?.close().catch(() => {});
    }
  }

  async writeFile(relative: string, data: StorageData): Promise<void> {
    const file = this.resolve(relative);
    await placeDurably(file, data, 'write', async (tmp) => {
      await fs.rename(tmp, file);
      await fsyncDirectory(path.dirname(file));
    });
  }

  async createFile(relative: string, data: StorageData): Promise<boolean> {
    const file = this.resolve(relative);
    // Checked before writing: a published name that exists is never rewritten (nor re-sent).
    if (await this.exists(relative)) return false;
    return placeDurably(file, data, 'create', async (tmp) => {
      const created = await linkOrCreate(tmp, file);
      if (created) await fsyncDirectory(path.dirname(file));
      return created;
    });
  }

  async link(from: string, to: string): Promise<boolean> {
    const source = this.resolve(from);
    const destination = this.resolve(to);
    try {
      await fs.mkdir(path.dirname(destination), { recursive: true });
      await fs.link(source, destination);
      await fsyncDirectory(path.dirname(destination));
      return true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return false;
      if (code !== undefined && LINK_UNSUPPORTED.has(code)) {
        // The file system refuses hard links here (FAT, some network mounts): a second copy.
        return this.createFile(to, createReadStream(source));
      }
      throw new StorageError(
        `cannot link ${source} to ${destination}: ${(error as Error).message}`,
        { cause: error, filePath: destination },
      );
    }
  }

  readStream(relative: string): AsyncIterable<Uint8Array> {
    return createReadStream(this.resolve(relative));
  }

  async list(relative: string): Promise<string[]> {
    const dir = this.resolve(relative);
    try {
      return (await fs.readdir(dir)).filter((name) => !name.startsWith(TEMP_PREFIX));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return [];
      throw new StorageError(`cannot list ${dir}: ${(error as Error).message}`, {
        cause: error,
        filePath: dir,
      });
    }
  }

  async remove(relative: string): Promise<void> {
    const file = this.resolve(relative);
    try {
      await fs.rm(file, { force: true });
    } catch (error) {
      throw new StorageError(`cannot remove ${file}: ${(error as Error).message}`, {
        cause: error,
        filePath: file,
      });
    }
  }

  async rename(from: string, to: string): Promise<void> {
    const source = this.resolve(from);
    const destination = this.resolve(to);
    try {
      await fs.mkdir(path.dirname(destination), { recursive: true });
      await fs.rename(source, destination);
      await fsyncDirectory(path.dirname(destination));
      if (path.dirname(source) !== path.dirname(destination))
        await fsyncDirectory(path.dirname(source));
    } catch (error) {
      throw new StorageError(
        `cannot rename ${source} to ${destination}: ${(error as Error).message}`,
        {
          cause: error,
          filePath: destination,
        },
      );
    }
  }

  async copy(from: string, to: string): Promise<void> {
    const source = this.resolve(from);
    this.resolve(to);
    await this.writeFile(to, createReadStream(source));
  }

  async exists(relative: string): Promise<boolean> {
    try {
      return (await fs.stat(this.resolve(relative))).isFile();
    } catch (error) {
      if (error instanceof UnsafePathError) throw error;
      return false;
    }
  }
}

/** Errors meaning "no hard link possible here": copy instead. */
const LINK_UNSUPPORTED = new Set(['EXDEV', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK', 'ENOSYS']);

/**
 * Give the complete temporary file `tmp` the name `file` unless it exists: a hard link (atomic
 * exclusive create); where links are refused, an existence check and a rename (not atomic
 * against a concurrent writer; the repository lock covers that).
 */
async function linkOrCreate(tmp: string, file: string): Promise<boolean> {
  try {
    await fs.link(tmp, file);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code === undefined || !LINK_UNSUPPORTED.has(code)) throw error;
  }
  const exists = await fs.lstat(file).then(
    () => true,
    () => false,
  );
  if (exists) return false;
  await fs.rename(tmp, file);
  return true;
}

/**
 * A lazily opened stream of a local file, to pass as a target source.
 *
 * @example
 * ```ts
 * await repo.addTarget('firmware/1.2.0.img', openFileSource('./build/fw.img'), { custom });
 * ```
 */
export function openFileSource(filePath: string): AsyncIterable<Uint8Array> {
  return createReadStream(filePath);
}

/**
 * Write `data` to a fresh temporary file beside `file` and fsync it, then let `place` put it in
 * position (rename, or link when the name must not be replaced). The temporary file is always
 * removed; a raw fs failure becomes a {@link StorageError} naming `file`.
 */
async function placeDurably<T>(
  file: string,
  data: StorageData,
  verb: 'write' | 'create',
  place: (tmp: string) => Promise<T>,
): Promise<T> {
  const dir = path.dirname(file);
  const tmp = path.join(
    dir,
    `${TEMP_PREFIX}${path.basename(file)}-${randomBytes(6).toString('hex')}`,
  );
  let handle: fs.FileHandle | undefined;
  try {
    await fs.mkdir(dir, { recursive: true });
    handle = await fs.open(tmp, 'wx', 0o644);
    if (data instanceof Uint8Array) {
      await handle.writeFile(data);
    } else {
      for await (const chunk of data) await handle.write(chunk);
    }
    await handle.sync();
    await handle.close();
    handle = undefined;
    return await place(tmp);
  } catch (error) {
    await handle?.close().catch(() => {});
    if (error instanceof StorageError || !(error as NodeJS.ErrnoException).code) throw error;
    throw new StorageError(`cannot ${verb} ${file}: ${(error as Error).message}`, {
      cause: error,
      filePath: file,
    });
  } finally {
    await fs.rm(tmp, { force: true }).catch(() => {});
  }
}
