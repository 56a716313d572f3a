/**
 * The rollout store suite on SQLite: a fresh database file per test; the fleet store migrates
 * it, the rollout stores open their own connections to the same file (as a second server process
 * would).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe } from 'vitest';
import type { FleetStore } from '../../../src/server/store/fleet-store.js';
import { openFleetStore } from '../../../src/server/store/index.js';
import type { RolloutStore } from '../../../src/server/store/rollout-store.js';
import { SqlRolloutStore } from '../../../src/server/store/sql-rollout-store.js';
import { openSqliteDatabase } from '../../../src/server/store/sqlite-fleet-store.js';
import { type RolloutHarness, rolloutStoreSuite } from './rollout-store.suite.js';

const dir = mkdtempSync(join(tmpdir(), 'tufota-rollout-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
let path = '';
const open: Array<FleetStore | RolloutStore> = [];

const harness: RolloutHarness = {
  backend: 'sqlite',
  async fresh() {
    path = join(dir, `rollout-${++counter}.db`);
    const fleet = await openFleetStore({ backend: 'sqlite', path });
    const rollouts = new SqlRolloutStore(openSqliteDatabase(path));
    open.push(fleet, rollouts);
    return { fleet, rollouts };
  },
  async second() {
    const rollouts = new SqlRolloutStore(openSqliteDatabase(path));
    open.push(rollouts);
    return rollouts;
  },
  async closeAll() {
    for (const item of open.splice(0)) await item.close();
  },
};

describe('SqlRolloutStore on SQLite', () => {
  rolloutStoreSuite(harness);
});
