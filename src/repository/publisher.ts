/**
 * Building and committing a publication: sign every pending role, build the snapshot and
 * timestamp that list the exact bytes of what they name (TUF 4.4 / 4.6), write it all in the
 * crash-safe order of `publish.ts`, and record in the {@link RepositoryState} what was committed
 * — even when a later write fails, so that publishing again finishes the job. Also `refresh`:
 * mark roles whose metadata expires soon for re-signing.
 *
 * Everything is signed and every threshold checked before the first file is written, so an
 * `UnsignedMetadataError` leaves storage untouched.
 *
 * Not safe for concurrent use; one publisher per storage.
 *
 * @module
 */
import { InvalidStateError, PublishedFileConflictError, RepositoryEditError } from '../errors.js';
import {
  checkTargetPath,
  Metadata,
  type Root,
  Snapshot,
  type Targets,
  Timestamp,
  type TopLevelRoleName,
} from '../models/index.js';
import { expiresAfter, periodFor } from './expiry.js';
import type { PublishOptions, PublishResult, RefreshOptions } from './options.js';
import { forEachLimit, type PublishProgress, sameBytes, writePublication } from './publish.js';
import { metaFileOf, type SignedRole, signedRoleFromMetadata } from './signed-role.js';
import { assertSigned, signWithAvailable } from './signing.js';
import { CONCURRENCY, MAX_METADATA_LENGTH, type RepositoryState, sameRole } from './state.js';
import { METADATA_DIR } from './storage.js';

/** Sign and publish every pending role, then snapshot and timestamp (see `Repository.publish`). */
export async function publish(
  state: RepositoryState,
  options: PublishOptions = {},
): Promise<PublishResult> {
  if (state.currentRoot().signed.consistentSnapshot !== true) {
    throw new InvalidStateError(
      'publishing needs consistent_snapshot: true in root (see Repository module docs)',
    );
  }
  const now = state.now();
  const unsafe = options.unsafeAllowRotationWindow === true;
  const changed = [...state.roles].filter(([, e]) => e.pending !== undefined).map(([n]) => n);
  const rootChanged = (name: TopLevelRoleName): boolean =>
    state.pendingRoot !== undefined &&
    state.root !== undefined &&
    !sameRole(state.pendingRoot.signed, state.root.metadata.signed, name);
  if (rootChanged('targets') && !changed.includes('targets')) {
    state.touch('targets');
    changed.push('targets');
  }
  const needSnapshot =
    changed.length > 0 ||
    state.forceSnapshot ||
    state.snapshot === undefined ||
    rootChanged('snapshot');
  if (
    !needSnapshot &&
    state.pendingRoot === undefined &&
    !state.forceTimestamp &&
    !rootChanged('timestamp')
  ) {
    return { roles: [], written: [] };
  }

  // 1. Sign everything (nothing written yet).
  const signedTargets: Array<{ name: string; role: SignedRole<Targets> }> = [];
  await forEachLimit(changed, CONCURRENCY, async (name) => {
    const md = state.pendingOf(name) as Metadata<Targets>;
    // Clients accept odd names in signed metadata but refuse to install them (issue 9); a
    // repository never signs one, even one that reached a staged file some other way.
    for (const targetPath of Object.keys(md.signed.targets)) {
      checkTargetPath(targetPath, `${name}.targets[${JSON.stringify(targetPath)}]`);
    }
    if (md.signatures.size === 0)
      md.signed.expires = expiresAfter(now, periodFor(state.policy, name));
    signedTargets.push({ name, role: await finish(state, name, md, unsafe) });
  });
  let root: SignedRole<Root> | undefined;
  if (state.pendingRoot !== undefined) {
    if (state.pendingRoot.signatures.size === 0)
      state.pendingRoot.signed.expires = expiresAfter(now, state.policy.root);
    root = await finish(state, 'root', state.pendingRoot, unsafe);
  }
  let snapshot: SignedRole<Snapshot> | undefined;
  if (needSnapshot) {
    const meta = { ...(state.snapshot?.metadata.signed.meta ?? {}) };
    for (const { name, role } of signedTargets) meta[`${name}.json`] = metaFileOf(role);
    const md = new Metadata(
      new Snapshot({
        version: (state.snapshot?.metadata.signed.version ?? 0) + 1,
        expires: expiresAfter(now, state.policy.snapshot),
        meta,
      }),
    );
    snapshot = await finish(state, 'snapshot', md, unsafe);
  }
  const timestamp = await finish(
    state,
    'timestamp',
    new Metadata(
      new Timestamp({
        version: (state.timestamp?.metadata.signed.version ?? 0) + 1,
        expires: expiresAfter(now, state.policy.timestamp),
        snapshotMeta: metaFileOf((snapshot ?? state.snapshot) as SignedRole<Snapshot>),
      }),
    ),
    unsafe,
  );

  // Nothing clients will load may be expired or about to expire (TUF 5.3.10, 5.4.4, 5.5.6, 5.6.5:
  // they would refuse it).
  assertFresh(state, now, options, { root, snapshot, timestamp, signedTargets });

  // 2. Nobody else published since this session opened the repository (their edits would be
  // lost under ours), then write, recording what was committed even if a later write fails.
  await assertNotPublishedSince(state);
  const progress: PublishProgress = { written: [], contentCommitted: false, rootCommitted: false };
  const servedMeta = state.snapshot?.metadata.signed.meta ?? {};
  try {
    await writePublication(
      state.storage,
      {
        targetsRoles: signedTargets,
        snapshot,
        timestamp,
        root,
        initial: state.timestamp === undefined,
        listedVersion: (role) =>
          Object.hasOwn(servedMeta, `${role}.json`)
            ? (servedMeta[`${role}.json`]?.version ?? 0)
            : 0,
        servedSnapshotVersion: state.snapshot?.metadata.signed.version ?? 0,
      },
      progress,
    );
  } finally {
    if (progress.contentCommitted) {
      for (const { name, role } of signedTargets) {
        const entry = state.roles.get(name);
        if (entry !== undefined)
          Object.assign(entry, { published: role, pending: undefined, staged: false });
      }
      if (snapshot !== undefined) state.snapshot = snapshot;
      state.timestamp = timestamp;
      state.forceSnapshot = false;
      state.forceTimestamp = false;
    }
    if (progress.rootCommitted && root !== undefined) {
      state.root = root;
      state.pendingRoot = undefined;
      state.rootStaged = false;
    }
  }
  await state.clearStaging();
  const roles = [
    ...(root === undefined ? [] : [{ role: 'root', version: root.metadata.signed.version }]),
    ...signedTargets.map(({ name, role }) => ({
      role: name,
      version: role.metadata.signed.version,
    })),
    ...(snapshot === undefined
      ? []
      : [{ role: 'snapshot', version: snapshot.metadata.signed.version }]),
    { role: 'timestamp', version: timestamp.metadata.signed.version },
  ];
  return { roles, written: progress.written };
}

