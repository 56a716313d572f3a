/**
 * Creating and opening a repository's {@link RepositoryState}.
 *
 * Opening reads the served files, which *are* the state: `root` (the highest `N.root.json`),
 * `timestamp.json`, the snapshot it names and every targets role reachable from `targets` through
 * delegations, each checked against the length and hashes its referrer lists (TUF 5.5.2 / 5.6.2
 * from the repository's side) and kept with its exact bytes. Then roles staged for signing
 * (`.tufota/staging/`) become the pending edits, and the delegation graph is rebuilt from them,
 * since a staged delegator may add or drop delegations. Also reads and writes the repository
 * policy, `.tufota/config.json` (expiry periods, target hash algorithms), and changes its periods.
 *
 * Does not verify signatures of the served roles (`tufota verify` does, as a client would).
 *
 * Not safe for concurrent use on one storage.
 *
 * @module
 */
import { debuglog } from 'node:util';
import { parseJson } from '../canonical/index.js';
import { MultiHasher } from '../crypto/index.js';
import {
  FormatError,
  InvalidStateError,
  LengthOrHashMismatchError,
  RepositoryError,
} from '../errors.js';
import { Metadata, Root, type Snapshot, Targets, TOP_LEVEL_ROLE_NAMES } from '../models/index.js';
import { type ExpiryPolicy, expiresAfter, resolveExpiryPolicy } from './expiry.js';
import type { CreateOptions, RepositoryOptions } from './options.js';
import { forEachLimit } from './publish.js';
import { type SignedRole, signedRoleFromBytes } from './signed-role.js';
import {
  CONCURRENCY,
  checkThreshold,
  childRoles,
  currentOf,
  MAX_METADATA_LENGTH,
  RepositoryState,
  type TargetsEntry,
} from './state.js';
import {
  CONFIG_PATH,
  METADATA_DIR,
  RESIGN_PATH,
  type RepositoryStorage,
  STAGING_DIR,
} from './storage.js';

const debug = debuglog('tufota');

/** Largest `.tufota/config.json` read. */
const MAX_CONFIG_LENGTH = 64 * 1024;

/**
 * A new state for `create`: root version 1 and an empty `targets`, both pending, and the policy
 * written to `.tufota/config.json`. Nothing is published yet.
 *
 * @throws InvalidStateError when storage already holds a repository, or consistent snapshots are
 *   turned off.
 */
export async function createState(
  storage: RepositoryStorage,
  options: CreateOptions,
): Promise<RepositoryState> {
  if (options.consistentSnapshot === false) {
    throw new InvalidStateError(
      'consistent_snapshot: false is refused: without consistent snapshots a publish overwrites snapshot.json, ' +
        'targets.json and target files in place, and no write order keeps a crash from serving a mix of old and new',
    );
  }
  const existing = await storage.list(METADATA_DIR);
  if (existing.some((name) => name === 'timestamp.json' || name.endsWith('root.json'))) {
    throw new InvalidStateError(
      'storage already holds a repository (metadata/ has root or timestamp files); open it instead',
    );
  }
  const policy = resolveExpiryPolicy(options.expiry ?? {});
  const hashAlgorithms = options.targetHashAlgorithms ?? ['sha256', 'sha512'];
  new MultiHasher(hashAlgorithms); // validates the list
  const now = options.now ?? (() => new Date());
  const state = new RepositoryState({
    storage,
    policy,
    hashAlgorithms,
    now,
    root: undefined,
    timestamp: undefined,
    snapshot: undefined,
  });
  state.addSigners(...(options.signers ?? []));
  const root = new Root({
    version: 1,
    expires: expiresAfter(now(), policy.root),
    consistentSnapshot: true,
  });
  for (const name of TOP_LEVEL_ROLE_NAMES) {
    const spec = options.roles?.[name];
    if (spec === undefined)
      throw new InvalidStateError(`a new repository needs keys for the ${name} role`);
    const keys = state.keysOf(spec.keys, name);
    const threshold = checkThreshold(spec.threshold ?? 1, keys.length, name);
    for (const key of keys) root.addKey(key, name);
    root.roles[name].threshold = threshold;
  }
  state.pendingRoot = new Metadata(root);
  state.roles.set('targets', {
    published: undefined,
    pending: new Metadata(
      new Targets({ version: 1, expires: expiresAfter(now(), policy.targets) }),
    ),
    staged: false,
  });
  await writeRepositoryConfig(storage, policy, hashAlgorithms);
  return state;
}

/**
 * The state of the repository in `storage`: the served roles plus any roles staged for signing.
 *
 * @throws InvalidStateError when there is no (complete) repository.
 * @throws RepositoryError / LengthOrHashMismatchError when served files contradict each other.
 * @throws FormatError when `.tufota/config.json` is corrupt.
 */
