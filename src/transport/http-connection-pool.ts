/**
 * The connection pool under `HttpFetcher`: keep-alive `node:http`/`node:https` agents that send
 * one GET at a time per socket and hand back the response before its body is read, with the
 * connect and header timeouts, TLS settings (private CA, mutual TLS) and an optional HTTP(S)
 * proxy reached through `CONNECT` tunnels.
 *
 * Why not undici, which the client used first: memory. In `npm run bench` (fetch: each client in
 * its own process, 100 × 1 MiB then 1,000 small requests on loopback) `HttpFetcher` peaks at
 * 92–94 MiB RSS and `undici.request` at 131: importing undici costs about 18 MiB, and V8's
 * optimizing compile of its WebAssembly HTTP parser, which starts after a few dozen requests,
 * about 20 MiB more. The client must not use more memory than tuf-js (issue 3), which the
 * undici-based client could not meet. The price: a tiny request takes about 0.5 ms here against
 * undici's 0.35 (bulk transfers are slightly faster: 212–237 ms against 232–257).
 *
 * What it does not do: follow redirects, retry, map statuses, cap lengths or time the body
 * (`HttpFetcher` does all of that, so that every hop and every byte is checked in one place).
 *
 * `node:https` and `node:tls` are loaded on the first https request (or https proxy), not when
 * this module is imported: loading them costs an http-only client (a device on a LAN mirror, one
 * conformance-client call) about 27 M instructions, 5% of a whole fresh `refresh` process
 * (`npm run bench -- client-instructions`).
 *
 * Safe for concurrent use: requests share `connections` sockets per origin; more wait in the
 * agent's queue. {@link HttpConnectionPool.destroy} fails every request in flight.
 *
 * @module
 */
import * as http from 'node:http';
import type * as Https from 'node:https';
import { isIP, type Socket } from 'node:net';
import type { Duplex, Readable } from 'node:stream';
import type {
  HttpFetcherOptions,
  PemInput,
  ResolvedHttpFetcherOptions,
} from './http-fetcher-options.js';
import type { ResponseHeaders } from './http-response.js';

/** Error codes of the pool's own failures; `HttpFetcher` maps them to typed errors. */
export const POOL_ERROR_CODES = {
  connectTimeout: 'ERR_TUFOTA_CONNECT_TIMEOUT',
  headersTimeout: 'ERR_TUFOTA_HEADERS_TIMEOUT',
  proxy: 'ERR_TUFOTA_PROXY',
  closed: 'ERR_TUFOTA_POOL_CLOSED',
} as const;

/** A response whose headers have arrived and whose body has not been read. */
export interface HttpExchange {
  statusCode: number;
  headers: ResponseHeaders;
  /** The body; iterate it, or release it with {@link discardBody} or `destroy()`. */
  body: Readable;
}

/** `node:https`, loaded on first use (see the module notes). */
function https(): typeof Https {
  return process.getBuiltinModule('node:https');
}

/** A failure of the pool, with a stable `code`. */
class PoolError extends Error {
  readonly code: string;
  constructor(message: string, code: string) {
    super(message);
    this.name = 'PoolError';
    this.code = code;
  }
}

/** TLS settings applied to every connection to an origin. */
interface TlsSettings {
  ca?: (string | Buffer)[];
  cert?: string | Buffer;
  key?: string | Buffer;
  passphrase?: string;
}

/** Where a proxy is and how to authenticate to it. */
interface ProxySettings {
  url: URL;
  authorization: string | undefined;
}

/**
 * Keep-alive agents for http and https origins, with timeouts and TLS settings.
 *
 * @example
 * ```ts
 * const pool = new HttpConnectionPool({}, resolveHttpFetcherOptions({}));
 * const { statusCode, body } = await pool.get(new URL('http://127.0.0.1:8080/x'), {}, signal);
 * ```
 */
