/**
 * The repository side of tufota: create, edit, sign and publish a TUF repository as static files.
 *
 * Entry point of `tufota/repository`. Wires the embedded default storage
 * ({@link FsRepositoryStorage}) next to the storage-neutral {@link Repository}.
 *
 * @module
 */

// Offline bundles are made from a published repository directory.
export * from '../bundle/index.js';
export { FsRepositoryStorage, openFileSource } from '../storage/fs-repository-storage.js';
export {
  type AcquireLockOptions,
  LOCK_PATH,
  type LockHolder,
  RepositoryLock,
} from '../storage/repository-lock.js';
export {
  DEFAULT_EXPIRY_POLICY,
  type ExpiryPolicy,
  expiresAfter,
  MAX_EXPIRY_PERIOD,
  resolveExpiryPolicy,
} from './expiry.js';
export {
  distributeToBins,
  type HashBinsLayout,
  MAX_BIN_BIT_LENGTH,
  makeSuccinctRoles,
} from './hash-bins.js';
// Option and result types of the Repository API.
export type * from './options.js';
export { type Publication, type PublishProgress, writePublication } from './publish.js';
export { Repository } from './repository.js';
export {
  checkRoleFileName,
  METADATA_HASH_ALGORITHMS,
  metaFileOf,
  type SignedRole,
  signedRoleFromBytes,
  signedRoleFromMetadata,
  versionedFileName,
} from './signed-role.js';
export type { RequirementStatus, SigningRequirement } from './signing.js';
export {
  CONFIG_PATH,
  INCOMING_DIR,
  METADATA_DIR,
  type RepositoryStorage,
  STAGING_DIR,
  STATE_DIR,
  type StorageData,
  TARGETS_DIR,
} from './storage.js';
export { consistentTargetPath, type TargetCustomOptions, type TargetInfo } from './target-input.js';
