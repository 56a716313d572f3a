/**
 * `RepositorySimulator`: an in-memory TUF repository that *is* a {@link Fetcher}, for testing
 * clients (ours, and integrations built on it) without a network, a disk or fixtures.
 *
 * Implements, after python-tuf's `tests/repository_simulator.py` (the idea, not the code):
 * - a minimal valid repository on {@link RepositorySimulator.create}: one fresh ed25519 key per
 *   top-level role, root v1 published, timestamp/snapshot/targets v1;
 * - metadata that is edited in place (`sim.targets.version += 1`) and signed *on demand* when a
 *   client fetches it, with whatever signers the role has at that moment; roots are the exception
 *   and are frozen by {@link RepositorySimulator.publishRoot} (each version may have its own
 *   signers: that is how root rotation chains are built);
 * - delegations by path patterns, hash prefixes and TAP 15 succinct hash bins, any depth, cycles
 *   included (the simulator does not care; the client must);
 * - target files with content, served as `PATH` or `DIR/HASH.NAME` (consistent snapshots);
 * - a log of every request ({@link RepositorySimulator.fetchLog}) so tests assert the exact fetch
 *   sequence;
 * - attack knobs: tamper with served bytes, serve pinned (old) bytes for a role, make a file
 *   unavailable or fail with any error, and compute or omit lengths and hashes in timestamp and
 *   snapshot `meta`. Drip, stall and endless-data responses are in `attacks.ts` (a wrapping
 *   fetcher) and `http-server.ts`.
 *
 * URL layout: `${baseUrl}metadata/…` and `${baseUrl}targets/…`. Metadata file names are
 * percent-decoded before lookup, so a client that percent-encodes role names (as it must) finds
 * them, and an unencoded fishy name simply does not resolve.
 *
 * Does not implement: persistence, TAP 4 multi-repository maps, key types other than the ones
 * {@link InMemorySigner} generates. Not a repository tool: it takes no care to keep metadata
 * consistent; tests break it on purpose.
 *
 * Not safe for concurrent mutation; concurrent fetches are fine (each signs a snapshot of the
 * current state).
 *
 * @module
 */
import type { OpenedResource, OpenRequest } from '../client/fetcher.js';
import { BaseFetcher } from '../client/fetcher.js';
import { type GenerateKeyType, hashBytes, InMemorySigner, type Signer } from '../crypto/index.js';
import { NotFoundError } from '../errors.js';
import {
  DelegatedRole,
  Delegations,
  Key,
  Metadata,
  MetaFile,
  Root,
  Snapshot,
  SuccinctRoles,
  TargetFile,
  Targets,
  Timestamp,
  TOP_LEVEL_ROLE_NAMES,
  type TopLevelRoleName,
} from '../models/index.js';

/** Options of {@link RepositorySimulator.create}. */
export interface RepositorySimulatorOptions {
  /** `consistent_snapshot` of root v1. Default `true`. */
  consistentSnapshot?: boolean;
  /** `expires` of every role the simulator creates. Default: 30 days after `now`. */
  expires?: Date;
  /** The time `expires` is computed from. Default: the clock when `create` runs. */
  now?: Date;
  /** Where the simulated repository lives. Default `https://simulator.tufota.invalid/`. */
  baseUrl?: string;
  /** Key type of the keys the simulator generates. Default `ed25519`. */
  keyType?: GenerateKeyType;
}

/** A target file the simulator serves: its bytes and what metadata says about them. */
export interface SimulatedTarget {
  data: Uint8Array;
  targetFile: TargetFile;
}

/** One request the simulator answered (or refused). */
export interface FetchRecord {
  /** Path relative to the base URL, exactly as requested (still percent-encoded). */
  path: string;
  kind: 'metadata' | 'target' | 'other';
  /** For metadata: the role name (percent-decoded); for targets: the target path. */
  name?: string;
  /** For metadata: the version in the file name, when the name carried one. */
  version?: number;
}

/** Replaces the bytes served for a role or target, e.g. to flip a byte or truncate. */
export type Tamperer = (bytes: Uint8Array, version: number | undefined) => Uint8Array;

