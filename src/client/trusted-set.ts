/**
 * `TrustedMetadataSet`: the pure state machine of the TUF client (TUF spec, "Detailed client
 * workflow", 5.2–5.6). Bytes go in; verified, typed metadata or typed errors come out. The
 * {@link Updater} does all fetching and persisting around it.
 *
 * Rules it enforces:
 * - Order: root → timestamp → snapshot → targets → delegated targets. Loading out of order is an
 *   {@link InvalidStateError} (API misuse, never confused with bad metadata).
 * - Roots: version exactly N+1, signed by a threshold of the trusted root's root keys and of
 *   its own (5.3.4–5.3.8). Intermediate roots may be expired; the final root is checked when
 *   the timestamp is loaded (5.3.10).
 * - Intermediate metadata: an expired timestamp, or an expired (or not yet matching) snapshot,
 *   is still *kept* as trusted when it verified, and the error is thrown after: it serves as the
 *   rollback floor for a newer one, and it blocks the next step until replaced. Python-tuf does
 *   the same; a cached expired timestamp must still stop a replayed older one.
 * - Fast-forward recovery (5.3.11): {@link TrustedMetadataSet.rolesToDiscard} reports when a
 *   new root changed the timestamp or snapshot keys or threshold; the updater then deletes its
 *   cached timestamp and snapshot before it persists that root.
 * - Delegations are trusted per (delegator, role) pair: a role that verified through delegator A
 *   has no authority through delegator B until its bytes verify against B's keys too. Within one
 *   set every role name has one content: a second load through another delegator must carry the
 *   same signed content.
 *
 * Not implemented here: downloading, caching, expiry of target files, the delegation search
 * (updater.ts). No clock: every expiry check uses the reference time given at construction.
 *
 * Not safe for concurrent mutation; all methods are synchronous, so one set used from one async
 * task at a time is fine.
 *
 * @module
 */
// Not the crypto barrel: it would load the noble provider, which a node client never uses.
import { defaultCryptoProvider } from '../crypto/node-provider.js';
import type { CryptoProvider } from '../crypto/provider.js';
import {
  BadVersionNumberError,
  EqualVersionNumberError,
  ExpiredMetadataError,
  InvalidStateError,
  LengthOrHashMismatchError,
  RepositoryError,
} from '../errors.js';
import {
  getOwn,
  Metadata,
  type Root,
  type Snapshot,
  type Targets,
  type Timestamp,
} from '../models/index.js';
import { roleKeysChanged, sameBytes } from './role-keys.js';

export { roleKeysChanged } from './role-keys.js';

/** Options of the {@link TrustedMetadataSet} constructor. */
export interface TrustedMetadataSetOptions {
  /** The time every expiry check compares against: read once by the caller (TUF 5.1). */
  referenceTime: Date;
  /** Signature verification backend; defaults to the library default. */
  provider?: CryptoProvider;
}

/** Options of {@link TrustedMetadataSet.updateSnapshot}. */
export interface UpdateSnapshotOptions {
  /**
   * The bytes come from the local cache, where they were stored after verifying once: skip the
   * length/hash check against the timestamp's `meta` when loading, so that an older cached
   * snapshot can still serve as a rollback floor (python-tuf's `trusted=True`). The check is
   * still applied before the snapshot is accepted as *final*.
   */
  trusted?: boolean;
}

/** The top-level roles whose cached copies fast-forward recovery discards. */
export type DiscardableRole = 'timestamp' | 'snapshot';

const ROOT = 'root';
const TARGETS = 'targets';

/**
 * The verified metadata of one refresh.
 *
 * @example
 * ```ts
 * const set = new TrustedMetadataSet(trustedRootBytes, { referenceTime: new Date() });
 * set.updateRoot(await fetch('2.root.json'));               // repeat until not found
 * set.updateTimestamp(await fetch('timestamp.json'));
 * set.updateSnapshot(await fetch('snapshot.json'));
 * const targets = set.updateTargets(await fetch('targets.json'));
 * ```
 */
