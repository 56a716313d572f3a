/**
 * `HttpFetcher`: the {@link Fetcher} for HTTP(S) repositories, on `node:http`/`node:https` with
 * its own keep-alive connection pool (`http-connection-pool.ts`, which says why not undici).
 *
 * Implements, on top of the cap, error wrapping and abort handling of {@link BaseFetcher}:
 * - status mapping: 403/404/410 → {@link NotFoundError} (S3-style stores answer 403 for a missing
 *   object; the root-rotation loop, TUF 5.3.3, needs "not found" to end), any other status but
 *   200/206 → {@link DownloadHttpError} with `statusCode`;
 * - slow-retrieval protection (TUF threat model): connect, header and idle-body timeouts, plus a
 *   minimum throughput over a sliding window so a server dripping a byte a second cannot hold a
 *   device forever (idle timeouts alone never fire on a drip), plus an optional hard deadline;
 *   all of them reject with {@link SlowRetrievalError};
 * - retries with exponential backoff and full jitter, on transient failures only (connection
 *   reset/refused, DNS `EAI_AGAIN`, connect/header timeouts, 429/502/503/504), and only before the
 *   first body byte: a failure mid-body surfaces, and the caller resumes with `fetchRange`;
 * - resume with `Range: bytes=N-`: a `206` must start exactly at N (`Content-Range` checked), a
 *   `200` means the server ignored the range and the response reports offset 0; a `416` whose
 *   total equals N yields an empty body at N (already complete), otherwise the whole resource is
 *   requested again from 0;
 * - redirects, followed by this class so that every hop is checked: at most
 *   `maxRedirections`, only to http(s), never from https down to http, and credentials
 *   (`authorization`, `cookie`) are dropped when the origin changes;
 * - TLS: a private CA (`ca`) replaces the system roots, a client certificate (`cert`/`key`)
 *   gives mutual TLS; an HTTP(S) proxy is reached through `CONNECT` tunnels.
 *
 * Bytes are delivered exactly as received: `Accept-Encoding: identity` is sent, and a body a
 * server compresses anyway is not decoded (its hashes then fail, as they must).
 *
 * Options, their defaults and the connection pool they configure are in `http-fetcher-options.ts`;
 * the status and header decisions in `http-response.ts`.
 *
 * Does not implement: HTTP/2, caching, cookies.
 *
 * Safe for concurrent use: fetches share the pool (`connections` sockets per origin). Call
 * {@link HttpFetcher.close} when done; it destroys the pool and fails downloads in flight.
 *
 * @module
 */
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { debuglog } from 'node:util';
import type { OpenedResource, OpenRequest } from '../client/fetcher.js';
import { BaseFetcher } from '../client/fetcher.js';
import { DownloadError, DownloadHttpError, SlowRetrievalError } from '../errors.js';
import { discardBody, HttpConnectionPool, POOL_ERROR_CODES } from './http-connection-pool.js';
import {
  baseRequestHeaders,
  type HttpFetcherOptions,
  type ResolvedHttpFetcherOptions,
  resolveHttpFetcherOptions,
} from './http-fetcher-options.js';
import { classify, type ResponseHeaders, type Verdict } from './http-response.js';

export type { HttpFetcherOptions, PemInput } from './http-fetcher-options.js';

const debug = debuglog('tufota');

const REDIRECT_STATUS = new Set([301, 302, 303, 307, 308]);
/** Error codes of failures that may not recur: the connection broke, nothing was received. */
const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  POOL_ERROR_CODES.connectTimeout,
  POOL_ERROR_CODES.headersTimeout,
]);
/** The body went silent for `bodyTimeoutMs`. */
const BODY_TIMEOUT_CODE = 'ERR_TUFOTA_BODY_TIMEOUT';
const SLOW_CODES = new Set([
  POOL_ERROR_CODES.connectTimeout,
  POOL_ERROR_CODES.headersTimeout,
  BODY_TIMEOUT_CODE,
]);
/** Headers that must not follow a redirect to another origin. */
const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization'];
/**
 * Bodies of refused responses (errors, redirects) are read up to this much and for this long so
 * the socket can be reused; a larger or slower one is destroyed. The time bound matters: a 404
 * body dripping a byte at a time would otherwise hold the fetch for `bodyTimeoutMs` per byte.
 */
const DISCARD_LIMIT_BYTES = 16 * 1024;
const DISCARD_LIMIT_MS = 1_000;

/** One response with its per-fetch state, before the base class takes over the body. */
interface Exchange {
  statusCode: number;
  headers: ResponseHeaders;
  body: Readable;
}

/**
 * Downloads over HTTP(S) with timeouts, retries, resume, redirects, TLS pinning and mutual TLS.
 *
 * @example
 * ```ts
 * import { HttpFetcher } from 'tufota/client';
 * const fetcher = new HttpFetcher({ ca: await readFile('/etc/tufota/ca.pem'), retries: 3 });
 * try {
 *   const timestamp = await fetcher.fetchBytes('https://updates.example.com/metadata/timestamp.json', 16_384);
 * } finally {
 *   await fetcher.close();
 * }
 * ```
 */
