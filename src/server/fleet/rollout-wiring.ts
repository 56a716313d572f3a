/**
 * Open the rollout engine for a fleet server: a {@link SqlRolloutStore} on its own connection
 * to the configured database (the fleet store migrated the schema) and the
 * {@link RolloutService} over the server's context.
 *
 * @module
 */
import { openPostgresDatabase } from '../store/postgres-fleet-store.js';
import type { RolloutStore } from '../store/rollout-store.js';
import { SqlRolloutStore } from '../store/sql-rollout-store.js';
import { openSqliteDatabase } from '../store/sqlite-fleet-store.js';
import type { FleetContext } from './context.js';
import { RolloutService } from './rollout-service.js';

/** The store and service; the caller starts and stops the service and closes the store. */
export async function openRolloutEngine(
  ctx: FleetContext,
): Promise<{ store: RolloutStore; service: RolloutService }> {
  const db = ctx.config.database;
  const store = new SqlRolloutStore(
    db.driver === 'sqlite' ? openSqliteDatabase(db.path) : await openPostgresDatabase(db.url),
  );
  return { store, service: new RolloutService(ctx, store) };
}
