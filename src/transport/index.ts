/**
 * Transport adapters: the {@link Fetcher} implementations the client and the device agent
 * download through. `HttpFetcher` for online repositories, `FileFetcher` for offline media.
 * The interface and its safety base class live beside their consumer, in `src/client/fetcher.ts`,
 * and are re-exported here as types for integrators writing their own transport.
 *
 * @module
 */
export type {
  Fetcher,
  FetchOptions,
  FetchRangeOptions,
  FetchResponse,
  OpenedResource,
  OpenRequest,
} from '../client/fetcher.js';
export { BaseFetcher } from '../client/fetcher.js';
export { BundleFetcher, type BundleFetcherOptions } from './bundle-fetcher.js';
export { FileFetcher, type FileFetcherOptions } from './file-fetcher.js';
export { HttpFetcher, type HttpFetcherOptions, type PemInput } from './http-fetcher.js';
