/**
 * `RepositoryState`: the in-memory model a {@link Repository} edits — the served roles (each as
 * a {@link SignedRole} holding its exact bytes), the *pending* copies edits create, which of them
 * are staged for offline signing, the delegation graph, and the signers at hand — together with
 * the primitives every editing module builds on: take a pending copy of a role (version bumped
 * once, signatures cleared), find a role's delegator, and say which thresholds a role must meet.
 *
 * Internal to `src/repository/`: the editing modules (`edit-targets.ts`, `edit-delegations.ts`,
 * `edit-keys.ts`, `offline-signing.ts`, `publisher.ts`) are free functions over one state, and
 * `Repository` is the public face that owns it. Not exported from the package.
 *
 * Not safe for concurrent use: one operation at a time.
 *
 * @module
 */
import type { Signer } from '../crypto/index.js';
import { InvalidStateError, RepositoryEditError } from '../errors.js';
import {
  Key,
  Metadata,
  type Root,
  type Snapshot,
  Targets,
  type Timestamp,
  TOP_LEVEL_ROLE_NAMES,
  type TopLevelRoleName,
} from '../models/index.js';
import { type ExpiryPolicy, expiresAfter, periodFor } from './expiry.js';
import type { KeyInput } from './options.js';
import type { SignedRole } from './signed-role.js';
import type { SigningRequirement } from './signing.js';
import { RESIGN_PATH, type RepositoryStorage, STAGING_DIR } from './storage.js';

/** Largest metadata file the repository reads back from its own storage. */
export const MAX_METADATA_LENGTH = 64 * 1024 * 1024;
/** How many roles are signed or read at once. */
export const CONCURRENCY = 8;

/** One targets role: what is served, the pending edit (if any), and whether it is staged. */
export interface TargetsEntry {
  published: SignedRole<Targets> | undefined;
  pending: Metadata<Targets> | undefined;
  staged: boolean;
}

/** What a state starts from: the configuration and the served top-level roles. */
export interface RepositoryStateInit {
  storage: RepositoryStorage;
  policy: ExpiryPolicy;
  hashAlgorithms: string[];
  now: () => Date;
  root: SignedRole<Root> | undefined;
  timestamp: SignedRole<Timestamp> | undefined;
  snapshot: SignedRole<Snapshot> | undefined;
}

/** The repository's served and pending roles; see the module comment. */
export class RepositoryState {
  readonly storage: RepositoryStorage;
  /** Validity periods; replaced by `Repository.setExpiryPolicy`. */
  policy: ExpiryPolicy;
  readonly hashAlgorithms: string[];
  readonly now: () => Date;
  readonly signers = new Map<string, Signer>();
  root: SignedRole<Root> | undefined;
  pendingRoot: Metadata<Root> | undefined;
  rootStaged = false;
  timestamp: SignedRole<Timestamp> | undefined;
  snapshot: SignedRole<Snapshot> | undefined;
  /** Every reachable targets role, top-level `targets` first. */
  readonly roles = new Map<string, TargetsEntry>();
  /** Delegated role → the role that delegates it (one per role: duplicate names are refused). */
  readonly delegators = new Map<string, string>();
  /** Snapshot must be re-signed at the next publish even if no targets role changed. */
  forceSnapshot = false;
  /** Timestamp must be re-signed at the next publish even if snapshot did not change. */
  forceTimestamp = false;
  /** The two flags above are persisted (`RESIGN_PATH`), so other sessions see them. */
  resignStaged = false;

  constructor(init: RepositoryStateInit) {
    this.storage = init.storage;
    this.policy = init.policy;
    this.hashAlgorithms = init.hashAlgorithms;
    this.now = init.now;
    this.root = init.root;
    this.timestamp = init.timestamp;
    this.snapshot = init.snapshot;
  }

  /** Keep `signers` for signing, keyed by key id (a later signer for a key id wins). */
  addSigners(...signers: Signer[]): void {
    for (const signer of signers) this.signers.set(signer.keyid, signer);
  }

  entry(name: string): TargetsEntry {
    const entry = this.roles.get(name);
    if (entry === undefined) throw new InvalidStateError(`no targets role named ${name}`);
    return entry;
  }

  /** The root publish would write (pending) or the served one. */
  currentRoot(): Metadata<Root> {
    const md = this.pendingRoot ?? this.root?.metadata;
    if (md === undefined) throw new InvalidStateError('the repository has no root');
    return md;
  }