export async function openState(
  storage: RepositoryStorage,
  options: RepositoryOptions = {},
): Promise<RepositoryState> {
  const configRaw = await storage.readFile(CONFIG_PATH, { maxLength: MAX_CONFIG_LENGTH });
  const config = configRaw === undefined ? {} : parseRepositoryConfig(configRaw);
  const policy = resolveExpiryPolicy(config.expiry ?? {});
  const hashAlgorithms = Array.isArray(config.targetHashAlgorithms)
    ? (config.targetHashAlgorithms as string[])
    : ['sha256', 'sha512'];
  new MultiHasher(hashAlgorithms);

  const names = await storage.list(METADATA_DIR);
  const rootVersions = names
    .map((n) => /^([1-9][0-9]{0,15})\.root\.json$/.exec(n)?.[1])
    .filter((v) => v !== undefined);
  const newest = rootVersions.map(Number).reduce((a, b) => Math.max(a, b), 0);
  const rootBytes = await storage.readFile(
    `${METADATA_DIR}/${newest > 0 ? `${newest}.root.json` : 'root.json'}`,
    { maxLength: MAX_METADATA_LENGTH },
  );
  if (rootBytes === undefined)
    throw new InvalidStateError('no repository in storage: metadata/ has no root');
  const timestampBytes = await storage.readFile(`${METADATA_DIR}/timestamp.json`, {
    maxLength: MAX_METADATA_LENGTH,
  });
  if (timestampBytes === undefined) {
    throw new InvalidStateError(
      'the repository is incomplete: metadata/timestamp.json is missing (creation did not finish)',
    );
  }
  const root = signedRoleFromBytes(rootBytes, 'root');
  const timestamp = signedRoleFromBytes(timestampBytes, 'timestamp');
  const snapshotMeta = timestamp.metadata.signed.snapshotMeta;
  const snapshot = await readRole(
    storage,
    'snapshot',
    snapshotMeta.version,
    'snapshot',
    snapshotMeta,
  );

  const state = new RepositoryState({
    storage,
    policy,
    hashAlgorithms,
    now: options.now ?? (() => new Date()),
    root,
    timestamp,
    snapshot,
  });
  state.addSigners(...(options.signers ?? []));
  await loadPublishedTargets(state, snapshot);
  await loadStaged(state);
  await loadResignMarks(state);
  return state;
}

/** Write `.tufota/config.json` (atomically, through the storage). */
export async function writeRepositoryConfig(
  storage: RepositoryStorage,
  policy: ExpiryPolicy,
  hashAlgorithms: readonly string[],
): Promise<void> {
  await storage.writeFile(
    CONFIG_PATH,
    new TextEncoder().encode(
      `${JSON.stringify({ expiry: policy, targetHashAlgorithms: hashAlgorithms }, null, 2)}\n`,
    ),
  );
}

/**
 * Merge `periods` over the state's policy, validate, save to `.tufota/config.json`, and apply.
 *
 * @throws FormatError for an unknown role name or a period outside 1 second to
 *   `MAX_EXPIRY_PERIOD`; nothing is saved.
 */
export async function updateExpiryPolicy(
  state: RepositoryState,
  periods: Partial<ExpiryPolicy>,
): Promise<ExpiryPolicy> {
  for (const name of Object.keys(periods)) {
    if (!Object.hasOwn(state.policy, name)) {
      throw new FormatError(
        `no expiry period named ${JSON.stringify(name)} (known: ${Object.keys(state.policy).join(', ')})`,
        { path: `expiry.${name}` },
      );
    }
  }
  const policy = resolveExpiryPolicy({ ...state.policy, ...periods });
  await writeRepositoryConfig(state.storage, policy, state.hashAlgorithms);
  state.policy = policy;
  return { ...policy };
}

/** Every targets role reachable from `targets` in the served metadata, level by level. */
async function loadPublishedTargets(
  state: RepositoryState,
  snapshot: SignedRole<Snapshot>,
): Promise<void> {
  const meta = snapshot.metadata.signed.meta;
  let level = ['targets'];
  const seen = new Set<string>();
  while (level.length > 0) {
    const next: string[] = [];
    const loaded = new Map<string, SignedRole<Targets>>();
    await forEachLimit(level, CONCURRENCY, async (name) => {
      const entry = Object.hasOwn(meta, `${name}.json`) ? meta[`${name}.json`] : undefined;
      if (entry === undefined) {
        throw new RepositoryError(`snapshot does not list ${name}.json, which is delegated`, {
          role: name,
        });
      }
      loaded.set(name, await readRole(state.storage, name, entry.version, 'targets', entry));
    });
    for (const name of level) {
      const role = loaded.get(name) as SignedRole<Targets>;
      state.roles.set(name, { published: role, pending: undefined, staged: false });
      for (const child of childRoles(role.metadata.signed)) {
        if (seen.has(child) || child === 'targets') continue;
        seen.add(child);
        state.delegators.set(child, name);
        next.push(child);
      }
    }
    level = next;
  }
}

