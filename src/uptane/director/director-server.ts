/**
 * An HTTP front for a {@link Director} (development and tests; listens on 127.0.0.1 by default):
 *
 * - `GET /devices/<deviceId>/<file>`: `N.root.json`, `timestamp.json`, `snapshot.json`,
 *   `targets.json` for that device (404 when absent);
 * - `POST /devices/<deviceId>/manifest`: a signed vehicle version manifest (at most 1 MiB);
 *   204 when accepted, 400 with `{code, attack, message}` when refused.
 *
 * No authentication of devices beyond the manifest signatures (a production director would add
 * mutual TLS): everything served is signed, everything received is verified.
 *
 * @module
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readBody, sendError } from '../transport/http-wire.js';
import { MAX_MANIFEST_LENGTH } from '../verify/manifest.js';
import type { Director } from './director.js';

/** A running director server. */
export interface DirectorServer {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** The metadata base URL of one device (ends with `/`). */
  deviceUrl(deviceId: string): string;
  close(): Promise<void>;
}

/**
 * Serve `director` over HTTP.
 *
 * @example
 * ```ts
 * const server = await createDirectorServer(director);
 * const reader = httpMetadataReader(fetcher, server.deviceUrl('vin-1'));
 * ```
 */
export async function createDirectorServer(
  director: Director,
  options: { host?: string; port?: number } = {},
): Promise<DirectorServer> {
  const server = http.createServer((req, res) => {
    void handle(director, req, res).catch((error) => sendError(res, error));
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host}:${port}`;
  return {
    url,
    deviceUrl: (deviceId) => `${url}/devices/${encodeURIComponent(deviceId)}/`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(
  director: Director,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  const match = /^\/devices\/([^/]+)\/([^/]+)$/.exec((req.url ?? '').split('?')[0] ?? '');
  if (match === null) {
    res.writeHead(404).end();
    return;
  }
  let deviceId: string;
  try {
    deviceId = decodeURIComponent(match[1] as string);
  } catch {
    res.writeHead(400).end();
    return;
  }
  const file = match[2] as string;
  if (req.method === 'POST' && file === 'manifest') {
    const body = await readBody(req, MAX_MANIFEST_LENGTH);
    await director.receiveManifest(deviceId, body);
    res.writeHead(204).end();
    return;
  }
  if (req.method !== 'GET') {
    res.writeHead(405).end();
    return;
  }
  const bytes = await director.metadata(deviceId, file);
  if (bytes === undefined) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, {
    'content-type': 'application/json',
    'content-length': bytes.byteLength,
    'cache-control': 'no-cache',
  });
  res.end(Buffer.from(bytes));
}
