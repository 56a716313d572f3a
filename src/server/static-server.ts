/**
 * `createStaticServer`: a small HTTP server for a TUF repository directory (`metadata/`,
 * `targets/`), the embedded default behind `tufota serve` for development and small fleets.
 *
 * What it implements, and why each point matters to an update client:
 * - `GET` and `HEAD` only (405 with `Allow` otherwise); no directory listings (404).
 * - Exact `Content-Length`; a strong `ETag` from the file's size, modification time and inode, and
 *   `If-None-Match` → 304, so polling `timestamp.json` costs a few bytes when nothing changed.
 * - Single byte ranges (`Range: bytes=N-`, `N-M`, `-S`) → 206 with `Content-Range`, 416 with
 *   `Content-Range: bytes *\/SIZE` when unsatisfiable; `If-Range` honoured. Resumable target
 *   downloads rely on it. Multiple ranges are answered with the whole file (RFC 9110 §14.2 lets a
 *   server ignore `Range`).
 * - Caching: `Cache-Control: no-cache` on files whose name is reused with new content
 *   (`timestamp.json`, `root.json`, anything not content-addressed), and a year-long `immutable`
 *   on consistent-snapshot files (`N.ROLE.json`) and hash-prefixed targets (`HASH.NAME`), whose
 *   bytes never change under one name (TUF 5.7.3).
 * - Path safety: the raw path is decoded segment by segment; `..`/`.` segments, encoded slashes,
 *   backslashes, NUL and control characters are refused (400); dot-files (`.tufota/`, which holds
 *   the repository's bookkeeping) are hidden (404); the resolved real path must stay inside the
 *   real root, so a symbolic link pointing out of the root is 404.
 *
 * Does not implement: TLS (put it behind a reverse proxy or CDN), compression (metadata is small
 * and targets are usually compressed already), authentication, multipart ranges.
 *
 * Adapter (network and file system). Safe for concurrent requests: each request opens its own
 * file handle and streams from it, so a file replaced mid-request (publish renames new files into
 * place) is served consistently from the old inode.
 *
 * @module
 */
import { promises as fs } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { debuglog } from 'node:util';
import { InvalidStateError } from '../errors.js';

const debug = debuglog('tufota');

/** Longest request target accepted; a TUF path is at most a few hundred bytes. */
export const MAX_URL_LENGTH = 8 * 1024;

/** `Cache-Control` for files whose name is reused with new bytes. */
export const CACHE_REVALIDATE = 'no-cache';
/** `Cache-Control` for content-addressed files (`N.ROLE.json`, `HASH.NAME`). */
export const CACHE_IMMUTABLE = 'public, max-age=31536000, immutable';

/** Options of {@link createStaticServer}. */
export interface StaticServerOptions {
  /** The directory to serve (a repository root with `metadata/` and `targets/`). */
  root: string;
  /** Interface to listen on; default `127.0.0.1` (loopback only). */
  host?: string;
  /** TCP port; default 0 (any free port, see {@link StaticServer.url}). */
  port?: number;
  /**
   * Called once per request when its response has ended (sent, refused or aborted), e.g. to
   * write an access log. Exceptions it throws are ignored: logging never breaks serving.
   */
  onResponse?: (entry: AccessLogEntry) => void;
}

/** One served request, as {@link StaticServerOptions.onResponse} sees it. */
export interface AccessLogEntry {
  /** When the request arrived. */
  time: Date;
  method: string;
  /** The request target as received (path and query), not decoded. */
  path: string;
  status: number;
  /** Body bytes of the response (0 for `HEAD`, 304 and refusals); `undefined` when the client went away first. */
  bytes: number | undefined;
  /** Milliseconds from the request's arrival to the end of the response. */
  durationMs: number;
  /** The client's address. */
  remoteAddress: string | undefined;
}

/** A running server. */
export interface StaticServer {
  /** `http://HOST:PORT` (no trailing slash). */
  readonly url: string;
  readonly port: number;
  /** The underlying Node server (for metrics or tests). */
  readonly server: Server;
  /** Stop accepting connections and close idle ones; resolves when closed. */
  close(): Promise<void>;
}

/** Why a request path is refused, with the status code to answer. */
interface Refusal {
  status: 400 | 404 | 414;
  reason: string;
}

/**
 * Split a raw request path into decoded segments, or say why it is refused.
 * Exported for tests of the path rules.
 */
