/**
 * `serveSimulator`: serve a {@link RepositorySimulator} over HTTP on `127.0.0.1`, on a port the
 * system picks, for tests that run a client in another process (the conformance CLI) or that
 * exercise a real transport (`HttpFetcher` timeouts against a dripping server).
 *
 * Implements: `GET`/`HEAD` of `/metadata/…` and `/targets/…` (the path after the first `/` is
 * handed to `sim.respond` exactly as received, still percent-encoded); 404 for what the
 * simulator does not have; 500 for any other simulator error; optional {@link AttackRule}s that
 * answer selected paths with endless, dripping or stalled bodies.
 *
 * Does not implement: TLS, ranges (the whole body is always sent with `200`), keep-alive tuning.
 *
 * Safe for concurrent requests. {@link SimulatorServer.close} ends open connections, including
 * ones an attack keeps busy forever.
 *
 * @module
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NotFoundError } from '../errors.js';
import { type AttackRule, attackBody, declaresLength } from './attacks.js';
import type { RepositorySimulator } from './repository-simulator.js';

/** Options of {@link serveSimulator}. */
export interface ServeSimulatorOptions {
  /** Which requests to answer with a hostile body. */
  attacks?: AttackRule;
}

/** A running HTTP server for a simulator. */
export interface SimulatorServer {
  /** Base URL, `http://127.0.0.1:PORT/`. */
  readonly url: string;
  /** `${url}metadata/`. */
  readonly metadataUrl: string;
  /** `${url}targets/`. */
  readonly targetUrl: string;
  /** Stop listening and drop every connection. */
  close(): Promise<void>;
}

/**
 * Start an HTTP server for `sim` on 127.0.0.1 and an ephemeral port.
 *
 * @example
 * ```ts
 * const server = await serveSimulator(sim);
 * try {
 *   await runClient(['--metadata-url', server.metadataUrl, '--metadata-dir', dir, 'refresh']);
 * } finally {
 *   await server.close();
 * }
 * ```
 */
export async function serveSimulator(
  sim: RepositorySimulator,
  options: ServeSimulatorOptions = {},
): Promise<SimulatorServer> {
  const server = createServer((req, res) => {
    handle(sim, options, req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}/`;
  return {
    url,
    metadataUrl: `${url}metadata/`,
    targetUrl: `${url}targets/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(
  sim: RepositorySimulator,
  options: ServeSimulatorOptions,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD' }).end();
    return;
  }
  const raw = req.url ?? '/';
  const path = raw.replace(/[?#].*$/s, '').replace(/^\/+/, '');
  const attack = options.attacks?.(path);
  let bytes: Uint8Array;
  try {
    bytes = await sim.respond(path);
  } catch (error) {
    if (attack === undefined) {
      const notFound = error instanceof NotFoundError;
      res
        .writeHead(notFound ? 404 : 500, { 'content-type': 'text/plain' })
        .end(notFound ? 'not found' : String(error));
      return;
    }
    // An attacker answers even for files that do not exist (an endless 2.root.json, say).
    bytes = new Uint8Array(0);
  }
  if (attack === undefined) {
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': String(bytes.byteLength),
    });
    res.end(req.method === 'HEAD' ? undefined : bytes);
    return;
  }
  const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
  if (declaresLength(attack)) headers['content-length'] = String(bytes.byteLength);
  res.writeHead(200, headers);
  res.flushHeaders();
  const controller = new AbortController();
  res.once('close', () => controller.abort());
  for await (const chunk of attackBody(bytes, attack, controller.signal)) {
    if (res.destroyed) break;
    if (!res.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.once('drain', done);
        res.once('close', done);
      });
    }
  }
  if (!res.destroyed) res.end();
}
