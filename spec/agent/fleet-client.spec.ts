/**
 * `FleetClient` against a loopback HTTP server that plays the fleet server's device API exactly as
 * docs/fleet-server-api.md words it (and checks what the device sends: the challenge signature
 * over `tufota-device-auth-v1\n<challengeId>\n<deviceId>\n<nonce>`, the shared-key HMAC over the
 * canonical body, the bearer token). Each test performs what it names: a pending device, a token
 * revoked under the client, an endless body, a manifest refused for an attack.
 */
import { createHmac, createPublicKey, randomBytes, verify } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FleetClient, type FleetProvisioning } from '../../src/agent/fleet-client.js';
import { canonicalString } from '../../src/canonical/index.js';
import { hexToBytes, InMemorySigner } from '../../src/crypto/index.js';
import { TargetFile } from '../../src/models/index.js';

type Handler = (
  req: http.IncomingMessage,
  body: Buffer,
  res: http.ServerResponse,
) => boolean | undefined;

interface FakeFleet {
  url: string;
  requests: { method: string; url: string; auth?: string; body: string }[];
  /** Route overrides, tried before the default contract. */
  handlers: Handler[];
  tokens: Set<string>;
  status: 'accepted' | 'pending';
  challenges: Map<string, { deviceId: string; nonce: string }>;
  publicKeyHex?: string;
  close(): Promise<void>;
}

const SECRET = randomBytes(32);

function json(res: http.ServerResponse, status: number, value: unknown): true {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(body);
  return true;
}

async function fakeFleet(): Promise<FakeFleet> {
  let counter = 0;
  const fleet = {
    requests: [],
    handlers: [],
    tokens: new Set<string>(),
    status: 'accepted',
    challenges: new Map(),
  } as unknown as FakeFleet;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      fleet.requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        ...(req.headers.authorization !== undefined ? { auth: req.headers.authorization } : {}),
        body: body.toString(),
      });
      for (const h of fleet.handlers) if (h(req, body, res)) return;
      const value = body.length > 0 ? JSON.parse(body.toString()) : undefined;
      switch (req.url) {
        case '/api/device/v1/register': {
          if (value.sharedKeyMac !== undefined) {
            const { sharedKeyMac, ...rest } = value;
            const mac = createHmac('sha256', SECRET).update(canonicalString(rest)).digest('hex');
            if (mac !== sharedKeyMac) {
              return json(res, 401, {
                error: { code: 'ERR_TUF_FLEET_UNAUTHENTICATED', message: 'bad mac' },
              });
            }
          }
          fleet.publicKeyHex = value.publicKey.keyval.public;
          return fleet.status === 'pending'
            ? json(res, 202, { status: 'pending' })
            : json(res, 201, { status: 'accepted' });
        }
        case '/api/device/v1/challenge': {
          if (fleet.publicKeyHex === undefined) {
            return json(res, 401, {
              error: { code: 'ERR_TUF_FLEET_UNAUTHENTICATED', message: 'register it first' },
            });
          }
          const challengeId = `c${++counter}`;
          const nonce = randomBytes(16).toString('base64');
          fleet.challenges.set(challengeId, { deviceId: value.deviceId, nonce });
          return json(res, 200, { challengeId, nonce, expiresAt: '2099-01-01T00:00:00Z' });
        }
        case '/api/device/v1/token': {
          const challenge = fleet.challenges.get(value.challengeId);
          fleet.challenges.delete(value.challengeId);
          const key = createPublicKey({
            key: {
              kty: 'OKP',
              crv: 'Ed25519',
              x: Buffer.from(hexToBytes(fleet.publicKeyHex ?? '')).toString('base64url'),
            },
            format: 'jwk',
          });
          const message = `tufota-device-auth-v1\n${value.challengeId}\n${challenge?.deviceId}\n${challenge?.nonce}`;
          if (
            challenge === undefined ||
            !verify(null, Buffer.from(message), key, Buffer.from(value.signature, 'hex'))
          ) {
            return json(res, 401, {
              error: { code: 'ERR_TUF_FLEET_UNAUTHENTICATED', message: 'bad signature' },
            });
          }
          if (fleet.status === 'pending') {
            return json(res, 403, {
              error: { code: 'ERR_TUF_FLEET_DEVICE_PENDING', message: 'waiting for an operator' },
            });
          }
          const token = `tdv_${++counter}`;
          fleet.tokens.add(token);
          return json(res, 200, { token, expiresAt: '2099-01-01T00:00:00Z' });
        }
        default: {
          const bearer = req.headers.authorization?.replace(/^Bearer /, '');
          if (bearer === undefined || !fleet.tokens.has(bearer)) {
            return json(res, 401, {
              error: { code: 'ERR_TUF_FLEET_UNAUTHENTICATED', message: 'no token' },
            });
          }
          if (req.url === '/director/vin-1/timestamp.json') {
            res.end('{"signed":{}}');
            return;
          }
          if (req.method === 'POST') return json(res, 200, { ok: true });
          return json(res, 404, { error: { code: 'ERR_TUF_FLEET_NOT_FOUND', message: 'no' } });
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fleet.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  fleet.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return fleet;
}

let fleet: FakeFleet;
let signer: InMemorySigner;
const clients: FleetClient[] = [];

function client(provisioning: FleetProvisioning = { mode: 'device-key' }, timeoutMs = 5000) {
  const c = new FleetClient({
    url: fleet.url,
    deviceId: 'vin-1',
    signer,
    provisioning,
    timeoutMs,
  });
  clients.push(c);
  return c;
}

const ecus = () => [
  { ecuSerial: 'gw-1', hardwareId: 'gateway', primary: true, publicKey: signer.publicKey },
];

beforeEach(async () => {
  fleet = await fakeFleet();
  signer = await InMemorySigner.generate('ed25519');
});
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  await fleet.close();
});