export class HttpFetcher extends BaseFetcher {
  readonly #options: ResolvedHttpFetcherOptions;
  readonly #pool: HttpConnectionPool;
  readonly #baseHeaders: Record<string, string>;
  #closed = false;

  /** Builds the connection pool; opens no connection until the first fetch. */
  constructor(options: HttpFetcherOptions = {}) {
    super();
    const resolved = resolveHttpFetcherOptions(options);
    this.#options = resolved;
    this.#baseHeaders = baseRequestHeaders(options, resolved.userAgent);
    this.#pool = new HttpConnectionPool(options, resolved);
  }

  /** Destroy the connection pool. Downloads still in flight fail. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#pool.destroy();
  }

  protected override async open(url: string, request: OpenRequest): Promise<OpenedResource> {
    const target = parseHttpUrl(url);
    // One controller per fetch: the caller's signal and the hard deadline both end up here.
    const controller = new AbortController();
    const onCallerAbort = (): void => controller.abort(request.signal?.reason);
    request.signal?.addEventListener('abort', onCallerAbort, { once: true });
    const deadline =
      this.#options.totalTimeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            controller.abort(
              new SlowRetrievalError(
                `${url}: not completed within ${this.#options.totalTimeoutMs} ms (totalTimeoutMs)`,
                { url },
              ),
            );
          }, this.#options.totalTimeoutMs);
    deadline?.unref();
    const cleanup = (): void => {
      clearTimeout(deadline);
      request.signal?.removeEventListener('abort', onCallerAbort);
    };
    try {
      const opened = await this.#openWithRetries(target, url, request, controller.signal);
      if (opened.body.readableEnded) cleanup();
      else opened.body.once('close', cleanup);
      return {
        offset: opened.offset,
        declaredLength: opened.declaredLength,
        body: this.#monitor(opened.body, url),
        destroy: () => opened.body.on('error', noop).destroy(),
      };
    } catch (error) {
      cleanup();
      if (controller.signal.aborted && request.signal?.aborted !== true) {
        throw controller.signal.reason; // the deadline fired
      }
      throw error;
    }
  }

  async #openWithRetries(
    target: URL,
    url: string,
    request: OpenRequest,
    signal: AbortSignal,
  ): Promise<{ body: Exchange['body']; offset: number; declaredLength: number | undefined }> {
    let offset = request.offset;
    for (let attempt = 0; ; attempt++) {
      let exchange: Exchange;
      try {
        exchange = await this.#requestFollowingRedirects(target, url, offset, signal);
      } catch (error) {
        const code = errorCode(error);
        if (signal.aborted || attempt >= this.#options.retries || !TRANSIENT_CODES.has(code)) {
          throw mapTransportError(error, url);
        }
        debug('GET %s failed with %s; retry %d', url, code, attempt + 1);
        await sleep(this.#backoff(attempt), signal);
        continue;
      }
      const { statusCode, headers, body } = exchange;
      let verdict: Verdict;
      try {
        verdict = classify(statusCode, headers, offset, request.maxLength, url);
      } catch (error) {
        await discard(body); // a refused response must not keep its socket
        throw error;
      }
      if (verdict.kind === 'body')
        return { body, offset: verdict.offset, declaredLength: verdict.declaredLength };
      await discard(body);
      if (verdict.kind === 'complete') return { body: emptyBody(), offset, declaredLength: 0 };
      if (verdict.kind === 'restart') {
        // The partial data does not fit this resource: start over from byte 0 (at most once,
        // since a request without Range cannot get a 416), without spending a retry.
        debug('GET %s: range from %d not satisfiable; restarting from 0', url, offset);
        offset = 0;
        attempt--;
        continue;
      }
      if (attempt >= this.#options.retries) {
        throw new DownloadHttpError(`${url}: the server answered HTTP ${statusCode}`, {
          url,
          statusCode,
        });
      }
      debug('GET %s answered %d; retry %d', url, statusCode, attempt + 1);
      const delay =
        verdict.retryAfterMs === undefined
          ? this.#backoff(attempt)
          : Math.min(verdict.retryAfterMs, this.#options.retryMaxDelayMs);
      await sleep(delay, signal);
    }
  }

  /** One GET, following up to `maxRedirections` checked redirects. */
  async #requestFollowingRedirects(
    target: URL,
    url: string,
    offset: number,
    signal: AbortSignal,
  ): Promise<Exchange> {
    let current = target;
    const headers: Record<string, string> = { ...this.#baseHeaders };
    if (offset > 0) headers['range'] = `bytes=${offset}-`;
    for (let hop = 0; ; hop++) {
      const response = await this.#pool.get(current, headers, signal);
      const location = response.headers['location'];
      if (!REDIRECT_STATUS.has(response.statusCode) || typeof location !== 'string') {
        return response;
      }
      await discard(response.body);
      if (hop >= this.#options.maxRedirections) {
        throw new DownloadError(
          `${url}: more than ${this.#options.maxRedirections} redirects (maxRedirections)`,
          { url },
        );
      }
      let next: URL;
      try {
        next = new URL(location, current);
      } catch (error) {
        throw new DownloadError(`${url}: invalid redirect location ${location}`, {
          url,
          cause: error,
        });
      }
      if (next.protocol !== 'https:' && next.protocol !== 'http:') {
        throw new DownloadError(`${url}: refusing redirect to ${next.protocol} URL`, { url });
      }
      if (current.protocol === 'https:' && next.protocol === 'http:') {
        throw new DownloadError(
          `${url}: refusing redirect from https to plain http (${next.href})`,
          {
            url,
          },
        );
      }
      if (next.origin !== current.origin) {
        for (const name of CREDENTIAL_HEADERS) delete headers[name];
      }
      debug('GET %s redirected (%d) to %s', current.href, response.statusCode, next.href);
      current = next;
    }
  }

  /** Wait before attempt `attempt + 1`: full jitter over an exponentially growing ceiling. */
  #backoff(attempt: number): number {
    const ceiling = Math.min(
      this.#options.retryMaxDelayMs,
      this.#options.retryBaseDelayMs * 2 ** attempt,
    );
    return Math.random() * ceiling;
  }

  /** Map body errors to typed ones and enforce the minimum throughput while waiting. */
  async *#monitor(
    body: Exchange['body'],
    url: string,
  ): AsyncGenerator<Uint8Array, void, undefined> {
    const { minBytesPerSecond, speedWindowMs, bodyTimeoutMs } = this.#options;
    const iterator = body[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
    let waitedMs = 0;
    let windowBytes = 0;
    // The body timeout counts only time spent waiting for the server: a consumer busy writing
    // to slow flash between chunks is not the server falling silent. One timer, re-armed.
    let waiting = false;
    const silence =
      bodyTimeoutMs > 0
        ? setTimeout(function onSilence() {
            if (!waiting) {
              silence?.refresh();
              return;
            }
            const error = Object.assign(
              new Error(`no body data for ${bodyTimeoutMs} ms (bodyTimeoutMs)`),
              { code: BODY_TIMEOUT_CODE },
            );
            body.destroy(error);
          }, bodyTimeoutMs)
        : undefined;
    silence?.unref();
    try {
      for (;;) {
        const started = performance.now();
        let result: IteratorResult<Uint8Array>;
        waiting = true;
        silence?.refresh();
        try {
          result = await iterator.next();
        } catch (error) {
          throw mapTransportError(error, url);
        } finally {
          waiting = false;
        }
        waitedMs += performance.now() - started;
        if (result.done === true) return;
        windowBytes += result.value.byteLength;
        if (minBytesPerSecond > 0 && waitedMs >= speedWindowMs) {
          const rate = (windowBytes * 1000) / waitedMs;
          if (rate < minBytesPerSecond) {
            throw new SlowRetrievalError(
              `${url}: ${Math.round(rate)} bytes/s over the last ${Math.round(waitedMs)} ms, ` +
                `below the ${minBytesPerSecond} bytes/s minimum (slow-retrieval protection)`,
              { url },
            );
          }
          waitedMs = 0;
          windowBytes = 0;
        }
        yield result.value;
      }
    } finally {
      clearTimeout(silence);
      // Ended, failed or abandoned: an unfinished body must not keep its socket.
      if (!body.readableEnded) body.on('error', noop).destroy();
    }
  }
}

