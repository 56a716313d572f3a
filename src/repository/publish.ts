/**
 * The order in which a publication's files are written, which is what makes a publish crash safe
 * with consistent snapshots (TUF 5.5.1 / 5.6.1: clients fetch `V.snapshot.json`, `V.ROLE.json`
 * and `HASH.target` by names that never change meaning once referenced).
 *
 * 1. Targets and delegated roles as `V.ROLE.json`: new names, referenced by nothing yet.
 * 2. `V.snapshot.json`: also not referenced yet.
 * 3. `timestamp.json`: **the content commit point**, one atomic rename. Before it, clients see
 *    the old repository; after it, the new one.
 * 4. `N.root.json`: **the trust commit point** when root changed. Clients discover roots by
 *    version, not through timestamp, so a root cannot commit atomically with the content. It is
 *    written after the timestamp because the repository signs every role published together
 *    with a new root under the *old* root's keys as well (see `Repository.publish`), so the new
 *    content verifies whether or not a client has seen root N yet; the reverse order would leave
 *    a window where the new root meets old content signed by keys it no longer trusts.
 * 5. `root.json`: the bootstrap copy of the newest root (clients never update through it).
 *
 * For the very first publication (no timestamp served yet) root is written before timestamp, so
 * the presence of `timestamp.json` marks a complete repository.
 *
 * Target files are written when added (`targets/HASH.NAME`, content addressed: a name is only
 * ever written with the bytes whose hash it carries), so they precede every metadata write.
 *
 * Versioned files are immutable once a timestamp names them: each is created only if absent
 * ({@link writeImmutable}); one that exists with other bytes is a `PublishedFileConflictError`,
 * unless it is a leftover of an interrupted publish (a version above what the served snapshot
 * lists, which no client can have fetched).
 *
 * Not safe for concurrent use on one storage: run one publisher at a time (the CLI holds the
 * repository lock, `storage/repository-lock.ts`). A second publisher is detected, not prevented:
 * `publisher.ts` refuses to publish when `timestamp.json` changed since the session opened, and
 * an immutable file written by another publisher is never replaced.
 *
 * @module
 */
import { debuglog } from 'node:util';
import { PublishedFileConflictError } from '../errors.js';
import type { Root, Snapshot, Targets, Timestamp } from '../models/index.js';
import type { SignedRole } from './signed-role.js';
import { versionedFileName } from './signed-role.js';
import { METADATA_DIR, type RepositoryStorage } from './storage.js';

/** Everything one publish writes. */
export interface Publication {
  /** Changed targets roles (top-level `targets` and delegated roles), by role name. */
  readonly targetsRoles: ReadonlyArray<{
    readonly name: string;
    readonly role: SignedRole<Targets>;
  }>;
  readonly snapshot: SignedRole<Snapshot> | undefined;
  readonly timestamp: SignedRole<Timestamp>;
  readonly root: SignedRole<Root> | undefined;
  /** True when no timestamp was ever served (repository creation): root goes first. */
  readonly initial: boolean;
  /**
   * The version the served snapshot lists for a targets role (0 when none). A `V.ROLE.json`
   * above it, and a `V.snapshot.json` above the served snapshot's version, were never named by
   * a committed timestamp: leftovers of an interrupted publish, which no client can have fetched,
   * so they may be replaced. Every other versioned file is immutable.
   */
  readonly listedVersion: (role: string) => number;
  /** The served snapshot's version (0 before the first publish). */
  readonly servedSnapshotVersion: number;
}

const debug = debuglog('tufota');

/** How far a publication got; filled in as files are written, so it is accurate after a failure. */
export interface PublishProgress {
  /** Storage paths written, in order. */
  readonly written: string[];
  /** `timestamp.json` was written: the new content is what clients see. */
  contentCommitted: boolean;
  /** `N.root.json` was written: the new root is what clients see. */
  rootCommitted: boolean;
}

/** How many role files are written at once (the filesystem's fsyncs overlap on the thread pool). */
const WRITE_CONCURRENCY = 16;

/**
 * Write `publication` in the crash-safe order described in the module comment.
 *
 * @throws StorageError (or whatever the storage throws) on the first failed write; `progress`
 *   then says which commit points were passed.
 */
export async function writePublication(
  storage: RepositoryStorage,
  publication: Publication,
  progress: PublishProgress,
): Promise<void> {
  const write = async (path: string, bytes: Uint8Array): Promise<void> => {
    await storage.writeFile(path, bytes);
    progress.written.push(path);
  };
  const writeVersioned = async (path: string, bytes: Uint8Array, orphanOk: boolean) => {
    await writeImmutable(storage, path, bytes, orphanOk);
    progress.written.push(path);
  };
  const metadataPath = (file: string): string => `${METADATA_DIR}/${file}`;

  await forEachLimit(publication.targetsRoles, WRITE_CONCURRENCY, ({ name, role }) => {
    const version = role.metadata.signed.version;
    return writeVersioned(
      metadataPath(versionedFileName(name, version)),
      role.bytes,
      version > publication.listedVersion(name),
    );
  });
  if (publication.snapshot !== undefined) {
    const snapshot = publication.snapshot;
    const version = snapshot.metadata.signed.version;
    await writeVersioned(
      metadataPath(versionedFileName('snapshot', version)),
      snapshot.bytes,
      version > publication.servedSnapshotVersion,
    );
  }
  const root = publication.root;
  const writeRoot = async (): Promise<void> => {
    if (root === undefined) return;
    await writeVersioned(
      metadataPath(versionedFileName('root', root.metadata.signed.version)),
      root.bytes,
      false,
    );
    progress.rootCommitted = true;
    await write(metadataPath('root.json'), root.bytes);
  };
  if (publication.initial) await writeRoot();
  await write(metadataPath('timestamp.json'), publication.timestamp.bytes);
  progress.contentCommitted = true;
  if (!publication.initial) await writeRoot();
}

/**
 * Write a file whose name must never change content: create it if absent; if present with the
 * same bytes, leave it (a retried publish); if present with other bytes, refuse — unless
 * `orphanOk` (a leftover of an interrupted publish that no committed timestamp names).
 *
 * @throws PublishedFileConflictError when `path` exists with other bytes; nothing is written.
 */
export async function writeImmutable(
  storage: RepositoryStorage,
  path: string,
  bytes: Uint8Array,
  orphanOk: boolean,
): Promise<void> {
  let created: boolean;
  if (storage.createFile !== undefined) {
    created = await storage.createFile(path, bytes);
  } else {
    created = !(await storage.exists(path));
    if (created) await storage.writeFile(path, bytes);
  }
  if (created) return;
  const existing = await storage
    .readFile(path, { maxLength: bytes.byteLength })
    .catch(() => undefined);
  if (existing !== undefined && sameBytes(existing, bytes)) return;
  if (orphanOk) {
    debug(
      'publish: replacing %s, left by an interrupted publish (never named by a timestamp)',
      path,
    );
    await storage.writeFile(path, bytes);
    return;
  }
  throw new PublishedFileConflictError(
    `${path} is already published with other content; a published versioned file is never overwritten ` +
      '(another session published this version, or the file was changed by hand): nothing more was written; ' +
      'open the repository again, redo the edit and publish, and run tufota verify',
    { filePath: path },
  );
}

/** True when `a` and `b` hold the same bytes. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Run `fn` over `items` with at most `limit` running at once; the first rejection wins. */
export async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        await fn(items[index] as T, index);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  const workers = Array.from({ length: Math.min(limit, items.length) }, worker);
  const results = await Promise.allSettled(workers);
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected !== undefined) throw rejected.reason;
}
