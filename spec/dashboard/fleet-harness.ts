/**
 * The real fleet server for the dashboard's browser tests and screenshots: `initFleetServer`
 * and `startFleetServer` on a fresh SQLite store in a temporary directory, on 127.0.0.1, with a
 * fleet seeded through the real admin and device APIs (pre-authorized devices with models and
 * attributes, and devices registering on their own that wait for acceptance).
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

function publicKey(): { keytype: 'ed25519'; scheme: 'ed25519'; keyval: { public: string } } {
  const { publicKey: key } = generateKeyPairSync('ed25519');
  const x = key.export({ format: 'jwk' }).x as string;
  return {
    keytype: 'ed25519',
    scheme: 'ed25519',
    keyval: { public: Buffer.from(x, 'base64url').toString('hex') },
  };
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
  close(): Promise<void>;
}

/** Start the real server on a fresh SQLite database and seed `devices` through its APIs. */
export async function startDashboardFleet(
  devices: SeedDevice[] = seedFleet(),
): Promise<DashboardFleet> {
  const dir = await mkdtemp(join(tmpdir(), 'tufota-dashboard-fleet-'));
  try {
    await mkdir(join(dir, 'repository', 'metadata'), { recursive: true });
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
        await admin('POST', '/devices', { ...fields, publicKey: publicKey() });
      } else {
        await call('POST', '/api/device/v1/register', {
          ...fields,
          publicKey: publicKey(),
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
    return {
      server,
      url,
      adminUserId: init.adminUserId,
      adminToken: init.token,
      admin,
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