/** A freshly generated key and its signer. */
export interface KeyPair {
  key: Key;
  signer: Signer;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * An in-memory TUF repository and the fetcher that serves it.
 *
 * @example
 * ```ts
 * import { RepositorySimulator } from 'tufota/testing';
 *
 * const sim = await RepositorySimulator.create();
 * sim.addTarget('targets', new TextEncoder().encode('hello'), 'greeting.txt');
 * sim.targets.version += 1;
 * await sim.updateSnapshot();
 * const updater = await Updater.create({
 *   metadataBaseUrl: sim.metadataBaseUrl, targetBaseUrl: sim.targetBaseUrl,
 *   fetcher: sim, metadataStore: store, // store seeded with sim.signedRoots[0]
 * });
 * await updater.refresh();
 * expect(sim.requestedPaths()).toEqual(['metadata/2.root.json', 'metadata/timestamp.json', …]);
 * ```
 */
export class RepositorySimulator extends BaseFetcher {
  /** Base URL of the repository, ending in `/`. */
  readonly baseUrl: string;
  /** `${baseUrl}metadata/`: pass it to the Updater as `metadataBaseUrl`. */
  readonly metadataBaseUrl: string;
  /** `${baseUrl}targets/`: pass it to the Updater as `targetBaseUrl`. */
  readonly targetBaseUrl: string;
  /** Expiry given to every role the simulator creates. */
  safeExpiry: Date;
  readonly keyType: GenerateKeyType;

  mdRoot: Metadata<Root>;
  mdTimestamp: Metadata<Timestamp>;
  mdSnapshot: Metadata<Snapshot>;
  mdTargets: Metadata<Targets>;
  /** Delegated targets roles by name (a role delegated by several delegators appears once). */
  readonly mdDelegates = new Map<string, Metadata<Targets>>();
  /** Signers used at fetch time, per role name, by key id. */
  readonly signers = new Map<string, Map<string, Signer>>();
  /** Published roots, `signedRoots[v - 1]` being version v, as exact bytes. Editable. */
  readonly signedRoots: Uint8Array[] = [];
  /** Target files by target path. */
  readonly targetFiles = new Map<string, SimulatedTarget>();
  /** Whether timestamp and snapshot `meta` entries get `length` and `hashes`. Default false. */
  computeMetafileHashesLength = false;
  /** Whether consistent-snapshot target names are `HASH.NAME` (TUF default). Default true. */
  prefixTargetsWithHash = true;
  /** Every request, in order. Clear it with {@link RepositorySimulator.clearFetchLog}. */
  readonly fetchLog: FetchRecord[] = [];

  readonly #pinned = new Map<string, Uint8Array>();
  readonly #tamperers = new Map<string, Tamperer>();
  readonly #failures = new Map<string, () => Error>();

