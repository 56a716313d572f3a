/**
 * `RepositoryStorage`: where a TUF repository's files live, as the {@link Repository} sees them.
 *
 * Paths are POSIX-style relative paths under the storage root (`metadata/3.snapshot.json`,
 * `targets/firmware/<sha256>.fw.img`, `.tufota/staging/targets.json`). The layout is a static
 * web root: serve `metadata/` and `targets/` with any web server, object store or CDN. The
 * `.tufota/` directory holds the repository's own bookkeeping (expiry policy, roles staged for
 * offline signing) and need not be served. Private keys are never stored here: signers are
 * passed to the repository in memory.
 *
 * The contract implementations must keep, because publish crash safety rests on it:
 * - {@link RepositoryStorage.writeFile} is atomic and durable: after it resolves, a reader sees
 *   the complete new bytes, and before, the complete old file (or none); it never exposes a torn
 *   file. An error means the destination is unchanged.
 * - {@link RepositoryStorage.rename} is atomic and durable in the same sense.
 * - Writes happen in the order they are issued and awaited: the repository awaits each write
 *   that must precede another (timestamp.json is written last).
 *
 * Implementations: `FsRepositoryStorage` (src/storage/fs-repository-storage.ts), or your own
 * (an object store with conditional puts). Tests wrap one to inject failures.
 *
 * @module
 */

/** Bytes to write: all at once, or streamed (a target file being imported). */
export type StorageData = Uint8Array | AsyncIterable<Uint8Array>;

/**
 * The files of a repository.
 *
 * @example
 * ```ts
 * const storage = await FsRepositoryStorage.open('/srv/tuf');
 * await storage.writeFile('metadata/timestamp.json', bytes);
 * const again = await storage.readFile('metadata/timestamp.json');
 * ```
 */
export interface RepositoryStorage {
  /** The bytes of `path`, or `undefined` when it does not exist. */
  readFile(path: string, options?: { maxLength?: number }): Promise<Uint8Array | undefined>;
  /** Replace (or create) `path` atomically and durably, creating parent directories. */
  writeFile(path: string, data: StorageData): Promise<void>;
  /** Names (not paths) of the entries directly inside directory `path`; `[]` when it is absent. */
  list(path: string): Promise<string[]>;
  /** Remove the file `path`; no error when it does not exist. */
  remove(path: string): Promise<void>;
  /** Move `from` to `to` atomically and durably, replacing `to`, creating parent directories. */
  rename(from: string, to: string): Promise<void>;
  /** Copy `from` to `to` atomically and durably (the destination appears complete or not at all). */
  copy(from: string, to: string): Promise<void>;
  /** True when `path` exists as a file. */
  exists(path: string): Promise<boolean>;
  /**
   * Create `path` with `data` only if it does not exist — atomically (no window in which another
   * writer's file could be replaced) and durably. Resolves `false`, changing nothing, when `path`
   * exists. Optional: without it the repository checks {@link exists} first (not atomic).
   */
  createFile?(path: string, data: StorageData): Promise<boolean>;
  /**
   * Give the file `from` a second name `to` without copying its bytes (a hard link), or copy it
   * where links are impossible. Resolves `false`, changing nothing, when `to` exists. Optional:
   * without it the repository copies.
   */
  link?(from: string, to: string): Promise<boolean>;
  /** Stream the bytes of `path` (to hash a large file). Optional: without it, {@link readFile}. */
  readStream?(path: string): AsyncIterable<Uint8Array>;
}

/** Directory of served metadata. */
export const METADATA_DIR = 'metadata';
/** Directory of served target files. */
export const TARGETS_DIR = 'targets';
/** The repository's bookkeeping (not served). */
export const STATE_DIR = '.tufota';
/** Roles prepared for offline signing. */
export const STAGING_DIR = `${STATE_DIR}/staging`;
/** Target files being imported, before they get their hash name. */
export const INCOMING_DIR = `${STATE_DIR}/incoming`;
/** The repository policy (expiry periods). */
export const CONFIG_PATH = `${STATE_DIR}/config.json`;
/**
 * Snapshot and timestamp marked for re-signing by a refresh that did not publish (they are built
 * at publish with online keys, so there is no role file to stage): the next publish re-signs them.
 */
export const RESIGN_PATH = `${STATE_DIR}/resign.json`;
