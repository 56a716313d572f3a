/**
 * How `HttpFetcher` reads a response before taking its body: the status mapping and the
 * `Content-Length`, `Content-Range` and `Retry-After` headers, as pure functions over the status
 * code and headers so that every branch is tested without a server.
 *
 * Implements RFC 9110 §14.4 (Content-Range), §15.3.7 (206), §15.5.17 (416) and §10.2.3
 * (Retry-After) for the single open range `bytes=N-` that resume sends; multipart ranges are
 * never requested and so never accepted. Status mapping follows tufota STYLE point 4: 403, 404
 * and 410 are "not found" whatever the transport.
 *
 * Stateless; safe for concurrent use.
 *
 * @module
 */
import { DownloadError, DownloadHttpError, DownloadLengthError, NotFoundError } from '../errors.js';

/** Response headers as undici delivers them (lower-case names). */
export type ResponseHeaders = Record<string, string | string[] | undefined>;

/** Statuses worth another attempt: overload and gateway trouble, not the resource's state. */
export const TRANSIENT_STATUS: ReadonlySet<number> = new Set([429, 502, 503, 504]);
/** Statuses that mean "this resource does not exist" (S3-style stores answer 403). */
export const NOT_FOUND_STATUS: ReadonlySet<number> = new Set([403, 404, 410]);

/** What to do with a response, decided from its status and headers alone. */
export type Verdict =
  | { kind: 'body'; offset: number; declaredLength: number | undefined }
  | { kind: 'complete' }
  | { kind: 'restart' }
  | { kind: 'retry'; retryAfterMs: number | undefined };

/**
 * Decide on a (non-redirect) response to a GET sent with `Range: bytes=offset-` when
 * `offset > 0`: deliver its body, report the resource complete, restart without a range, retry,
 * or throw the typed error. Pure: the caller discards the body whenever it is not delivered.
 */
export function classify(
  statusCode: number,
  headers: ResponseHeaders,
  offset: number,
  maxLength: number,
  url: string,
): Verdict {
  const declaredLength = parseContentLength(headers['content-length'], url);
  if (statusCode === 200) return { kind: 'body', offset: 0, declaredLength };
  if (statusCode === 206 && offset > 0) {
    const range = parseContentRange(headers['content-range'], url);
    if (range === undefined || range.start !== offset) {
      throw new DownloadError(
        `${url}: asked for bytes from ${offset} but the 206 response's Content-Range is ` +
          `${String(headers['content-range'])}`,
        { url },
      );
    }
    if (range.total !== undefined && range.end !== range.total - 1) {
      // `bytes=N-` asks for everything to the end; a shorter part would look like a whole file.
      throw new DownloadError(
        `${url}: asked for bytes ${offset}- but the 206 response covers only ` +
          `${String(headers['content-range'])}`,
        { url },
      );
    }
    if (range.total !== undefined && range.total > maxLength) {
      throw new DownloadLengthError(
        `${url}: the resource is ${range.total} bytes, more than the ${maxLength}-byte cap`,
        { url, maxLength },
      );
    }
    return { kind: 'body', offset, declaredLength };
  }
  if (statusCode === 416 && offset > 0) {
    // RFC 9110 §15.5.17: `Content-Range: bytes */TOTAL`. Equal to the offset: nothing is missing.
    const total = parseUnsatisfiedRange(headers['content-range']);
    return total === offset ? { kind: 'complete' } : { kind: 'restart' };
  }
  if (NOT_FOUND_STATUS.has(statusCode)) {
    throw new NotFoundError(`${url} not found (HTTP ${statusCode})`, { url });
  }
  if (TRANSIENT_STATUS.has(statusCode)) {
    return { kind: 'retry', retryAfterMs: parseRetryAfter(headers['retry-after']) };
  }
  throw new DownloadHttpError(`${url}: the server answered HTTP ${statusCode}`, {
    url,
    statusCode,
  });
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? undefined : value;
}

/**
 * `Content-Length` as a number, `undefined` when absent (chunked) or repeated, and a
 * {@link DownloadError} when malformed: a length we cannot read cannot be checked against a cap.
 */
export function parseContentLength(
  value: string | string[] | undefined,
  url: string,
): number | undefined {
  const text = single(value);
  if (text === undefined) return undefined;
  if (!/^\d{1,15}$/.test(text)) {
    throw new DownloadError(`${url}: invalid Content-Length ${JSON.stringify(text)}`, { url });
  }
  return Number(text);
}

/**
 * `Content-Range: bytes START-END/TOTAL` or `bytes START-END/*` (RFC 9110 §14.4); `undefined`
 * when absent or in another unit, {@link DownloadError} when the numbers contradict each other.
 */
export function parseContentRange(
  value: string | string[] | undefined,
  url: string,
): { start: number; end: number; total: number | undefined } | undefined {
  const match = /^bytes (\d{1,15})-(\d{1,15})\/(\d{1,15}|\*)$/.exec(single(value)?.trim() ?? '');
  if (match === null) return undefined;
  const start = Number(match[1]);
  const end = Number(match[2]);
  const total = match[3] === '*' ? undefined : Number(match[3]);
  if (end < start || (total !== undefined && end >= total)) {
    throw new DownloadError(`${url}: inconsistent Content-Range ${String(value)}`, { url });
  }
  return { start, end, total };
}

/** The total length in a 416's `Content-Range: bytes *\/TOTAL`, if present and well formed. */
export function parseUnsatisfiedRange(value: string | string[] | undefined): number | undefined {
  const match = /^bytes \*\/(\d{1,15})$/.exec(single(value)?.trim() ?? '');
  return match === null ? undefined : Number(match[1]);
}

/**
 * `Retry-After` (delay in seconds, or an HTTP date) as milliseconds from `now`; `undefined` when
 * absent or unreadable. The caller caps it: a server must not park a device for a day.
 */
export function parseRetryAfter(
  value: string | string[] | undefined,
  now: number = Date.now(),
): number | undefined {
  const text = single(value)?.trim();
  if (text === undefined || text === '') return undefined;
  if (/^\d{1,9}$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
