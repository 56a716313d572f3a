/**
 * Open the store the configuration names: the SQLite file (default `DATA/fleet.db`) or the
 * PostgreSQL URL (`database.url`, `$TUFOTA_SERVER_DATABASE_URL`), migrated to this program's
 * schema.
 *
 * @module
 */
import type { FleetStore } from '../store/fleet-store.js';
import { openFleetStore } from '../store/index.js';
import type { FleetServerConfig } from './config.js';

/** The configured store, opened and migrated. */
export function openConfiguredStore(
  config: Pick<FleetServerConfig, 'database'>,
): Promise<FleetStore> {
  const db = config.database;
  return db.driver === 'sqlite'
    ? openFleetStore({ backend: 'sqlite', path: db.path })
    : openFleetStore({ backend: 'postgres', url: db.url });
}
