/**
 * `FileFetcher`: the {@link Fetcher} for offline updates from a USB stick or SD card, reading a
 * directory laid out exactly like the HTTP repository (`metadata/1.root.json`,
 * `targets/…`), so the same client code updates a device online or offline.
 *
 * A URL is either a `file:` URL or a relative reference (`metadata/timestamp.json`), resolved
 * against the root directory the way a static web server resolves a request path: dot segments
 * are normalised and percent-escapes decoded (`a%20b.json` is the file `a b.json`). The result
 * must stay inside the root, *after* resolving symbolic links (`realpath`): `..` tricks and
 * symlinks leading out of the root are refused as {@link NotFoundError}, the way a web server
 * answers 403/404 for them, so "not found" stays transport-neutral (the URLs are built by the
 * client from names it already validated; this is defence in depth). Only regular files are
 * served: a directory, FIFO or device file is "not found" too, and a FIFO is opened
 * non-blocking so it cannot hang the reader.
 *
 * The file size is checked against the cap before reading ({@link DownloadLengthError}); the
 * base class still counts bytes, so a file growing while read cannot exceed the cap. Offsets
 * are honoured with a positioned read stream; an offset beyond the end of the file reports
 * offset 0 (the partial data cannot belong to this file: start over).
 *
 * Does not implement: reading from archives. The `tufota bundle` command (a later issue) packs a
 * repository as a tar file; its reader should be another {@link BaseFetcher} whose `open` maps a
 * URL to a tar entry with the same path rules, not an option of this class.
 *
 * Safe for concurrent use: it holds no state but its root path; each fetch opens its own file.
 *
 * @module
 */
import { constants } from 'node:fs';
import { type FileHandle, open, realpath } from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { OpenedResource, OpenRequest } from '../client/fetcher.js';
import { BaseFetcher } from '../client/fetcher.js';
import { DownloadError, DownloadLengthError, InvalidStateError, NotFoundError } from '../errors.js';

/** Errors that mean "there is no such file" on any platform we support. */
const NOT_FOUND_CODES = new Set(['ENOENT', 'ENOTDIR', 'EISDIR']);

/** Options of {@link FileFetcher}. */
export interface FileFetcherOptions {
  /** The repository's root directory (a path or a `file:` URL). */
  root: string | URL;
}

const READ_CHUNK_MIN = 16 * 1024;
const READ_CHUNK_MAX = 1024 * 1024;

/**
 * Reads repository files from a local directory, with the same caps and errors as HTTP.
 *
 * @example
 * ```ts
 * import { FileFetcher } from 'tufota/client';
 * const fetcher = new FileFetcher({ root: '/media/usb/tufota-repo' });
 * const root2 = await fetcher.fetchBytes('metadata/2.root.json', 512 * 1024);
 * // or, equivalently:
 * await fetcher.fetchBytes('file:///media/usb/tufota-repo/metadata/2.root.json', 512 * 1024);
 * ```
 */
export class FileFetcher extends BaseFetcher {
  readonly #root: string;
  readonly #rootUrl: URL;

