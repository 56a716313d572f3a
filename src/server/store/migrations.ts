/**
 * Versioned schema migrations of the fleet store, shared by SQLite and PostgreSQL: each
 * migration is a list of statements built from the dialect ({@link SqlDialect}), so the common
 * SQL is written once and each difference (auto-increment ids, byte-wise text collation, byte
 * and 64-bit column types) is named where it is used.
 *
 * `schema_migrations` records each applied version. {@link migrate} applies each pending
 * migration once, in order, each in its own transaction under the migration lock (so two
 * processes starting at once do not both apply it), and refuses a database whose schema is newer
 * than this program. Migrations are append-only: never edit one that has shipped, add the next.
 *
 * @module
 */
import { FleetError } from '../../errors.js';
import { ROLLOUT_MIGRATION } from './rollout-migration.js';
import type { SqlDatabase, SqlDialect, SqlTransaction } from './sql-database.js';

/** One schema version. */
export interface Migration {
  version: number;
  name: string;
  statements(dialect: SqlDialect): string[];
}

/** Every migration, in order; `version` is the index + 1. */
export const MIGRATIONS: readonly Migration[] = Object.freeze([
  {
    version: 1,
    name: 'fleet store: devices, inventory, events, logs, people, challenges, audit, settings',
    statements: (d: SqlDialect) => [
      `CREATE TABLE devices (
        device_id ${d.keyText} PRIMARY KEY,
        status ${d.keyText} NOT NULL,
        provisioning TEXT NOT NULL,
        public_key TEXT,
        certificate_sha256 TEXT,
        model TEXT,
        hardware_revision TEXT,
        hardware_ids TEXT NOT NULL,
        addresses TEXT NOT NULL,
        attributes TEXT NOT NULL,
        created_at ${d.keyText} NOT NULL,
        first_seen ${d.keyText},
        last_seen ${d.keyText}
      )`,
      'CREATE INDEX devices_certificate ON devices (certificate_sha256)',
      'CREATE INDEX devices_last_seen ON devices (last_seen, device_id)',
      'CREATE INDEX devices_model ON devices (model)',
      // Queryable copies of the attributes and hardware ids held as JSON in `devices`, written
      // in the same transaction as the row.
      `CREATE TABLE device_attributes (
        device_id ${d.keyText} NOT NULL,
        name ${d.keyText} NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (device_id, name)
      )`,
      'CREATE INDEX device_attributes_name_value ON device_attributes (name, value)',
      `CREATE TABLE device_hardware_ids (
        device_id ${d.keyText} NOT NULL,
        hardware_id TEXT NOT NULL,
        PRIMARY KEY (device_id, hardware_id)
      )`,
      'CREATE INDEX device_hardware_ids_hardware_id ON device_hardware_ids (hardware_id)',
      // The director's inventory: the whole record as JSON, and its ECUs as queryable rows. No
      // foreign key to `devices`: the director may know a device before the fleet does.
      `CREATE TABLE director_roots (
        version INTEGER PRIMARY KEY,
        bytes ${d.bytes} NOT NULL
      )`,
      `CREATE TABLE director_devices (
        device_id ${d.keyText} PRIMARY KEY,
        record TEXT NOT NULL
      )`,
      `CREATE TABLE ecus (
        device_id ${d.keyText} NOT NULL,
        ecu_serial ${d.keyText} NOT NULL,
        hardware_id TEXT NOT NULL,
        is_primary INTEGER NOT NULL,
        installed_target TEXT,
        installed_length ${d.bigint},
        installed_sha256 TEXT,
        assigned_target TEXT,
        correlation_id TEXT,
        PRIMARY KEY (device_id, ecu_serial)
      )`,
      'CREATE INDEX ecus_installed_target ON ecus (installed_target)',
      'CREATE INDEX ecus_hardware_id ON ecus (hardware_id)',
      `CREATE TABLE device_events (
        id ${d.autoIdColumn},
        device_id ${d.keyText} NOT NULL,
        kind TEXT NOT NULL,
        correlation_id TEXT,
        at TEXT NOT NULL,
        data TEXT NOT NULL
      )`,
      'CREATE INDEX device_events_device ON device_events (device_id, id)',
      `CREATE TABLE device_logs (
        id ${d.autoIdColumn},
        device_id ${d.keyText} NOT NULL,
        correlation_id TEXT NOT NULL,
        at ${d.keyText} NOT NULL,
        lines TEXT NOT NULL
      )`,
      'CREATE INDEX device_logs_device ON device_logs (device_id, id)',
      'CREATE INDEX device_logs_at ON device_logs (at)',
      `CREATE TABLE users (
        user_id ${d.keyText} PRIMARY KEY,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        created_at TEXT NOT NULL,
        disabled_at TEXT
      )`,
      `CREATE TABLE tokens (
        token_id ${d.keyText} PRIMARY KEY,
        user_id TEXT,
        device_id TEXT,
        sha256 TEXT NOT NULL UNIQUE,
        scopes TEXT NOT NULL,
        description TEXT,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        revoked_at TEXT,
        last_used_at TEXT
      )`,
      'CREATE INDEX tokens_user ON tokens (user_id)',
      'CREATE INDEX tokens_device ON tokens (device_id)',
      `CREATE TABLE challenges (
        challenge_id ${d.keyText} PRIMARY KEY,
        device_id TEXT NOT NULL,
        nonce TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at ${d.keyText} NOT NULL
      )`,
      'CREATE INDEX challenges_expires ON challenges (expires_at)',
      `CREATE TABLE settings (
        key ${d.keyText} PRIMARY KEY,
        value TEXT NOT NULL
      )`,
      // The audit chain. `audit_head` is one row, locked by every appender, so the chain never
      // forks; it also remembers the last hash, so a removed last row shows at the next append.
      `CREATE TABLE audit_log (
        seq ${d.bigint} PRIMARY KEY,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        subject TEXT NOT NULL,
        from_address TEXT,
        at TEXT NOT NULL,
        before_json TEXT,
        after_json TEXT,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
      )`,
      `CREATE TABLE audit_head (
        id INTEGER PRIMARY KEY,
        seq ${d.bigint} NOT NULL,
        hash TEXT NOT NULL
      )`,
      `INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '${'0'.repeat(64)}')`,
    ],
  },
  // Issue 15's rollout tables (wip/fleet-rollout), in a module of their own.
  ROLLOUT_MIGRATION,
]);