export class HttpConnectionPool {
  readonly #resolved: ResolvedHttpFetcherOptions;
  readonly #http: http.Agent;
  /** Created on the first https request: it needs `node:https`. */
  #https: Https.Agent | undefined;
  readonly #createHttpsAgent: () => Https.Agent;
  #destroyed = false;

  constructor(options: HttpFetcherOptions, resolved: ResolvedHttpFetcherOptions) {
    this.#resolved = resolved;
    const settings = tlsSettings(options);
    const agentOptions = {
      keepAlive: true,
      maxSockets: resolved.connections,
      maxFreeSockets: resolved.connections,
      // Applies to idle sockets only: the agent destroys a free socket idle this long.
      timeout: resolved.keepAliveTimeoutMs,
    };
    const proxy = proxySettings(options);
    if (proxy === undefined) {
      this.#http = new http.Agent(agentOptions);
      this.#createHttpsAgent = () => new (https().Agent)({ ...agentOptions, ...settings });
    } else {
      const tunnel: TunnelOpener = (host, port, callback) =>
        openTunnel(proxy, host, port, settings, resolved.connectTimeoutMs, callback);
      this.#http = new TunnelingHttpAgent(agentOptions, tunnel);
      this.#createHttpsAgent = () =>
        createTunnelingHttpsAgent({ ...agentOptions, ...settings }, tunnel, settings);
    }
  }