/** Mark roles expiring soon for re-signing, and publish unless told not to (see `Repository.refresh`). */
export async function refresh(
  state: RepositoryState,
  options: RefreshOptions = {},
): Promise<{ roles: string[]; result: PublishResult | undefined }> {
  const now = state.now().getTime();
  const due = (name: string, expires: Date | undefined): boolean =>
    expires !== undefined &&
    expires.getTime() - now <= (options.within ?? periodFor(state.policy, name) / 2);
  const roles: string[] = [];
  if (state.pendingRoot === undefined && due('root', state.root?.metadata.signed.expires)) {
    state.touchRoot();
    roles.push('root');
  }
  for (const [name, entry] of state.roles) {
    if (entry.pending === undefined && due(name, entry.published?.metadata.signed.expires)) {
      state.touch(name);
      roles.push(name);
    }
  }
  if (due('snapshot', state.snapshot?.metadata.signed.expires)) {
    state.forceSnapshot = true;
    roles.push('snapshot');
  }
  if (roles.length > 0 || due('timestamp', state.timestamp?.metadata.signed.expires)) {
    state.forceTimestamp = true;
    roles.push('timestamp');
  }
  const result =
    options.publish === false || roles.length === 0 ? undefined : await publish(state, options);
  return { roles, result };
}

/** Default safety margin of {@link assertFresh}: one hour. */
export const DEFAULT_EXPIRY_MARGIN = 60 * 60 * 1000;

