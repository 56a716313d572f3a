/**
 * A whole fleet server on loopback for the API tests: a real image repository (tufota
 * `Repository`, two targets), the real SQLite store, director keys made by the server's own
 * init, the first admin from `initFleetServer` and one token per role, and helpers that act as
 * devices (register, challenge → token, signed manifests) and as people.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pg from 'pg';
import { Agent, request } from 'undici';
import { expect } from 'vitest';
import { InMemorySigner } from '../../../src/crypto/index.js';
import { Repository } from '../../../src/repository/repository.js';
import { type FleetServerConfig, resolveFleetConfig } from '../../../src/server/fleet/config.js';
import { challengeMessage } from '../../../src/server/fleet/device-routes.js';
import { initFleetServer } from '../../../src/server/fleet/init.js';
import { openConfiguredStore } from '../../../src/server/fleet/open-store.js';
import { type FleetServer, startFleetServer } from '../../../src/server/fleet/server.js';
import type { FleetStore, UserRole } from '../../../src/server/store/fleet-store.js';
import { FsRepositoryStorage } from '../../../src/storage/fs-repository-storage.js';
import {
  ecuVersionReportToJSON,
  signEnvelope,
  vehicleManifestToJSON,
} from '../../../src/uptane/index.js';
import {
  dropDatabase as dropTestDatabase,
  postgresServer,
  withDatabase,
} from '../../helpers/postgres.js';

export const IMAGE_V1 = {
  path: 'fw/gw-1.0.img',
  bytes: new TextEncoder().encode('gateway firmware 1.0'),
};
export const IMAGE_V2 = {
  path: 'fw/gw-2.0.img',
  bytes: new TextEncoder().encode('gateway firmware 2.0!'),
};
export const DOOR_IMAGE = { path: 'fw/door-1.0.img', bytes: new TextEncoder().encode('door 1.0') };

/** An HTTP answer. */
export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: test convenience
  json: any;
}

/** A running fleet for one test file. */
export interface Fleet {
  dir: string;
  config: FleetServerConfig;
  server: FleetServer;
  store: FleetStore;
  url: string;
  /** Tokens of people, by role (the admin from init, others made through the API). */
  tokens: Record<UserRole, string>;
  /** The undici dispatcher (TLS trust for HTTPS fleets). */
  dispatcher: Agent;
  call(
    method: string,
    url: string,
    options?: {
      token?: string;
      body?: unknown;
      raw?: Uint8Array | string;
      contentType?: string;
      headers?: Record<string, string>;
      dispatcher?: Agent;
    },
  ): Promise<Answer>;
  close(): Promise<void>;
}

/** Options of {@link makeFleet}. */
export interface FleetOptions {
  modes?: string[];
  /** Extra config (merged at the top level). */
  config?: Record<string, unknown>;
  /** Prepare files before the config is resolved (CA and TLS certificates). */
  prepare?: (dir: string) => Promise<Record<string, unknown>>;
  unsafeSharedKey?: Uint8Array;
  /** The store backend: SQLite (default) or a fresh PostgreSQL database on `postgresUrl`. */
  backend?: 'sqlite' | 'postgres';
  /** The administrative PostgreSQL URL (`postgresServer().url`). */
  postgresUrl?: string;
}

/** The backends the API suites run on: SQLite always, PostgreSQL when a server answers. */
export async function fleetBackends(
  file: string,
): Promise<{ backends: ('sqlite' | 'postgres')[]; postgresUrl: string }> {
  const server = await postgresServer(file);
  return { backends: server.skip ? ['sqlite'] : ['sqlite', 'postgres'], postgresUrl: server.url };
}

