/**
 * Schema migration 2 (issue 15): the rollout engine's tables — groups, deployments (the whole
 * `Deployment` JSON value beside indexed columns and an optimistic-concurrency `version`) and
 * user passwords (scrypt hashes, never plain) for the dashboard's log-in.
 *
 * Kept beside `migrations.ts` (which lists it) so the store's own migrations stay untouched;
 * append-only like every migration.
 *
 * @module
 */
import type { Migration } from './migrations.js';
import type { SqlDialect } from './sql-database.js';

/** Groups, deployments and passwords. */
export const ROLLOUT_MIGRATION: Migration = Object.freeze({
  version: 2,
  name: 'rollouts: groups, deployments, user passwords',
  statements: (d: SqlDialect) => [
    `CREATE TABLE rollout_groups (
      name ${d.keyText} PRIMARY KEY,
      kind TEXT NOT NULL,
      devices TEXT,
      expression TEXT,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL
    )`,
    `CREATE TABLE deployments (
      deployment_id ${d.keyText} PRIMARY KEY,
      status ${d.keyText} NOT NULL,
      group_name ${d.keyText} NOT NULL,
      release_path ${d.keyText} NOT NULL,
      version ${d.bigint} NOT NULL,
      created_at ${d.keyText} NOT NULL,
      updated_at ${d.keyText} NOT NULL,
      deployment TEXT NOT NULL
    )`,
    'CREATE INDEX deployments_status ON deployments (status, deployment_id)',
    'CREATE INDEX deployments_group ON deployments (group_name, status)',
    'CREATE INDEX deployments_release ON deployments (release_path)',
    `CREATE TABLE user_passwords (
      user_id ${d.keyText} PRIMARY KEY,
      hash TEXT NOT NULL,
      updated_at TEXT NOT NULL
    )`,
  ],
});
