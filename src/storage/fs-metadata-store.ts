/**
 * `FsMetadataStore`: the TUF client's metadata cache as one directory of files, one per role,
 * named `<percent-encoded role>.json` exactly as python-tuf names them (`role-names.ts`), so a
 * cache directory is interchangeable with the reference client's.
 *
 * Implements the {@link MetadataStore} contract: writes are atomic, and durable for root,
 * timestamp and snapshot (`writeFileAtomic`: temp file, fsync, rename, fsync directory); targets
 * roles are re-verified on every load, so their writes skip the fsyncs, and small ones use
 * synchronous calls (`writeFileAtomicNonDurableSync`); removals are durable (fsync of
 * the directory, which fast-forward recovery relies on before it persists a new root); reads are
 * capped (a planted or corrupted multi-gigabyte file fails with a `StorageError` instead of
 * exhausting memory). Role names are encoded so that none can leave the directory; a resolved
 * path outside it is refused anyway, as defence in depth. A role name whose encoded file name
 * would not fit a file system's 255-byte name limit (with room for the `.tmp-…` name of an
 * atomic write) is stored as `@<sha256 of the role name>.json` instead: `@` never appears in an
 * encoded name, so the two schemes cannot collide, and delegated roles with long names (signed
 * metadata may use any string) work instead of failing with `ENAMETOOLONG`.
 *
 * Does not implement: verification (the client verifies every byte it loads), locking between
 * processes (run one updater per directory), or cleanup of stale `.tmp-` files left by a crash
 * (harmless: readers never look at them).
 *
 * Safe for concurrent use within one process for different roles; concurrent saves of one role
 * each leave a complete file (the last rename wins).
 *
 * @module
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  constants,
  promises as fs,
  fstatSync,
  lstatSync,
  openSync,
  read,
  readSync,
} from 'node:fs';
import * as path from 'node:path';
import type { MetadataStore } from '../client/metadata-store.js';
import { metadataFileName } from '../client/role-names.js';
import { InvalidStateError, StorageError, UnsafePathError } from '../errors.js';
import { Metadata } from '../models/index.js';
import {
  fsyncDirectory,
  SYNC_WRITE_MAX_LENGTH,
  writeFileAtomic,
  writeFileAtomicNonDurableSync,
} from './atomic-file.js';

/**
 * Longest encoded file name stored as is, in bytes. NAME_MAX is 255 on Linux, macOS and Windows
 * file systems; an atomic write's temporary name adds 18 (`.tmp-`, `-`, 12 hex digits).
 */
export const MAX_METADATA_FILE_NAME_LENGTH = 200;

/** Default cap on one cached file: above every default download cap of the client. */
export const DEFAULT_MAX_CACHED_FILE_LENGTH = 16 * 1024 * 1024;

/** Options of {@link FsMetadataStore}. */
export interface FsMetadataStoreOptions {
  /** Largest file {@link FsMetadataStore.load} reads, in bytes (default 16 MiB). */
  maxLength?: number;
}

/** Options of {@link FsMetadataStore.init}. */
export interface FsMetadataStoreInitOptions extends FsMetadataStoreOptions {
  /**
   * Replace a `root.json` already in the directory. Off by default: re-initializing over a
   * newer trusted root would roll the trust anchor back.
   */
  overwrite?: boolean;
}

/**
 * A directory of cached metadata files.
 *
 * @example
 * ```ts
 * // Once, at provisioning: install the trust anchor shipped with the device image.
 * const store = await FsMetadataStore.init('/var/lib/tufota/metadata', rootBytes);
 * // Every boot: no I/O in the constructor.
 * const updater = await Updater.create({ metadataStore: new FsMetadataStore(dir), … });
 * ```
 */
export class FsMetadataStore implements MetadataStore {
  /** The directory, resolved to an absolute path. */
  readonly dir: string;
  readonly #maxLength: number;

  constructor(dir: string, options: FsMetadataStoreOptions = {}) {
    if (typeof dir !== 'string' || dir.length === 0) {
      throw new InvalidStateError('FsMetadataStore needs a directory path');
    }
    const maxLength = options.maxLength ?? DEFAULT_MAX_CACHED_FILE_LENGTH;
    if (!Number.isSafeInteger(maxLength) || maxLength < 1) {
      throw new InvalidStateError(
        `FsMetadataStore maxLength must be a positive integer, got ${maxLength}`,
      );
    }
    this.dir = path.resolve(dir);
    this.#maxLength = maxLength;
  }

  /**
   * Create `dir` if needed and install `rootBytes` as the trusted root (`root.json`). The bytes
   * must parse as root metadata; their signatures are checked by the client when it loads them.
   *
   * @throws InvalidStateError when `root.json` exists and `overwrite` is not set.
   * @throws FormatError when the bytes are not root metadata.
   * @throws StorageError when the directory or file cannot be written.
   */
  static async init(
    dir: string,
    rootBytes: Uint8Array,
    options: FsMetadataStoreInitOptions = {},
  ): Promise<FsMetadataStore> {
    Metadata.fromBytes(rootBytes, 'root');
    const store = new FsMetadataStore(dir, options);
    try {
      await fs.mkdir(store.dir, { recursive: true, mode: 0o755 });
    } catch (error) {
      throw new StorageError(
        `cannot create metadata directory ${store.dir}: ${(error as Error).message}`,
        {
          cause: error,
          filePath: store.dir,
        },
      );
    }
    if (options.overwrite !== true && (await store.load('root')) !== undefined) {
      throw new InvalidStateError(
        `${store.pathOf('root')} already exists; refusing to replace a trusted root (pass overwrite: true to re-provision)`,
      );
    }
    await store.save('root', rootBytes);
    return store;
  }

