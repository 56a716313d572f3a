/**
 * `BundleFetcher`: the {@link Fetcher} for offline update bundles (`tufota bundle create`), one
 * tar file on a USB stick or SD card holding a repository's `metadata/` and `targets/` files.
 *
 * The bundle is opened once and its headers indexed ({@link readTarIndex}: strict ustar/pax,
 * regular files only, no traversal names, no duplicates). A fetch serves the byte range of one
 * member straight from the tar file with positioned reads: nothing is extracted or copied, so
 * installing from a bundle writes no temporary files to the device's flash. Offsets are
 * honoured within the member, so an interrupted install resumes.
 *
 * URLs are relative references laid out like the HTTP repository (`metadata/2.root.json`,
 * `targets/fw/<sha256>.board-a.img`), so the {@link Updater} is configured exactly as online
 * (`metadataBaseUrl: 'metadata/'`, `targetBaseUrl: 'targets/'`) and applies exactly the same
 * verification: the bundle's bytes are untrusted input like any mirror's. Each `/`-separated
 * segment is percent-decoded as a web server does; empty, `.`/`..` segments, encoded slashes,
 * backslashes and control characters, query strings, absolute URLs and names outside
 * `metadata/` and `targets/` (the informational manifest) are "not found", as is any name the
 * bundle does not hold — {@link NotFoundError}, which ends the root rotation loop.
 *
 * Does not implement: writing bundles (see `src/bundle/create-bundle.ts`), compressed archives,
 * trust in the bundle manifest (read it with {@link BundleFetcher.readManifest} for display only).
 *
 * Safe for concurrent fetches: every read is positioned (`pread`) on the one shared handle, and
 * the index is immutable. Call {@link BundleFetcher.close} when done; fetches after it fail.
 *
 * @module
 */
import { type FileHandle, open } from 'node:fs/promises';
import { BUNDLE_MANIFEST_NAME } from '../bundle/manifest.js';
import {
  DEFAULT_MAX_TAR_ENTRIES,
  readTarIndex,
  type TarEntry,
  type TarIndex,
} from '../bundle/tar.js';
import type { OpenedResource, OpenRequest } from '../client/fetcher.js';
import { BaseFetcher } from '../client/fetcher.js';
import {
  DownloadError,
  DownloadLengthError,
  InvalidStateError,
  NotFoundError,
  StorageError,
} from '../errors.js';

/** Size of each positioned read from the bundle. */
const READ_CHUNK = 64 * 1024;
/** Cap on the manifest member, which is informational. */
const MAX_MANIFEST_LENGTH = 1024 * 1024;
/** Top-level directories a bundle serves. */
const SERVED_PREFIXES = ['metadata/', 'targets/'];

/** Options of {@link BundleFetcher.create}. */
export interface BundleFetcherOptions {
  /** Path of the bundle file (e.g. `/media/usb/update.tar`). */
  path: string;
  /** Refuse bundles with more tar members. Default {@link DEFAULT_MAX_TAR_ENTRIES}. */
  maxEntries?: number;
}

/**
 * Serves a bundle's `metadata/…` and `targets/…` members to the TUF client.
 *
 * @example
 * ```ts
 * import { BundleFetcher, FsMetadataStore, Updater } from 'tufota/client';
 * const fetcher = await BundleFetcher.create({ path: '/media/usb/update.tar' });
 * try {
 *   const updater = await Updater.create({
 *     metadataBaseUrl: 'metadata/',
 *     targetBaseUrl: 'targets/',
 *     targetDir: '/var/lib/tufota/targets',
 *     fetcher,
 *     metadataStore: new FsMetadataStore('/var/lib/tufota/metadata'),
 *   });
 *   await updater.refresh();
 *   const info = await updater.getTargetInfo('firmware/board-a.img');
 * } finally {
 *   await fetcher.close();
 * }
 * ```
 */
export class BundleFetcher extends BaseFetcher {
  readonly #path: string;
  readonly #handle: FileHandle;
  readonly #index: TarIndex;
  #closed = false;

  private constructor(path: string, handle: FileHandle, index: TarIndex) {
    super();
    this.#path = path;
    this.#handle = handle;
    this.#index = index;
  }

  /**
   * Open and index the bundle at `options.path`.
   *
   * @throws FormatError when the file is not a well-formed bundle (truncated, corrupt header,
   *   links, unsafe or duplicate names, too many members).
   * @throws StorageError when the file cannot be opened or is not a regular file.
   */
  static async create(options: BundleFetcherOptions): Promise<BundleFetcher> {
    const file = options.path;
    if (typeof file !== 'string' || file === '') {
      throw new InvalidStateError('BundleFetcher needs the path of a bundle file');
    }
    let handle: FileHandle;
    try {
      handle = await open(file, 'r');
    } catch (error) {
      throw new StorageError(`cannot open bundle ${file}: ${(error as Error).message}`, {
        cause: error,
        filePath: file,
      });
    }
    try {
      if (!(await handle.stat()).isFile()) {
        throw new StorageError(`bundle ${file} is not a regular file`, { filePath: file });
      }
      const index = await readTarIndex(handle, {
        maxEntries: options.maxEntries ?? DEFAULT_MAX_TAR_ENTRIES,
        label: `bundle ${file}`,
      });
      return new BundleFetcher(file, handle, index);
    } catch (error) {
      await handle.close().catch(() => {});
      throw error;
    }
  }