  private constructor(options: Required<Omit<RepositorySimulatorOptions, 'now'>>) {
    super();
    this.baseUrl = options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`;
    this.metadataBaseUrl = `${this.baseUrl}metadata/`;
    this.targetBaseUrl = `${this.baseUrl}targets/`;
    this.safeExpiry = options.expires;
    this.keyType = options.keyType;
    const expires = this.safeExpiry;
    this.mdTargets = new Metadata(new Targets({ expires }));
    this.mdSnapshot = new Metadata(
      new Snapshot({ expires, meta: { 'targets.json': new MetaFile(1) } }),
    );
    this.mdTimestamp = new Metadata(new Timestamp({ expires, snapshotMeta: new MetaFile(1) }));
    this.mdRoot = new Metadata(
      new Root({ expires, consistentSnapshot: options.consistentSnapshot }),
    );
  }

  /**
   * A minimal valid repository: one new key per top-level role, root v1 published.
   */
  static async create(options: RepositorySimulatorOptions = {}): Promise<RepositorySimulator> {
    const now = options.now ?? new Date();
    const expires =
      options.expires ?? new Date(Math.floor((now.getTime() + 30 * DAY_MS) / 1000) * 1000);
    const sim = new RepositorySimulator({
      consistentSnapshot: options.consistentSnapshot ?? true,
      expires,
      baseUrl: options.baseUrl ?? 'https://simulator.tufota.invalid/',
      keyType: options.keyType ?? 'ed25519',
    });
    for (const role of TOP_LEVEL_ROLE_NAMES) {
      const { key, signer } = await sim.createKey();
      sim.root.addKey(key, role);
      sim.addSigner(role, signer);
    }
    await sim.publishRoot();
    return sim;
  }

  /** Generate a key of the simulator's key type. */
  async createKey(): Promise<KeyPair> {
    const signer = await InMemorySigner.generate(this.keyType);
    return { key: Key.fromPublicKeyData(signer.publicKey), signer };
  }

  get root(): Root {
    return this.mdRoot.signed;
  }
  get timestamp(): Timestamp {
    return this.mdTimestamp.signed;
  }
  get snapshot(): Snapshot {
    return this.mdSnapshot.signed;
  }
  get targets(): Targets {
    return this.mdTargets.signed;
  }

  /** The targets metadata of `role` (`targets` or a delegated role). */
  targetsOf(role: string): Targets {
    if (role === 'targets') return this.targets;
    const md = this.mdDelegates.get(role);
    if (md === undefined) throw new Error(`the simulator has no targets role named ${role}`);
    return md.signed;
  }

  /** Every targets role, top-level first, as `[name, signed]`. */
  *allTargets(): Generator<[string, Targets]> {
    yield ['targets', this.targets];
    for (const [name, md] of this.mdDelegates) yield [name, md.signed];
  }

  // -------------------------------------------------------------------------------------------
  // Keys and signers.

  /** Let `signer` sign `role` from now on (in addition to its other signers). */
  addSigner(role: string, signer: Signer): void {
    let bucket = this.signers.get(role);
    if (bucket === undefined) this.signers.set(role, (bucket = new Map()));
    bucket.set(signer.keyid, signer);
  }

  /** Forget every signer of `role`: its metadata is then served unsigned. */
  clearSigners(role: string): void {
    this.signers.get(role)?.clear();
  }

  /** The signers `role` is currently signed with. */
  signersOf(role: string): Signer[] {
    return [...(this.signers.get(role)?.values() ?? [])];
  }

  /**
   * Replace every key of `role` with `count` new ones and set its threshold, in the delegating
   * metadata (root for top-level roles, every delegator for delegated ones) and among the
   * signers. Root is *not* republished: bump `root.version` and call
   * {@link RepositorySimulator.publishRoot} (for a root rotation, with the old signers too).
   *
   * @returns the new signers.
   */
  async rotateKeys(
    role: string,
    options: { count?: number; threshold?: number } = {},
  ): Promise<Signer[]> {
    const count = options.count ?? 1;
    const pairs: KeyPair[] = [];
    for (let i = 0; i < count; i++) pairs.push(await this.createKey());
    const threshold = options.threshold ?? 1;
    if ((TOP_LEVEL_ROLE_NAMES as readonly string[]).includes(role)) {
      const name = role as TopLevelRoleName;
      for (const keyid of [...this.root.roles[name].keyids]) this.root.revokeKey(keyid, name);
      for (const { key } of pairs) this.root.addKey(key, name);
      this.root.roles[name].threshold = threshold;
    } else {
      let found = false;
      for (const [, delegator] of this.allTargets()) {
        const delegations = delegator.delegations;
        const delegated = delegations?.getRole(role);
        if (delegations === undefined || delegated === undefined) continue;
        found = true;
        delegated.keyids = [];
        delegated.threshold = threshold;
        for (const { key } of pairs) {
          delegations.keys[key.keyId()] = key;
          delegated.keyids.push(key.keyId());
        }
      }
      if (!found) throw new Error(`no targets role delegates ${role}`);
    }
    this.clearSigners(role);
    for (const { signer } of pairs) this.addSigner(role, signer);
    return pairs.map((p) => p.signer);
  }

  // -------------------------------------------------------------------------------------------
  // Publishing.

  /**
   * Sign the current root and append its bytes to {@link RepositorySimulator.signedRoots}. The
   * version is whatever `root.version` says (tests publish wrong versions on purpose).
   *
   * @param options.signers - sign with these instead of the current root signers (e.g. the
   *   previous and the new root keys, for a rotation).
   * @returns the published bytes.
   */
  async publishRoot(options: { signers?: Iterable<Signer> } = {}): Promise<Uint8Array> {
    const signers = options.signers === undefined ? this.signersOf('root') : [...options.signers];
    this.mdRoot.signatures.clear();
    for (const signer of signers) await this.mdRoot.sign(signer, { append: true });
    const bytes = this.mdRoot.toBytes();
    this.signedRoots.push(bytes);
    return bytes;
  }

  /**
   * The bytes a client gets for `role` now: signed on demand with the role's current signers,
   * without any pin or tamperer applied. For root, the published `version` (default latest).
   *
   * @throws NotFoundError when there is no such role or root version.
   */
  async fetchMetadata(role: string, version?: number): Promise<Uint8Array> {
    if (role === 'root') {
      const v = version ?? this.signedRoots.length;
      const bytes = this.signedRoots[v - 1];
      if (bytes === undefined) throw new NotFoundError(`no root version ${v}`);
      return bytes;
    }
    const md = this.#metadataOf(role);
    if (md === undefined) throw new NotFoundError(`no role named ${role}`);
    md.signatures.clear();
    for (const signer of this.signersOf(role)) await md.sign(signer, { append: true });
    return md.toBytes();
  }

  /**
   * Point the timestamp at the current snapshot version (with its length and hashes when
   * {@link computeMetafileHashesLength} is on) and bump the timestamp version.
   */
  async updateTimestamp(): Promise<void> {
    const meta = new MetaFile(this.snapshot.version);
    if (this.computeMetafileHashesLength) await this.#fillLengthAndHashes(meta, 'snapshot');
    this.timestamp.snapshotMeta = meta;
    this.timestamp.version += 1;
  }

  /**
   * Record every targets role's current version in the snapshot (with lengths and hashes when
   * {@link computeMetafileHashesLength} is on), bump the snapshot version, then
   * {@link updateTimestamp}.
   */
  async updateSnapshot(): Promise<void> {
    for (const [name, signed] of this.allTargets()) {
      const meta = new MetaFile(signed.version);
      if (this.computeMetafileHashesLength) await this.#fillLengthAndHashes(meta, name);
      this.snapshot.meta = Object.fromEntries([
        ...Object.entries(this.snapshot.meta),
        [`${name}.json`, meta],
      ]);
    }
    this.snapshot.version += 1;
    await this.updateTimestamp();
  }

  async #fillLengthAndHashes(meta: MetaFile, role: string): Promise<void> {
    const bytes = await this.fetchMetadata(role);
    meta.length = bytes.byteLength;
    meta.hashes = hashBytes(bytes, ['sha256']);
  }

  // -------------------------------------------------------------------------------------------
  // Targets and delegations.

  /**
   * Add a target file to `role`'s metadata and serve `data` for it. Does not bump versions.
   *
   * @returns the `TargetFile` (sha256 hash, exact length).
   */
  addTarget(
    role: string,
    data: Uint8Array,
    path: string,
    custom?: Record<string, unknown>,
  ): TargetFile {
    const targetFile = new TargetFile(path, data.byteLength, hashBytes(data, ['sha256']), custom);
    this.targetsOf(role).addTarget(targetFile);
    this.targetFiles.set(path, { data, targetFile });
    return targetFile;
  }

  /**
   * Delegate `role` from `delegator` (appended last, so searched last). When `role.keyids` is
   * empty, one new key is created for it. `targets` becomes the role's metadata unless the role
   * already has metadata (a second delegator delegating to the same role).
   *
   * @returns the signers created for the role (none when `role.keyids` was given).
   */
  async addDelegation(
    delegator: string,
    role: DelegatedRole,
    targets?: Targets,
  ): Promise<Signer[]> {
    const parent = this.targetsOf(delegator);
    parent.delegations ??= new Delegations({ roles: [] });
    const roles = parent.delegations.roles;
    if (roles === undefined) throw new Error(`${delegator} uses succinct delegations`);
    roles.push(role);
    const created: Signer[] = [];
    if (role.keyids.length === 0) {
      const { key, signer } = await this.createKey();
      parent.delegations.addKey(key, role.name);
      this.addSigner(role.name, signer);
      created.push(signer);
    }
    if (!this.mdDelegates.has(role.name)) {
      this.mdDelegates.set(
        role.name,
        new Metadata(targets ?? new Targets({ expires: this.safeExpiry })),
      );
    }
    return created;
  }

  /** Shorthand for {@link addDelegation} with a new `DelegatedRole` delegated for `paths`. */
  async delegate(
    delegator: string,
    name: string,
    options: {
      paths?: string[];
      pathHashPrefixes?: string[];
      terminating?: boolean;
      threshold?: number;
      keys?: number;
    } = {},
  ): Promise<Signer[]> {
    const keyCount = options.keys ?? 1;
    const pairs: KeyPair[] = [];
    for (let i = 0; i < keyCount; i++) pairs.push(await this.createKey());
    const role = new DelegatedRole({
      name,
      keyids: pairs.map((p) => p.key.keyId()),
      threshold: options.threshold ?? 1,
      terminating: options.terminating ?? false,
      ...(options.pathHashPrefixes === undefined
        ? { paths: options.paths ?? ['*'] }
        : { pathHashPrefixes: options.pathHashPrefixes }),
    });
    await this.addDelegation(delegator, role);
    const delegations = this.targetsOf(delegator).delegations!;
    for (const { key, signer } of pairs) {
      delegations.keys = { ...delegations.keys, [key.keyId()]: key };
      this.addSigner(name, signer);
    }
    return pairs.map((p) => p.signer);
  }

  /**
   * TAP 15: delegate from `delegator` to `2^bitLength` hash bins named `namePrefix-XX`, all
   * signed by one new key; every bin gets empty metadata.
   *
   * @returns the bins' signer.
   */
  async addSuccinctDelegation(
    delegator: string,
    bitLength: number,
    namePrefix: string,
  ): Promise<Signer> {
    const { key, signer } = await this.createKey();
    const succinctRoles = new SuccinctRoles({
      keyids: [key.keyId()],
      threshold: 1,
      bitLength,
      namePrefix,
    });
    this.targetsOf(delegator).delegations = new Delegations({
      keys: { [key.keyId()]: key },
      succinctRoles,
    });
    for (const bin of succinctRoles.getRoles()) {
      this.mdDelegates.set(bin, new Metadata(new Targets({ expires: this.safeExpiry })));
      this.addSigner(bin, signer);
    }
    return signer;
  }

  // -------------------------------------------------------------------------------------------
  // Attack knobs.

  /**
   * Serve exactly `bytes` for `role` (every version, for root) instead of signing the current
   * metadata, e.g. an old version captured earlier with {@link fetchMetadata}. `undefined`
   * removes the pin.
   */
  pinMetadata(role: string, bytes: Uint8Array | undefined): void {
    if (bytes === undefined) this.#pinned.delete(role);
    else this.#pinned.set(role, bytes);
  }

  /** Transform the bytes served for metadata `role`. `undefined` removes the tamperer. */
  tamperMetadata(role: string, tamperer: Tamperer | undefined): void {
    this.#setTamperer(`metadata:${role}`, tamperer);
  }

  /** Transform the bytes served for target `path`. `undefined` removes the tamperer. */
  tamperTarget(path: string, tamperer: Tamperer | undefined): void {
    this.#setTamperer(`target:${path}`, tamperer);
  }

  /**
   * Make requests for `path` (relative to the base URL and still percent-encoded, e.g.
   * `metadata/2.root.json`) fail with the error `makeError` returns. `undefined` restores it.
   */
  failRequests(path: string, makeError: (() => Error) | undefined): void {
    if (makeError === undefined) this.#failures.delete(path);
    else this.#failures.set(path, makeError);
  }

  #setTamperer(key: string, tamperer: Tamperer | undefined): void {
    if (tamperer === undefined) this.#tamperers.delete(key);
    else this.#tamperers.set(key, tamperer);
  }

  // -------------------------------------------------------------------------------------------
  // Serving.

  /** The requested paths (relative, percent-encoded), in order. */
  requestedPaths(): string[] {
    return this.fetchLog.map((r) => r.path);
  }

  /** The requested metadata file names (`2.root.json`, `timestamp.json` …), in order. */
  requestedMetadata(): string[] {
    return this.fetchLog
      .filter((r) => r.kind === 'metadata')
      .map((r) => r.path.slice('metadata/'.length));
  }

  /** The delegated roles whose metadata was requested, in order (top-level roles left out). */
  requestedDelegatedRoles(): string[] {
    return this.fetchLog
      .filter((r) => r.kind === 'metadata' && r.name !== undefined)
      .map((r) => r.name as string)
      .filter((name) => !(TOP_LEVEL_ROLE_NAMES as readonly string[]).includes(name));
  }

  /** Forget the requests made so far. */
  clearFetchLog(): void {
    this.fetchLog.length = 0;
  }

  /**
   * Answer a request for `path` (relative to the base URL, percent-encoded as on the wire) and
   * log it. Used by the fetcher interface and by `serveSimulator`.
   *
   * @throws NotFoundError for anything the repository does not have; whatever
   *   {@link failRequests} configured.
   */
  async respond(path: string): Promise<Uint8Array> {
    const record: FetchRecord = { path, kind: 'other' };
    this.fetchLog.push(record);
    const failure = this.#failures.get(path);
    if (failure !== undefined) throw failure();
    if (path.startsWith('metadata/')) {
      record.kind = 'metadata';
      const parsed = this.#parseMetadataName(path.slice('metadata/'.length));
      if (parsed === undefined) throw new NotFoundError(`no metadata at ${path}`, { url: path });
      record.name = parsed.role;
      if (parsed.version !== undefined) record.version = parsed.version;
      let bytes =
        this.#pinned.get(parsed.role) ?? (await this.fetchMetadata(parsed.role, parsed.version));
      const tamperer = this.#tamperers.get(`metadata:${parsed.role}`);
      if (tamperer !== undefined) bytes = tamperer(bytes, parsed.version);
      return bytes;
    }
    if (path.startsWith('targets/')) {
      record.kind = 'target';
      const target = this.#findTarget(path.slice('targets/'.length));
      if (target === undefined) throw new NotFoundError(`no target at ${path}`, { url: path });
      record.name = target.targetFile.path;
      const tamperer = this.#tamperers.get(`target:${target.targetFile.path}`);
      return tamperer === undefined ? target.data : tamperer(target.data, undefined);
    }
    throw new NotFoundError(`nothing at ${path}`, { url: path });
  }

  protected override async open(url: string, request: OpenRequest): Promise<OpenedResource> {
    const path = url.startsWith(this.baseUrl) ? url.slice(this.baseUrl.length) : `../${url}`;
    const bytes = await this.respond(path);
    const offset = request.offset <= bytes.byteLength ? request.offset : 0;
    const body = bytes.subarray(offset);
    return { body: single(body), offset, declaredLength: body.byteLength };
  }

  #metadataOf(role: string): Metadata | undefined {
    switch (role) {
      case 'root':
        return this.mdRoot;
      case 'timestamp':
        return this.mdTimestamp;
      case 'snapshot':
        return this.mdSnapshot;
      case 'targets':
        return this.mdTargets;
      default:
        return this.mdDelegates.get(role);
    }
  }

  /**
   * `N.root.json` (always versioned), `timestamp.json` (never), and `V.ROLE.json` or `ROLE.json`
   * for the rest depending on the current root's `consistent_snapshot`. The version of
   * non-root files is logged but not enforced: the current metadata is served, so a client
   * that asks for one version and gets another must notice.
   */
  #parseMetadataName(raw: string): { role: string; version?: number } | undefined {
    let name: string;
    try {
      name = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    if (!name.endsWith('.json')) return undefined;
    const stem = name.slice(0, -'.json'.length);
    const versioned = /^([1-9][0-9]{0,15})\.(.+)$/s.exec(stem);
    if (versioned?.[2] === 'root') return { role: 'root', version: Number(versioned[1]) };
    if (stem === 'root') return undefined;
    if (stem === 'timestamp') return { role: 'timestamp' };
    if (this.root.consistentSnapshot === true) {
      return versioned === null
        ? undefined
        : { role: versioned[2] as string, version: Number(versioned[1]) };
    }
    return { role: stem };
  }

  #findTarget(raw: string): SimulatedTarget | undefined {
    let path: string;
    try {
      path = raw.split('/').map(decodeURIComponent).join('/');
    } catch {
      return undefined;
    }
    if (this.root.consistentSnapshot !== true || !this.prefixTargetsWithHash) {
      return this.targetFiles.get(path);
    }
    const slash = path.lastIndexOf('/');
    const dir = path.slice(0, slash + 1);
    const file = path.slice(slash + 1);
    const dot = file.indexOf('.');
    if (dot < 0) return undefined;
    const target = this.targetFiles.get(dir + file.slice(dot + 1));
    const hash = file.slice(0, dot);
    if (target === undefined || !Object.values(target.targetFile.hashes).includes(hash))
      return undefined;
    return target;
  }
}

/** One chunk as an async iterable body. */
async function* single(bytes: Uint8Array): AsyncGenerator<Uint8Array, void, undefined> {
  yield bytes;
}