  /** The file path of `roleName`'s metadata (see the module notes for long names). */
  pathOf(roleName: string): string {
    const filePath = path.join(this.dir, storedFileName(roleName));
    // Encoded names hold no separator, so this cannot fail; kept as a guard against regressions.
    if (path.dirname(filePath) !== this.dir) {
      throw new UnsafePathError(
        `role name ${JSON.stringify(roleName.slice(0, 100))} would leave ${this.dir}`,
      );
    }
    return filePath;
  }

  /** @inheritDoc MetadataStore.load */
  async load(roleName: string): Promise<Uint8Array | undefined> {
    const filePath = this.pathOf(roleName);
    // A miss (every hash bin of a cold walk) is told by lstat without an exception: a failed
    // open builds an ENOENT error with its stack, 50-70 µs here against 13 for the lstat. A
    // file that disappears between the two is still a miss (ENOENT below).
    if (lstatSync(filePath, { throwIfNoEntry: false }) === undefined) return undefined;
    let fd: number;
    try {
      // Synchronous open: a thread-pool round trip costs more than the system call; small files
      // are read synchronously too (see writeFileAtomicNonDurableSync for the measurements).
      fd = openSync(filePath, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw storageError(`cannot open ${filePath}`, error, filePath);
    }
    try {
      const stats = fstatSync(fd);
      if (!stats.isFile())
        throw new StorageError(`${filePath} is not a regular file`, { filePath });
      if (stats.size > this.#maxLength) {
        throw new StorageError(
          `${filePath} is ${stats.size} bytes, more than the ${this.#maxLength}-byte cap`,
          {
            filePath,
          },
        );
      }
      // Read at most cap + 1 bytes: a file that grew after stat() is still caught.
      const buffer = new Uint8Array(stats.size + 1);
      const sync = stats.size <= SYNC_WRITE_MAX_LENGTH;
      let total = 0;
      for (;;) {
        if (total === buffer.byteLength) break;
        const length = buffer.byteLength - total;
        const bytesRead = sync
          ? readSync(fd, buffer, total, length, total)
          : await readAt(fd, buffer, total, length, total);
        if (bytesRead === 0) break;
        total += bytesRead;
      }
      if (total > stats.size) {
        throw new StorageError(`${filePath} changed size while being read`, { filePath });
      }
      return buffer.slice(0, total);
    } catch (error) {
      if (error instanceof StorageError) throw error;
      throw storageError(`cannot read ${filePath}`, error, filePath);
    } finally {
      try {
        closeSync(fd);
      } catch {
        // Nothing was written through this descriptor: a failed close loses nothing.
      }
    }
  }

  /** @inheritDoc MetadataStore.save */
  async save(roleName: string, bytes: Uint8Array): Promise<void> {
    // root, timestamp and snapshot are the trust anchor and the rollback floors: they must
    // survive a power cut. Targets roles are pinned to a version by the snapshot and
    // re-verified on every load, so losing one only costs a re-download; skipping their two
    // fsyncs per file is what makes walking hundreds of hash bins fast.
    const filePath = this.pathOf(roleName);
    if (DURABLE_ROLES.has(roleName)) {
      await writeFileAtomic(filePath, bytes);
    } else if (bytes.byteLength <= SYNC_WRITE_MAX_LENGTH) {
      // Small and not durable: synchronous calls beat four thread-pool round trips (see
      // writeFileAtomicNonDurableSync); a large top-level targets file stays asynchronous.
      writeFileAtomicNonDurableSync(filePath, bytes);
    } else {
      await writeFileAtomic(filePath, bytes, { durable: false });
    }
  }

  /** @inheritDoc MetadataStore.remove */
  async remove(roleName: string): Promise<void> {
    const filePath = this.pathOf(roleName);
    try {
      await fs.rm(filePath, { force: true });
      await fsyncDirectory(this.dir);
    } catch (error) {
      // A directory that does not exist holds nothing to remove.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw storageError(`cannot remove ${filePath}`, error, filePath);
    }
  }
}

/**
 * `ROLE.json` with ROLE percent-encoded as the reference names it, or `@SHA256.json` when that
 * name is longer than {@link MAX_METADATA_FILE_NAME_LENGTH} (encoded names are ASCII, so their
 * length is their byte length).
 */
function storedFileName(roleName: string): string {
  const name = metadataFileName(roleName);
  if (name.length <= MAX_METADATA_FILE_NAME_LENGTH) return name;
  return `@${createHash('sha256').update(roleName, 'utf8').digest('hex')}.json`;
}

/** Roles whose cached copy must be durable, not just atomic. */
const DURABLE_ROLES: ReadonlySet<string> = new Set(['root', 'timestamp', 'snapshot']);

/** `fs.read` as a promise of the number of bytes read (positional; for large cached files). */
function readAt(
  fd: number,
  buffer: Uint8Array,
  offset: number,
  length: number,
  position: number,
): Promise<number> {
  return new Promise((resolve, reject) => {
    read(fd, buffer, offset, length, position, (error, bytesRead) => {
      if (error === null) resolve(bytesRead);
      else reject(error);
    });
  });
}

function storageError(what: string, error: unknown, filePath: string): StorageError {
  return new StorageError(`${what}: ${(error as Error).message}`, { cause: error, filePath });
}
