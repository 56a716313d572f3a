/**
 * The rollout store suite on PostgreSQL: its own database (random name) through
 * `TUFOTA_PG_URL`, dropped at the end; each test starts from an empty schema. Skipped with a
 * printed reason when no server answers outside CI; fails under `CI=true`.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FleetStore } from '../../../src/server/store/fleet-store.js';
import { openFleetStore } from '../../../src/server/store/index.js';
import { openPostgresDatabase } from '../../../src/server/store/postgres-fleet-store.js';
import type { RolloutStore } from '../../../src/server/store/rollout-store.js';
import { SqlRolloutStore } from '../../../src/server/store/sql-rollout-store.js';
import { dropDatabase, postgresServer, withDatabase } from '../../helpers/postgres.js';
import { type RolloutHarness, rolloutStoreSuite } from './rollout-store.suite.js';

const server = await postgresServer('spec/server/store/postgres-rollout-store.spec.ts');
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

const open: Array<FleetStore | RolloutStore> = [];

const harness: RolloutHarness = {
  backend: 'postgres',
  async fresh() {
    await harness.closeAll();
    await admin((client) => client.query('DROP SCHEMA public CASCADE; CREATE SCHEMA public'), url);
    const fleet = await openFleetStore({ backend: 'postgres', url });
    const rollouts = new SqlRolloutStore(await openPostgresDatabase(url));
    open.push(fleet, rollouts);
    return { fleet, rollouts };
  },
  async second() {
    const rollouts = new SqlRolloutStore(await openPostgresDatabase(url));
    open.push(rollouts);
    return rollouts;
  },
  async closeAll() {
    for (const item of open.splice(0)) await item.close();
  },
};

it.runIf(!server.skip)('PostgreSQL answers at TUFOTA_PG_URL', () => {
  expect(server.problem).toBeUndefined();
});

describe.skipIf(server.skip)('SqlRolloutStore on PostgreSQL', () => {
  beforeAll(async () => {
    await admin((client) => client.query(`CREATE DATABASE ${database}`));
  });
  afterAll(async () => {
    await harness.closeAll();
    await dropDatabase(server.url, database);
  });

  rolloutStoreSuite(harness);
});