/** The schema version this program writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at TEXT NOT NULL
)`;

async function currentVersion(tx: SqlTransaction): Promise<number> {
  const rows = await tx.all('SELECT MAX(version) AS version FROM schema_migrations');
  const value = rows[0]?.version;
  return value === null || value === undefined ? 0 : Number(value);
}

function refuseNewer(found: number, migrations: readonly Migration[]): void {
  if (found > migrations.length) {
    throw new FleetError(
      'ERR_TUF_FLEET_STORE',
      `the database schema is version ${found}, newer than this program's version ${migrations.length}: upgrade tufota (or restore a backup made for this version)`,
    );
  }
}

/**
 * Apply every pending migration of `migrations` (default {@link MIGRATIONS}) and return the
 * schema version in place. Idempotent.
 *
 * @throws {FleetError} `ERR_TUF_FLEET_STORE` when the schema is newer than `migrations` (both
 *   versions named) or a statement fails (that migration is rolled back whole).
 */
export async function migrate(
  db: SqlDatabase,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<number> {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new RangeError(`migration ${i} has version ${m.version}`);
  });
  await db.transaction(async (tx) => {
    await db.lockMigrations(tx);
    await tx.run(CREATE_MIGRATIONS_TABLE);
  });
  for (;;) {
    const applied = await db.transaction(async (tx) => {
      await db.lockMigrations(tx);
      const version = await currentVersion(tx);
      refuseNewer(version, migrations);
      const next = migrations[version];
      if (next === undefined) return undefined;
      for (const statement of next.statements(db.dialect)) await tx.run(statement);
      await tx.run(
        'INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, CURRENT_TIMESTAMP)',
        [next.version, next.name],
      );
      return next.version;
    });
    if (applied === undefined) break;
  }
  return db.transaction(async (tx) => currentVersion(tx));
}

/**
 * The schema version of `db` (0 when never migrated), refusing one newer than this program.
 *
 * @throws {FleetError} `ERR_TUF_FLEET_STORE` for a newer schema.
 */
export async function checkSchema(
  db: SqlDatabase,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<number> {
  return db.transaction(async (tx) => {
    await tx.run(CREATE_MIGRATIONS_TABLE);
    const version = await currentVersion(tx);
    refuseNewer(version, migrations);
    return version;
  });
}
