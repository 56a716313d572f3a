/**
 * The shared fleet store suite on SQLite (`better-sqlite3`): each test gets a fresh database file
 * in a temporary directory (a file, not `:memory:`, so a second store and raw SQL can open the
 * same database as another process would).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { FleetStore } from '../../../src/server/store/fleet-store.js';
import { openFleetStore } from '../../../src/server/store/index.js';
import type { SqlDatabase } from '../../../src/server/store/sql-database.js';
import {
  openSqliteDatabase,
  SqliteFleetStore,
} from '../../../src/server/store/sqlite-fleet-store.js';
import { fleetStoreSuite, type StoreHarness } from './fleet-store.suite.js';

const dir = mkdtempSync(join(tmpdir(), 'tufota-fleet-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
let path = '';
const open: Array<FleetStore | SqlDatabase> = [];

async function rawDatabase(): Promise<SqlDatabase> {
  const db = openSqliteDatabase(path);
  open.push(db);
  return db;
}

const harness: StoreHarness = {
  backend: 'sqlite',
  async fresh() {
    path = join(dir, `fleet-${++counter}.db`);
    const store = await openFleetStore({ backend: 'sqlite', path });
    open.push(store);
    return store;
  },
  async reopen() {
    const store = await openFleetStore({ backend: 'sqlite', path });
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

describe('SqliteFleetStore', () => {
  fleetStoreSuite(harness);

  it('opens :memory: and refuses a path it cannot create', async () => {
    const store = await openFleetStore({ backend: 'sqlite', path: ':memory:' });
    await store.createDevice({
      deviceId: 'm',
      status: 'accepted',
      provisioning: 'mtls',
      hardwareIds: [],
      addresses: [],
      attributes: {},
      createdAt: '2026-12-04T18:00:00.000Z',
    });
    expect((await store.listDevices({})).items.map((d) => d.deviceId)).toEqual(['m']);
    await store.close();
    await expect(SqliteFleetStore.open(join(dir, 'missing', 'dir', 'x.db'))).rejects.toMatchObject({
      code: 'ERR_TUF_FLEET_STORE',
    });
  });

  it('uses WAL on files', async () => {
    await harness.fresh();
    const rows = await harness.sql('SELECT * FROM pragma_journal_mode');
    expect(rows[0]?.journal_mode).toBe('wal');
    await harness.closeAll();
  });
});