/** Turn staged roles into pending edits; stale ones (version not above the served) are ignored. */
async function loadStaged(state: RepositoryState): Promise<void> {
  const files = (await state.storage.list(STAGING_DIR)).filter((f) => f.endsWith('.json'));
  const staged = new Map<string, Metadata<Targets>>();
  for (const file of files) {
    const name = file.slice(0, -'.json'.length);
    const bytes = await state.storage.readFile(`${STAGING_DIR}/${file}`, {
      maxLength: MAX_METADATA_LENGTH,
    });
    if (bytes === undefined) continue;
    if (name === 'root') {
      const md = Metadata.fromBytes(bytes, 'root');
      if (md.signed.version === (state.root?.metadata.signed.version ?? 0) + 1) {
        state.pendingRoot = md;
        state.rootStaged = true;
      } else {
        debug(
          'repository: ignoring staged root version %d (already published or stale)',
          md.signed.version,
        );
      }
    } else {
      staged.set(name, Metadata.fromBytes(bytes, 'targets'));
    }
  }
  if (staged.size === 0) return;
  // Staged delegators may add or drop delegations: rebuild the graph from current metadata.
  const previous = new Map(state.roles);
  state.roles.clear();
  state.delegators.clear();
  const queue = ['targets'];
  const seen = new Set(queue);
  while (queue.length > 0) {
    const name = queue.shift() as string;
    const published = previous.get(name)?.published;
    const stagedRole = staged.get(name);
    const fresh =
      stagedRole !== undefined &&
      stagedRole.signed.version > (published?.metadata.signed.version ?? 0);
    const entry: TargetsEntry = fresh
      ? { published, pending: stagedRole, staged: true }
      : published !== undefined
        ? { published, pending: undefined, staged: false }
        : { published: undefined, pending: state.emptyTargets(name), staged: false };
    state.roles.set(name, entry);
    for (const child of childRoles(currentOf(entry))) {
      if (seen.has(child)) continue;
      seen.add(child);
      state.delegators.set(child, name);
      queue.push(child);
    }
  }
}

/**
 * Snapshot/timestamp re-signing marks left by `refresh` + `prepare` (see `RESIGN_PATH`). They
 * only apply to the timestamp version they were made against: after any publish they are stale.
 * A corrupt file is ignored (the marks only ever add a re-signing; `refresh` makes them again).
 */
async function loadResignMarks(state: RepositoryState): Promise<void> {
  const bytes = await state.storage.readFile(RESIGN_PATH, { maxLength: 1024 });
  if (bytes === undefined) return;
  // The file exists: the next clearStaging removes it unless the marks below still apply.
  state.resignStaged = true;
  let marks: unknown;
  try {
    marks = parseJson(bytes, { maxDepth: 2 });
  } catch {
    debug('repository: ignoring unreadable %s', RESIGN_PATH);
    return;
  }
  const fields = (typeof marks === 'object' && marks !== null ? marks : {}) as Record<
    string,
    unknown
  >;
  if (fields.timestampVersion !== state.timestamp?.metadata.signed.version) {
    debug('repository: ignoring stale %s (a publish has happened since)', RESIGN_PATH);
    return;
  }
  state.forceSnapshot = fields.snapshot === true;
  state.forceTimestamp = fields.timestamp === true || state.forceSnapshot;
}

/** Read `V.NAME.json`, check it against what snapshot/timestamp list, keep its bytes. */
async function readRole<K extends 'snapshot' | 'targets'>(
  storage: RepositoryStorage,
  name: string,
  version: number,
  type: K,
  listed: { verifyLengthAndHashes(d: Uint8Array, r: string): void },
) {
  const path = `${METADATA_DIR}/${version}.${name}.json`;
  const bytes = await storage.readFile(path, { maxLength: MAX_METADATA_LENGTH });
  if (bytes === undefined)
    throw new RepositoryError(`${path} is listed but missing`, { role: name });
  try {
    listed.verifyLengthAndHashes(bytes, name);
  } catch (error) {
    throw new LengthOrHashMismatchError(
      `${path} does not match what the repository lists for it: ${(error as Error).message}`,
      { role: name, cause: error },
    );
  }
  const role = signedRoleFromBytes(bytes, type);
  if (role.metadata.signed.version !== version) {
    throw new RepositoryError(`${path} holds version ${role.metadata.signed.version}`, {
      role: name,
    });
  }
  return role;
}

/** Read `.tufota/config.json` strictly: a corrupt file is a typed error saying which file. */
function parseRepositoryConfig(bytes: Uint8Array): Record<string, unknown> {
  let value: unknown;
  try {
    value = parseJson(bytes, { maxDepth: 16 });
  } catch (error) {
    throw new FormatError(
      `${CONFIG_PATH} is not valid JSON (${(error as Error).message}); restore it from backup or recreate it`,
      { cause: error, path: CONFIG_PATH },
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new FormatError(`${CONFIG_PATH} must hold a JSON object`, { path: CONFIG_PATH });
  }
  return value as Record<string, unknown>;
}
