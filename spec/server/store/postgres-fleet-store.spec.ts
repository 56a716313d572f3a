/**
 * The shared fleet store suite on PostgreSQL (`pg`). The file creates its own database (random
 * name) through `TUFOTA_PG_URL` and drops it at the end; each test starts from an empty schema.
 * Skipped with a printed reason when no server answers outside CI; fails under `CI=true`.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetStore } from '../../../src/server/store/fleet-store.js';
import { openFleetStore } from '../../../src/server/store/index.js';
import { openPostgresDatabase } from '../../../src/server/store/postgres-fleet-store.js';
import type { SqlDatabase } from '../../../src/server/store/sql-database.js';
import { dropDatabase, postgresServer, withDatabase } from '../../helpers/postgres.js';
import { fleetStoreSuite, type StoreHarness } from './fleet-store.suite.js';

const server = await postgresServer('spec/server/store/postgres-fleet-store.spec.ts');
const database = `tufota_test_${randomBytes(6).toString('hex')}`;
const url = withDatabase(server.url, database);

async function admin<T>(work: (client: pg.Client) => Promise<T>, target = server.url): Promise<T> {
  const client = new pg.Client({ connectionString: target, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

const open: Array<FleetStore | SqlDatabase> = [];

async function rawDatabase(): Promise<SqlDatabase> {
  const db = await openPostgresDatabase(url);
  open.push(db);
  return db;
}

const harness: StoreHarness = {
  backend: 'postgres',
  async fresh() {
    await harness.closeAll();
    await admin((client) => client.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public'), url);
    const store = await openFleetStore({ backend: 'postgres', url });
    open.push(store);
    return store;
  },
  async reopen() {
    const store = await openFleetStore({ backend: 'postgres', url });
    open.push(store);
    return store;
  },
  database: rawDatabase,
  async sql(text, params = []) {
    const db = await rawDatabase();
    return db.transaction(async (tx) => {
      if (/^\s*select/i.test(text)) return tx.all(text, params);
      await tx.run(text, params);
      return [];
    });
  },
  async closeAll() {
    for (const item of open.splice(0)) await item.close();
  },
};

// Under CI an unreachable server is a failed test with the reason, not a skipped suite.
it.runIf(!server.skip)('PostgreSQL answers at TUFOTA_PG_URL', () => {
  expect(server.problem).toBeUndefined();
});

describe.skipIf(server.skip)('PostgresFleetStore', () => {
  beforeAll(async () => {
    await admin((client) => client.query(`CREATE DATABASE ${database}`));
  });
  afterAll(async () => {
    await harness.closeAll();
    await dropDatabase(server.url, database);
  });

  fleetStoreSuite(harness);

  it('names the server (password hidden) when it cannot connect', async () => {
    const wrong = new URL(url);
    wrong.password = 'not-the-password';
    const error = await openFleetStore({ backend: 'postgres', url: wrong.toString() }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error).toMatchObject({ code: 'ERR_TUF_FLEET_STORE' });
    expect(error?.message).toContain(wrong.host);
    expect(error?.message).not.toContain('not-the-password');
  });

  it('sorts keys byte-wise whatever the database locale (matching SQLite)', async () => {
    const store = await harness.fresh();
    for (const id of ['b', 'B', 'a-1', 'a1', 'A', '_x', 'é']) {
      await store.createDevice({
        deviceId: id,
        status: 'accepted',
        provisioning: 'mtls',
        hardwareIds: [],
        addresses: [],
        attributes: {},
        createdAt: '2026-12-04T18:00:00.000Z',
      });
    }
    const ids = (await store.listDevices({})).items.map((d) => d.deviceId);
    expect(ids).toEqual(['A', 'B', '_x', 'a-1', 'a1', 'b', 'é']);
  });
});
