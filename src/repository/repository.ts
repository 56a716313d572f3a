/**
 * `Repository`: create and maintain a TUF repository — targets, delegations, succinct hash bins,
 * key rotation, expiry refresh, threshold and offline signing — and publish it crash-safely as
 * static files through a {@link RepositoryStorage}.
 *
 * State model. The served files *are* the state: {@link Repository.open} reads `root` (the
 * highest `N.root.json`), `timestamp.json`, the snapshot it names and every targets role the
 * snapshot lists, keeping each one's exact bytes as a {@link SignedRole}. Edits create a
 * *pending* copy of the roles they touch (version bumped once, signatures cleared), held in
 * memory; {@link Repository.prepare} writes pending roles to `.tufota/staging/` so that other
 * processes can add signatures (`tufota sign`) before {@link Repository.publish}. Snapshot and
 * timestamp are always rebuilt by `publish` from the exact bytes of the roles they list.
 *
 * Scale. Only pending (dirty) roles are re-serialized, re-signed and rewritten; adding targets to
 * 1,024 hash bins touches only the bins they fall in. Target files are hashed once, while they
 * are copied in; `addTargetInfo` takes length and hashes for files stored elsewhere.
 *
 * Consistent snapshots only. Without them clients fetch `snapshot.json`, `targets.json` and
 * target files by fixed names that a publish would have to overwrite in place, so a crash could
 * serve a new snapshot with old targets metadata (or old metadata with a new target file): no
 * write order makes that atomic. Creating or publishing a repository with
 * `consistent_snapshot: false` is refused; see `publish.ts` for the crash-safe order.
 *
 * Not implemented: garbage collection of old metadata versions and target files (they stay
 * served; clients holding old metadata can still fetch them), removing a delegation, locking
 * against two publishers on one storage (run one at a time).
 *
 * Not safe for concurrent use: await each call before making the next.
 *
 * @module
 */
import { debuglog } from 'node:util';
import { parseJson } from '../canonical/index.js';
import { bytesToHex, MultiHasher, type PublicKeyData, type Signer } from '../crypto/index.js';
import {
  FormatError,
  InvalidStateError,
  LengthOrHashMismatchError,
  RepositoryEditError,
  RepositoryError,
} from '../errors.js';
import {
  DelegatedRole,
  Delegations,
  Key,
  Metadata,
  Root,
  Signature,
  Snapshot,
  type SuccinctRoles,
  type TargetFile,
  Targets,
  Timestamp,
  TOP_LEVEL_ROLE_NAMES,
  type TopLevelRoleName,
} from '../models/index.js';
import { type ExpiryPolicy, expiresAfter, periodFor, resolveExpiryPolicy } from './expiry.js';
import { distributeToBins, type HashBinsLayout, makeSuccinctRoles } from './hash-bins.js';
import { forEachLimit, type PublishProgress, writePublication } from './publish.js';
import {
  checkRoleFileName,
  metaFileOf,
  type SignedRole,
  signedRoleFromBytes,
  signedRoleFromMetadata,
} from './signed-role.js';
import {
  assertSigned,
  authorizedKeyIds,
  listedKey,
  type RequirementStatus,
  requirementStatus,
  type SigningRequirement,
  signWithAvailable,
} from './signing.js';
import {
  CONFIG_PATH,
  INCOMING_DIR,
  METADATA_DIR,
  type RepositoryStorage,
  STAGING_DIR,
  type StorageData,
} from './storage.js';
import {
  buildCustom,
  buildTargetFile,
  consistentTargetPath,
  type TargetCustomOptions,
  type TargetInfo,
} from './target-input.js';

const debug = debuglog('tufota');

/** Largest metadata file the repository reads back from its own storage. */
const MAX_METADATA_LENGTH = 64 * 1024 * 1024;
/** How many roles are signed or read at once. */
const CONCURRENCY = 8;

/** A public key, or a signer (whose public key is used and which is kept for signing). */
export type KeyInput = PublicKeyData | Signer;

/** Keys and threshold of one role. */
export interface RoleKeysOptions {
  keys: KeyInput[];
  /** Default 1. Must not exceed the number of distinct keys. */
  threshold?: number;
}

/** Options shared by {@link Repository.create} and {@link Repository.open}. */
export interface RepositoryOptions {
  /** Signers available to this session (private keys never touch storage). */
  signers?: Signer[];
  /** The clock; default the system clock. Tests inject a fixed time. */
  now?: () => Date;
}

/** Options of {@link Repository.create}. */
export interface CreateOptions extends RepositoryOptions {
  /** Keys and threshold of each top-level role. */
  roles: Record<TopLevelRoleName, RoleKeysOptions>;
  /** Validity periods in milliseconds (see `expiry.ts` for the defaults). */
  expiry?: Partial<ExpiryPolicy>;
  /** Must be true (the default): see the module comment for why `false` is refused. */
  consistentSnapshot?: boolean;
  /** Hashes computed for target files; default `['sha256', 'sha512']`. */
  targetHashAlgorithms?: string[];
}

/** Where a target goes: a named role; bins are followed automatically. */
export interface TargetRoleOption {
  /** The targets role to list the target in (default `targets`, or its hash bin). */
  role?: string;
}

/** Options of {@link Repository.addTarget} and {@link Repository.addTargetInfo}. */
export interface AddTargetOptions extends TargetCustomOptions, TargetRoleOption {}

/** Options of {@link Repository.delegate}. */
export interface DelegateOptions {
  /** The delegating targets role; default `targets`. */
  delegator?: string;
  /** Shell-style patterns (`firmware/*`); exactly one of `paths` and `pathHashPrefixes`. */
  paths?: string[];
  pathHashPrefixes?: string[];
  terminating?: boolean;
  keys: KeyInput[];
  threshold?: number;
}

/** Options of {@link Repository.createHashBins}. */
export interface CreateHashBinsOptions extends HashBinsLayout {
  delegator?: string;
  keys: KeyInput[];
  threshold?: number;
}

