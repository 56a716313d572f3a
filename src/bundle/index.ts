/**
 * Offline update bundles: one tar file holding a repository's trusted metadata chain and chosen
 * targets, for devices updated from USB sticks or SD cards. Create one with {@link createBundle}
 * (or `tufota bundle create`); install from one with `BundleFetcher` (`tufota/client`) and the
 * ordinary `Updater`, which verifies it exactly as it verifies an online repository.
 *
 * @module
 */
export {
  type BundleSummary,
  type CreateBundleOptions,
  createBundle,
  MAX_BUNDLE_TARGETS,
} from './create-bundle.js';
export {
  BUNDLE_FORMAT_VERSION,
  BUNDLE_MANIFEST_NAME,
  type BundleManifest,
  encodeBundleManifest,
} from './manifest.js';
export {
  checkTarName,
  DEFAULT_MAX_TAR_ENTRIES,
  fileHandleSink,
  MAX_PAX_HEADER_SIZE,
  MAX_TAR_NAME_LENGTH,
  type ReadTarOptions,
  readTarIndex,
  TAR_BLOCK_SIZE,
  type TarEntry,
  type TarIndex,
  type TarSink,
  TarWriter,
  type TarWriterOptions,
} from './tar.js';