  /** The current metadata of any role: pending if there are edits, else served. */
  metadataOf(name: string): Metadata {
    if (name === 'root') return this.currentRoot();
    if (name === 'timestamp' || name === 'snapshot') {
      const role = name === 'timestamp' ? this.timestamp : this.snapshot;
      if (role === undefined) throw new InvalidStateError(`${name} has not been published yet`);
      return role.metadata;
    }
    const entry = this.entry(name);
    return entry.pending ?? (entry.published as SignedRole<Targets>).metadata;
  }

  /** Root and targets roles with pending edits, root first. */
  pendingNames(): string[] {
    return [
      ...(this.pendingRoot === undefined ? [] : ['root']),
      ...[...this.roles].filter(([, e]) => e.pending !== undefined).map(([n]) => n),
    ];
  }

  /**
   * The pending metadata of `name`.
   *
   * @throws InvalidStateError when it has none (snapshot and timestamp never have: publish builds them).
   */
  pendingOf(name: string): Metadata<Root> | Metadata<Targets> {
    const md =
      name === 'root'
        ? this.pendingRoot
        : isTopLevel(name) && name !== 'targets'
          ? undefined
          : this.entry(name).pending;
    if (md === undefined) {
      throw new InvalidStateError(
        name === 'snapshot' || name === 'timestamp'
          ? `${name} is built and signed at publish time with its online keys; it cannot be staged for offline signing`
          : `${name} has no pending edits to sign`,
      );
    }
    return md;
  }

  isStaged(name: string): boolean {
    return name === 'root' ? this.rootStaged : (this.roles.get(name)?.staged ?? false);
  }

  /** Write the pending `md` of `name` to the staging area. */
  async stage(name: string, md: Metadata): Promise<void> {
    await this.storage.writeFile(`${STAGING_DIR}/${name}.json`, md.toBytes());
    if (name === 'root') this.rootStaged = true;
    else this.entry(name).staged = true;
  }

  /**
   * Persist the snapshot/timestamp re-signing marks, tied to the served timestamp version: a
   * publish by anyone since makes them stale (`load.ts` then ignores them).
   */
  async stageResign(): Promise<void> {
    if (!this.forceSnapshot && !this.forceTimestamp) return;
    const marks = {
      timestampVersion: this.timestamp?.metadata.signed.version ?? 0,
      snapshot: this.forceSnapshot,
      timestamp: this.forceTimestamp,
    };
    await this.storage.writeFile(
      RESIGN_PATH,
      new TextEncoder().encode(`${JSON.stringify(marks)}\n`),
    );
    this.resignStaged = true;
  }

  /**
   * Remove staged files of roles that are no longer pending (published, or no longer delegated),
   * and the re-signing marks once a publish has re-signed snapshot and timestamp.
   */
  async clearStaging(): Promise<void> {
    if (this.resignStaged && !this.forceSnapshot && !this.forceTimestamp) {
      await this.storage.remove(RESIGN_PATH).catch(() => {});
      this.resignStaged = false;
    }
    // Best effort: a staged file left behind has a version already published and is ignored.
    for (const file of await this.storage.list(STAGING_DIR).catch(() => [] as string[])) {
      const name = file.slice(0, -'.json'.length);
      const stillPending =
        name === 'root'
          ? this.pendingRoot !== undefined
          : this.roles.get(name)?.pending !== undefined;
      if (!stillPending) await this.storage.remove(`${STAGING_DIR}/${file}`).catch(() => {});
    }
  }

  /** The pending copy of a targets role, created on first edit (version bumped once). */
  touch(name: string): Metadata<Targets> {
    const entry = this.entry(name);
    if (entry.pending !== undefined) {
      entry.pending.signatures.clear();
      return entry.pending;
    }
    const md = Metadata.fromBytes((entry.published as SignedRole<Targets>).bytes, 'targets');
    md.signatures.clear();
    md.signed.version = this.nextVersion(name);
    md.signed.expires = expiresAfter(this.now(), periodFor(this.policy, name));
    entry.pending = md;
    return md;
  }

  /** The pending copy of root, created on first edit (version bumped once). */
  touchRoot(): Metadata<Root> {
    if (this.pendingRoot !== undefined) {
      this.pendingRoot.signatures.clear();
      return this.pendingRoot;
    }
    const md = Metadata.fromBytes((this.root as SignedRole<Root>).bytes, 'root');
    md.signatures.clear();
    md.signed.version += 1;
    md.signed.expires = expiresAfter(this.now(), this.policy.root);
    this.pendingRoot = md;
    return md;
  }