  /** Records the root; touches the filesystem only when fetching. */
  constructor(options: FileFetcherOptions) {
    super();
    const root = typeof options.root === 'string' ? options.root : fileURLToPath(options.root);
    if (root === '') throw new InvalidStateError('FileFetcher needs a root directory');
    this.#root = path.resolve(root);
    // A trailing slash makes relative references resolve *inside* the directory.
    this.#rootUrl = pathToFileURL(
      this.#root.endsWith(path.sep) ? this.#root : this.#root + path.sep,
    );
  }

  /** The absolute root directory, as given (symbolic links not resolved). */
  get root(): string {
    return this.#root;
  }

  protected override async open(url: string, request: OpenRequest): Promise<OpenedResource> {
    const realFile = await this.#resolveInsideRoot(url);
    let handle: FileHandle;
    try {
      // O_NONBLOCK: opening a FIFO must not wait for a writer; no effect on regular files.
      // O_NOFOLLOW: a symlink swapped in after the realpath check is refused (ELOOP).
      handle = await open(
        realFile,
        constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW,
      );
    } catch (error) {
      throw fileError(error, url);
    }
    try {
      const stats = await handle.stat();
      if (!stats.isFile()) throw new NotFoundError(`${url} is not a regular file`, { url });
      if (stats.size > request.maxLength) {
        throw new DownloadLengthError(
          `${url} is ${stats.size} bytes, more than the ${request.maxLength}-byte cap; not reading it`,
          { url, maxLength: request.maxLength },
        );
      }
      request.signal?.throwIfAborted();
      // An offset past the end cannot be a prefix of this file: report 0 so the caller restarts.
      const offset = request.offset <= stats.size ? request.offset : 0;
      // Large reads for images (createReadStream's 64 KiB default made the device install wait
      // on its source: about 1 GB/s at 64 KiB vs 3.4 GB/s at 1 MiB here), small ones for
      // metadata so a 500-byte file does not allocate a megabyte.
      const remaining = stats.size - offset;
      const highWaterMark = Math.min(READ_CHUNK_MAX, Math.max(READ_CHUNK_MIN, remaining));
      const stream = handle.createReadStream({ start: offset, autoClose: true, highWaterMark });
      return {
        body: stream,
        offset,
        declaredLength: stats.size - offset,
        destroy: () => stream.destroy(),
      };
    } catch (error) {
      await handle.close().catch(() => {});
      throw fileError(error, url);
    }
  }

  /** Map a URL or relative reference to a real path inside the real root, or refuse it. */
  async #resolveInsideRoot(url: string): Promise<string> {
    let resolved: URL;
    try {
      resolved = new URL(url, this.#rootUrl);
    } catch (error) {
      throw new DownloadError(`invalid file URL or path ${url}`, { url, cause: error });
    }
    if (resolved.protocol !== 'file:') {
      throw new DownloadError(`FileFetcher cannot fetch ${resolved.protocol} URLs (${url})`, {
        url,
      });
    }
    if (resolved.search !== '' || resolved.hash !== '') {
      throw new NotFoundError(`${url}: query strings and fragments are not file names`, { url });
    }
    let lexical: string;
    try {
      lexical = fileURLToPath(resolved);
    } catch (error) {
      // e.g. an encoded "/" (%2F) or NUL, which cannot name a file.
      throw new NotFoundError(`${url} does not name a file: ${(error as Error).message}`, {
        url,
        cause: error,
      });
    }
    if (!isInside(this.#root, lexical)) throw outsideRoot(url);

    let realRoot: string;
    let realFile: string;
    try {
      realRoot = await realpath(this.#root);
    } catch (error) {
      throw new DownloadError(
        `the offline repository root ${this.#root} is not readable: ${(error as Error).message}`,
        { url, cause: error },
      );
    }
    try {
      realFile = await realpath(lexical);
    } catch (error) {
      throw fileError(error, url);
    }
    // Symbolic links may stay inside the root (e.g. a deduplicated target), never leave it.
    if (!isInside(realRoot, realFile)) throw outsideRoot(url);
    return realFile;
  }
}

function isInside(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  return (
    relative !== '' &&
    relative !== '..' &&
    !relative.startsWith(`..${path.sep}`) &&
    !path.isAbsolute(relative)
  );
}

function outsideRoot(url: string): NotFoundError {
  return new NotFoundError(
    `${url} resolves outside the offline repository root; refused (path traversal or symlink)`,
    { url },
  );
}

/** `ENOENT`-like codes become {@link NotFoundError}; typed errors pass; the base wraps the rest. */
function fileError(error: unknown, url: string): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && NOT_FOUND_CODES.has(code)) {
    return new NotFoundError(`${url} not found (${code})`, { url, cause: error });
  }
  return error;
}
