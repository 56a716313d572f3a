/**
 * A secondary reached over HTTP (loopback in tests; an in-vehicle Ethernet link on a vehicle):
 * {@link createSecondaryServer} exposes a {@link Secondary}, {@link HttpSecondaryTransport} is the
 * primary's side.
 *
 * - `GET /info` → `{ecuSerial, hardwareId, verification}`
 * - `POST /update` → body: 4-byte big-endian length N, N bytes of JSON
 *   `{director: {file: base64}, image: {file: base64}}`, then the image bytes (if any);
 *   answers `SecondaryUpdateResult` JSON, or 400 `{code, attack, message}`
 * - `GET /version-report` → the signed report envelope
 *
 * Nothing received is trusted: the secondary verifies the metadata and image; the primary passes
 * reports on to the director, which verifies their signatures. Sizes are capped on both sides.
 *
 * @module
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { DownloadError, FormatError } from '../../errors.js';
import type { Secondary } from '../secondary/secondary.js';
import { errorFromJSON, jsonOf, readBody, request, sendError, sendJson } from './http-wire.js';
import type {
  SecondaryInfo,
  SecondaryTransport,
  SecondaryUpdateResult,
  UpdateBundle,
} from './secondary-transport.js';

/** Largest metadata header of an update (both repositories' files, base64). */
const MAX_HEADER_LENGTH = 32 * 1024 * 1024;
/** Default largest image accepted. */
export const DEFAULT_MAX_IMAGE_LENGTH = 512 * 1024 * 1024;

function encodeFiles(files: Record<string, Uint8Array>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(files).map(([name, bytes]) => [name, Buffer.from(bytes).toString('base64')]),
  );
}

function decodeFiles(value: unknown, what: string): Record<string, Uint8Array> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new FormatError(`update.${what} must be an object of base64 files`);
  }
  const out: Record<string, Uint8Array> = {};
  for (const [name, text] of Object.entries(value)) {
    if (typeof text !== 'string') throw new FormatError(`update.${what}.${name} must be base64`);
    Object.defineProperty(out, name, {
      value: new Uint8Array(Buffer.from(text, 'base64')),
      enumerable: true,
    });
  }
  return out;
}

/** Frame a bundle as the `POST /update` body. */
export function encodeBundle(bundle: UpdateBundle): Uint8Array {
  const header = Buffer.from(
    JSON.stringify({ director: encodeFiles(bundle.director), image: encodeFiles(bundle.image) }),
  );
  const image = bundle.imageBytes ?? new Uint8Array(0);
  const out = new Uint8Array(4 + header.byteLength + image.byteLength);
  new DataView(out.buffer).setUint32(0, header.byteLength);
  out.set(header, 4);
  out.set(image, 4 + header.byteLength);
  return out;
}

/** Parse a `POST /update` body. */
export function decodeBundle(body: Uint8Array): UpdateBundle {
  if (body.byteLength < 4) throw new FormatError('update body too short');
  const headerLength = new DataView(body.buffer, body.byteOffset, 4).getUint32(0);
  if (headerLength > MAX_HEADER_LENGTH || 4 + headerLength > body.byteLength) {
    throw new FormatError(`update header length ${headerLength} is out of bounds`);
  }
  const header = jsonOf(body.subarray(4, 4 + headerLength)) as Record<string, unknown> | undefined;
  if (header === undefined || typeof header !== 'object') {
    throw new FormatError('update header is not JSON');
  }
  const image = body.subarray(4 + headerLength);
  return {
    director: decodeFiles(header.director, 'director'),
    image: decodeFiles(header.image, 'image'),
    ...(image.byteLength > 0 ? { imageBytes: new Uint8Array(image) } : {}),
  };
}

/** A running secondary server. */
export interface SecondaryServer {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serve `secondary` over HTTP.
 *
 * @example
 * ```ts
 * const server = await createSecondaryServer(secondary, { host: '127.0.0.1' });
 * const transport = new HttpSecondaryTransport(server.url);
 * ```
 */
export async function createSecondaryServer(
  secondary: Secondary,
  options: { host?: string; port?: number; maxImageLength?: number } = {},
): Promise<SecondaryServer> {
  const maxBody = 4 + MAX_HEADER_LENGTH + (options.maxImageLength ?? DEFAULT_MAX_IMAGE_LENGTH);
  const server = http.createServer((req, res) => {
    const route = `${req.method} ${(req.url ?? '').split('?')[0]}`;
    const run = async () => {
      if (route === 'GET /info') return sendJson(res, 200, secondary.info());
      if (route === 'GET /version-report')
        return sendJson(res, 200, await secondary.versionReport());
      if (route === 'POST /update') {
        const bundle = decodeBundle(await readBody(req, maxBody));
        const result = await secondary.update(bundle);
        // The install result carries no secrets; send what the primary reports on.
        return sendJson(res, 200, {
          outcome: result.outcome,
          ...(result.targetPath !== undefined ? { targetPath: result.targetPath } : {}),
        });
      }
      res.writeHead(404).end();
    };
    void run().catch((error) => sendError(res, error));
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The primary's side of an HTTP secondary. */
export class HttpSecondaryTransport implements SecondaryTransport {
  readonly #url: string;
  constructor(url: string) {
    this.#url = url.replace(/\/$/, '');
  }

  async #json(path: string, body?: Uint8Array): Promise<unknown> {
    const url = `${this.#url}${path}`;
    const { status, body: answer } = await request(url, {
      method: body === undefined ? 'GET' : 'POST',
      ...(body !== undefined ? { body } : {}),
      maxResponseLength: 1024 * 1024,
    });
    const value = jsonOf(answer);
    if (status !== 200) throw errorFromJSON(value, status, url);
    if (value === undefined) throw new DownloadError(`${url}: the answer is not JSON`, { url });
    return value;
  }

  async info(): Promise<SecondaryInfo> {
    const value = (await this.#json('/info')) as SecondaryInfo;
    if (typeof value.ecuSerial !== 'string' || typeof value.hardwareId !== 'string') {
      throw new FormatError('the secondary answered /info without ecuSerial and hardwareId');
    }
    return value;
  }

  async update(bundle: UpdateBundle): Promise<SecondaryUpdateResult> {
    return (await this.#json('/update', encodeBundle(bundle))) as SecondaryUpdateResult;
  }

  async versionReport(): Promise<Record<string, unknown>> {
    return (await this.#json('/version-report')) as Record<string, unknown>;
  }
}
