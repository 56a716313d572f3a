/**
 * The option and result types of the {@link Repository} API: what `create`, the editing methods,
 * `publish`, `refresh` and `status` take and return. Types only.
 *
 * @module
 */
import type { PublicKeyData, Signer } from '../crypto/index.js';
import type { TopLevelRoleName } from '../models/index.js';
import type { ExpiryPolicy } from './expiry.js';
import type { HashBinsLayout } from './hash-bins.js';
import type { RequirementStatus } from './signing.js';
import type { TargetCustomOptions } from './target-input.js';

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

/** What to do when the role already lists the target path. */
export type IfExists = 'fail' | 'skip' | 'replace';

/** Options of {@link Repository.addTarget} and {@link Repository.addTargetInfo}. */
export interface AddTargetOptions extends TargetCustomOptions, TargetRoleOption {
  /**
   * When the role already lists the path: `'replace'` (default, as before this option existed),
   * `'fail'` (`ERR_TUF_TARGET_EXISTS`, nothing changed; `tufota add-target`'s default) or
   * `'skip'` (keep the listed target, read nothing).
   */
  ifExists?: IfExists;
}

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
  /**
   * Uptane image repositories: the hardware ids this role may vouch for (written as the role's
   * `hardwareIds`); an ECU ignores the delegation for any other hardware id. Default: all.
   */
  hardwareIds?: string[];
}

/** Options of {@link Repository.removeDelegation}. */
export interface RemoveDelegationOptions {
  /** The delegating role; default: whichever role delegates it (checked when given). */
  delegator?: string;
}

/** What {@link Repository.removeDelegation} removed. */
export interface RemoveDelegationResult {
  /** The role and every role below it, which clients can no longer reach. */
  roles: string[];
  /** Key ids dropped from the delegator's `delegations.keys` (no other role of it uses them). */
  keyids: string[];
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
  /**
   * Refuse to publish when any metadata clients will load expires within this many milliseconds
   * (default one hour; capped per role at half its validity period, so freshly signed metadata
   * always passes). `ERR_TUF_EXPIRING_METADATA` names the role and the command that re-signs it.
   */
  expiryMargin?: number;
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
  /**
   * Publish right away (default true). With false the due roles are only marked: call
   * {@link Repository.prepare} to stage them (root and targets roles as files to sign; the
   * snapshot/timestamp marks persisted, so a later session's `publish` re-signs them).
   */
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
  /**
   * Snapshot and timestamp: true when the next publish re-signs this role although nothing it
   * lists changed (a `refresh` found it due, or its keys changed).
   */
  resign: boolean;
  /** One entry per threshold the role must meet (two for a new root). */
  requirements: RequirementStatus[];
  /** True when every requirement is met. */
  verified: boolean;
}

/** One role's pending edits dropped by {@link Repository.reset}. */
export interface DiscardedRole {
  role: string;
  /** The version the edit would have published (0 for a snapshot/timestamp re-signing mark). */
  version: number;
  /** True when it was written to the staging area (`.tufota/staging/`). */
  staged: boolean;
  /** Target paths the edit added, removed, or listed with other length/hashes/custom. */
  added: string[];
  removed: string[];
  changed: string[];
  /** Signatures it had collected. */
  signatures: number;
  /** Snapshot/timestamp: only a re-signing mark left by `refresh --stage-only`. */
  resign?: boolean;
}
