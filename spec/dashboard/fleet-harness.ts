/**
 * The real fleet server for the dashboard's browser tests and screenshots: `initFleetServer`
 * and `startFleetServer` on a fresh SQLite store in a temporary directory, on 127.0.0.1, with a
 * fleet seeded through the real admin and device APIs (pre-authorized devices with models and
 * attributes, and devices registering on their own that wait for acceptance).
 */
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemorySigner } from '../../src/crypto/index.js';
import { FsRepositoryStorage, Repository } from '../../src/repository/index.js';
import { resolveFleetConfig } from '../../src/server/fleet/config.js';
import { initFleetServer } from '../../src/server/fleet/init.js';
import { type FleetServer, startFleetServer } from '../../src/server/fleet/server.js';
import { openFleetStore } from '../../src/server/store/index.js';

/** One device of the seeded fleet. */
export interface SeedDevice {
  deviceId: string;
  model: string;
  hardwareRevision: string;
  attributes: Record<string, string>;
  /** Registers itself (manual provisioning) instead of being pre-authorized: it stays pending. */
  selfRegistered?: { hardwareId: string };
}

/** A fleet of `count` gateways and cameras over three sites, plus two self-registered. */
export function seedFleet(count = 30): SeedDevice[] {
  const sites = ['oslo', 'bergen', 'tromso'];
  const devices: SeedDevice[] = [];
  for (let i = 1; i <= count; i++) {
    const camera = i % 4 === 0;
    devices.push({
      deviceId: `${camera ? 'cam' : 'gw'}-${String(i).padStart(3, '0')}`,
      model: camera ? 'cam-10' : 'gw-200',
      hardwareRevision: String(2 + (i % 3)),
      attributes: { site: sites[i % 3] as string, ring: i <= 3 ? 'canary' : 'main' },
    });
  }
  devices.push(
    {
      deviceId: 'gw-new-1',
      model: 'gw-200',
      hardwareRevision: '4',
      attributes: { site: 'oslo' },
      selfRegistered: { hardwareId: 'gateway' },
    },
    {
      deviceId: 'gw-new-2',
      model: 'gw-200',
      hardwareRevision: '4',
      attributes: { site: 'bergen' },
      selfRegistered: { hardwareId: 'gateway' },
    },
  );
  return devices;
}

/** Private keys of the seeded devices, so a test can act as a device through the device API. */
const deviceKeys = new Map<string, KeyObject>();

function publicKey(deviceId?: string): {
  keytype: 'ed25519';
  scheme: 'ed25519';
  keyval: { public: string };
} {
  const { publicKey: key, privateKey } = generateKeyPairSync('ed25519');
  if (deviceId !== undefined) deviceKeys.set(deviceId, privateKey);
  const x = key.export({ format: 'jwk' }).x as string;
  return {
    keytype: 'ed25519',
    scheme: 'ed25519',
    keyval: { public: Buffer.from(x, 'base64url').toString('hex') },
  };
}

/** A release the image repository offers. */
export interface SeedRelease {
  targetPath: string;
  hardwareIds: string[];
  version: string;
}

/** Releases for the seeded fleet: gateway firmware 1.0 and 2.0, camera firmware 1.0. */
export const SEED_RELEASES: SeedRelease[] = [
  { targetPath: 'fw/gw-1.0.img', hardwareIds: ['gateway'], version: '1.0.0' },
  { targetPath: 'fw/gw-2.0.img', hardwareIds: ['gateway'], version: '2.0.0' },
  { targetPath: 'fw/cam-1.0.img', hardwareIds: ['camera'], version: '1.0.0' },
];

/** Publish a real TUF image repository with `releases` in `dir` (metadata/1.root.json …). */
async function publishRepository(dir: string, releases: SeedRelease[]): Promise<void> {
  const one = async () => ({ keys: [await InMemorySigner.generate('ed25519')] });
  const repo = await Repository.create(await FsRepositoryStorage.open(dir), {
    roles: {
      root: await one(),
      targets: await one(),
      snapshot: await one(),
      timestamp: await one(),
    },
  });
  for (const release of releases) {
    await repo.addTarget(release.targetPath, new TextEncoder().encode(`${release.targetPath}\n`), {
      hardwareIds: release.hardwareIds,
      version: release.version,
    });
  }
  await repo.publish();
}

