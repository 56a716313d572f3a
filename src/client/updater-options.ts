/**
 * The option and result types of the `Updater`'s public methods, apart from the class so that
 * the class module holds the client workflow only.
 *
 * @module
 */
import type { CryptoProvider } from '../crypto/index.js';
import type { UpdaterConfig } from './config.js';
import type { Fetcher, FetchResponse } from './fetcher.js';
import type { MetadataStore } from './metadata-store.js';

/** Options of {@link Updater.create}. */
export interface UpdaterOptions {
  /** Base URL of the repository's metadata (`…/metadata/`); a trailing `/` is added if missing. */
  metadataBaseUrl: string;
  /** Default base URL of target files; may also be given per download. */
  targetBaseUrl?: string;
  /** Default directory targets are stored in, as `<percent-encoded target path>`. */
  targetDir?: string;
  /** How bytes are downloaded (`HttpFetcher`, `FileFetcher`, a test double). */
  fetcher: Fetcher;
  /** Where the trusted root is read from and verified metadata is cached. */
  metadataStore: MetadataStore;
  /** Overrides of {@link DEFAULT_UPDATER_CONFIG}. */
  config?: Partial<UpdaterConfig>;
  /** Signature verification backend. */
  provider?: CryptoProvider;
}

/** Options of {@link Updater.openTarget}. */
export interface OpenTargetOptions {
  /** Resume from this byte (the length already on disk). Default 0. */
  offset?: number;
  /** Base URL of target files for this call. */
  targetBaseUrl?: string;
  /** Aborts the transfer. */
  signal?: AbortSignal;
}

/** What {@link Updater.openTarget} returns. */
export interface OpenedTarget {
  /**
   * Position of the first byte `stream` yields: the requested offset, or `0` when the source
   * ignored it (then discard the partial data and restart verification).
   */
  offset: number;
  /** The bytes, never more than the target's trusted length in total. Iterate or cancel it. */
  stream: FetchResponse;
}