export function resolveRequestPath(rawUrl: string): string[] | Refusal {
  if (rawUrl.length > MAX_URL_LENGTH) return { status: 414, reason: 'request target too long' };
  const query = rawUrl.search(/[?#]/);
  const rawPath = query === -1 ? rawUrl : rawUrl.slice(0, query);
  if (!rawPath.startsWith('/')) return { status: 400, reason: 'path must start with /' };
  const segments: string[] = [];
  const rawSegments = rawPath.slice(1).split('/');
  for (const [i, raw] of rawSegments.entries()) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return { status: 400, reason: 'malformed percent-encoding' };
    }
    if (segment === '.' || segment === '..') return { status: 400, reason: 'dot segment' };
    if (/[/\\]/.test(segment)) return { status: 400, reason: 'encoded separator' };
    if (/[\u0000-\u001f\u007f]/.test(segment)) return { status: 400, reason: 'control character' };
    if (segment === '') {
      // A trailing slash names a directory (no listings); an empty inner segment is never a file.
      return { status: 404, reason: i === rawSegments.length - 1 ? 'directory' : 'empty segment' };
    }
    if (segment.startsWith('.')) return { status: 404, reason: 'hidden file' };
    segments.push(segment);
  }
  if (segments.length === 0) return { status: 404, reason: 'directory' };
  return segments;
}

/** The `Cache-Control` value for a file with this base name. */
export function cacheControlFor(baseName: string): string {
  // N.ROLE.json (consistent snapshot metadata) and HASH.NAME (consistent targets) never change.
  if (/^[1-9][0-9]*\.[^/]+\.json$/.test(baseName)) return CACHE_IMMUTABLE;
  if (/^(?:[0-9a-f]{64}|[0-9a-f]{96}|[0-9a-f]{128})\./.test(baseName)) return CACHE_IMMUTABLE;
  return CACHE_REVALIDATE;
}

/** A single satisfiable range, `'unsatisfiable'`, or `undefined` to serve the whole file. */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (m === null) return undefined; // unknown unit, multiple ranges or malformed: ignore Range
  const [, first = '', last = ''] = m;
  if (first === '' && last === '') return undefined;
  if (first.length > 15 || last.length > 15) return 'unsatisfiable';
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== '' && Number(last) < start) return undefined; // invalid range-spec: ignore
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

function etagMatches(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  // If-None-Match uses the weak comparison (RFC 9110 §13.1.2).
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

function contentType(baseName: string): string {
  return baseName.endsWith('.json') ? 'application/json' : 'application/octet-stream';
}

function refuse(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-length': '0', ...headers });
  res.end();
}

/** Body bytes handed to one response so far (for the access log). */
export interface BodyCount {
  bytes: number;
}

/**
 * The real path of a directory to serve (symbolic links resolved once, so that the
 * inside-the-root check of {@link serveStaticRequest} compares real paths).
 *
 * @throws InvalidStateError when `root` is not a directory.
 */
export async function resolveStaticRoot(root: string): Promise<string> {
  try {
    const realRoot = await fs.realpath(path.resolve(root));
    if (!(await fs.stat(realRoot)).isDirectory()) throw new Error('not a directory');
    return realRoot;
  } catch (error) {
    throw new InvalidStateError(
      `cannot serve ${root}: ${(error as Error).message} (give the repository directory)`,
      { cause: error },
    );
  }
}

/**
 * Answer one request for a file under `realRoot` (from {@link resolveStaticRoot}) with every
 * rule of this module: method, path safety, ETag, Range, caching. `rawPath` is the request
 * target relative to the root (default `req.url`), so another server can mount the repository
 * under a prefix (the fleet server's `/repo/`). Resolves once the response is sent or streaming.
 *
 * @example
 * ```ts
 * const realRoot = await resolveStaticRoot('/srv/tuf');
 * http.createServer((req, res) => void serveStaticRequest(realRoot, req, res));
 * ```
 */
export async function serveStaticRequest(
  realRoot: string,
  req: IncomingMessage,
  res: ServerResponse,
  options: { rawPath?: string; sent?: BodyCount } = {},
): Promise<void> {
  try {
    await handle(realRoot, req, res, options.sent ?? { bytes: 0 }, options.rawPath ?? req.url);
  } catch (error) {
    debug('server: %s %s failed: %s', req.method, req.url, (error as Error).message);
    if (res.headersSent) res.destroy();
    else refuse(res, 500);
  }
}

async function handle(
  realRoot: string,
  req: IncomingMessage,
  res: ServerResponse,
  sent: BodyCount,
  rawPath: string | undefined,
): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    refuse(res, 405, { allow: 'GET, HEAD' });
    return;
  }
  const resolved = resolveRequestPath(rawPath ?? '/');
  if (!Array.isArray(resolved)) {
    debug('server: %s %s refused: %s', req.method, req.url, resolved.reason);
    refuse(res, resolved.status);
    return;
  }
  let real: string;
  try {
    real = await fs.realpath(path.join(realRoot, ...resolved));
  } catch {
    refuse(res, 404);
    return;
  }
  if (!real.startsWith(realRoot + path.sep)) {
    debug('server: %s resolves outside the root', req.url);
    refuse(res, 404);
    return;
  }
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(real, 'r');
  } catch {
    refuse(res, 404);
    return;
  }
  let streaming = false;
  try {
    const stat = await handle.stat({ bigint: true });
    if (!stat.isFile()) {
      refuse(res, 404);
      return;
    }
    const size = Number(stat.size);
    const etag = `"${stat.size.toString(16)}-${stat.mtimeNs.toString(16)}-${stat.ino.toString(16)}"`;
    const baseName = resolved[resolved.length - 1] as string;
    const headers: Record<string, string> = {
      etag,
      'last-modified': new Date(Number(stat.mtimeMs)).toUTCString(),
      'cache-control': cacheControlFor(baseName),
      'accept-ranges': 'bytes',
      'x-content-type-options': 'nosniff',
    };
    if (etagMatches(req.headers['if-none-match'], etag)) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    const ifRange = req.headers['if-range'];
    const range =
      ifRange === undefined || ifRange === etag ? parseRange(req.headers.range, size) : undefined;
    if (range === 'unsatisfiable') {
      refuse(res, 416, { ...headers, 'content-range': `bytes */${size}` });
      return;
    }
    const start = range?.start ?? 0;
    const end = range?.end ?? size - 1;
    const length = size === 0 ? 0 : end - start + 1;
    headers['content-type'] = contentType(baseName);
    headers['content-length'] = String(length);
    if (range !== undefined) headers['content-range'] = `bytes ${start}-${end}/${size}`;
    res.writeHead(range === undefined ? 200 : 206, headers);
    if (req.method === 'HEAD' || length === 0) {
      res.end();
      return;
    }
    streaming = true;
    // The stream owns the handle from here and closes it when it ends or is destroyed.
    const stream = handle.createReadStream({ start, end, autoClose: true });
    stream.on('error', (error) => res.destroy(error));
    stream.on('data', (chunk: string | Buffer) => {
      sent.bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
    });
    res.on('close', () => stream.destroy());
    stream.pipe(res);
  } finally {
    if (!streaming) await handle.close().catch(() => {});
  }
}

