/**
 * Discarding pending edits: what `tufota reset` does. Summarizes, per role with pending edits,
 * what would have been published (targets added, removed or changed; delegations and keys are
 * summarized as "other changes"), then removes the staged files (`.tufota/staging/`) and the
 * snapshot/timestamp re-signing marks. The served repository is not touched; target files
 * already copied into `targets/` stay (content addressed, unlisted, harmless).
 *
 * Not safe for concurrent use.
 *
 * @module
 */
import type { Metadata, Targets } from '../models/index.js';
import type { DiscardedRole } from './options.js';
import type { RepositoryState } from './state.js';
import { RESIGN_PATH, STAGING_DIR } from './storage.js';

/** What discarding would drop, role by role (root first). */
export function pendingSummary(state: RepositoryState): DiscardedRole[] {
  const out: DiscardedRole[] = [];
  if (state.pendingRoot !== undefined) {
    out.push({
      role: 'root',
      version: state.pendingRoot.signed.version,
      staged: state.rootStaged,
      added: [],
      removed: [],
      changed: [],
      signatures: state.pendingRoot.signatures.size,
    });
  }
  for (const [name, entry] of state.roles) {
    if (entry.pending === undefined) continue;
    const before = entry.published?.metadata.signed.targets ?? {};
    const after = (entry.pending as Metadata<Targets>).signed.targets;
    const added = Object.keys(after).filter((p) => !Object.hasOwn(before, p));
    const removed = Object.keys(before).filter((p) => !Object.hasOwn(after, p));
    const changed = Object.keys(after).filter(
      (p) =>
        Object.hasOwn(before, p) &&
        JSON.stringify(before[p]?.toJSON()) !== JSON.stringify(after[p]?.toJSON()),
    );
    out.push({
      role: name,
      version: entry.pending.signed.version,
      staged: entry.staged,
      added,
      removed,
      changed,
      signatures: entry.pending.signatures.size,
    });
  }
  if (state.forceSnapshot || state.forceTimestamp) {
    for (const role of ['snapshot', 'timestamp'] as const) {
      if (role === 'snapshot' ? state.forceSnapshot : state.forceTimestamp) {
        out.push({
          role,
          version: 0,
          staged: state.resignStaged,
          added: [],
          removed: [],
          changed: [],
          signatures: 0,
          resign: true,
        });
      }
    }
  }
  return out;
}

/** Remove every staged file and the re-signing marks (the caller reopens the state). */
export async function removeStaged(state: RepositoryState): Promise<void> {
  for (const file of await state.storage.list(STAGING_DIR)) {
    await state.storage.remove(`${STAGING_DIR}/${file}`);
  }
  await state.storage.remove(RESIGN_PATH);
}
