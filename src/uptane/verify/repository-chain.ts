/**
 * Loading one repository's TUF chain — root → timestamp → snapshot → targets, and delegated
 * targets on demand — through the pure {@link TrustedMetadataSet}, from a {@link MetadataReader}
 * that only hands over bytes. Used for both Uptane repositories (Standard 2.1.0 §5.4.4.2 steps
 * 2–5 for the director, 6–9 and 10.1 for the image repository) on the primary, which reads over
 * HTTP, and on full-verification secondaries, which read the files the primary forwarded.
 *
 * The procedures of §5.4.4.3 (root), §5.4.4.4 (timestamp), §5.4.4.5 (snapshot) and §5.4.4.6
 * steps 1–5 (targets) are the TUF client workflow the trusted set enforces; this module adds the
 * order, the previous trusted state as rollback floor, and "stop if unchanged" (§5.4.4.2 step
 * 4): when the new timestamp is the one already trusted, the previously trusted snapshot and
 * targets are used again rather than downloaded.
 *
 * Every file read is recorded in {@link LoadedRepository.files}, so the primary can forward
 * exactly those bytes to its secondaries.
 *
 * Does no I/O itself (the reader does). Not safe for concurrent use of one result.
 *
 * @module
 */
import { metadataFileName } from '../../client/role-names.js';
import { TrustedMetadataSet } from '../../client/trusted-set.js';
import { EqualVersionNumberError, NotFoundError, RepositoryError } from '../../errors.js';
import { getOwn, type Metadata, type TargetFile, type Targets } from '../../models/index.js';
import { asUptaneError, type UptaneRepositoryName } from './attacks.js';
import { searchImageDelegations } from './image-delegations.js';

/**
 * Reads one metadata file of a repository by file name (`3.root.json`, `timestamp.json`,
 * `7.snapshot.json`), reading at most `maxLength` bytes; `undefined` when it does not exist.
 */
export type MetadataReader = (
  fileName: string,
  maxLength: number,
) => Promise<Uint8Array | undefined>;

/** The verified bytes an ECU keeps for one repository between update cycles. */
export interface TrustedRepositoryState {
  /** The newest trusted root (the trust anchor of the next cycle). */
  root: Uint8Array;
  timestamp?: Uint8Array;
  snapshot?: Uint8Array;
  targets?: Uint8Array;
}

/** Caps and limits of a chain load. */
export interface ChainLimits {
  maxRootRotations: number;
  rootMaxLength: number;
  timestampMaxLength: number;
  snapshotMaxLength: number;
  targetsMaxLength: number;
  maxDelegations: number;
}

/** The defaults: those of the TUF client. */
export const DEFAULT_CHAIN_LIMITS: Readonly<ChainLimits> = Object.freeze({
  maxRootRotations: 256,
  rootMaxLength: 512_000,
  timestampMaxLength: 16_384,
  snapshotMaxLength: 2_000_000,
  targetsMaxLength: 5_000_000,
  maxDelegations: 32,
});

/** One repository, loaded and verified up to its top-level targets. */
export interface LoadedRepository {
  name: UptaneRepositoryName;
  set: TrustedMetadataSet;
  /** The state to persist after the cycle (only verified bytes). */
  state: TrustedRepositoryState;
  /** The new timestamp was the trusted one: nothing changed in this repository. */
  unchanged: boolean;
  /** Every file read, by file name (what a full-verification secondary needs). */
  files: Map<string, Uint8Array>;
}

async function read(
  name: UptaneRepositoryName,
  reader: MetadataReader,
  files: Map<string, Uint8Array>,
  fileName: string,
  maxLength: number,
  optional = false,
): Promise<Uint8Array | undefined> {
  const bytes = await reader(fileName, maxLength);
  if (bytes === undefined) {
    if (optional) return undefined;
    throw new NotFoundError(`${name} repository has no ${fileName}`);
  }
  files.set(fileName, bytes);
  return bytes;
}

/** Run one step on the trusted set, naming the attack when it refuses. */
function step<T>(name: UptaneRepositoryName, run: () => T): T {
  try {
    return run();
  } catch (error) {
    throw asUptaneError(name, error);
  }
}

/** Load cached bytes as a rollback floor; stale or invalid cache is simply not a floor. */
function tryFloor(run: () => unknown): void {
  try {
    run();
  } catch (error) {
    if (!(error instanceof RepositoryError)) throw error;
  }
}

/**
 * Load and verify a repository's chain up to its top-level targets.
 *
 * @throws UptaneError naming the attack (freeze, rollback, mix-and-match, arbitrary software).
 * @throws NotFoundError / DownloadError when a file cannot be read.
 */