/** Report `req` to `onResponse` once its response has finished or the connection closed. */
function observe(
  req: IncomingMessage,
  res: ServerResponse,
  sent: BodyCount,
  onResponse: (entry: AccessLogEntry) => void,
): void {
  const time = new Date();
  const start = performance.now();
  let reported = false;
  const report = (finished: boolean) => {
    if (reported) return;
    reported = true;
    try {
      onResponse({
        time,
        method: req.method ?? '',
        path: req.url ?? '',
        status: res.statusCode,
        bytes: finished ? sent.bytes : undefined,
        durationMs: performance.now() - start,
        remoteAddress: req.socket.remoteAddress,
      });
    } catch (error) {
      debug('server: onResponse threw: %s', (error as Error).message);
    }
  };
  res.once('finish', () => report(true));
  res.once('close', () => report(res.writableFinished));
}

/**
 * Serve `options.root` over HTTP.
 *
 * @throws InvalidStateError when the root is not a directory, or the address is in use.
 *
 * @example
 * ```ts
 * import { createStaticServer } from 'tufota/server';
 * const server = await createStaticServer({ root: '/srv/tuf', port: 8080 });
 * console.log(`metadata at ${server.url}/metadata/`);
 * // … later
 * await server.close();
 * ```
 */
export async function createStaticServer(options: StaticServerOptions): Promise<StaticServer> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 0;
  if (!Number.isSafeInteger(port) || port < 0 || port > 65535) {
    throw new InvalidStateError(`port must be an integer from 0 to 65535, got ${String(port)}`);
  }
  const realRoot = await resolveStaticRoot(options.root);
  const server = createServer((req, res) => {
    const sent: BodyCount = { bytes: 0 };
    if (options.onResponse !== undefined) observe(req, res, sent, options.onResponse);
    void serveStaticRequest(realRoot, req, res, { sent });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) =>
      reject(
        new InvalidStateError(`cannot listen on ${host}:${port}: ${error.message}`, {
          cause: error,
        }),
      ),
    );
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}`,
    port: address.port,
    server,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error === undefined ? resolve() : reject(error)));
        server.closeIdleConnections();
      }),
  };
}
