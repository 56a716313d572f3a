/**
 * `SqliteFleetStore`: the fleet store on SQLite through `better-sqlite3` (version 12: 13 needs
 * Node 22), the embedded default — one file, nothing to install or start.
 *
 * - WAL journal (readers do not block the writer, a crash leaves the last commit intact) with
 *   `synchronous = FULL` (a committed audit entry survives a power cut), foreign keys on, and a
 *   busy timeout so a second process (`tufota audit verify` beside a running server) waits for
 *   the write lock instead of failing.
 * - `better-sqlite3` is synchronous and one connection runs one transaction at a time, so the
 *   store's async transactions are queued — one queue per database file in the process, shared
 *   by every store on it — and each takes the write lock up front (`BEGIN IMMEDIATE`): the
 *   audit chain has a single writer by construction.
 * - `:memory:` opens a private in-memory database (tests).
 *
 * @module
 */
import { resolve } from 'node:path';
import Database from 'better-sqlite3';
import { FleetError } from '../../errors.js';
import type { SqlDatabase, SqlDialect, SqlRow, SqlTransaction, SqlValue } from './sql-database.js';
import { SqlFleetStore } from './sql-fleet-store.js';

/** SQLite's side of the dialect differences. */
export const SQLITE_DIALECT: SqlDialect = Object.freeze({
  name: 'sqlite',
  autoIdColumn: 'INTEGER PRIMARY KEY AUTOINCREMENT',
  // SQLite compares TEXT byte-wise (BINARY collation) by default.
  keyText: 'TEXT',
  bigint: 'INTEGER',
  bytes: 'BLOB',
  // The write lock taken by BEGIN IMMEDIATE already excludes every other writer.
  forUpdate: '',
  skipLocked: '',
  contains: (column: string, needle: string) => `instr(${column}, ${needle}) > 0`,
  isUniqueViolation: (error: unknown) => {
    const code = (error as { code?: unknown })?.code;
    return code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
  },
});

/** Options of {@link SqliteFleetStore.open}. */
export interface SqliteFleetStoreOptions {
  /** How long a statement waits for another process's lock, in ms (default 5000). */
  busyTimeoutMs?: number;
}

function bind(params: readonly SqlValue[]): unknown[] {
  return params.map((p) => (p instanceof Uint8Array && !Buffer.isBuffer(p) ? Buffer.from(p) : p));
}

/**
 * The transaction queue of each database file opened in this process, shared by every
 * connection to it. A second connection's `BEGIN IMMEDIATE` would otherwise wait for the first
 * one's write lock synchronously (busy timeout), blocking the very event loop the first one
 * needs to finish its transaction: two stores on one file in one process would deadlock until
 * the timeout. Other processes are waited for by the busy timeout.
 */
const fileQueues = new Map<string, { tail: Promise<unknown> }>();

/** A `better-sqlite3` connection as a {@link SqlDatabase}. */
class SqliteDatabase implements SqlDatabase {
  readonly dialect = SQLITE_DIALECT;
  readonly #db: Database.Database;
  readonly #statements = new Map<string, Database.Statement>();
  readonly #queue: { tail: Promise<unknown> };
  #closed = false;

  constructor(db: Database.Database, path: string) {
    this.#db = db;
    if (path === ':memory:' || path === '') {
      this.#queue = { tail: Promise.resolve() };
    } else {
      const key = resolve(path);
      let queue = fileQueues.get(key);
      if (queue === undefined) fileQueues.set(key, (queue = { tail: Promise.resolve() }));
      this.#queue = queue;
    }
  }

  #prepare(sql: string): Database.Statement {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      if (this.#statements.size > 500) this.#statements.clear();
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  readonly #tx: SqlTransaction = {
    all: async (sql, params = []) => this.#prepare(sql).all(...bind(params)) as SqlRow[],
    run: async (sql, params = []) => this.#prepare(sql).run(...bind(params)).changes,
  };

  transaction<T>(work: (tx: SqlTransaction) => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      if (this.#closed) throw new FleetError('ERR_TUF_FLEET_STORE', 'the store is closed');
      this.#db.exec('BEGIN IMMEDIATE');
      try {
        const result = await work(this.#tx);
        this.#db.exec('COMMIT');
        return result;
      } catch (error) {
        if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
        throw error;
      }
    };
    const result = this.#queue.tail.then(run, run);
    this.#queue.tail = result.catch(() => {});
    return result;
  }

  async lockMigrations(): Promise<void> {
    // BEGIN IMMEDIATE holds the database's write lock for the whole migration.
  }

  async close(): Promise<void> {
    await this.#queue.tail;
    if (this.#closed) return;
    this.#closed = true;
    this.#statements.clear();
    this.#db.close();
  }
}

/**
 * The fleet store on a SQLite file (or `:memory:`).
 *
 * @example
 * ```ts
 * const store = await SqliteFleetStore.open('/var/lib/tufota/fleet.db');
 * await store.migrate();
 * const page = await store.listDevices({ status: ['accepted'], installedTargetPrefix: 'fw/gw-1.' });
 * await store.close();
 * ```
 */
export class SqliteFleetStore extends SqlFleetStore {
  /**
   * Open (creating if needed) the database at `path`. Call {@link SqlFleetStore.migrate}
   * before use (`openFleetStore` in `index.ts` does both).
   *
   * @throws {FleetError} `ERR_TUF_FLEET_STORE` when the file cannot be opened.
   */
  static async open(
    path: string,
    options: SqliteFleetStoreOptions = {},
  ): Promise<SqliteFleetStore> {
    return new SqliteFleetStore(openSqliteDatabase(path, options));
  }
}

/**
 * The SQLite database under a {@link SqliteFleetStore}, for migration tools and tests.
 *
 * @throws {FleetError} `ERR_TUF_FLEET_STORE` when the file cannot be opened.
 */
export function openSqliteDatabase(
  path: string,
  options: SqliteFleetStoreOptions = {},
): SqlDatabase {
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { timeout: options.busyTimeoutMs ?? 5000 });
    if (path !== ':memory:') db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
  } catch (error) {
    db?.close();
    throw new FleetError(
      'ERR_TUF_FLEET_STORE',
      `cannot open the SQLite fleet database ${path}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  return new SqliteDatabase(db, path);
}