export class TrustedMetadataSet {
  /** The time all expiry checks of this set compare against. */
  readonly referenceTime: Date;
  readonly #provider: CryptoProvider;
  #root: Metadata<Root>;
  #timestamp: Metadata<Timestamp> | undefined;
  #snapshot: Metadata<Snapshot> | undefined;
  /** Bytes of the trusted snapshot when it was loaded with `trusted: true` (final check later). */
  #snapshotUncheckedBytes: Uint8Array | undefined;
  #targets: Metadata<Targets> | undefined;
  /** delegator name → role name → metadata verified against that delegator's keys. */
  readonly #delegated = new Map<string, Map<string, Metadata<Targets>>>();
  readonly #rolesToDiscard = new Set<DiscardableRole>();

  /**
   * Load the trust anchor: `rootBytes` must be root metadata signed by a threshold of its own
   * root keys (TUF 5.2). Its expiry is not checked here: an expired trusted root may still
   * vouch for a newer one (5.3); the final root's expiry is checked by
   * {@link TrustedMetadataSet.updateTimestamp}.
   *
   * @throws FormatError when the bytes are not well-formed root metadata.
   * @throws UnsignedMetadataError when its own keys do not sign it.
   * @throws InvalidStateError when `referenceTime` is not a valid date.
   */
  constructor(rootBytes: Uint8Array, options: TrustedMetadataSetOptions) {
    const time = options.referenceTime;
    if (!(time instanceof Date) || Number.isNaN(time.getTime())) {
      throw new InvalidStateError('TrustedMetadataSet needs a valid referenceTime (a Date)');
    }
    this.referenceTime = new Date(time.getTime());
    this.#provider = options.provider ?? defaultCryptoProvider;
    const { metadata: root, signedBytes } = Metadata.fromBytesForVerification(rootBytes, ROOT);
    root.verifyDelegate(ROOT, root, this.#provider, signedBytes);
    this.#root = root;
  }

  /** The newest trusted root. */
  get root(): Metadata<Root> {
    return this.#root;
  }

  /** The trusted timestamp, possibly intermediate (expired), if one was loaded. */
  get timestamp(): Metadata<Timestamp> | undefined {
    return this.#timestamp;
  }

  /** The trusted snapshot, possibly intermediate, if one was loaded. */
  get snapshot(): Metadata<Snapshot> | undefined {
    return this.#snapshot;
  }

  /** The trusted top-level targets, if loaded. */
  get targets(): Metadata<Targets> | undefined {
    return this.#targets;
  }

  /**
   * Top-level roles whose locally cached metadata must be discarded because a root loaded into
   * this set changed the timestamp or snapshot role's keys or threshold (TUF 5.3.11,
   * fast-forward attack recovery). Either rotation discards both: the spec says "delete the
   * trusted timestamp and snapshot metadata files", and the snapshot version floor lives in the
   * timestamp anyway.
   */
  get rolesToDiscard(): ReadonlySet<DiscardableRole> {
    return this.#rolesToDiscard;
  }

  /**
   * `roleName`'s metadata as verified against `delegatorName`'s keys, if it was. The top-level
   * targets role is `('targets', 'root')`.
   */
  getDelegatedRole(roleName: string, delegatorName: string): Metadata<Targets> | undefined {
    if (roleName === TARGETS && delegatorName === ROOT) return this.#targets;
    return this.#delegated.get(delegatorName)?.get(roleName);
  }

  /**
   * Verify and trust the next root version (TUF 5.3.4–5.3.8).
   *
   * @throws InvalidStateError after a timestamp was loaded (roots come first).
   * @throws FormatError when the bytes are not root metadata.
   * @throws UnsignedMetadataError below threshold of the trusted root's keys or of its own.
   * @throws BadVersionNumberError when its version is not exactly the trusted version + 1.
   */
  updateRoot(bytes: Uint8Array): Metadata<Root> {
    if (this.#timestamp !== undefined) {
      throw new InvalidStateError(
        'cannot update root after timestamp was loaded: start a new refresh',
      );
    }
    const trusted = this.#root;
    const { metadata: candidate, signedBytes } = Metadata.fromBytesForVerification(bytes, ROOT);
    // 5.3.5: signed by a threshold of the keys of the root we trust now…
    trusted.verifyDelegate(ROOT, candidate, this.#provider, signedBytes);
    // 5.3.6 (rollback / skipping): exactly N+1, so no root in the chain can be skipped.
    const expected = trusted.signed.version + 1;
    if (candidate.signed.version !== expected) {
      throw new BadVersionNumberError(
        `expected root version ${expected}, got version ${candidate.signed.version}`,
        { role: ROOT },
      );
    }
    // …and by a threshold of its own keys (5.3.5, second half).
    candidate.verifyDelegate(ROOT, candidate, this.#provider, signedBytes);
    for (const role of ['timestamp', 'snapshot'] as const) {
      if (roleKeysChanged(trusted.signed, candidate.signed, role)) {
        this.#rolesToDiscard.add('timestamp');
        this.#rolesToDiscard.add('snapshot');
      }
    }
    this.#root = candidate;
    return candidate;
  }

  /**
   * Verify and trust a timestamp (TUF 5.4).
   *
   * Order of checks: final root not expired (5.3.10) → signatures (5.4.2) → rollback against
   * the trusted timestamp, equal version, snapshot version (5.4.3) → keep → expiry (5.4.4).
   * Expiry comes last on purpose: an expired timestamp that verified is kept as trusted before
   * the {@link ExpiredMetadataError} is thrown, so a cached expired timestamp still gives the
   * rollback floor for the next one and blocks the snapshot until replaced (as python-tuf).
   *
   * @throws InvalidStateError after a snapshot was loaded.
   * @throws ExpiredMetadataError (role `root`) when the final root is expired; (role
   *   `timestamp`) when this timestamp is expired — it is nevertheless kept as trusted.
   * @throws EqualVersionNumberError when its version equals the trusted one: the trusted one is
   *   kept and nothing changes; the caller carries on with it.
   * @throws BadVersionNumberError on a lower timestamp version or a lower snapshot version.
   * @throws UnsignedMetadataError, FormatError.
   */
  updateTimestamp(bytes: Uint8Array): Metadata<Timestamp> {
    if (this.#snapshot !== undefined) {
      throw new InvalidStateError(
        'cannot update timestamp after snapshot was loaded: start a new refresh',
      );
    }
    this.#checkFinalRoot();
    const { metadata: candidate, signedBytes } = Metadata.fromBytesForVerification(
      bytes,
      'timestamp',
    );
    this.#root.verifyDelegate('timestamp', candidate, this.#provider, signedBytes);
    const trusted = this.#timestamp;
    if (trusted !== undefined) {
      const version = candidate.signed.version;
      if (version < trusted.signed.version) {
        throw new BadVersionNumberError(
          `timestamp version ${version} is lower than the trusted version ${trusted.signed.version} (rollback attack)`,
          { role: 'timestamp' },
        );
      }
      if (version === trusted.signed.version) {
        throw new EqualVersionNumberError(
          `timestamp version ${version} equals the trusted one; keeping the trusted timestamp`,
          { role: 'timestamp' },
        );
      }
      const newSnapshot = candidate.signed.snapshotMeta.version;
      const trustedSnapshot = trusted.signed.snapshotMeta.version;
      if (newSnapshot < trustedSnapshot) {
        throw new BadVersionNumberError(
          `timestamp lists snapshot version ${newSnapshot}, lower than the trusted ${trustedSnapshot} (rollback attack)`,
          { role: 'snapshot' },
        );
      }
    }
    this.#timestamp = candidate;
    this.#checkFinalTimestamp();
    return candidate;
  }

  /**
   * Verify and trust a snapshot (TUF 5.5).
   *
   * Length and hashes are checked against the timestamp's `meta["snapshot.json"]` where listed
   * (5.5.2; deferred to the final check for cached bytes, see {@link UpdateSnapshotOptions}).
   * Rollback (5.5.5): no targets file listed in the trusted snapshot may disappear or go down in
   * version. A snapshot that verified is kept as trusted before the final checks — expiry
   * (5.5.6) and version equal to the timestamp's (5.5.3) — throw, so it still protects the next
   * one against rollback.
   *
   * @throws InvalidStateError before a timestamp or after targets were loaded.
   * @throws ExpiredMetadataError when the trusted timestamp or this snapshot is expired.
   * @throws LengthOrHashMismatchError, BadVersionNumberError, RepositoryError (role removed),
   *   UnsignedMetadataError, FormatError.
   */
  updateSnapshot(bytes: Uint8Array, options: UpdateSnapshotOptions = {}): Metadata<Snapshot> {
    const timestamp = this.#timestamp;
    if (timestamp === undefined) {
      throw new InvalidStateError('cannot update snapshot before a timestamp was loaded');
    }
    if (this.#targets !== undefined) {
      throw new InvalidStateError(
        'cannot update snapshot after targets were loaded: start a new refresh',
      );
    }
    this.#checkFinalTimestamp();
    const trustedFlag = options.trusted === true;
    if (!trustedFlag) timestamp.signed.snapshotMeta.verifyLengthAndHashes(bytes, 'snapshot');
    const { metadata: candidate, signedBytes } = Metadata.fromBytesForVerification(
      bytes,
      'snapshot',
    );
    this.#root.verifyDelegate('snapshot', candidate, this.#provider, signedBytes);
    const trusted = this.#snapshot;
    if (trusted !== undefined) {
      for (const [fileName, trustedMeta] of Object.entries(trusted.signed.meta)) {
        const newMeta = getOwn(candidate.signed.meta, fileName);
        if (newMeta === undefined) {
          throw new RepositoryError(
            `new snapshot no longer lists ${fileName}, which the trusted snapshot lists (rollback attack)`,
            { role: 'snapshot' },
          );
        }
        if (newMeta.version < trustedMeta.version) {
          throw new BadVersionNumberError(
            `new snapshot lists ${fileName} version ${newMeta.version}, lower than the trusted ${trustedMeta.version} (rollback attack)`,
            { role: 'snapshot' },
          );
        }
      }
    }
    this.#snapshot = candidate;
    this.#snapshotUncheckedBytes = trustedFlag ? bytes : undefined;
    this.#checkFinalSnapshot();
    return candidate;
  }

  /**
   * Verify and trust the top-level targets role, delegated by root (TUF 5.6).
   *
   * @throws see {@link TrustedMetadataSet.updateDelegatedTargets}.
   */
  updateTargets(bytes: Uint8Array): Metadata<Targets> {
    return this.updateDelegatedTargets(bytes, TARGETS, ROOT);
  }

  /**
   * Verify and trust `roleName`'s metadata as delegated by `delegatorName` (TUF 5.6, 5.6.7):
   * the snapshot must list `ROLE.json`; length and hashes where listed (5.6.2); a threshold of
   * the keys the delegator lists for the role (5.6.3); version equal to the snapshot's (5.6.4);
   * not expired (5.6.5). Nothing is kept on failure.
   *
   * @throws InvalidStateError before a final snapshot, or when the delegator is not trusted
   *   yet (load the delegator first), or for the top-level targets under another delegator.
   * @throws RepositoryError when the snapshot does not list the role, the delegator does not
   *   delegate it, or a role already trusted through another delegator has other content.
   * @throws LengthOrHashMismatchError, UnsignedMetadataError, BadVersionNumberError,
   *   ExpiredMetadataError, FormatError.
   */
  updateDelegatedTargets(
    bytes: Uint8Array,
    roleName: string,
    delegatorName: string,
  ): Metadata<Targets> {
    const snapshot = this.#snapshot;
    if (snapshot === undefined) {
      throw new InvalidStateError(`cannot load ${roleName} before a snapshot was loaded`);
    }
    this.#checkFinalSnapshot();
    const isTopLevel = roleName === TARGETS;
    if (isTopLevel !== (delegatorName === ROOT)) {
      throw new InvalidStateError(
        `"targets" is delegated by "root" only, and root delegates no other targets role (asked for ${roleName} by ${delegatorName})`,
      );
    }
    const delegator: Metadata<Root> | Metadata<Targets> | undefined = isTopLevel
      ? this.#root
      : this.#trustedTargetsRole(delegatorName);
    if (delegator === undefined) {
      throw new InvalidStateError(
        `cannot load ${roleName}: its delegator ${delegatorName} is not trusted yet`,
      );
    }
    const meta = getOwn(snapshot.signed.meta, `${roleName}.json`);
    if (meta === undefined) {
      throw new RepositoryError(
        `snapshot does not list ${roleName}.json, so ${roleName} cannot be trusted`,
        {
          role: roleName,
        },
      );
    }
    meta.verifyLengthAndHashes(bytes, roleName);
    // The canonical bytes of `signed` come from the parsed value, not from the model (see
    // Metadata.fromBytesForVerification): a hash bin or a large role parses twice as fast.
    const { metadata: candidate, signedBytes } = Metadata.fromBytesForVerification(bytes, TARGETS);
    delegator.verifyDelegate(roleName, candidate, this.#provider, signedBytes);
    if (candidate.signed.version !== meta.version) {
      throw new BadVersionNumberError(
        `expected ${roleName} version ${meta.version} (as the snapshot lists), got version ${candidate.signed.version}`,
        { role: roleName },
      );
    }
    if (candidate.signed.isExpired(this.referenceTime)) {
      throw new ExpiredMetadataError(
        `${roleName} version ${candidate.signed.version} expired at ${candidate.signed.expires.toISOString()} (reference time ${this.referenceTime.toISOString()})`,
        { role: roleName },
      );
    }
    if (isTopLevel) {
      this.#targets = candidate;
      return candidate;
    }
    const existing = this.#trustedTargetsRole(roleName);
    if (existing !== undefined && !sameBytes(existing.signedBytes(), signedBytes)) {
      throw new RepositoryError(
        `${roleName} version ${candidate.signed.version} differs from the ${roleName} already trusted in this refresh ` +
          `through another delegator; one version of a role must have one content`,
        { role: roleName },
      );
    }
    let byRole = this.#delegated.get(delegatorName);
    if (byRole === undefined) {
      byRole = new Map();
      this.#delegated.set(delegatorName, byRole);
    }
    byRole.set(roleName, candidate);
    return candidate;
  }

  /** A targets role trusted through any delegator (its content is the same through each). */
  #trustedTargetsRole(name: string): Metadata<Targets> | undefined {
    if (name === TARGETS) return this.#targets;
    for (const byRole of this.#delegated.values()) {
      const found = byRole.get(name);
      if (found !== undefined) return found;
    }
    return undefined;
  }

  /** TUF 5.3.10: the final root must not be expired. */
  #checkFinalRoot(): void {
    const root = this.#root.signed;
    if (root.isExpired(this.referenceTime)) {
      throw new ExpiredMetadataError(
        `the final root (version ${root.version}) expired at ${root.expires.toISOString()} (reference time ${this.referenceTime.toISOString()}): freeze attack or stale repository`,
        { role: ROOT },
      );
    }
  }

  /** TUF 5.4.4: the trusted timestamp must not be expired to go on. */
  #checkFinalTimestamp(): void {
    const timestamp = this.#timestamp?.signed;
    if (timestamp?.isExpired(this.referenceTime)) {
      throw new ExpiredMetadataError(
        `timestamp version ${timestamp.version} expired at ${timestamp.expires.toISOString()} (reference time ${this.referenceTime.toISOString()}): freeze attack or stale repository`,
        { role: 'timestamp' },
      );
    }
  }

  /** TUF 5.5.3, 5.5.6 (and 5.5.2 for cached bytes): the trusted snapshot is usable as final. */
  #checkFinalSnapshot(): void {
    const snapshot = this.#snapshot?.signed;
    const meta = this.#timestamp?.signed.snapshotMeta;
    if (snapshot === undefined || meta === undefined) return;
    if (snapshot.isExpired(this.referenceTime)) {
      throw new ExpiredMetadataError(
        `snapshot version ${snapshot.version} expired at ${snapshot.expires.toISOString()} (reference time ${this.referenceTime.toISOString()})`,
        { role: 'snapshot' },
      );
    }
    if (snapshot.version !== meta.version) {
      throw new BadVersionNumberError(
        `expected snapshot version ${meta.version} (as the timestamp lists), got version ${snapshot.version}`,
        { role: 'snapshot' },
      );
    }
    const unchecked = this.#snapshotUncheckedBytes;
    if (unchecked !== undefined) {
      // Cached bytes were loaded without the hash check so they could serve as a floor; to be
      // used as the final snapshot they must match what the timestamp lists, like fresh bytes.
      try {
        meta.verifyLengthAndHashes(unchecked, 'snapshot');
      } catch (error) {
        if (error instanceof LengthOrHashMismatchError) {
          throw new LengthOrHashMismatchError(
            `cached snapshot version ${snapshot.version} does not match the length or hashes the timestamp lists: ${error.message}`,
            { role: 'snapshot', cause: error },
          );
        }
        throw error;
      }
      this.#snapshotUncheckedBytes = undefined;
    }
  }
}
