/**
 * The fleet store's composition root: {@link openFleetStore} opens the configured backend and
 * brings its schema up to date, which is all the fleet server needs. The backends, the shared
 * migrations and the audit chain checker are exported for tools and tests.
 *
 * @module
 */
import { FleetError } from '../../errors.js';
import type { FleetStore } from './fleet-store.js';
import { PostgresFleetStore, type PostgresFleetStoreOptions } from './postgres-fleet-store.js';
import { SqliteFleetStore, type SqliteFleetStoreOptions } from './sqlite-fleet-store.js';

export {
  type AuditChainBreak,
  type AuditChainResult,
  type AuditChainStart,
  assertAuditChain,
  auditEntryHash,
  GENESIS_HASH,
  verifyAuditChain,
} from './audit-chain.js';
export type * from './fleet-store.js';
export { MIGRATIONS, type Migration, migrate, SCHEMA_VERSION } from './migrations.js';
export {
  openPostgresDatabase,
  POSTGRES_DIALECT,
  PostgresFleetStore,
} from './postgres-fleet-store.js';
export type { SqlDatabase, SqlDialect, SqlTransaction, SqlValue } from './sql-database.js';
export { SqlFleetStore } from './sql-fleet-store.js';
export { SqlInventoryStore } from './sql-inventory-store.js';
export { openSqliteDatabase, SQLITE_DIALECT, SqliteFleetStore } from './sqlite-fleet-store.js';
export { LIMITS } from './validation.js';

/** Where the fleet store lives. */
export type FleetStoreOptions =
  | ({ backend: 'sqlite'; path: string } & SqliteFleetStoreOptions)
  | ({ backend: 'postgres'; url: string } & PostgresFleetStoreOptions);

/**
 * Open the fleet store and apply pending migrations.
 *
 * @throws {FleetError} `ERR_TUF_FLEET_STORE` when the database cannot be opened, a migration
 *   fails, or its schema is newer than this program (both versions named); the store is closed
 *   again in that case.
 *
 * @example
 * ```ts
 * const store = await openFleetStore({ backend: 'sqlite', path: '/var/lib/tufota/fleet.db' });
 * const pgStore = await openFleetStore({ backend: 'postgres', url: process.env.DATABASE_URL! });
 * ```
 */
export async function openFleetStore(options: FleetStoreOptions): Promise<FleetStore> {
  let store: FleetStore;
  if (options.backend === 'sqlite') store = await SqliteFleetStore.open(options.path, options);
  else if (options.backend === 'postgres') {
    store = await PostgresFleetStore.open(options.url, options);
  } else {
    throw new FleetError(
      'ERR_TUF_FLEET_BAD_REQUEST',
      `unknown fleet store backend ${JSON.stringify((options as { backend?: unknown }).backend)}: use sqlite or postgres`,
    );
  }
  try {
    await store.migrate();
  } catch (error) {
    await store.close().catch(() => {});
    throw error;
  }
  return store;
}