/** Options of {@link Repository.publish}. */
export interface PublishOptions {
  /**
   * Publish a root that changes another top-level role's keys even when the *previous* root's
   * threshold for that role cannot be met with the signers at hand. Between the two commit points
   * of such a publish (timestamp.json written, N.root.json not yet), clients refuse the
   * repository; a crash there lasts until the next successful publish.
   */
  unsafeAllowRotationWindow?: boolean;
}

/** What a publish wrote. */
export interface PublishResult {
  /** Roles published, with their new versions. */
  roles: Array<{ role: string; version: number }>;
  /** Storage paths written, in order. */
  written: string[];
}

/** Options of {@link Repository.refresh}. */
export interface RefreshOptions extends PublishOptions {
  /** Re-sign roles expiring within this many milliseconds; default half of each role's period. */
  within?: number;
  /** Publish right away (default true); false only marks the roles (for offline signing). */
  publish?: boolean;
}

/** Signing state of one role, as `tufota status` prints it. */
export interface RoleStatus {
  role: string;
  /** The delegating role (`root` for top-level roles). */
  delegator: string;
  /** The version that publish would write (pending) or that is served. */
  version: number;
  expires: Date;
  /** True when edits are waiting to be published. */
  pending: boolean;
  /** True when the pending version is written to the staging area. */
  staged: boolean;
  /** One entry per threshold the role must meet (two for a new root). */
  requirements: RequirementStatus[];
  /** True when every requirement is met. */
  verified: boolean;
}

interface TargetsEntry {
  published: SignedRole<Targets> | undefined;
  pending: Metadata<Targets> | undefined;
  staged: boolean;
}

interface RepositoryState {
  storage: RepositoryStorage;
  policy: ExpiryPolicy;
  hashAlgorithms: string[];
  now: () => Date;
  root: SignedRole<Root> | undefined;
  timestamp: SignedRole<Timestamp> | undefined;
  snapshot: SignedRole<Snapshot> | undefined;
}

function isSigner(key: KeyInput): key is Signer {
  return typeof (key as Signer).sign === 'function' && (key as Signer).publicKey !== undefined;
}

/**
 * A TUF repository being edited and published.
 *
 * @example
 * ```ts
 * const storage = await FsRepositoryStorage.open('/srv/tuf');
 * const key = await InMemorySigner.generate('ed25519');
 * const one = { keys: [key] };
 * const repo = await Repository.create(storage, { roles: { root: one, targets: one, snapshot: one, timestamp: one } });
 * await repo.addTarget('firmware/1.0.0.img', openFileSource('fw.img'), { hardwareIds: ['board-a'], version: '1.0.0' });
 * await repo.publish();
 * ```
 */
export class Repository {
  readonly #storage: RepositoryStorage;
  readonly #policy: ExpiryPolicy;
  readonly #hashAlgorithms: string[];
  readonly #now: () => Date;
  readonly #signers = new Map<string, Signer>();
  #root: SignedRole<Root> | undefined;
  #pendingRoot: Metadata<Root> | undefined;
  #rootStaged = false;
  #timestamp: SignedRole<Timestamp> | undefined;
  #snapshot: SignedRole<Snapshot> | undefined;
  readonly #roles = new Map<string, TargetsEntry>();
  /** Delegated role → the role that delegates it (one per role: duplicate names are refused). */
  readonly #delegators = new Map<string, string>();
  #forceSnapshot = false;
  #forceTimestamp = false;

  private constructor(state: RepositoryState) {
    this.#storage = state.storage;
    this.#policy = state.policy;
    this.#hashAlgorithms = state.hashAlgorithms;
    this.#now = state.now;
    this.#root = state.root;
    this.#timestamp = state.timestamp;
    this.#snapshot = state.snapshot;
  }

  // -------------------------------------------------------------------------------------------
  // Opening and creating

