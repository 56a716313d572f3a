/**
 * `Repository`: create and maintain a TUF repository — targets, delegations, succinct hash bins,
 * key rotation, expiry refresh, threshold and offline signing — and publish it crash-safely as
 * static files through a {@link RepositoryStorage}.
 *
 * State model. The served files *are* the state: {@link Repository.open} reads `root` (the
 * highest `N.root.json`), `timestamp.json`, the snapshot it names and every targets role the
 * snapshot lists, keeping each one's exact bytes as a {@link SignedRole} (`load.ts`). Edits
 * create a *pending* copy of the roles they touch (version bumped once, signatures cleared),
 * held in memory (`state.ts`); {@link Repository.prepare} writes pending roles to
 * `.tufota/staging/` so that other processes can add signatures (`tufota sign`) before
 * {@link Repository.publish}. Snapshot and timestamp are always rebuilt by `publish` from the
 * exact bytes of the roles they list (`publisher.ts`).
 *
 * This class is the public face: each method checks nothing itself and delegates to the module
 * that implements one concern — `edit-targets.ts`, `edit-delegations.ts`, `edit-keys.ts`,
 * `offline-signing.ts`, `publisher.ts`, `load.ts` — over the one {@link RepositoryState} it owns.
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
 * Concurrency between sessions. The CLI holds a `RepositoryLock` (`storage/repository-lock.ts`) around every mutating
 * command; library users should do the same (`RepositoryLock.acquire(dir, …)`). Without it, a
 * second publisher is detected rather than prevented: `publish` refuses when `timestamp.json`
 * changed since this session opened the repository, and never overwrites a published versioned
 * file (`PublishedFileConflictError`), so an edit is refused, never silently lost.
 *
 * Not implemented: garbage collection of old metadata versions and target files (they stay
 * served; clients holding old metadata can still fetch them), removing hash bins one by one.
 *
 * Not safe for concurrent use: await each call before making the next.
 *
 * @module
 */
