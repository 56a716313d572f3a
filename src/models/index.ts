/**
 * The TUF metadata model: one class per role and per nested object, strict parsing from
 * untrusted bytes, lossless serialization, signing and threshold verification.
 *
 * @module
 */
export {
  DelegatedRole,
  type DelegatedRoleOptions,
  SuccinctRoles,
  type SuccinctRolesOptions,
} from './delegated-role.js';
export { Delegations, type DelegationsOptions, type RoleForTarget } from './delegations.js';
export { getOwn, type Unrecognized } from './guards.js';
export { Key, Signature } from './key.js';
export { MetaFile, verifyLengthAndHashes } from './meta-file.js';
export {
  type AnySigned,
  Metadata,
  type ParseOptions,
  type SignedTypes,
  type VerificationResult,
} from './metadata.js';
export { isTargetInPathPattern } from './path-pattern.js';
export { Role } from './role.js';
export { Root, type RootOptions } from './root.js';
export {
  checkSpecVersion,
  formatExpires,
  parseExpires,
  Signed,
  type SignedOptions,
  type SignedType,
  SPECIFICATION_VERSION,
  TOP_LEVEL_ROLE_NAMES,
  type TopLevelRoleName,
} from './signed.js';
export { Snapshot, type SnapshotOptions } from './snapshot.js';
export {
  type ConventionProblem,
  hardwareIdsProblem,
  MAX_HARDWARE_ID_LENGTH,
  MAX_RECORDED_HASHES,
  MAX_RELEASE_VERSION_LENGTH,
  recordedHashesProblem,
  recordedTargetProblem,
  releaseCounterProblem,
  releaseVersionProblem,
  targetCustomProblem,
} from './target-conventions.js';
export { TargetFile } from './target-file.js';
export { checkTargetPath, unsafeTargetPathReason } from './target-path.js';
export { Targets, type TargetsOptions } from './targets.js';
export { Timestamp, type TimestampOptions } from './timestamp.js';