function noop(): void {}

function parseHttpUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new DownloadError(`invalid URL ${url}`, { url, cause: error });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new DownloadError(`HttpFetcher cannot fetch ${parsed.protocol} URLs (${url})`, { url });
  }
  return parsed;
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

/** Timeouts become {@link SlowRetrievalError}; typed errors pass; the rest the base wraps. */
function mapTransportError(error: unknown, url: string): unknown {
  if (SLOW_CODES.has(errorCode(error))) {
    return new SlowRetrievalError(
      `${url}: ${(error as Error).message} (${errorCode(error)}; slow-retrieval protection)`,
      { url, cause: error },
    );
  }
  return error;
}

/** Read a small, quick error body so the socket stays reusable; destroy any other. */
function discard(body: Exchange['body']): Promise<void> {
  return discardBody(body, DISCARD_LIMIT_BYTES, DISCARD_LIMIT_MS);
}

function emptyBody(): Exchange['body'] {
  // Only `once('close')`, `readableEnded`, `destroy` and iteration are used on a body.
  const body = {
    readableEnded: true,
    once: () => body,
    on: () => body,
    destroy: () => body,
    async *[Symbol.asyncIterator]() {},
  };
  return body as unknown as Exchange['body'];
}

/** Resolve after `ms`, or reject with the signal's reason when it aborts first. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