  /**
   * Create a repository in empty storage and publish version 1 of every role.
   *
   * @throws InvalidStateError when storage already holds a repository, or consistent snapshots
   *   are turned off.
   * @throws RepositoryEditError `ERR_TUF_THRESHOLD_UNREACHABLE` for a threshold above the keys.
   * @throws UnsignedMetadataError when the signers cannot meet a role's threshold.
   */
  static async create(storage: RepositoryStorage, options: CreateOptions): Promise<Repository> {
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
    const repo = new Repository({
      storage,
      policy,
      hashAlgorithms,
      now,
      root: undefined,
      timestamp: undefined,
      snapshot: undefined,
    });
    repo.addSigners(...(options.signers ?? []));
    const root = new Root({
      version: 1,
      expires: expiresAfter(now(), policy.root),
      consistentSnapshot: true,
    });
    for (const name of TOP_LEVEL_ROLE_NAMES) {
      const spec = options.roles?.[name];
      if (spec === undefined)
        throw new InvalidStateError(`create() needs keys for the ${name} role`);
      const keys = repo.#keysOf(spec.keys, name);
      const threshold = checkThreshold(spec.threshold ?? 1, keys.length, name);
      for (const key of keys) root.addKey(key, name);
      root.roles[name].threshold = threshold;
    }
    repo.#pendingRoot = new Metadata(root);
    repo.#roles.set('targets', {
      published: undefined,
      pending: new Metadata(
        new Targets({ version: 1, expires: expiresAfter(now(), policy.targets) }),
      ),
      staged: false,
    });
    await storage.writeFile(CONFIG_PATH, configBytes(policy, hashAlgorithms));
    try {
      await repo.publish();
    } catch (error) {
      await storage.remove(CONFIG_PATH).catch(() => {});
      throw error;
    }
    return repo;
  }

  /**
   * Open the repository in `storage`: the served state plus any roles staged for signing.
   *
   * @throws InvalidStateError when there is no (complete) repository.
   * @throws RepositoryError / LengthOrHashMismatchError when served files contradict each other.
   */
  static async open(
    storage: RepositoryStorage,
    options: RepositoryOptions = {},
  ): Promise<Repository> {
    const configRaw = await storage.readFile(CONFIG_PATH, { maxLength: 64 * 1024 });
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

    const repo = new Repository({
      storage,
      policy,
      hashAlgorithms,
      now: options.now ?? (() => new Date()),
      root,
      timestamp,
      snapshot,
    });
    repo.addSigners(...(options.signers ?? []));
    await repo.#loadPublishedTargets();
    await repo.#loadStaged();
    return repo;
  }

  async #loadPublishedTargets(): Promise<void> {
    const meta = this.#snapshot?.metadata.signed.meta ?? {};
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
        loaded.set(name, await readRole(this.#storage, name, entry.version, 'targets', entry));
      });
      for (const name of level) {
        const role = loaded.get(name) as SignedRole<Targets>;
        this.#roles.set(name, { published: role, pending: undefined, staged: false });
        for (const child of childRoles(role.metadata.signed)) {
          if (seen.has(child) || child === 'targets') continue;
          seen.add(child);
          this.#delegators.set(child, name);
          next.push(child);
        }
      }
      level = next;
    }
  }

  async #loadStaged(): Promise<void> {
    const files = (await this.#storage.list(STAGING_DIR)).filter((f) => f.endsWith('.json'));
    const staged = new Map<string, Metadata<Targets>>();
    for (const file of files) {
      const name = file.slice(0, -'.json'.length);
      const bytes = await this.#storage.readFile(`${STAGING_DIR}/${file}`, {
        maxLength: MAX_METADATA_LENGTH,
      });
      if (bytes === undefined) continue;
      if (name === 'root') {
        const md = Metadata.fromBytes(bytes, 'root');
        if (md.signed.version === (this.#root?.metadata.signed.version ?? 0) + 1) {
          this.#pendingRoot = md;
          this.#rootStaged = true;
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
    const previous = new Map(this.#roles);
    this.#roles.clear();
    this.#delegators.clear();
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
          : { published: undefined, pending: this.#emptyTargets(name), staged: false };
      this.#roles.set(name, entry);
      for (const child of childRoles(currentOf(entry))) {
        if (seen.has(child)) continue;
        seen.add(child);
        this.#delegators.set(child, name);
        queue.push(child);
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Reading

  /** Make `signers` available for signing (keyed by key id; a later signer for a key id wins). */
  addSigners(...signers: Signer[]): void {
    for (const signer of signers) this.#signers.set(signer.keyid, signer);
  }

  /** Names of every targets role (top-level `targets` first, then delegated roles and bins). */
  targetsRoleNames(): string[] {
    return [...this.#roles.keys()];
  }

  /**
   * The current metadata of a role: the pending version if there are edits, else the served one.
   * Do not mutate it; use the editing methods.
   *
   * @throws InvalidStateError for an unknown role.
   */
  getMetadata(name: string): Metadata {
    if (name === 'root') return this.#currentRootMetadata();
    if (name === 'timestamp' || name === 'snapshot') {
      const role = name === 'timestamp' ? this.#timestamp : this.#snapshot;
      if (role === undefined) throw new InvalidStateError(`${name} has not been published yet`);
      return role.metadata;
    }
    return (
      this.#entry(name).pending ?? (this.#entry(name).published as SignedRole<Targets>).metadata
    );
  }

  /** The served bytes of a role as a {@link SignedRole}, or `undefined` if never published. */
  getPublished(name: string): SignedRole | undefined {
    if (name === 'root') return this.#root;
    if (name === 'timestamp') return this.#timestamp;
    if (name === 'snapshot') return this.#snapshot;
    return this.#roles.get(name)?.published;
  }

  /** The target at `targetPath` and the role listing it (pending edits included), if any. */
  getTarget(targetPath: string): { role: string; target: TargetFile } | undefined {
    for (const [name, entry] of this.#roles) {
      const target = currentOf(entry).getTarget(targetPath);
      if (target !== undefined) return { role: name, target };
    }
    return undefined;
  }

  // -------------------------------------------------------------------------------------------
  // Targets

  /**
   * Copy a target's bytes into `targets/` (as `HASH.NAME` for each hash algorithm), hashing them
   * on the way, and list the target in its role. Nothing is listed if copying fails.
   *
   * @param source - the bytes, or a stream of them (`openFileSource(path)` for a local file).
   * @throws UnsafePathError for a path such as `../x` or `/etc/passwd` (nothing is written).
   * @throws FormatError for malformed `custom` conventions.
   */
  async addTarget(
    targetPath: string,
    source: StorageData,
    options: AddTargetOptions = {},
  ): Promise<TargetFile> {
    const custom = buildCustom(options);
    // Validates the path (and its role) before any byte is written.
    buildTargetFile(targetPath, { length: 0, hashes: { sha256: '0'.repeat(64) } }, custom);
    const roleName = this.#route(targetPath, options.role);
    const hasher = new MultiHasher(this.#hashAlgorithms);
    const incoming = `${INCOMING_DIR}/${process.pid}-${Math.random().toString(16).slice(2)}`;
    const chunks: AsyncIterable<Uint8Array> = (async function* () {
      if (source instanceof Uint8Array) {
        hasher.update(source);
        yield source;
        return;
      }
      for await (const chunk of source) {
        hasher.update(chunk);
        yield chunk;
      }
    })();
    try {
      await this.#storage.writeFile(incoming, chunks);
      const hashes = hasher.digest();
      const destinations = [...new Set(Object.values(hashes))].map((d) =>
        consistentTargetPath(targetPath, d),
      );
      for (const [i, destination] of destinations.entries()) {
        if (await this.#storage.exists(destination)) continue;
        if (i === destinations.length - 1) await this.#storage.rename(incoming, destination);
        else await this.#storage.copy(incoming, destination);
      }
      const target = buildTargetFile(targetPath, { length: hasher.length, hashes }, custom);
      this.#touch(roleName).signed.addTarget(target);
      return target;
    } finally {
      await this.#storage.remove(incoming).catch(() => {});
    }
  }

  /**
   * List a target from its length and hashes alone (bulk imports; the files are served from
   * elsewhere or copied separately). No file is read or written.
   *
   * @example
   * ```ts
   * repo.addTargetInfo('images/a.bin', { length: 1024, hashes: { sha256: '…', sha512: '…' } });
   * ```
   */
  addTargetInfo(targetPath: string, info: TargetInfo, options: AddTargetOptions = {}): TargetFile {
    const target = buildTargetFile(targetPath, info, buildCustom(options));
    this.#touch(this.#route(targetPath, options.role)).signed.addTarget(target);
    return target;
  }

  /** Stop listing a target (its file stays: older metadata may still name it). True if listed. */
  removeTarget(targetPath: string, options: TargetRoleOption = {}): boolean {
    const found = options.role === undefined ? this.getTarget(targetPath) : undefined;
    const roleName = found?.role ?? this.#route(targetPath, options.role);
    if (currentOf(this.#entry(roleName)).getTarget(targetPath) === undefined) return false;
    return this.#touch(roleName).signed.removeTarget(targetPath);
  }

  /** The leaf role for `targetPath`: `role` (default `targets`), following hash bins. */
  #route(targetPath: string, role = 'targets'): string {
    let name = role;
    this.#entry(name);
    for (;;) {
      const succinct = currentOf(this.#entry(name)).delegations?.succinctRoles;
      if (succinct === undefined) break;
      name = succinct.getRoleForTarget(targetPath);
    }
    // Every delegation on the way down must trust the path, or no client would find it there.
    for (let child = name, parent = this.#delegators.get(child); parent !== undefined; ) {
      const delegations = currentOf(this.#entry(parent)).delegations;
      const delegated = delegations?.roles?.find((r) => r.name === child);
      if (delegated !== undefined && !delegated.isDelegatedPath(targetPath)) {
        throw new InvalidStateError(
          `role ${child} is not trusted for target path ${targetPath} (its delegation from ${parent} does not match it)`,
        );
      }
      child = parent;
      parent = this.#delegators.get(child);
    }
    return name;
  }

  // -------------------------------------------------------------------------------------------
  // Delegations and hash bins

  /**
   * Delegate targets matching `paths` (or `pathHashPrefixes`) to a new role `name`.
   *
   * @throws RepositoryEditError `ERR_TUF_DUPLICATE_ROLE` when the name is taken,
   *   `ERR_TUF_THRESHOLD_UNREACHABLE` for a threshold above the number of keys.
   */
  delegate(name: string, options: DelegateOptions): void {
    checkRoleFileName(name);
    const delegatorName = options.delegator ?? 'targets';
    if (this.#roles.has(name)) {
      throw new RepositoryEditError(
        `a targets role named ${name} already exists; role names must be unique`,
        {
          role: name,
        },
        'ERR_TUF_DUPLICATE_ROLE',
      );
    }
    const delegator = currentOf(this.#entry(delegatorName));
    if (delegator.delegations?.succinctRoles !== undefined) {
      throw new InvalidStateError(
        `${delegatorName} delegates to hash bins; it cannot also delegate by name`,
      );
    }
    const keys = this.#keysOf(options.keys, name);
    const threshold = checkThreshold(options.threshold ?? 1, keys.length, name);
    for (const prefix of options.pathHashPrefixes ?? []) {
      if (!/^[0-9a-f]{1,64}$/.test(prefix))
        throw new FormatError(`path hash prefix ${JSON.stringify(prefix)} is not lowercase hex`);
    }
    for (const pattern of options.paths ?? []) {
      if (typeof pattern !== 'string' || pattern.length === 0)
        throw new FormatError('delegation path patterns must be non-empty strings');
    }
    const role = new DelegatedRole({
      name,
      keyids: keys.map((k) => k.keyId()),
      threshold,
      terminating: options.terminating ?? false,
      paths: options.paths,
      pathHashPrefixes: options.pathHashPrefixes,
    });
    const md = this.#touch(delegatorName);
    const delegations = md.signed.delegations ?? new Delegations();
    delegations.roles = [...(delegations.roles ?? []), role];
    delegations.keys = {
      ...delegations.keys,
      ...Object.fromEntries(keys.map((k) => [k.keyId(), k])),
    };
    md.signed.delegations = delegations;
    this.#roles.set(name, {
      published: undefined,
      pending: this.#emptyTargets(name),
      staged: false,
    });
    this.#delegators.set(name, delegatorName);
  }

  /**
   * Delegate everything `delegator` does not list itself to 2^bitLength succinct hash bins
   * (TAP 15). Targets added afterwards (to `delegator`) go to their bin.
   *
   * @example
   * ```ts
   * repo.createHashBins({ bitLength: 10, keys: [binSigner] }); // bins-000 … bins-3ff
   * ```
   */
  createHashBins(options: CreateHashBinsOptions): string[] {
    const delegatorName = options.delegator ?? 'targets';
    const delegator = currentOf(this.#entry(delegatorName));
    const existing = delegator.delegations;
    if (
      existing !== undefined &&
      (existing.succinctRoles !== undefined || (existing.roles?.length ?? 0) > 0)
    ) {
      throw new InvalidStateError(
        `${delegatorName} already delegates; hash bins need a delegator with no delegations (use resizeHashBins to change bins)`,
      );
    }
    checkRoleFileName(options.namePrefix ?? 'bins');
    const keys = this.#keysOf(options.keys, options.namePrefix ?? 'bins');
    const threshold = checkThreshold(
      options.threshold ?? 1,
      keys.length,
      options.namePrefix ?? 'bins',
    );
    const succinct = makeSuccinctRoles(
      options,
      keys.map((k) => k.keyId()),
      threshold,
    );
    const bins = [...succinct.getRoles()];
    for (const bin of bins) {
      if (this.#roles.has(bin)) {
        throw new RepositoryEditError(
          `hash bin ${bin} would clash with an existing role`,
          { role: bin },
          'ERR_TUF_DUPLICATE_ROLE',
        );
      }
    }
    const md = this.#touch(delegatorName);
    md.signed.delegations = new Delegations({
      keys: Object.fromEntries(keys.map((k) => [k.keyId(), k])),
      succinctRoles: succinct,
    });
    for (const bin of bins) {
      this.#roles.set(bin, {
        published: undefined,
        pending: this.#emptyTargets(bin),
        staged: false,
      });
      this.#delegators.set(bin, delegatorName);
    }
    return bins;
  }

  /**
   * Rebuild `delegator`'s hash bins with a new bit length: every target moves to its new bin and
   * every new bin is signed on the next publish. Old bins stay listed in snapshot (clients refuse
   * a snapshot that drops a role) and their files stay served.
   */
  resizeHashBins(bitLength: number, options: { delegator?: string } = {}): string[] {
    const delegatorName = options.delegator ?? 'targets';
    const old = currentOf(this.#entry(delegatorName)).delegations?.succinctRoles;
    if (old === undefined)
      throw new InvalidStateError(`${delegatorName} does not delegate to hash bins`);
    const succinct = makeSuccinctRoles(
      { bitLength, namePrefix: old.namePrefix },
      old.keyids,
      old.threshold,
    );
    if (bitLength === old.bitLength) return [...old.getRoles()];
    const oldBins = [...old.getRoles()];
    const oldSet = new Set(oldBins);
    const newBins = [...succinct.getRoles()];
    for (const bin of newBins) {
      if (this.#roles.has(bin) && !oldSet.has(bin)) {
        throw new RepositoryEditError(
          `hash bin ${bin} would clash with an existing role`,
          { role: bin },
          'ERR_TUF_DUPLICATE_ROLE',
        );
      }
    }
    const targets: TargetFile[] = [];
    for (const bin of oldBins) targets.push(...Object.values(currentOf(this.#entry(bin)).targets));
    const md = this.#touch(delegatorName);
    (md.signed.delegations as Delegations).succinctRoles = succinct;
    for (const bin of oldBins) {
      this.#roles.delete(bin);
      this.#delegators.delete(bin);
    }
    const distribution = distributeToBins(succinct, targets);
    for (const bin of newBins) {
      const pending = this.#emptyTargets(bin);
      for (const target of distribution.get(bin) ?? []) pending.signed.addTarget(target);
      this.#roles.set(bin, { published: undefined, pending, staged: false });
      this.#delegators.set(bin, delegatorName);
    }
    return newBins;
  }

  // -------------------------------------------------------------------------------------------
  // Keys and thresholds (root rotation for top-level roles, delegator edits for the others)

  /**
   * Trust `key` for `role` (a top-level role, a delegated role, or any bin name for all bins of
   * that delegator). A {@link Signer} is also kept for signing. Returns the key id.
   */
  addKey(role: string, key: KeyInput): string {
    const [parsed] = this.#keysOf([key], role);
    const k = parsed as Key;
    if (isTopLevel(role)) {
      this.#touchRoot().signed.addKey(k, role);
      this.#afterRootRoleChange(role);
    } else {
      const { delegatorName, succinct } = this.#delegationOf(role);
      const delegations = this.#touch(delegatorName).signed.delegations as Delegations;
      delegations.addKey(k, succinct === undefined ? role : undefined);
      this.#afterDelegatedKeyChange(role, succinct);
    }
    return k.keyId();
  }

  /**
   * Stop trusting `keyid` for `role`.
   *
   * @throws RepositoryEditError `ERR_TUF_THRESHOLD_UNREACHABLE` when fewer keys than the threshold
   *   would remain (lower the threshold first); nothing is changed.
   */
  revokeKey(role: string, keyid: string): void {
    const current = this.#roleKeys(role);
    if (!current.keyids.includes(keyid))
      throw new InvalidStateError(`key ${keyid} is not trusted for ${role}`);
    checkThreshold(current.threshold, current.keyids.length - 1, role);
    if (isTopLevel(role)) {
      this.#touchRoot().signed.revokeKey(keyid, role);
      this.#afterRootRoleChange(role);
      return;
    }
    const { delegatorName, succinct } = this.#delegationOf(role);
    const delegations = this.#touch(delegatorName).signed.delegations as Delegations;
    const target =
      succinct === undefined
        ? delegations.roles?.find((r) => r.name === role)
        : delegations.succinctRoles;
    if (target === undefined)
      throw new InvalidStateError(`${role} is not delegated by ${delegatorName}`);
    target.keyids = target.keyids.filter((id) => id !== keyid);
    const stillUsed =
      (delegations.roles ?? []).some((r) => r.keyids.includes(keyid)) ||
      (delegations.succinctRoles?.keyids.includes(keyid) ?? false);
    if (!stillUsed)
      delegations.keys = Object.fromEntries(
        Object.entries(delegations.keys).filter(([id]) => id !== keyid),
      );
    this.#afterDelegatedKeyChange(role, succinct);
  }

  /**
   * Set how many distinct keys must sign `role`.
   *
   * @throws RepositoryEditError `ERR_TUF_THRESHOLD_UNREACHABLE` above the number of keys.
   */
  setThreshold(role: string, threshold: number): void {
    const current = this.#roleKeys(role);
    checkThreshold(threshold, current.keyids.length, role);
    if (isTopLevel(role)) {
      this.#touchRoot().signed.roles[role].threshold = threshold;
      this.#afterRootRoleChange(role);
      return;
    }
    const { delegatorName, succinct } = this.#delegationOf(role);
    const delegations = this.#touch(delegatorName).signed.delegations as Delegations;
    const target =
      succinct === undefined
        ? delegations.roles?.find((r) => r.name === role)
        : delegations.succinctRoles;
    (target as { threshold: number }).threshold = threshold;
    this.#afterDelegatedKeyChange(role, succinct);
  }

  #roleKeys(role: string): { keyids: string[]; threshold: number } {
    if (isTopLevel(role)) return this.#currentRootMetadata().signed.getRole(role);
    const { delegatorName, succinct } = this.#delegationOf(role);
    const found =
      succinct ??
      currentOf(this.#entry(delegatorName)).delegations?.roles?.find((r) => r.name === role);
    if (found === undefined)
      throw new InvalidStateError(`${role} is not delegated by ${delegatorName}`);
    return found;
  }

  #delegationOf(role: string): { delegatorName: string; succinct: SuccinctRoles | undefined } {
    const delegatorName = this.#delegators.get(role);
    if (delegatorName === undefined) throw new InvalidStateError(`no delegated role named ${role}`);
    const succinct = currentOf(this.#entry(delegatorName)).delegations?.succinctRoles;
    return { delegatorName, succinct };
  }

  #afterRootRoleChange(role: TopLevelRoleName): void {
    // A role whose keys change must be re-signed by its new keys.
    if (role === 'targets') this.#touch('targets');
    if (role === 'snapshot') this.#forceSnapshot = true;
  }

  #afterDelegatedKeyChange(role: string, succinct: SuccinctRoles | undefined): void {
    if (succinct === undefined) this.#touch(role);
    else for (const bin of succinct.getRoles()) this.#touch(bin);
  }

  // -------------------------------------------------------------------------------------------
  // Expiry

  /**
   * Re-sign roles whose served metadata expires within `within` milliseconds (default: half of
   * each role's period): a new version with a fresh expiry. Publishes unless `publish: false`.
   *
   * @returns the roles marked, and the publish result when published.
   */
  async refresh(
    options: RefreshOptions = {},
  ): Promise<{ roles: string[]; result: PublishResult | undefined }> {
    const now = this.#now().getTime();
    const due = (name: string, expires: Date | undefined): boolean =>
      expires !== undefined &&
      expires.getTime() - now <= (options.within ?? periodFor(this.#policy, name) / 2);
    const roles: string[] = [];
    if (this.#pendingRoot === undefined && due('root', this.#root?.metadata.signed.expires)) {
      this.#touchRoot();
      roles.push('root');
    }
    for (const [name, entry] of this.#roles) {
      if (entry.pending === undefined && due(name, entry.published?.metadata.signed.expires)) {
        this.#touch(name);
        roles.push(name);
      }
    }
    if (due('snapshot', this.#snapshot?.metadata.signed.expires)) {
      this.#forceSnapshot = true;
      roles.push('snapshot');
    }
    if (roles.length > 0 || due('timestamp', this.#timestamp?.metadata.signed.expires)) {
      this.#forceTimestamp = true;
      roles.push('timestamp');
    }
    const result =
      options.publish === false || roles.length === 0 ? undefined : await this.publish(options);
    return { roles, result };
  }

  // -------------------------------------------------------------------------------------------
  // Threshold and offline signing

  /**
   * Sign pending roles with the signers at hand and write them to the staging area, where other
   * sessions (`tufota sign`) can add signatures before publishing.
   *
   * @param roles - which pending roles (default all: root and targets roles with edits).
   * @returns the roles staged.
   */
  async prepare(roles?: string[]): Promise<string[]> {
    const names = roles ?? this.#pendingNames();
    for (const name of names) this.#pendingOf(name);
    await forEachLimit(names, CONCURRENCY, async (name) => {
      const md = this.#pendingOf(name);
      await signWithAvailable(md, this.#requirements(name, false), this.#signers);
      await this.#stage(name, md);
    });
    return names;
  }

  /**
   * Add one signature to a pending role without touching its `signed` portion.
   *
   * @throws RepositoryEditError `ERR_TUF_KEY_NOT_AUTHORIZED` when the signer's key is not one the
   *   role's delegator (or, for root, the previous root) trusts for it, or its signature does not
   *   verify with the key listed under its key id. Nothing is changed.
   * @throws InvalidStateError when the role has no pending edits.
   */
  async addSignature(role: string, signer: Signer): Promise<void> {
    const md = this.#pendingOf(role);
    const requirements = this.#requirements(role, false);
    if (!authorizedKeyIds(requirements).has(signer.keyid)) {
      throw new RepositoryEditError(
        `key ${signer.keyid} is not trusted to sign ${role}; trusted: ${[...authorizedKeyIds(requirements)].join(', ')}`,
        { role },
        'ERR_TUF_KEY_NOT_AUTHORIZED',
      );
    }
    const data = md.signedBytes();
    const signatureBytes = await signer.sign(data);
    const key = listedKey(requirements, signer.keyid);
    const signature = new Signature(signer.keyid, bytesToHex(signatureBytes));
    if (key === undefined || !key.verifySignature(signature, data)) {
      throw new RepositoryEditError(
        `the signature of signer ${signer.keyid} does not verify with the key listed under that key id for ${role}`,
        { role },
        'ERR_TUF_KEY_NOT_AUTHORIZED',
      );
    }
    md.signatures.set(signer.keyid, signature);
    if (this.#isStaged(role)) await this.#stage(role, md);
  }

  /** Version, expiry and signatures present/missing of every role (`tufota status`). */
  status(): RoleStatus[] {
    const out: RoleStatus[] = [];
    const describe = (
      role: string,
      delegator: string,
      md: Metadata,
      pending: boolean,
      staged: boolean,
    ) => {
      const requirements = requirementStatus(md, this.#requirements(role, false));
      out.push({
        role,
        delegator,
        version: md.signed.version,
        expires: md.signed.expires,
        pending,
        staged,
        requirements,
        verified: requirements.every((r) => r.verified),
      });
    };
    describe(
      'root',
      'root',
      this.#currentRootMetadata(),
      this.#pendingRoot !== undefined,
      this.#rootStaged,
    );
    for (const name of ['timestamp', 'snapshot'] as const) {
      const role = name === 'timestamp' ? this.#timestamp : this.#snapshot;
      if (role !== undefined) describe(name, 'root', role.metadata, false, false);
    }
    for (const [name, entry] of this.#roles) {
      describe(
        name,
        this.#delegators.get(name) ?? 'root',
        entry.pending ?? (entry.published as SignedRole<Targets>).metadata,
        entry.pending !== undefined,
        entry.staged,
      );
    }
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // Publishing

  /**
   * Sign and publish every pending role, then a new snapshot and timestamp listing the exact
   * bytes written, in the crash-safe order of `publish.ts`. Everything is signed and checked
   * before the first file is written: an {@link UnsignedMetadataError} leaves storage untouched.
   *
   * @throws InvalidStateError when the root turns consistent snapshots off.
   * @throws UnsignedMetadataError when a role lacks signatures (see {@link status}).
   * @throws StorageError when a write fails; the served repository is then the old or the new
   *   state, and this object knows which (publish again to finish).
   */
  async publish(options: PublishOptions = {}): Promise<PublishResult> {
    const rootNow = this.#currentRootMetadata().signed;
    if (rootNow.consistentSnapshot !== true) {
      throw new InvalidStateError(
        'publishing needs consistent_snapshot: true in root (see Repository module docs)',
      );
    }
    const now = this.#now();
    const unsafe = options.unsafeAllowRotationWindow === true;
    const changed = [...this.#roles]
      .filter(([, e]) => e.pending !== undefined)
      .map(([name]) => name);
    const rootChanged = (name: TopLevelRoleName): boolean =>
      this.#pendingRoot !== undefined &&
      this.#root !== undefined &&
      !sameRole(this.#pendingRoot.signed, this.#root.metadata.signed, name);
    if (rootChanged('targets') && !changed.includes('targets')) {
      this.#touch('targets');
      changed.push('targets');
    }
    const needSnapshot =
      changed.length > 0 ||
      this.#forceSnapshot ||
      this.#snapshot === undefined ||
      rootChanged('snapshot');
    if (
      !needSnapshot &&
      this.#pendingRoot === undefined &&
      !this.#forceTimestamp &&
      !rootChanged('timestamp')
    ) {
      return { roles: [], written: [] };
    }

    // 1. Sign everything (nothing written yet).
    const signedTargets: Array<{ name: string; role: SignedRole<Targets> }> = [];
    await forEachLimit(changed, CONCURRENCY, async (name) => {
      const md = this.#pendingOf(name) as Metadata<Targets>;
      if (md.signatures.size === 0)
        md.signed.expires = expiresAfter(now, periodFor(this.#policy, name));
      signedTargets.push({ name, role: await this.#finish(name, md, unsafe) });
    });
    let root: SignedRole<Root> | undefined;
    if (this.#pendingRoot !== undefined) {
      if (this.#pendingRoot.signatures.size === 0)
        this.#pendingRoot.signed.expires = expiresAfter(now, this.#policy.root);
      root = await this.#finish('root', this.#pendingRoot, unsafe);
    }
    let snapshot: SignedRole<Snapshot> | undefined;
    if (needSnapshot) {
      const meta = { ...(this.#snapshot?.metadata.signed.meta ?? {}) };
      for (const { name, role } of signedTargets) meta[`${name}.json`] = metaFileOf(role);
      const md = new Metadata(
        new Snapshot({
          version: (this.#snapshot?.metadata.signed.version ?? 0) + 1,
          expires: expiresAfter(now, this.#policy.snapshot),
          meta,
        }),
      );
      snapshot = await this.#finish('snapshot', md, unsafe);
    }
    const timestamp = await this.#finish(
      'timestamp',
      new Metadata(
        new Timestamp({
          version: (this.#timestamp?.metadata.signed.version ?? 0) + 1,
          expires: expiresAfter(now, this.#policy.timestamp),
          snapshotMeta: metaFileOf((snapshot ?? this.#snapshot) as SignedRole<Snapshot>),
        }),
      ),
      unsafe,
    );

    // 2. Write, then record what was committed even if a later write fails.
    const progress: PublishProgress = {
      written: [],
      contentCommitted: false,
      rootCommitted: false,
    };
    try {
      await writePublication(
        this.#storage,
        {
          targetsRoles: signedTargets,
          snapshot,
          timestamp,
          root,
          initial: this.#timestamp === undefined,
        },
        progress,
      );
    } finally {
      if (progress.contentCommitted) {
        for (const { name, role } of signedTargets) {
          const entry = this.#roles.get(name);
          if (entry !== undefined)
            Object.assign(entry, { published: role, pending: undefined, staged: false });
        }
        if (snapshot !== undefined) this.#snapshot = snapshot;
        this.#timestamp = timestamp;
        this.#forceSnapshot = false;
        this.#forceTimestamp = false;
      }
      if (progress.rootCommitted && root !== undefined) {
        this.#root = root;
        this.#pendingRoot = undefined;
        this.#rootStaged = false;
      }
    }
    await this.#clearStaging();
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

  /** Sign with the signers at hand, check every threshold, serialize once. */
  async #finish<T extends Root | Targets | Snapshot | Timestamp>(
    name: string,
    md: Metadata<T>,
    unsafe: boolean,
  ): Promise<SignedRole<T>> {
    const requirements = this.#requirements(name, unsafe);
    const data = await signWithAvailable(md, requirements, this.#signers);
    assertSigned(name, md, requirements, data);
    return signedRoleFromMetadata(md);
  }

  /** The thresholds `name` must meet to be published now (see `signing.ts`). */
  #requirements(name: string, unsafe: boolean): SigningRequirement[] {
    const previous = this.#root?.metadata;
    const current = this.#currentRootMetadata();
    const label = (md: Metadata, what: string) => `${what} version ${md.signed.version}`;
    if (name === 'root') {
      const out: SigningRequirement[] = [
        { delegator: current, role: 'root', label: label(current, 'root') },
      ];
      if (this.#pendingRoot !== undefined && previous !== undefined) {
        out.push({ delegator: previous, role: 'root', label: label(previous, 'previous root') });
      }
      return out;
    }
    if (isTopLevel(name)) {
      const out: SigningRequirement[] = [
        { delegator: current, role: name, label: label(current, 'root') },
      ];
      if (
        !unsafe &&
        previous !== undefined &&
        this.#pendingRoot !== undefined &&
        !sameRole(current.signed, previous.signed, name)
      ) {
        out.push({ delegator: previous, role: name, label: label(previous, 'previous root') });
      }
      return out;
    }
    const delegatorName = this.#delegators.get(name);
    if (delegatorName === undefined) throw new InvalidStateError(`no targets role named ${name}`);
    const delegator = this.getMetadata(delegatorName) as Metadata<Targets>;
    return [{ delegator, role: name, label: label(delegator, delegatorName) }];
  }

  // -------------------------------------------------------------------------------------------
  // Internals

  #entry(name: string): TargetsEntry {
    const entry = this.#roles.get(name);
    if (entry === undefined) throw new InvalidStateError(`no targets role named ${name}`);
    return entry;
  }

  #currentRootMetadata(): Metadata<Root> {
    const md = this.#pendingRoot ?? this.#root?.metadata;
    if (md === undefined) throw new InvalidStateError('the repository has no root');
    return md;
  }

  #pendingNames(): string[] {
    return [
      ...(this.#pendingRoot === undefined ? [] : ['root']),
      ...[...this.#roles].filter(([, e]) => e.pending !== undefined).map(([n]) => n),
    ];
  }

  #pendingOf(name: string): Metadata<Root> | Metadata<Targets> {
    const md =
      name === 'root'
        ? this.#pendingRoot
        : isTopLevel(name) && name !== 'targets'
          ? undefined
          : this.#entry(name).pending;
    if (md === undefined) {
      throw new InvalidStateError(
        name === 'snapshot' || name === 'timestamp'
          ? `${name} is built and signed by publish() with its online keys; it cannot be prepared`
          : `${name} has no pending edits to sign`,
      );
    }
    return md;
  }

  #isStaged(name: string): boolean {
    return name === 'root' ? this.#rootStaged : (this.#roles.get(name)?.staged ?? false);
  }

  async #stage(name: string, md: Metadata): Promise<void> {
    await this.#storage.writeFile(`${STAGING_DIR}/${name}.json`, md.toBytes());
    if (name === 'root') this.#rootStaged = true;
    else this.#entry(name).staged = true;
  }

  async #clearStaging(): Promise<void> {
    // Best effort: a staged file left behind has a version already published and is ignored.
    for (const file of await this.#storage.list(STAGING_DIR).catch(() => [] as string[])) {
      const name = file.slice(0, -'.json'.length);
      const stillPending =
        name === 'root'
          ? this.#pendingRoot !== undefined
          : this.#roles.get(name)?.pending !== undefined;
      if (!stillPending) await this.#storage.remove(`${STAGING_DIR}/${file}`).catch(() => {});
    }
  }

  /** The pending copy of a targets role, created on first edit (version bumped once). */
  #touch(name: string): Metadata<Targets> {
    const entry = this.#entry(name);
    if (entry.pending !== undefined) {
      entry.pending.signatures.clear();
      return entry.pending;
    }
    const md = Metadata.fromBytes((entry.published as SignedRole<Targets>).bytes, 'targets');
    md.signatures.clear();
    md.signed.version = this.#nextVersion(name);
    md.signed.expires = expiresAfter(this.#now(), periodFor(this.#policy, name));
    entry.pending = md;
    return md;
  }

  #touchRoot(): Metadata<Root> {
    if (this.#pendingRoot !== undefined) {
      this.#pendingRoot.signatures.clear();
      return this.#pendingRoot;
    }
    const md = Metadata.fromBytes((this.#root as SignedRole<Root>).bytes, 'root');
    md.signatures.clear();
    md.signed.version += 1;
    md.signed.expires = expiresAfter(this.#now(), this.#policy.root);
    this.#pendingRoot = md;
    return md;
  }

  /** An empty new targets role, versioned above any version the snapshot ever listed for the name. */
  #emptyTargets(name: string): Metadata<Targets> {
    return new Metadata(
      new Targets({
        version: this.#nextVersion(name),
        expires: expiresAfter(this.#now(), periodFor(this.#policy, name)),
      }),
    );
  }

  #nextVersion(name: string): number {
    const meta = this.#snapshot?.metadata.signed.meta;
    const listed =
      meta !== undefined && Object.hasOwn(meta, `${name}.json`)
        ? (meta[`${name}.json`]?.version ?? 0)
        : 0;
    const published = this.#roles.get(name)?.published?.metadata.signed.version ?? 0;
    return Math.max(listed, published) + 1;
  }

  #keysOf(inputs: KeyInput[], role: string): Key[] {
    if (!Array.isArray(inputs) || inputs.length === 0) {
      throw new RepositoryEditError(
        `${role} needs at least one key`,
        { role },
        'ERR_TUF_THRESHOLD_UNREACHABLE',
      );
    }
    const keys = new Map<string, Key>();
    for (const input of inputs) {
      if (isSigner(input)) this.addSigners(input);
      const key = Key.fromPublicKeyData(isSigner(input) ? input.publicKey : input);
      keys.set(isSigner(input) ? input.keyid : key.keyId(), key);
    }
    return [...keys.values()];
  }
}

// ---------------------------------------------------------------------------------------------

function isTopLevel(name: string): name is TopLevelRoleName {
  return (TOP_LEVEL_ROLE_NAMES as readonly string[]).includes(name);
}

function currentOf(entry: TargetsEntry): Targets {
  return (entry.pending ?? (entry.published as SignedRole<Targets>).metadata).signed;
}

function childRoles(targets: Targets): string[] {
  const delegations = targets.delegations;
  if (delegations === undefined) return [];
  if (delegations.succinctRoles !== undefined) return [...delegations.succinctRoles.getRoles()];
  return (delegations.roles ?? []).map((r) => r.name);
}

function sameRole(a: Root, b: Root, name: TopLevelRoleName): boolean {
  const ra = a.roles[name];
  const rb = b.roles[name];
  return (
    ra.threshold === rb.threshold &&
    ra.keyids.length === rb.keyids.length &&
    ra.keyids.every((id) => rb.keyids.includes(id))
  );
}

function checkThreshold(threshold: number, keyCount: number, role: string): number {
  if (!Number.isSafeInteger(threshold) || threshold < 1 || threshold > keyCount) {
    throw new RepositoryEditError(
      `threshold ${String(threshold)} for ${role} cannot be met: it must be an integer from 1 to the number of keys (${keyCount})`,
      { role },
      'ERR_TUF_THRESHOLD_UNREACHABLE',
    );
  }
  return threshold;
}

function configBytes(policy: ExpiryPolicy, hashAlgorithms: string[]): Uint8Array {
  return new TextEncoder().encode(
    `${JSON.stringify({ expiry: policy, targetHashAlgorithms: hashAlgorithms }, null, 2)}\n`,
  );
}

/** Read `V.NAME.json`, check it against what snapshot/timestamp list, keep its bytes. */
async function readRole<K extends 'snapshot' | 'targets'>(
  storage: RepositoryStorage,
  name: string,
  version: number,
  type: K,
  listed: {
    length?: number;
    hashes?: Record<string, string>;
    verifyLengthAndHashes(d: Uint8Array, r: string): void;
  },
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
      {
        role: name,
        cause: error,
      },
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