import type { Signer } from '../crypto/index.js';
import type { Metadata, TargetFile } from '../models/index.js';
import * as delegations from './edit-delegations.js';
import * as keys from './edit-keys.js';
import * as targets from './edit-targets.js';
import type { ExpiryPolicy } from './expiry.js';
import { createState, openState, updateExpiryPolicy } from './load.js';
import * as signing from './offline-signing.js';
import type {
  AddTargetOptions,
  CreateHashBinsOptions,
  CreateOptions,
  DelegateOptions,
  DiscardedRole,
  KeyInput,
  PublishOptions,
  PublishResult,
  RefreshOptions,
  RemoveDelegationOptions,
  RemoveDelegationResult,
  RepositoryOptions,
  RoleStatus,
  TargetRoleOption,
} from './options.js';
import * as publisher from './publisher.js';
import { pendingSummary, removeStaged } from './reset.js';
import type { SignedRole } from './signed-role.js';
import type { RepositoryState } from './state.js';
import { CONFIG_PATH, type RepositoryStorage, type StorageData } from './storage.js';
import type { TargetInfo } from './target-input.js';

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
  #state: RepositoryState;

  private constructor(state: RepositoryState) {
    this.#state = state;
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
    const repo = new Repository(await createState(storage, options));
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
    return new Repository(await openState(storage, options));
  }

  // -------------------------------------------------------------------------------------------
  // Reading

  /** Make `signers` available for signing (keyed by key id; a later signer for a key id wins). */
  addSigners(...signers: Signer[]): void {
    this.#state.addSigners(...signers);
  }

  /** Names of every targets role (top-level `targets` first, then delegated roles and bins). */
  targetsRoleNames(): string[] {
    return [...this.#state.roles.keys()];
  }

  /**
   * The current metadata of a role: the pending version if there are edits, else the served one.
   * Do not mutate it; use the editing methods.
   *
   * @throws InvalidStateError for an unknown role.
   */
  getMetadata(name: string): Metadata {
    return this.#state.metadataOf(name);
  }

  /** The served bytes of a role as a {@link SignedRole}, or `undefined` if never published. */
  getPublished(name: string): SignedRole | undefined {
    const state = this.#state;
    if (name === 'root') return state.root;
    if (name === 'timestamp') return state.timestamp;
    if (name === 'snapshot') return state.snapshot;
    return state.roles.get(name)?.published;
  }

  /** The target at `targetPath` and the role listing it (pending edits included), if any. */
  getTarget(targetPath: string): { role: string; target: TargetFile } | undefined {
    return targets.findTarget(this.#state, targetPath);
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
    return targets.addTarget(this.#state, targetPath, source, options);
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
    return targets.addTargetInfo(this.#state, targetPath, info, options);
  }

  /** Stop listing a target (its file stays: older metadata may still name it). True if listed. */
  removeTarget(targetPath: string, options: TargetRoleOption = {}): boolean {
    return targets.removeTarget(this.#state, targetPath, options);
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
    delegations.delegate(this.#state, name, options);
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
    return delegations.createHashBins(this.#state, options);
  }

  /**
   * Rebuild `delegator`'s hash bins with a new bit length: every target moves to its new bin and
   * every new bin is signed on the next publish. Old bins stay listed in snapshot (clients refuse
   * a snapshot that drops a role) and their files stay served.
   */
  resizeHashBins(bitLength: number, options: { delegator?: string } = {}): string[] {
    return delegations.resizeHashBins(this.#state, bitLength, options);
  }

  /**
   * Stop delegating to `name`: its delegator (`delegator`, checked when given) drops the
   * delegation and the keys that no other role of that delegator lists. The role and every role
   * it delegates to become unreachable: clients no longer find their targets. Their metadata stays
   * listed in snapshot with its last version (a client refuses a snapshot that drops a role it
   * listed, TUF 5.5.5) and stays served; delegating the name again later starts above that version.
   *
   * @throws InvalidStateError for a top-level role, an unknown role, a hash bin (resize bins
   *   instead), or a `delegator` that does not delegate it; nothing is changed.
   * @example
   * ```ts
   * const { roles, keyids } = repo.removeDelegation('vendor-x');
   * await repo.publish();
   * ```
   */
  removeDelegation(name: string, options: RemoveDelegationOptions = {}): RemoveDelegationResult {
    return delegations.removeDelegation(this.#state, name, options);
  }

  // -------------------------------------------------------------------------------------------
  // Keys and thresholds (root rotation for top-level roles, delegator edits for the others)

  /**
   * Trust `key` for `role` (a top-level role, a delegated role, or any bin name for all bins of
   * that delegator). A {@link Signer} is also kept for signing. Returns the key id.
   */
  addKey(role: string, key: KeyInput): string {
    return keys.addKey(this.#state, role, key);
  }

  /**
   * Stop trusting `keyid` for `role`.
   *
   * @throws RepositoryEditError `ERR_TUF_THRESHOLD_UNREACHABLE` when fewer keys than the threshold
   *   would remain (lower the threshold first); nothing is changed.
   */
  revokeKey(role: string, keyid: string): void {
    keys.revokeKey(this.#state, role, keyid);
  }

  /**
   * Set how many distinct keys must sign `role`.
   *
   * @throws RepositoryEditError `ERR_TUF_THRESHOLD_UNREACHABLE` above the number of keys.
   */
  setThreshold(role: string, threshold: number): void {
    keys.setThreshold(this.#state, role, threshold);
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
    return publisher.refresh(this.#state, options);
  }

  /** The validity periods in force (milliseconds per role), as `.tufota/config.json` holds them. */
  expiryPolicy(): ExpiryPolicy {
    return { ...this.#state.policy };
  }

  /**
   * Change validity periods (merged over the current ones) and save them in
   * `.tufota/config.json`, so every later session applies them. They take effect at each role's
   * next signing: expiries already signed stay (run {@link refresh} to re-sign early).
   *
   * @throws FormatError for an unknown role name or a period outside 1 second to
   *   `MAX_EXPIRY_PERIOD` (about 100 years); nothing is saved.
   * @example
   * ```ts
   * await repo.setExpiryPolicy({ timestamp: 6 * 3600_000 }); // 6 hours
   * ```
   */
  async setExpiryPolicy(periods: Partial<ExpiryPolicy>): Promise<ExpiryPolicy> {
    return updateExpiryPolicy(this.#state, periods);
  }

  // -------------------------------------------------------------------------------------------
  // Threshold and offline signing

  /**
   * Sign pending roles with the signers at hand and write them to the staging area, where other
   * sessions (`tufota sign`) can add signatures before publishing. Snapshot and timestamp marked
   * by {@link refresh} are persisted too (they have no file to sign: the next session's
   * {@link publish} re-signs them with their online keys).
   *
   * @param roles - which pending roles (default all: root and targets roles with edits).
   * @returns the roles staged.
   */
  async prepare(roles?: string[]): Promise<string[]> {
    return signing.prepare(this.#state, roles);
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
    await signing.addSignatures(this.#state, role, [signer]);
  }

  /**
   * Add several signatures to a pending role at once, all or none: every signer must be trusted
   * for the role and every signature must verify before any is added; a staged role is then
   * rewritten once (an interrupted import never leaves part of the signatures staged).
   *
   * @returns the key ids whose signatures were added.
   * @throws RepositoryEditError `ERR_TUF_KEY_NOT_AUTHORIZED` as {@link addSignature}; nothing is changed.
   * @throws InvalidStateError when the role has no pending edits.
   * @example
   * ```ts
   * await repo.addSignatures('targets', [hsmSigner, yubikeySigner]);
   * ```
   */
  async addSignatures(role: string, signers: readonly Signer[]): Promise<string[]> {
    return signing.addSignatures(this.#state, role, signers);
  }

  /** Version, expiry and signatures present/missing of every role (`tufota status`). */
  status(): RoleStatus[] {
    return signing.roleStatuses(this.#state);
  }

  // -------------------------------------------------------------------------------------------
  // Discarding

  /**
   * Discard every pending edit — in memory and staged (`.tufota/staging/`, the re-signing marks)
   * — and return what was dropped. The served repository is not touched; target files already
   * copied in stay (unlisted). The object then shows the served state.
   *
   * @example
   * ```ts
   * for (const d of await repo.reset()) console.log(d.role, d.added, d.removed);
   * ```
   */
  async reset(): Promise<DiscardedRole[]> {
    const summary = pendingSummary(this.#state);
    await removeStaged(this.#state);
    const previous = this.#state;
    this.#state = await openState(previous.storage, { now: previous.now });
    this.#state.addSigners(...previous.signers.values());
    return summary;
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
    return publisher.publish(this.#state, options);
  }
}