  /** An empty new targets role, versioned above any version the snapshot ever listed for the name. */
  emptyTargets(name: string): Metadata<Targets> {
    return new Metadata(
      new Targets({
        version: this.nextVersion(name),
        expires: expiresAfter(this.now(), periodFor(this.policy, name)),
      }),
    );
  }

  /** Register a new (empty, pending) targets role delegated by `delegator`. */
  addEmptyRole(name: string, delegator: string, pending = this.emptyTargets(name)): void {
    this.roles.set(name, { published: undefined, pending, staged: false });
    this.delegators.set(name, delegator);
  }

  nextVersion(name: string): number {
    const meta = this.snapshot?.metadata.signed.meta;
    const listed =
      meta !== undefined && Object.hasOwn(meta, `${name}.json`)
        ? (meta[`${name}.json`]?.version ?? 0)
        : 0;
    const published = this.roles.get(name)?.published?.metadata.signed.version ?? 0;
    return Math.max(listed, published) + 1;
  }

  /**
   * Parse key inputs to distinct keys; signers among them are kept for signing.
   *
   * @throws RepositoryEditError `ERR_TUF_THRESHOLD_UNREACHABLE` for an empty list.
   */
  keysOf(inputs: KeyInput[], role: string): Key[] {
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

  /** The thresholds `name` must meet to be published now (see `signing.ts`). */
  requirements(name: string, unsafe: boolean): SigningRequirement[] {
    const previous = this.root?.metadata;
    const current = this.currentRoot();
    const label = (md: Metadata, what: string) => `${what} version ${md.signed.version}`;
    if (name === 'root') {
      const out: SigningRequirement[] = [
        { delegator: current, role: 'root', label: label(current, 'root') },
      ];
      if (this.pendingRoot !== undefined && previous !== undefined) {
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
        this.pendingRoot !== undefined &&
        !sameRole(current.signed, previous.signed, name)
      ) {
        out.push({ delegator: previous, role: name, label: label(previous, 'previous root') });
      }
      return out;
    }
    const delegatorName = this.delegators.get(name);
    if (delegatorName === undefined) throw new InvalidStateError(`no targets role named ${name}`);
    const delegator = this.metadataOf(delegatorName) as Metadata<Targets>;
    return [{ delegator, role: name, label: label(delegator, delegatorName) }];
  }
}

// ---------------------------------------------------------------------------------------------

function isSigner(key: KeyInput): key is Signer {
  return typeof (key as Signer).sign === 'function' && (key as Signer).publicKey !== undefined;
}

export function isTopLevel(name: string): name is TopLevelRoleName {
  return (TOP_LEVEL_ROLE_NAMES as readonly string[]).includes(name);
}

/** The `signed` portion of a targets role as edits see it: pending, else served. */
export function currentOf(entry: TargetsEntry): Targets {
  return (entry.pending ?? (entry.published as SignedRole<Targets>).metadata).signed;
}

/** The roles `targets` delegates to, by name or as succinct hash bins. */
export function childRoles(targets: Targets): string[] {
  const delegations = targets.delegations;
  if (delegations === undefined) return [];
  if (delegations.succinctRoles !== undefined) return [...delegations.succinctRoles.getRoles()];
  return (delegations.roles ?? []).map((r) => r.name);
}

/** True when two roots give top-level role `name` the same keys and threshold. */
export function sameRole(a: Root, b: Root, name: TopLevelRoleName): boolean {
  const ra = a.roles[name];
  const rb = b.roles[name];
  return (
    ra.threshold === rb.threshold &&
    ra.keyids.length === rb.keyids.length &&
    ra.keyids.every((id) => rb.keyids.includes(id))
  );
}

/**
 * @throws RepositoryEditError `ERR_TUF_THRESHOLD_UNREACHABLE` unless `1 <= threshold <= keyCount`.
 */
export function checkThreshold(threshold: number, keyCount: number, role: string): number {
  if (!Number.isSafeInteger(threshold) || threshold < 1 || threshold > keyCount) {
    throw new RepositoryEditError(
      `threshold ${String(threshold)} for ${role} cannot be met: it must be an integer from 1 to the number of keys (${keyCount})`,
      { role },
      'ERR_TUF_THRESHOLD_UNREACHABLE',
    );
  }
  return threshold;
}
