/**
 * `tufota/uptane`: Uptane (IEEE-ISTO 6100.1, Standard 2.1.0) on top of tufota's TUF client,
 * repository and device agent — a director repository, ECU manifests, primary full verification,
 * secondary full or partial verification, a trusted clock, and the primary↔secondary transports.
 * See `docs/uptane.md`.
 *
 * Layers: `verify/` is pure (bytes in, values or typed errors out); `director/`, `primary/`,
 * `secondary/`, `ecu/` are async workflows; `transport/`, the file stores and the servers are the
 * adapters.
 *
 * @module
 */
export {
  type AssignImage,
  type AssignOptions,
  DEFAULT_DIRECTOR_EXPIRY,
  type DeviceRegistration,
  Director,
  type DirectorExpiry,
  type DirectorOptions,
  type DirectorSigners,
  type EcuRegistration,
} from './director/director.js';
export { createDirectorServer, type DirectorServer } from './director/director-server.js';
export { FileInventoryStore } from './director/file-inventory-store.js';
export {
  type DeviceMetadataRecord,
  type DeviceRecord,
  type EcuRecord,
  type ImageAssignment,
  type InventoryStore,
  MemoryInventoryStore,
} from './director/inventory.js';
export { type ManifestResult, processManifest } from './director/manifest-processing.js';
export { Ecu, type EcuAgentOptions, type EcuOptions, type RepositoryKey } from './ecu/ecu.js';
export {
  httpImageFetcher,
  httpManifestSender,
  httpMetadataReader,
} from './primary/http-readers.js';
export {
  type ConsentCallback,
  type ConsentRequest,
  type EcuCycleResult,
  Primary,
  type PrimaryOptions,
  type UpdateCycleResult,
} from './primary/primary.js';
export { bundleReader, Secondary, type SecondaryOptions } from './secondary/secondary.js';
export { FileClockFloorStore } from './time/file-clock-floor-store.js';
export {
  type ClockFloorStore,
  MemoryClockFloorStore,
  TrustedClock,
  type TrustedClockOptions,
} from './time/trusted-clock.js';
export {
  createSecondaryServer,
  DEFAULT_MAX_IMAGE_LENGTH,
  decodeBundle,
  encodeBundle,
  HttpSecondaryTransport,
  type SecondaryServer,
} from './transport/http-secondary.js';
export {
  InProcessSecondaryTransport,
  type SecondaryInfo,
  type SecondaryTransport,
  type SecondaryUpdateResult,
  type UpdateBundle,
  type VerificationMode,
} from './transport/secondary-transport.js';
export { asUptaneError, type UptaneRepositoryName } from './verify/attacks.js';
export {
  type DirectorTargetsExpectations,
  type DirectorTargetsInfo,
  directorCustomOf,
  type EcuAssignment,
  readDirectorTargets,
  type UpdateControl,
} from './verify/director-targets.js';
export {
  type FullVerificationInput,
  type FullVerificationResult,
  type RepositoryInput,
  type VerifiedImage,
  verifyFull,
} from './verify/full-verification.js';
export {
  checkImagesAgree,
  checkReleaseCounter,
  type EcuIdentity,
  findOwnAssignment,
  verifyImageBytes,
} from './verify/image-checks.js';
export { delegationHardwareIds, searchImageDelegations } from './verify/image-delegations.js';
export {
  type EcuVersionReport,
  ecuVersionReportFromJSON,
  ecuVersionReportToJSON,
  type InstalledImage,
  MAX_MANIFEST_LENGTH,
  parseEnvelope,
  type SignedEnvelope,
  signEnvelope,
  type VehicleVersionManifest,
  vehicleManifestFromJSON,
  vehicleManifestToJSON,
  verifyEnvelope,
} from './verify/manifest.js';
export {
  type PartialVerificationInput,
  type PartialVerificationResult,
  verifyPartial,
} from './verify/partial-verification.js';
export {
  type ChainLimits,
  DEFAULT_CHAIN_LIMITS,
  findImageTarget,
  type LoadedRepository,
  loadRepositoryChain,
  type MetadataReader,
  type TrustedRepositoryState,
} from './verify/repository-chain.js';
export {
  DIRECTOR_REPOSITORY,
  defaultRepositoryMap,
  IMAGE_REPOSITORY,
  mappingFor,
  parseRepositoryMap,
  type RepositoryMap,
  type RepositoryMapping,
} from './verify/repository-map.js';