/** A running server with its admin token. */
export interface DashboardFleet {
  server: FleetServer;
  /** `http://127.0.0.1:PORT` */
  url: string;
  adminUserId: string;
  /** The admin's `tfa_` token from init. */
  adminToken: string;
  /** Call the admin API as the admin; throws with the server's message on an error status. */
  admin(method: string, path: string, body?: unknown): Promise<unknown>;
  /**
   * Call the device API as a seeded device: a challenge signed with its key buys a device token
   * (`tufota-device-auth-v1` message), then the request is made with it.
   */
  device(deviceId: string, path: string, body: unknown): Promise<unknown>;
  close(): Promise<void>;
}

/** Start the real server on a fresh SQLite database and seed `devices` through its APIs. */
export async function startDashboardFleet(
  devices: SeedDevice[] = seedFleet(),
  releases: SeedRelease[] = SEED_RELEASES,
): Promise<DashboardFleet> {
  const dir = await mkdtemp(join(tmpdir(), 'tufota-dashboard-fleet-'));
  try {
    await publishRepository(join(dir, 'repository'), releases);
    const config = resolveFleetConfig(
      {
        host: '127.0.0.1',
        port: 0,
        dataDir: 'data',
        repository: { dir: 'repository' },
        provisioning: { modes: ['device-key', 'manual'] },
        logLevel: 'silent',
      },
      join(dir, 'server.json'),
      {},
    );
    const open = () =>
      openFleetStore({
        backend: 'sqlite',
        path: (config.database as { path: string }).path,
      });
    const init = await initFleetServer({
      config,
      openStore: open,
      env: {},
      admin: { userId: 'admin', name: 'Ada Admin' },
      tokenDays: 1,
    });
    const server = await startFleetServer({ config, store: await open(), env: {}, logger: false });
    const url = server.url;
    const call = async (method: string, path: string, body: unknown, token?: string) => {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: {
          ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
      return text === '' ? undefined : JSON.parse(text);
    };
    const admin = (method: string, path: string, body?: unknown) =>
      call(method, `/api/admin/v1${path}`, body, init.token);
    for (const device of devices) {
      const { selfRegistered, ...fields } = device;
      if (selfRegistered === undefined) {
        await admin('POST', '/devices', { ...fields, publicKey: publicKey(device.deviceId) });
      } else {
        await call('POST', '/api/device/v1/register', {
          ...fields,
          publicKey: publicKey(device.deviceId),
          ecus: [
            {
              ecuSerial: `${device.deviceId}-main`,
              hardwareId: selfRegistered.hardwareId,
              primary: true,
              publicKey: publicKey(),
            },
          ],
        });
      }
    }
    const deviceTokens = new Map<string, string>();
    const device = async (deviceId: string, path: string, body: unknown) => {
      let token = deviceTokens.get(deviceId);
      if (token === undefined) {
        const key = deviceKeys.get(deviceId);
        if (key === undefined) throw new Error(`no key for seeded device ${deviceId}`);
        const challenge = (await call('POST', '/api/device/v1/challenge', { deviceId })) as {
          challengeId: string;
          nonce: string;
        };
        const message = `tufota-device-auth-v1\n${challenge.challengeId}\n${deviceId}\n${challenge.nonce}`;
        const signature = sign(null, Buffer.from(message, 'utf8'), key).toString('hex');
        token = (
          (await call('POST', '/api/device/v1/token', {
            challengeId: challenge.challengeId,
            signature,
          })) as { token: string }
        ).token;
        deviceTokens.set(deviceId, token);
      }
      return call('POST', `/api/device/v1${path}`, body, token);
    };
    return {
      server,
      url,
      adminUserId: init.adminUserId,
      adminToken: init.token,
      admin,
      device,
      close: async () => {
        await server.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}