  #httpsAgent(): Https.Agent {
    this.#https ??= this.#createHttpsAgent();
    return this.#https;
  }

  /**
   * Send `GET url` with `headers` and resolve once the response headers are in.
   *
   * @throws an error with a {@link POOL_ERROR_CODES} code on a pool timeout, a closed pool or a
   *   refused proxy tunnel; Node's socket errors (`ECONNREFUSED`, `ECONNRESET`, TLS errors) as
   *   they are; `signal.reason` when `signal` aborts.
   */
  get(url: URL, headers: Record<string, string>, signal: AbortSignal): Promise<HttpExchange> {
    if (this.#destroyed) {
      return Promise.reject(new PoolError('the HttpFetcher is closed', POOL_ERROR_CODES.closed));
    }
    if (signal.aborted) return Promise.reject(signal.reason);
    const secure = url.protocol === 'https:';
    const { connectTimeoutMs, headersTimeoutMs } = this.#resolved;
    return new Promise<HttpExchange>((resolve, reject) => {
      const request = secure
        ? https().request(url, { method: 'GET', headers, agent: this.#httpsAgent() })
        : http.request(url, { method: 'GET', headers, agent: this.#http });
      let response: http.IncomingMessage | undefined;
      let connectTimer: NodeJS.Timeout | undefined;
      let headersTimer: NodeJS.Timeout | undefined;
      const clearTimers = (): void => {
        clearTimeout(connectTimer);
        clearTimeout(headersTimer);
      };
      const onAbort = (): void => {
        if (response === undefined) request.destroy(signal.reason);
        else response.destroy(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const release = (): void => signal.removeEventListener('abort', onAbort);
      request.once('socket', (socket: Socket) => {
        // Timed from here, not from the call: time spent queued for a busy pool is not the
        // server's fault.
        if (headersTimeoutMs > 0) {
          headersTimer = setTimeout(() => {
            request.destroy(
              new PoolError(
                `no response headers within ${headersTimeoutMs} ms (headersTimeoutMs)`,
                POOL_ERROR_CODES.headersTimeout,
              ),
            );
          }, headersTimeoutMs);
        }
        const connected = secure ? 'secureConnect' : 'connect';
        if (request.reusedSocket || connectTimeoutMs === 0 || !isConnecting(socket, secure)) {
          return;
        }
        connectTimer = setTimeout(() => {
          request.destroy(
            new PoolError(
              `no connection within ${connectTimeoutMs} ms (connectTimeoutMs)`,
              POOL_ERROR_CODES.connectTimeout,
            ),
          );
        }, connectTimeoutMs);
        socket.once(connected, () => clearTimeout(connectTimer));
      });
      request.once('response', (incoming: http.IncomingMessage) => {
        clearTimers();
        response = incoming;
        incoming.once('close', release);
        resolve({
          statusCode: incoming.statusCode ?? 0,
          headers: incoming.headers,
          body: incoming,
        });
      });
      request.once('error', (error) => {
        clearTimers();
        if (response === undefined) {
          release();
          reject(error);
        }
        // After the response, the body stream reports the failure to its reader.
      });
      request.end();
    });
  }

  /** Destroy every socket, idle or in use: requests in flight fail. Idempotent. */
  destroy(): void {
    this.#destroyed = true;
    this.#http.destroy();
    this.#https?.destroy();
  }
}

/**
 * Read a refused response's body (an error page, a redirect) so its socket goes back to the
 * pool, but at most `limit` bytes and for at most `ms`; a larger or slower body is destroyed,
 * and its socket with it.
 */
export function discardBody(body: Readable, limit: number, ms: number): Promise<void> {
  if (body.readableEnded || body.destroyed) return Promise.resolve();
  return new Promise<void>((resolve) => {
    let seen = 0;
    const finish = (): void => {
      clearTimeout(timer);
      body.off('data', onData);
      resolve();
    };
    const onData = (chunk: Buffer): void => {
      seen += chunk.byteLength;
      if (seen > limit) {
        body.destroy();
        finish();
      }
    };
    const timer = setTimeout(() => {
      body.destroy();
      finish();
    }, ms);
    body.on('data', onData);
    body.once('end', finish);
    body.once('close', finish);
    body.once('error', finish);
  });
}

/**
 * Whether a socket the agent just created has yet to connect: a new TLS socket always has its
 * handshake ahead (also over an already open proxy tunnel); a plain one unless it is a tunnel.
 */
function isConnecting(socket: Socket, secure: boolean): boolean {
  return secure || socket.connecting;
}

function tlsSettings(options: HttpFetcherOptions): TlsSettings {
  return {
    ...(options.ca === undefined ? {} : { ca: toTlsList(options.ca) }),
    ...(options.cert === undefined ? {} : { cert: toTls(options.cert) }),
    ...(options.key === undefined ? {} : { key: toTls(options.key) }),
    ...(options.passphrase === undefined ? {} : { passphrase: options.passphrase }),
  };
}

function proxySettings(options: HttpFetcherOptions): ProxySettings | undefined {
  if (options.proxy === undefined) return undefined;
  const { uri, token } =
    typeof options.proxy === 'string' ? { uri: options.proxy, token: undefined } : options.proxy;
  const url = new URL(uri);
  let authorization = token;
  if (authorization === undefined && (url.username !== '' || url.password !== '')) {
    const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    authorization = `Basic ${Buffer.from(credentials).toString('base64')}`;
  }
  return { url, authorization };
}

/**
 * Open a `CONNECT host:port` tunnel through `proxy`. The proxy connection is TLS when the proxy
 * URL is https (verified against the pinned CA when one is set).
 */
function openTunnel(
  proxy: ProxySettings,
  host: string,
  port: number,
  settings: TlsSettings,
  timeoutMs: number,
  callback: (error: Error | null, socket?: Duplex) => void,
): void {
  const authority = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const secureProxy = proxy.url.protocol === 'https:';
  const request = (secureProxy ? https() : http).request({
    host: proxy.url.hostname.replace(/^\[|\]$/g, ''),
    port: proxy.url.port === '' ? (secureProxy ? 443 : 80) : Number(proxy.url.port),
    method: 'CONNECT',
    path: authority,
    headers: {
      host: authority,
      ...(proxy.authorization === undefined ? {} : { 'proxy-authorization': proxy.authorization }),
    },
    agent: false,
    ...(secureProxy && settings.ca !== undefined ? { ca: settings.ca } : {}),
  });
  let done = false;
  const finish = (error: Error | null, socket?: Duplex): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    callback(error, socket);
  };
  const timer =
    timeoutMs > 0
      ? setTimeout(() => {
          const error = new PoolError(
            `no tunnel through the proxy to ${authority} within ${timeoutMs} ms (connectTimeoutMs)`,
            POOL_ERROR_CODES.connectTimeout,
          );
          request.destroy(error);
          finish(error);
        }, timeoutMs)
      : undefined;
  request.once('connect', (response: http.IncomingMessage, socket: Socket, head: Buffer) => {
    if (response.statusCode !== 200) {
      socket.destroy();
      finish(
        new PoolError(
          `the proxy refused a tunnel to ${authority}: HTTP ${response.statusCode}`,
          POOL_ERROR_CODES.proxy,
        ),
      );
      return;
    }
    if (head.byteLength > 0) socket.unshift(head);
    finish(null, socket);
  });
  request.once('error', (error) => finish(error));
  request.end();
}

interface ConnectionOptions {
  host?: string | null | undefined;
  hostname?: string | null | undefined;
  port?: number | string | null | undefined;
  servername?: string | undefined;
}

function targetOf(options: ConnectionOptions, defaultPort: number): [string, number] {
  const host = (options.hostname ?? options.host ?? 'localhost').replace(/^\[|\]$/g, '');
  const port =
    options.port === undefined || options.port === null || options.port === ''
      ? defaultPort
      : Number(options.port);
  return [host, port];
}

/** Opens a `CONNECT` tunnel to `host:port` through the configured proxy. */
type TunnelOpener = (
  host: string,
  port: number,
  callback: (error: Error | null, socket?: Duplex) => void,
) => void;

/** An http agent whose every connection is a `CONNECT` tunnel through the proxy. */
class TunnelingHttpAgent extends http.Agent {
  constructor(
    options: http.AgentOptions,
    private readonly tunnel: TunnelOpener,
  ) {
    super(options);
  }

  override createConnection(
    options: ConnectionOptions,
    callback: (error: Error | null, socket?: Duplex) => void,
  ): undefined {
    const [host, port] = targetOf(options, 80);
    this.tunnel(host, port, callback);
    return undefined;
  }
}

/**
 * An https agent that runs TLS to the origin inside a `CONNECT` tunnel through the proxy. Its
 * class extends `https.Agent`, so it is defined on first use, when `node:https` is loaded.
 */
function createTunnelingHttpsAgent(
  options: Https.AgentOptions,
  tunnel: TunnelOpener,
  settings: TlsSettings,
): Https.Agent {
  const { connect } = process.getBuiltinModule('node:tls');
  class TunnelingHttpsAgent extends https().Agent {
    override createConnection(
      options: ConnectionOptions,
      callback: (error: Error | null, socket?: Duplex) => void,
    ): undefined {
      const [host, port] = targetOf(options, 443);
      tunnel(host, port, (error, opened) => {
        if (error !== null || opened === undefined) {
          callback(error ?? new PoolError('no tunnel', POOL_ERROR_CODES.proxy));
          return;
        }
        // `host` is what the certificate is checked against; SNI carries names, never addresses.
        const servername = options.servername || (isIP(host) === 0 ? host : undefined);
        const secured = connect({
          socket: opened,
          host,
          ...(servername === undefined ? {} : { servername }),
          ...settings,
        });
        callback(null, secured);
      });
      return undefined;
    }
  }
  return new TunnelingHttpsAgent(options);
}

function toTls(input: PemInput): string | Buffer {
  return typeof input === 'string'
    ? input
    : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
}

function toTlsList(input: PemInput | readonly PemInput[]): (string | Buffer)[] {
  return (Array.isArray(input) ? input : [input as PemInput]).map(toTls);
}