async function pgAdmin(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function imageRepository(dir: string): Promise<void> {
  const key = await InMemorySigner.generate('ed25519');
  const one = { keys: [key] };
  const storage = await FsRepositoryStorage.open(dir);
  const repo = await Repository.create(storage, {
    roles: { root: one, targets: one, snapshot: one, timestamp: one },
    signers: [key],
  });
  await repo.addTarget(IMAGE_V1.path, IMAGE_V1.bytes, {
    hardwareIds: ['gateway'],
    releaseCounter: 1,
  });
  await repo.addTarget(IMAGE_V2.path, IMAGE_V2.bytes, {
    hardwareIds: ['gateway'],
    releaseCounter: 2,
  });
  await repo.addTarget(DOOR_IMAGE.path, DOOR_IMAGE.bytes, {
    hardwareIds: ['door'],
    releaseCounter: 1,
  });
  await repo.publish();
}

/** Start a fleet server with the given provisioning modes. */
export async function makeFleet(options: FleetOptions = {}): Promise<Fleet> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'tufota-fleet-'));
  await imageRepository(path.join(dir, 'repo'));
  const extra = (await options.prepare?.(dir)) ?? {};
  let database: Record<string, unknown> = {};
  let dropDatabase = async () => {};
  if (options.backend === 'postgres') {
    const admin = options.postgresUrl as string;
    const name = `tufota_fleet_${randomBytes(6).toString('hex')}`;
    await pgAdmin(admin, `CREATE DATABASE ${name}`);
    database = { database: { url: withDatabase(admin, name) } };
    dropDatabase = () => dropTestDatabase(admin, name);
  }
  const raw = {
    host: '127.0.0.1',
    port: 0,
    dataDir: 'data',
    repository: { dir: 'repo' },
    provisioning: { modes: options.modes ?? ['device-key', 'manual'] },
    logLevel: 'silent',
    ...options.config,
    ...database,
    ...extra,
  };
  const configFile = path.join(dir, 'server.json');
  await fs.writeFile(configFile, JSON.stringify(raw));
  const config = resolveFleetConfig(raw, configFile, {});
  if (options.unsafeSharedKey !== undefined) config.provisioningModes.push('shared-key');
  const init = await initFleetServer({
    config,
    openStore: () => openConfiguredStore(config),
    env: {},
    admin: { userId: 'root-admin', name: 'Root Admin' },
    tokenDays: 30,
  });
  const store = await openConfiguredStore(config);
  await store.migrate();
  const server = await startFleetServer({
    config,
    store,
    env: {},
    logger: false,
    ...(options.unsafeSharedKey !== undefined ? { unsafeSharedKey: options.unsafeSharedKey } : {}),
  });
  let ca: Buffer | undefined;
  if (config.tls !== undefined) ca = await fs.readFile(path.join(config.caDir, 'ca.crt'));
  const dispatcher = new Agent({ connect: ca !== undefined ? { ca } : {} });
  const call: Fleet['call'] = async (method, url, o = {}) => {
    const headers: Record<string, string> = { ...o.headers };
    if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`;
    let body: string | Uint8Array | undefined;
    if (o.raw !== undefined) {
      body = o.raw;
      headers['content-type'] = o.contentType ?? 'application/octet-stream';
    } else if (o.body !== undefined) {
      body = JSON.stringify(o.body);
      headers['content-type'] = o.contentType ?? 'application/json';
    }
    const res = await request(`${server.url}${url}`, {
      method: method as 'GET',
      headers,
      ...(body !== undefined ? { body } : {}),
      dispatcher: o.dispatcher ?? dispatcher,
    });
    const text = await res.body.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.statusCode, headers: res.headers, text, json };
  };
  const tokens = { admin: init.token } as Record<UserRole, string>;
  for (const role of ['viewer', 'operator', 'releaser'] as const) {
    const user = await call('POST', '/api/admin/v1/users', {
      token: init.token,
      body: { userId: `${role}-1`, name: role, role },
    });
    if (user.status !== 201) throw new Error(`user ${role}: ${user.text}`);
    const scopes = {
      viewer: ['read'],
      operator: ['read', 'devices'],
      releaser: ['read', 'releases'],
    }[role];
    const token = await call('POST', '/api/admin/v1/tokens', {
      token: init.token,
      body: { userId: `${role}-1`, scopes, expiresInDays: 7, description: `${role} token` },
    });
    if (token.status !== 201) throw new Error(`token ${role}: ${token.text}`);
    tokens[role] = token.json.token;
  }
  return {
    dir,
    config,
    server,
    store,
    url: server.url,
    tokens,
    dispatcher,
    call,
    close: async () => {
      await server.close();
      await dispatcher.close();
      await dropDatabase();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

/** A simulated device: its auth key, its primary ECU key, and what it reports. */
export interface SimDevice {
  deviceId: string;
  key: InMemorySigner;
  ecu: InMemorySigner;
  ecuSerial: string;
  hardwareId: string;
  counter: number;
  registerBody(extra?: Record<string, unknown>): Record<string, unknown>;
}

/** A new device with fresh keys. */
export async function simDevice(deviceId: string): Promise<SimDevice> {
  const key = await InMemorySigner.generate('ed25519');
  const ecu = await InMemorySigner.generate('ed25519');
  const ecuSerial = `${deviceId}-gw`;
  return {
    deviceId,
    key,
    ecu,
    ecuSerial,
    hardwareId: 'gateway',
    counter: 0,
    registerBody: (extra = {}) => ({
      deviceId,
      publicKey: key.publicKey,
      model: 'gw-200',
      hardwareRevision: '3',
      attributes: { site: 'oslo' },
      ecus: [{ ecuSerial, hardwareId: 'gateway', primary: true, publicKey: ecu.publicKey }],
      ...extra,
    }),
  };
}

/** Challenge → signature → device token. */
export async function deviceToken(fleet: Fleet, device: SimDevice): Promise<string> {
  const challenge = await fleet.call('POST', '/api/device/v1/challenge', {
    body: { deviceId: device.deviceId },
  });
  if (challenge.status !== 200) throw new Error(`challenge: ${challenge.text}`);
  const { challengeId, nonce } = challenge.json;
  const signature = await device.key.sign(challengeMessage(challengeId, device.deviceId, nonce));
  const token = await fleet.call('POST', '/api/device/v1/token', {
    body: { challengeId, signature: Buffer.from(signature).toString('hex') },
  });
  if (token.status !== 200) throw new Error(`token: ${token.text}`);
  return token.json.token;
}

/** A signed vehicle version manifest of `device` reporting `installed` on its primary. */
export async function manifest(
  device: SimDevice,
  installed?: { filepath: string; length: number; hashes: Record<string, string> },
  options: { deviceId?: string } = {},
): Promise<Uint8Array> {
  device.counter += 1;
  const report = await signEnvelope(
    ecuVersionReportToJSON({
      ecuSerial: device.ecuSerial,
      installedImage: installed,
      attacksDetected: [],
      reportCounter: device.counter,
      time: new Date(),
    }),
    device.ecu,
  );
  const vvm = await signEnvelope(
    vehicleManifestToJSON({
      deviceId: options.deviceId ?? device.deviceId,
      primaryEcuSerial: device.ecuSerial,
      ecuVersionManifests: { [device.ecuSerial]: report },
    }),
    device.ecu,
  );
  return new TextEncoder().encode(JSON.stringify(vvm));
}

/** Everything the store holds that a refused request must not change. */
export async function storeState(fleet: Fleet): Promise<unknown> {
  const devices = await fleet.store.listDevices({ limit: 1000 });
  const perDevice: Record<string, unknown> = {};
  for (const d of devices.items) {
    perDevice[d.deviceId] = {
      events: await fleet.store.listEvents(d.deviceId, { limit: 1000 }),
      logs: await fleet.store.listLogs(d.deviceId, { limit: 1000 }),
      inventory: await fleet.store.inventory.loadDevice(d.deviceId),
    };
  }
  return {
    devices,
    perDevice,
    tokens: await fleet.store.listTokens({}),
    users: await fleet.store.listUsers(),
    audit: await fleet.store.listAudit({ limit: 1000 }),
  };
}

/** Run `attempt` and assert the store and the audit log did not change. */
export async function assertWritesNothing(
  fleet: Fleet,
  attempt: () => Promise<void>,
): Promise<void> {
  const before = await storeState(fleet);
  await attempt();
  expect(await storeState(fleet)).toEqual(before);
}

/** Assert a refusal: status, code, and a message a person can act on. */
export function refused(res: Answer, status: number, code: string): void {
  expect(res.status, res.text).toBe(status);
  expect(res.json?.error?.code).toBe(code);
  expect(String(res.json?.error?.message).length).toBeGreaterThan(10);
}
