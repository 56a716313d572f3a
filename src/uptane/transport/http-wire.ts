/**
 * The small HTTP plumbing the Uptane adapters share: a capped body reader, a POST client on
 * `node:http`, and the JSON shape errors travel in (`{code, attack?, message}`) so that an
 * `UptaneError` raised on one side is rebuilt, attack and code intact, on the other.
 *
 * Loopback and in-vehicle networks only: plain HTTP, no TLS (the content is signed; the transport
 * is not trusted).
 *
 * @module
 */
import * as http from 'node:http';
import {
  DownloadError,
  DownloadHttpError,
  TufError,
  UptaneAttack,
  UptaneError,
} from '../../errors.js';

/** Read a request or response body, refusing more than `maxLength` bytes. */
export async function readBody(
  stream: http.IncomingMessage,
  maxLength: number,
): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    length += chunk.byteLength;
    if (length > maxLength) {
      stream.destroy();
      throw new DownloadError(`body longer than ${maxLength} bytes`);
    }
    chunks.push(chunk);
  }
  const out = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** An error as JSON. */
export function errorToJSON(error: unknown): Record<string, unknown> {
  if (error instanceof UptaneError) {
    return { code: error.code, attack: error.attack, message: error.message };
  }
  if (error instanceof TufError) return { code: error.code, message: error.message };
  return { code: 'ERR_TUF', message: String((error as Error)?.message ?? error) };
}

const ATTACKS = new Set<string>(Object.values(UptaneAttack));

/** Rebuild an error sent as JSON (an `UptaneError` when it names a known attack). */
export function errorFromJSON(value: unknown, status: number, url: string): Error {
  const v = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  const message = typeof v.message === 'string' ? v.message : `HTTP ${status}`;
  if (typeof v.attack === 'string' && ATTACKS.has(v.attack)) {
    // The message already ends with "[attack]"; strip it so it is not doubled.
    return new UptaneError(v.attack as UptaneAttack, message.replace(/ \[[a-z-]+\]$/, ''));
  }
  return new DownloadHttpError(`${url}: ${message}`, { url, statusCode: status });
}

/** Answer with JSON. */
export function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/** Answer an error: 4xx for refusals, 500 for anything else. */
export function sendError(res: http.ServerResponse, error: unknown): void {
  sendJson(res, error instanceof TufError ? 400 : 500, errorToJSON(error));
}

/** Options of {@link request}. */
export interface RequestOptions {
  method?: 'GET' | 'POST';
  body?: Uint8Array;
  maxResponseLength: number;
  timeoutMs?: number;
}

/**
 * One HTTP request; resolves with status and body (capped).
 *
 * @throws DownloadError when the connection fails, times out or the body is too long.
 */
export function request(
  url: string,
  options: RequestOptions,
): Promise<{ status: number; body: Uint8Array }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: options.method ?? 'GET',
        headers:
          options.body === undefined
            ? {}
            : {
                'content-type': 'application/octet-stream',
                'content-length': options.body.byteLength,
              },
        timeout: options.timeoutMs ?? 30_000,
      },
      (res) => {
        readBody(res, options.maxResponseLength).then(
          (body) => resolve({ status: res.statusCode ?? 0, body }),
          (error) =>
            reject(new DownloadError(`${url}: ${(error as Error).message}`, { url, cause: error })),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (error) =>
      reject(new DownloadError(`${url}: ${error.message}`, { url, cause: error })),
    );
    req.end(options.body === undefined ? undefined : Buffer.from(options.body));
  });
}

/** Parse a JSON body, or `undefined`. */
export function jsonOf(body: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(body));
  } catch {
    return undefined;
  }
}