  /** The bundle file's path. */
  get path(): string {
    return this.#path;
  }

  /** Names of the served members (`metadata/…`, `targets/…`), in archive order. */
  get names(): string[] {
    return this.#index.entries
      .map((entry) => entry.name)
      .filter((name) => SERVED_PREFIXES.some((prefix) => name.startsWith(prefix)));
  }

  /**
   * The bundle's manifest, parsed as JSON, or `undefined` when it has none. UNTRUSTED and
   * informational: anyone can write it; show it to a person, never decide on it.
   *
   * @throws FormatError when the manifest is not JSON.
   */
  async readManifest(): Promise<unknown> {
    const entry = this.#index.byName.get(BUNDLE_MANIFEST_NAME);
    if (entry === undefined) return undefined;
    if (entry.size > MAX_MANIFEST_LENGTH) {
      throw new DownloadLengthError(
        `the bundle manifest is ${entry.size} bytes, more than ${MAX_MANIFEST_LENGTH}`,
        { url: BUNDLE_MANIFEST_NAME, maxLength: MAX_MANIFEST_LENGTH },
      );
    }
    const parts: Uint8Array[] = [];
    for await (const chunk of this.#read(entry, 0, BUNDLE_MANIFEST_NAME, { stopped: false })) {
      parts.push(chunk);
    }
    const bytes = Buffer.concat(parts);
    try {
      return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    } catch (error) {
      throw new DownloadError(
        `the bundle manifest is not UTF-8 JSON: ${(error as Error).message}`,
        {
          url: BUNDLE_MANIFEST_NAME,
          cause: error,
        },
      );
    }
  }

  /** Close the bundle file. Idempotent; later fetches fail with {@link InvalidStateError}. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#handle.close();
  }

  protected override async open(url: string, request: OpenRequest): Promise<OpenedResource> {
    if (this.#closed) throw new InvalidStateError(`bundle ${this.#path} is closed`);
    const entry = this.#index.byName.get(memberName(url));
    if (entry === undefined)
      throw new NotFoundError(`${url} is not in bundle ${this.#path}`, { url });
    if (entry.size > request.maxLength) {
      throw new DownloadLengthError(
        `${url} is ${entry.size} bytes in bundle ${this.#path}, more than the ${request.maxLength}-byte cap; not reading it`,
        { url, maxLength: request.maxLength },
      );
    }
    // An offset past the end cannot be a prefix of this member: report 0 so the caller restarts.
    const offset = request.offset <= entry.size ? request.offset : 0;
    const state = { stopped: false };
    return {
      body: this.#read(entry, offset, url, state),
      offset,
      declaredLength: entry.size - offset,
      destroy: () => {
        state.stopped = true;
      },
    };
  }

  async *#read(
    entry: TarEntry,
    from: number,
    url: string,
    state: { stopped: boolean },
  ): AsyncGenerator<Uint8Array> {
    let position = from;
    while (position < entry.size && !state.stopped) {
      if (this.#closed)
        throw new InvalidStateError(`bundle ${this.#path} was closed while reading ${url}`);
      const length = Math.min(READ_CHUNK, entry.size - position);
      // A fresh buffer per chunk: the consumer may keep it.
      const chunk = new Uint8Array(length);
      const { bytesRead } = await this.#handle.read(chunk, 0, length, entry.offset + position);
      if (bytesRead === 0) {
        throw new DownloadError(
          `bundle ${this.#path} ended while reading ${url} (the file shrank or the medium was removed)`,
          { url },
        );
      }
      position += bytesRead;
      yield bytesRead === length ? chunk : chunk.subarray(0, bytesRead);
    }
  }
}

/**
 * The member name a relative URL names, decoded segment by segment like a static web server;
 * `''` (never a member) for anything that is not a plain path under `metadata/` or `targets/`.
 */
function memberName(url: string): string {
  if (url.length > 8192 || url.startsWith('/') || /^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(url)) return '';
  if (url.includes('?') || url.includes('#')) return '';
  const segments: string[] = [];
  for (const raw of url.split('/')) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return '';
    }
    if (segment === '' || segment === '.' || segment === '..') return '';
    if (/[/\\\u0000-\u001f\u007f]/.test(segment)) return '';
    segments.push(segment);
  }
  const name = segments.join('/');
  return SERVED_PREFIXES.some((prefix) => name.startsWith(prefix)) ? name : '';
}