/**
 * Refuse a publication that would serve metadata clients refuse now or soon: any role they load
 * (root, timestamp, snapshot, every reachable targets role, new or unchanged) that expires
 * within the margin — `options.expiryMargin` (default one hour: the hourly `refresh` cron the
 * admin guide recommends gets a run before clients notice), capped at half the role's period
 * so a role signed now always passes.
 *
 * @throws RepositoryEditError `ERR_TUF_EXPIRING_METADATA` naming each role, when it expires and
 *   the command that re-signs it; nothing is written.
 */
function assertFresh(
  state: RepositoryState,
  now: Date,
  options: PublishOptions,
  out: {
    root: SignedRole<Root> | undefined;
    snapshot: SignedRole<Snapshot> | undefined;
    timestamp: SignedRole<Timestamp>;
    signedTargets: ReadonlyArray<{ name: string; role: SignedRole<Targets> }>;
  },
): void {
  const margin = options.expiryMargin ?? DEFAULT_EXPIRY_MARGIN;
  const served = new Map<string, { version: number; expires: Date; kind: Kind }>();
  const add = (name: string, role: SignedRole | undefined, kind: Kind) => {
    if (role !== undefined)
      served.set(name, {
        version: role.metadata.signed.version,
        expires: role.metadata.signed.expires,
        kind,
      });
  };
  add('root', out.root ?? state.root, out.root === undefined ? 'served' : 'pending');
  add('timestamp', out.timestamp, 'built');
  add('snapshot', out.snapshot ?? state.snapshot, out.snapshot === undefined ? 'served' : 'built');
  for (const [name, entry] of state.roles) add(name, entry.published, 'served');
  for (const { name, role } of out.signedTargets) add(name, role, 'pending');
  const problems: string[] = [];
  for (const [name, { version, expires, kind }] of served) {
    const window = Math.min(margin, periodFor(state.policy, name) / 2);
    const left = expires.getTime() - now.getTime();
    if (left >= window) continue;
    const when =
      left <= 0
        ? `expired at ${expires.toISOString()}`
        : `expires at ${expires.toISOString()}, within the ${describeMs(window)} safety margin`;
    problems.push(`${name} version ${version} ${when}${remedy(name, kind)}`);
  }
  if (problems.length === 0) return;
  throw new RepositoryEditError(
    `refusing to publish metadata that clients would refuse as expired; nothing was written: ${problems.join('; ')}`,
    {},
    'ERR_TUF_EXPIRING_METADATA',
  );
}

/** Where a role in the publication comes from. */
type Kind = 'served' | 'pending' | 'built';

function remedy(name: string, kind: Kind): string {
  if (kind === 'built')
    return ` (signed just now: its period is shorter than the margin; lengthen it with tufota config set expiry.${name}=…)`;
  if (kind === 'pending')
    return ' (it was staged with that expiry and signed: discard it with tufota reset and redo the edit)';
  if (name === 'root')
    return ' (re-sign it with the root keys: tufota refresh --stage-only, tufota sign --role root --key ROOT-KEY, tufota publish)';
  return ' (re-sign it: tufota refresh, or with offline keys tufota refresh --stage-only, sign, import, publish)';
}

function describeMs(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${Math.round(ms / 1000)} s`;
}

/**
 * @throws PublishedFileConflictError when `timestamp.json` in storage is not the one this state
 *   was opened with: another session published in between, and publishing now would drop its
 *   edits (its `N.ROLE.json` files are not in our snapshot).
 */
async function assertNotPublishedSince(state: RepositoryState): Promise<void> {
  const path = `${METADATA_DIR}/timestamp.json`;
  const served = await state.storage.readFile(path, { maxLength: MAX_METADATA_LENGTH });
  const known = state.timestamp?.bytes;
  if (served === undefined ? known === undefined : known !== undefined && sameBytes(served, known))
    return;
  throw new PublishedFileConflictError(
    `the repository was published by another session after this one opened it (${path} changed); ` +
      "nothing was written, so that session's edits are kept: open the repository again and redo this edit",
    { filePath: path },
  );
}

/** Sign with the signers at hand, check every threshold, serialize once. */
async function finish<T extends Root | Targets | Snapshot | Timestamp>(
  state: RepositoryState,
  name: string,
  md: Metadata<T>,
  unsafe: boolean,
): Promise<SignedRole<T>> {
  const requirements = state.requirements(name, unsafe);
  const data = await signWithAvailable(md, requirements, state.signers);
  assertSigned(name, md, requirements, data);
  return signedRoleFromMetadata(md);
}
