/**
 * `tufota/client`: the TUF client. The composition root of the client subpath: it re-exports
 * the public client API and wires the defaults ({@link createUpdater}: `HttpFetcher` +
 * `FsMetadataStore`).
 *
 * @module
 */
import type { CryptoProvider } from '../crypto/index.js';
import { FsMetadataStore } from '../storage/fs-metadata-store.js';
import { HttpFetcher, type HttpFetcherOptions } from '../transport/http-fetcher.js';
import type { UpdaterConfig } from './config.js';
import type { Fetcher } from './fetcher.js';
import { Updater } from './updater.js';

export {
  DEFAULT_MAX_CACHED_FILE_LENGTH,
  FsMetadataStore,
  type FsMetadataStoreInitOptions,
  type FsMetadataStoreOptions,
} from '../storage/fs-metadata-store.js';
// The concrete fetchers, so `tufota/client` alone is enough to wire an Updater.
export * from '../transport/index.js';
export { DEFAULT_UPDATER_CONFIG, resolveUpdaterConfig, type UpdaterConfig } from './config.js';
export {
  BaseFetcher,
  type Fetcher,
  type FetchOptions,
  type FetchRangeOptions,
  type FetchResponse,
  type OpenedResource,
  type OpenRequest,
} from './fetcher.js';
export { MemoryMetadataStore } from './memory-metadata-store.js';
export type { MetadataStore } from './metadata-store.js';
export * from './reference-time-policy.js';
export { encodeRoleName, metadataFileName, targetFileName, targetUrlPath } from './role-names.js';
export { TargetVerifier } from './target-verifier.js';
export {
  type DiscardableRole,
  roleKeysChanged,
  TrustedMetadataSet,
  type TrustedMetadataSetOptions,
  type UpdateSnapshotOptions,
} from './trusted-set.js';
export {
  CLIENT_CHANNELS,
  type OpenedTarget,
  type OpenTargetOptions,
  Updater,
  type UpdaterOptions,
} from './updater.js';

/** Options of {@link createUpdater}. */
export interface CreateUpdaterOptions {
  /** Directory of the metadata cache; must already hold the trusted `root.json`. */
  metadataDir: string;
  /** Base URL of the repository's metadata. */
  metadataBaseUrl: string;
  /** Default base URL of target files. */
  targetBaseUrl?: string;
  /** Default directory downloaded targets are stored in. */
  targetDir?: string;
  /** Options of the default `HttpFetcher` (timeouts, retries, TLS, proxy). */
  http?: HttpFetcherOptions;
  /** Use this fetcher instead of an `HttpFetcher` (e.g. a `FileFetcher` for offline media). */
  fetcher?: Fetcher;
  /** Overrides of the updater caps. */
  config?: Partial<UpdaterConfig>;
  /** Signature verification backend. */
  provider?: CryptoProvider;
}

/**
 * An {@link Updater} with the default adapters: an `HttpFetcher` and an `FsMetadataStore` on
 * `metadataDir`.
 *
 * @throws InvalidStateError when `metadataDir` holds no trusted root (run
 *   `FsMetadataStore.init(metadataDir, rootBytes)` once at provisioning).
 *
 * @example
 * ```ts
 * import { createUpdater } from 'tufota/client';
 * const updater = await createUpdater({
 *   metadataDir: '/var/lib/tufota/metadata',
 *   metadataBaseUrl: 'https://updates.example.com/metadata/',
 *   targetBaseUrl: 'https://updates.example.com/targets/',
 *   targetDir: '/var/lib/tufota/targets',
 * });
 * await updater.refresh();
 * ```
 */
export async function createUpdater(options: CreateUpdaterOptions): Promise<Updater> {
  return Updater.create({
    metadataBaseUrl: options.metadataBaseUrl,
    targetBaseUrl: options.targetBaseUrl,
    targetDir: options.targetDir,
    fetcher: options.fetcher ?? new HttpFetcher(options.http),
    metadataStore: new FsMetadataStore(options.metadataDir),
    config: options.config,
    provider: options.provider,
  });
}
