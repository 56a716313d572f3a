/**
 * `PostgresFleetStore`: the fleet store on PostgreSQL through `pg` (node-postgres 8), for fleets
 * that outgrow one machine or want the database on its own host. Same statements as SQLite
 * (`sql-fleet-store.ts`); the dialect differences are in {@link POSTGRES_DIALECT}.
 *
 * - A connection pool; each store call is one transaction on one pooled connection (READ
 *   COMMITTED). Rows read to be changed are locked (`SELECT … FOR UPDATE`), and every audit
 *   append locks the one-row chain head first, so concurrent writers — in this process or in
 *   other server processes on the same database — queue on it and the chain never forks.
 * - Migrations take an advisory transaction lock, so servers starting at once apply each
 *   migration exactly once.
 * - Key and time columns use `COLLATE "C"` (byte order), so sorting and keyset pagination do not
 *   depend on the database's locale and match SQLite.
 *
 * @module
 */
import { debuglog } from 'node:util';
import pg from 'pg';
import { FleetError } from '../../errors.js';
import type { SqlDatabase, SqlDialect, SqlRow, SqlTransaction, SqlValue } from './sql-database.js';
import { SqlFleetStore } from './sql-fleet-store.js';

const debug = debuglog('tufota');

/** Key of the advisory lock that serializes migrations (the ASCII bytes of "tufo"). */
const MIGRATION_LOCK = 0x7475666f;

/** PostgreSQL's side of the dialect differences. */
export const POSTGRES_DIALECT: SqlDialect = Object.freeze({
  name: 'postgres',
  autoIdColumn: 'BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY',
  keyText: 'TEXT COLLATE "C"',
  bigint: 'BIGINT',
  bytes: 'BYTEA',
  forUpdate: ' FOR UPDATE',
  // Housekeeping deletes skip rows others hold, so two of them never deadlock.
  skipLocked: ' FOR UPDATE SKIP LOCKED',
  contains: (column: string, needle: string) => `strpos(${column}, ${needle}) > 0`,
  isUniqueViolation: (error: unknown) => (error as { code?: unknown })?.code === '23505',
});

/** `?` placeholders → `$1, $2, …` (the shared SQL never has `?` inside a literal). */
function numberPlaceholders(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** A URL fit for messages: the password replaced. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(an unparsable PostgreSQL URL)';
  }
}

/** Options of {@link PostgresFleetStore.open}. */
export interface PostgresFleetStoreOptions {
  /** Largest number of pooled connections (default 10). */
  maxConnections?: number;
  /** How long to wait for a connection, in ms (default 10,000). */
  connectTimeoutMs?: number;
}

class PostgresDatabase implements SqlDatabase {
  readonly dialect = POSTGRES_DIALECT;
  readonly #pool: pg.Pool;
  readonly #sql = new Map<string, string>();

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  #text(sql: string): string {
    let text = this.#sql.get(sql);
    if (text === undefined) {
      text = numberPlaceholders(sql);
      if (this.#sql.size > 500) this.#sql.clear();
      this.#sql.set(sql, text);
    }
    return text;
  }

  async transaction<T>(work: (tx: SqlTransaction) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    const bind = (params: readonly SqlValue[]) =>
      params.map((p) => (p instanceof Uint8Array && !Buffer.isBuffer(p) ? Buffer.from(p) : p));
    const tx: SqlTransaction = {
      all: async (sql, params = []) =>
        (await client.query(this.#text(sql), bind(params))).rows as SqlRow[],
      run: async (sql, params = []) =>
        (await client.query(this.#text(sql), bind(params))).rowCount ?? 0,
    };
    let broken: unknown;
    try {
      await client.query('BEGIN');
      const result = await work(tx);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        // The connection is unusable: drop it from the pool instead of reusing it.
        broken = rollbackError;
      }
      throw error;
    } finally {
      client.release(broken instanceof Error ? broken : undefined);
    }
  }

  async lockMigrations(tx: SqlTransaction): Promise<void> {
    await tx.all('SELECT pg_advisory_xact_lock(?)', [MIGRATION_LOCK]);
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}

/**
 * The fleet store on a PostgreSQL database.
 *
 * @example
 * ```ts
 * const store = await PostgresFleetStore.open('postgres://tufota:secret@db.internal:5432/fleet');
 * await store.migrate();
 * ```
 */
export class PostgresFleetStore extends SqlFleetStore {
  /**
   * Connect to the database at `url` (checked with one round trip). Call
   * {@link SqlFleetStore.migrate} before use (`openFleetStore` does both).
   *
   * @throws {FleetError} `ERR_TUF_FLEET_STORE` naming the URL (password hidden) and the cause.
   */
  static async open(
    url: string,
    options: PostgresFleetStoreOptions = {},
  ): Promise<PostgresFleetStore> {
    return new PostgresFleetStore(await openPostgresDatabase(url, options));
  }
}

/**
 * The PostgreSQL database under a {@link PostgresFleetStore}, for migration tools and tests.
 *
 * @throws {FleetError} `ERR_TUF_FLEET_STORE` naming the URL (password hidden) and the cause.
 */
export async function openPostgresDatabase(
  url: string,
  options: PostgresFleetStoreOptions = {},
): Promise<SqlDatabase> {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
  });
  // An idle pooled connection that dies (server restart) must not crash the process; the pool
  // replaces it and the next query reports any lasting failure.
  pool.on('error', (error) => debug('fleet store: idle PostgreSQL connection failed: %s', error));
  try {
    await pool.query('SELECT 1');
  } catch (error) {
    await pool.end().catch(() => {});
    throw new FleetError(
      'ERR_TUF_FLEET_STORE',
      `cannot connect to PostgreSQL at ${redactUrl(url)}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  return new PostgresDatabase(pool);
}
