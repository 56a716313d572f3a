/**
 * The options of `HttpFetcher` ({@link HttpFetcherOptions}): their defaults and validation, and
 * the request headers every fetch sends. The connection pool they configure is in
 * `http-connection-pool.ts`.
 *
 * Safe for concurrent use (pure functions; the pool built is shared by the fetcher's requests).
 *
 * @module
 */
import { InvalidStateError } from '../errors.js';

/** PEM text or bytes, as Node's TLS accepts them. */
export type PemInput = string | Uint8Array;

/** Options of `HttpFetcher`; every field is optional and has a safe default. */
export interface HttpFetcherOptions {
  /** Sockets kept per origin (keep-alive pool size). Default 4. */
  connections?: number;
  /** How long an idle keep-alive socket is kept, in ms. Default 4000. */
  keepAliveTimeoutMs?: number;
  /** TCP + TLS connection establishment limit, in ms. Default 10 000; `0` disables. */
  connectTimeoutMs?: number;
  /** From sending the request to receiving all headers, in ms. Default 30 000; `0` disables. */
  headersTimeoutMs?: number;
  /** Longest silence between two body chunks, in ms. Default 30 000; `0` disables. */
  bodyTimeoutMs?: number;
  /**
   * Minimum throughput, in bytes per second, measured over each `speedWindowMs` of time spent
   * *waiting for the network* (time the consumer spends on a chunk does not count, so a slow
   * flash write is not blamed on the server). `0` disables. Default 256.
   */
  minBytesPerSecond?: number;
  /** Length of the throughput window, in ms. Default 30 000. */
  speedWindowMs?: number;
  /**
   * Hard deadline for one fetch (all attempts, redirects and the whole body), in ms. Off by
   * default because a large image on a slow link legitimately takes hours; useful for metadata.
   */
  totalTimeoutMs?: number;
  /** Extra attempts after a transient failure. Default 2 (three attempts in all). */
  retries?: number;
  /** Backoff base: attempt `n` waits a random time in `[0, base · 2ⁿ]`. Default 250 ms. */
  retryBaseDelayMs?: number;
  /** Upper bound of one backoff wait, also caps a server's `Retry-After`. Default 10 000 ms. */
  retryMaxDelayMs?: number;
  /** Redirects followed per fetch. Default 3; `0` turns every redirect into an error. */
  maxRedirections?: number;
  /** `User-Agent` header. Default `tufota`. */
  userAgent?: string;
  /** Extra request headers (e.g. `authorization`). `range` is reserved for resume. */
  headers?: Record<string, string>;
  /** Trusted CA certificate(s), PEM. Replaces the system roots: pins a private CA. */
  ca?: PemInput | readonly PemInput[];
  /** Client certificate chain, PEM, for mutual TLS. Requires `key`. */
  cert?: PemInput;
  /** Client private key, PEM, for mutual TLS. */
  key?: PemInput;
  /** Passphrase of an encrypted `key`. */
  passphrase?: string;
  /** HTTP(S) proxy URL (credentials in the URL or in `token`), used for every request. */
  proxy?: string | { uri: string; token?: string };
}

/** Defaults of every numeric option and of `userAgent`. */
const DEFAULTS = {
  connections: 4,
  keepAliveTimeoutMs: 4_000,
  connectTimeoutMs: 10_000,
  headersTimeoutMs: 30_000,
  bodyTimeoutMs: 30_000,
  minBytesPerSecond: 256,
  speedWindowMs: 30_000,
  retries: 2,
  retryBaseDelayMs: 250,
  retryMaxDelayMs: 10_000,
  maxRedirections: 3,
  userAgent: 'tufota',
} as const;

type OptionalKeys = 'totalTimeoutMs' | 'headers' | 'ca' | 'cert' | 'key' | 'passphrase' | 'proxy';

/** The options with every default applied and checked. */
export type ResolvedHttpFetcherOptions = Required<Omit<HttpFetcherOptions, OptionalKeys>> &
  Pick<HttpFetcherOptions, OptionalKeys>;

/**
 * Apply the defaults and check every option.
 *
 * @throws InvalidStateError naming the option that is out of range.
 *
 * @example
 * ```ts
 * const { retries } = resolveHttpFetcherOptions({ retries: 3 });
 * ```
 */
export function resolveHttpFetcherOptions(options: HttpFetcherOptions): ResolvedHttpFetcherOptions {
  const merged = { ...DEFAULTS, ...dropUndefined(options) };
  for (const key of Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]) {
    const value = merged[key];
    if (key !== 'userAgent' && !(Number.isSafeInteger(value) && (value as number) >= 0)) {
      throw new InvalidStateError(
        `HttpFetcher option ${key} must be an integer >= 0, got ${String(value)}`,
      );
    }
  }
  if (merged.connections < 1) throw new InvalidStateError('HttpFetcher connections must be >= 1');
  if (merged.totalTimeoutMs !== undefined && !(merged.totalTimeoutMs > 0)) {
    throw new InvalidStateError('HttpFetcher totalTimeoutMs must be a positive number');
  }
  if ((options.cert === undefined) !== (options.key === undefined)) {
    throw new InvalidStateError('HttpFetcher mutual TLS needs both cert and key');
  }
  return merged;
}

/**
 * The headers of every request: `accept-encoding: identity` (bytes exactly as served), the
 * user agent, then the caller's extra headers, lower-cased.
 *
 * @throws InvalidStateError for a `range` header (reserved for resume).
 */
export function baseRequestHeaders(
  options: HttpFetcherOptions,
  userAgent: string,
): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    const lower = name.toLowerCase();
    if (lower === 'range') throw new InvalidStateError('the range header is reserved for resume');
    headers[lower] = value;
  }
  return {
    'accept-encoding': 'identity',
    'user-agent': userAgent,
    ...headers,
  };
}

function dropUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
