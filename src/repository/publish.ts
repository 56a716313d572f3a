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
 * Not safe for concurrent use on one storage: run one publisher at a time.
 *
 * @module
 */
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
}

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
  const metadataPath = (file: string): string => `${METADATA_DIR}/${file}`;

  await forEachLimit(publication.targetsRoles, WRITE_CONCURRENCY, ({ name, role }) =>
    write(metadataPath(versionedFileName(name, role.metadata.signed.version)), role.bytes),
  );
  if (publication.snapshot !== undefined) {
    const snapshot = publication.snapshot;
    await write(
      metadataPath(versionedFileName('snapshot', snapshot.metadata.signed.version)),
      snapshot.bytes,
    );
  }
  const root = publication.root;
  const writeRoot = async (): Promise<void> => {
    if (root === undefined) return;
    await write(metadataPath(versionedFileName('root', root.metadata.signed.version)), root.bytes);
    progress.rootCommitted = true;
    await write(metadataPath('root.json'), root.bytes);
  };
  if (publication.initial) await writeRoot();
  await write(metadataPath('timestamp.json'), publication.timestamp.bytes);
  progress.contentCommitted = true;
  if (!publication.initial) await writeRoot();
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