export async function loadRepositoryChain(
  name: UptaneRepositoryName,
  reader: MetadataReader,
  trusted: TrustedRepositoryState,
  referenceTime: Date,
  limits: ChainLimits = DEFAULT_CHAIN_LIMITS,
): Promise<LoadedRepository> {
  const files = new Map<string, Uint8Array>();
  const set = step(name, () => new TrustedMetadataSet(trusted.root, { referenceTime }));
  // §5.4.4.3 step 2: N+1, N+2, … until not found, each signed by the old and the new root.
  let rootBytes = trusted.root;
  for (let i = 0; i < limits.maxRootRotations; i++) {
    const fileName = metadataFileName('root', set.root.signed.version + 1);
    const bytes = await read(name, reader, files, fileName, limits.rootMaxLength, true);
    if (bytes === undefined) break;
    step(name, () => set.updateRoot(bytes));
    rootBytes = bytes;
  }
  // §5.4.4.3 step 4 (fast-forward recovery): rotated timestamp/snapshot keys drop the floors.
  const discard = set.rolesToDiscard;
  const cachedTimestamp = discard.has('timestamp') ? undefined : trusted.timestamp;
  const cachedSnapshot = discard.has('snapshot') ? undefined : trusted.snapshot;
  if (cachedTimestamp !== undefined) tryFloor(() => set.updateTimestamp(cachedTimestamp));
  const trustedTimestampVersion = set.timestamp?.signed.version;

  // §5.4.4.4: the timestamp (root expiry, §5.4.4.3 step 3, is checked here as well).
  const timestampBytes = (await read(
    name,
    reader,
    files,
    'timestamp.json',
    limits.timestampMaxLength,
  )) as Uint8Array;
  let unchanged = false;
  try {
    step(name, () => set.updateTimestamp(timestampBytes));
  } catch (error) {
    const cause = (error as { cause?: unknown }).cause;
    if (!(cause instanceof EqualVersionNumberError) || trustedTimestampVersion === undefined) {
      throw error;
    }
    unchanged = true;
  }
  const consistent = set.root.signed.consistentSnapshot === true;
  const state: TrustedRepositoryState = {
    root: rootBytes,
    timestamp: unchanged ? cachedTimestamp : timestampBytes,
  };

  if (unchanged && cachedSnapshot !== undefined && trusted.targets !== undefined) {
    // §5.4.4.2 step 4: nothing new. Re-verify the trusted snapshot and targets (not merely
    // reuse them: they must still be unexpired) so the caller can still act on them.
    step(name, () => set.updateSnapshot(cachedSnapshot, { trusted: true }));
    const cachedTargets = trusted.targets;
    step(name, () => set.updateTargets(cachedTargets));
    state.snapshot = cachedSnapshot;
    state.targets = cachedTargets;
    return { name, set, state, unchanged, files };
  }
  unchanged = false;
  // §5.4.4.5: the snapshot, with the previous one as rollback floor.
  if (cachedSnapshot !== undefined) {
    tryFloor(() => set.updateSnapshot(cachedSnapshot, { trusted: true }));
  }
  const snapshotMeta = set.timestamp?.signed.snapshotMeta;
  const snapshotName = metadataFileName('snapshot', consistent ? snapshotMeta?.version : undefined);
  const snapshotBytes = (await read(
    name,
    reader,
    files,
    snapshotName,
    snapshotMeta?.length ?? limits.snapshotMaxLength,
  )) as Uint8Array;
  step(name, () => set.updateSnapshot(snapshotBytes));
  state.snapshot = snapshotBytes;

  // §5.4.4.6 steps 1–5: the top-level targets.
  const targetsBytes = await readTargetsRole(name, set, reader, files, 'targets', limits);
  step(name, () => set.updateTargets(targetsBytes));
  state.targets = targetsBytes;
  return { name, set, state, unchanged, files };
}

async function readTargetsRole(
  name: UptaneRepositoryName,
  set: TrustedMetadataSet,
  reader: MetadataReader,
  files: Map<string, Uint8Array>,
  role: string,
  limits: ChainLimits,
): Promise<Uint8Array> {
  const meta =
    set.snapshot === undefined ? undefined : getOwn(set.snapshot.signed.meta, `${role}.json`);
  if (meta === undefined) {
    throw asUptaneError(
      name,
      new RepositoryError(`the ${name} snapshot does not list ${role}.json`, { role }),
    );
  }
  const consistent = set.root.signed.consistentSnapshot === true;
  const fileName = metadataFileName(role, consistent ? meta.version : undefined);
  return (await read(
    name,
    reader,
    files,
    fileName,
    meta.length ?? limits.targetsMaxLength,
  )) as Uint8Array;
}

/**
 * §5.4.4.2 step 10.1 with §5.4.4.7: find the image repository's entry for `targetPath`, built for
 * `hardwareId`, through the delegations that apply to both (`image-delegations.ts`), each
 * delegated role verified against the delegator of the path being followed.
 *
 * @returns the entry, or `undefined` when no role reached lists the path.
 */
export async function findImageTarget(
  loaded: LoadedRepository,
  reader: MetadataReader,
  targetPath: string,
  hardwareId: string,
  limits: ChainLimits = DEFAULT_CHAIN_LIMITS,
): Promise<TargetFile | undefined> {
  const { set, name, files } = loaded;
  return searchImageDelegations(
    targetPath,
    hardwareId,
    limits.maxDelegations,
    async (role, delegator) => {
      const known = set.getDelegatedRole(role, delegator);
      if (known !== undefined) return known;
      const bytes = await readTargetsRole(name, set, reader, files, role, limits);
      return step(
        name,
        (): Metadata<Targets> => set.updateDelegatedTargets(bytes, role, delegator),
      );
    },
  );
}