describe('FleetClient', () => {
  it('registers with its key, model, attributes and ECUs; 202 means pending', async () => {
    const c = client();
    expect(await c.register({ model: 'gw-200', attributes: { site: 'oslo' }, ecus: ecus() })).toBe(
      'accepted',
    );
    const sent = JSON.parse(fleet.requests[1]?.body ?? '');
    expect(sent).toEqual({
      deviceId: 'vin-1',
      publicKey: signer.publicKey,
      model: 'gw-200',
      attributes: { site: 'oslo' },
      ecus: ecus(),
    });
    fleet.status = 'pending';
    expect(await c.register({ ecus: ecus() })).toBe('pending');
  });

  it('shared-key: the MAC covers the canonical body; a wrong secret is refused as unauthenticated', async () => {
    expect(await client({ mode: 'shared-key', secret: SECRET }).register({ ecus: ecus() })).toBe(
      'accepted',
    );
    const wrong = client({ mode: 'shared-key', secret: randomBytes(32) });
    await expect(wrong.register({ ecus: ecus() })).rejects.toMatchObject({
      code: 'ERR_TUF_FLEET_UNAUTHENTICATED',
      message: expect.stringContaining("does not accept device vin-1's credentials"),
    });
  });

  it('signs the challenge, caches the token, and reads its director metadata with it', async () => {
    const c = client();
    await c.register({ ecus: ecus() });
    const read = c.directorReader();
    expect(new TextDecoder().decode(await read('timestamp.json', 1024))).toBe('{"signed":{}}');
    expect(await read('2.root.json', 1024)).toBeUndefined(); // 404: not found, not an error
    const paths = fleet.requests.map((r) => r.url);
    expect(paths).toEqual([
      '/api/device/v1/challenge', // unknown yet: 401, so the first contact goes bare
      '/api/device/v1/register',
      '/api/device/v1/challenge',
      '/api/device/v1/token',
      '/director/vin-1/timestamp.json',
      '/director/vin-1/2.root.json', // the same token: no second challenge
    ]);
    expect(fleet.requests[1]?.auth).toBeUndefined();
    expect(fleet.requests[4]?.auth).toMatch(/^Bearer tdv_/);
    expect(fleet.requests[5]?.auth).toBe(fleet.requests[4]?.auth);
  });

  it('a known device proves its key before registering again', async () => {
    const c = client();
    await c.register({ ecus: ecus() });
    fleet.requests.length = 0;
    await c.register({ model: 'gw-300', ecus: ecus() });
    expect(fleet.requests.map((r) => r.url)).toEqual([
      '/api/device/v1/challenge',
      '/api/device/v1/token',
      '/api/device/v1/register',
    ]);
    expect(fleet.requests[2]?.auth).toMatch(/^Bearer tdv_/);
  });

  it('a token the server no longer knows (401) is replaced once, and the request retried', async () => {
    const c = client();
    await c.register({ ecus: ecus() });
    await c.postEvent({ phase: 'writing' });
    fleet.tokens.clear(); // revoked, or the server restarted
    await c.postEvent({ phase: 'written' });
    const events = fleet.requests.filter((r) => r.url === '/api/device/v1/events');
    expect(events.map((e) => JSON.parse(e.body).phase)).toEqual(['writing', 'written', 'written']);
    expect(fleet.requests.filter((r) => r.url === '/api/device/v1/token')).toHaveLength(2);
  });

  it('renews the token before it expires', async () => {
    let now = Date.parse('2098-12-31T23:00:00Z');
    const c = new FleetClient({
      url: fleet.url,
      deviceId: 'vin-1',
      signer,
      provisioning: { mode: 'device-key' },
      now: () => new Date(now),
    });
    clients.push(c);
    await c.register({ ecus: ecus() });
    const first = await c.token();
    expect(await c.token()).toBe(first);
    now = Date.parse('2098-12-31T23:59:30Z'); // within the renewal margin of 2099-01-01
    expect(await c.token()).not.toBe(first);
  });

  it('a pending device is told who must act, by the admin call that accepts it', async () => {
    fleet.status = 'pending';
    const c = client({ mode: 'manual' });
    expect(await c.register({ ecus: ecus() })).toBe('pending');
    const error = await c
      .directorReader()('timestamp.json', 1024)
      .catch((e) => e);
    expect(error).toMatchObject({ name: 'FleetError', code: 'ERR_TUF_FLEET_DEVICE_PENDING' });
    expect(error.message).toContain(
      'device vin-1 is pending: an operator must accept it (POST /api/admin/v1/devices/vin-1/accept)',
    );
  });

  it('cuts a body longer than the cap, announced or endless', async () => {
    fleet.handlers.push((req, _b, res) => {
      if (req.url === '/repo/metadata/timestamp.json') {
        res.writeHead(200, { 'content-length': 10_000 });
        res.end(Buffer.alloc(10_000));
        return true;
      }
      if (req.url === '/repo/metadata/snapshot.json') {
        res.writeHead(200); // chunked, no length: keeps sending
        const timer = setInterval(() => res.write(Buffer.alloc(4096)), 1);
        res.on('close', () => clearInterval(timer));
        return true;
      }
      return undefined;
    });
    const c = client();
    await c.register({ ecus: ecus() });
    const read = c.imageReader();
    await expect(read('timestamp.json', 1024)).rejects.toMatchObject({
      code: 'ERR_TUF_DOWNLOAD_TOO_LARGE',
    });
    await expect(read('snapshot.json', 64 * 1024)).rejects.toMatchObject({
      code: 'ERR_TUF_DOWNLOAD_TOO_LARGE',
    });
  });

  it('downloads an image by its consistent-snapshot name, capped at its length', async () => {
    const bytes = Buffer.from('image bytes');
    const target = TargetFile.fromJSON('fw/gw 2.img', {
      length: bytes.length,
      hashes: { sha256: 'ab'.repeat(32) },
    });
    fleet.handlers.push((req, _b, res) => {
      if (req.url === `/repo/targets/fw/${'ab'.repeat(32)}.gw%202.img`) {
        res.end(Buffer.concat([bytes, Buffer.from('and more')]));
        return true;
      }
      return undefined;
    });
    const c = client();
    await c.register({ ecus: ecus() });
    await expect(c.fetchImage(target)).rejects.toMatchObject({
      code: 'ERR_TUF_DOWNLOAD_TOO_LARGE',
    });
  });

  it('a manifest refused for an attack is an UptaneError naming it', async () => {
    fleet.handlers.push((req, _b, res) =>
      req.url === '/api/device/v1/manifest'
        ? json(res, 400, {
            error: {
              code: 'ERR_TUF_UPTANE_MANIFEST_REPLAY',
              attack: 'manifest-replay',
              message: 'report counter went backwards [manifest-replay]',
            },
          })
        : undefined,
    );
    const c = client();
    await c.register({ ecus: ecus() });
    await expect(c.sendManifest(new TextEncoder().encode('{}'))).rejects.toMatchObject({
      name: 'UptaneError',
      attack: 'manifest-replay',
    });
  });

  it('health: ok only for 200 {"status":"ok"}', async () => {
    let healthy = true;
    fleet.handlers.push((req, _b, res) =>
      req.url === '/health'
        ? json(res, healthy ? 200 : 503, { status: healthy ? 'ok' : 'starting' })
        : undefined,
    );
    const c = client();
    await c.health();
    healthy = false;
    await expect(c.health()).rejects.toMatchObject({ code: 'ERR_TUF_DOWNLOAD_HTTP' });
  });

  it('a server that never answers is a DownloadError after the timeout', async () => {
    fleet.handlers.push((req) => req.url === '/health'); // never responds
    await expect(client({ mode: 'device-key' }, 200).health()).rejects.toMatchObject({
      code: 'ERR_TUF_DOWNLOAD',
    });
  });

  it('refuses mtls provisioning over plain http', () => {
    expect(
      () =>
        new FleetClient({
          url: fleet.url,
          deviceId: 'vin-1',
          signer,
          provisioning: { mode: 'mtls' },
        }),
    ).toThrow('mtls provisioning needs an https: server URL');
  });
});
