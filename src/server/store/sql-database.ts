/**
 * What the shared SQL fleet store needs from a database driver: transactions that run async
 * code, statements with `?` placeholders and bound values only, and the few places where the
 * two SQL dialects differ, named and kept in one object ({@link SqlDialect}) instead of scattered
 * `if (postgres)` branches.
 *
 * Implemented by `sqlite-fleet-store.ts` (`better-sqlite3`) and `postgres-fleet-store.ts` (`pg`).
 *
 * @module
 */
import { FleetError } from '../../errors.js';

/** A value bound to a `?` placeholder. */
export type SqlValue = string | number | null | Uint8Array;

/** A row as a driver returns it (column name → value). */
export type SqlRow = Record<string, unknown>;

/** Statements inside one transaction. */
export interface SqlTransaction {
  /** Run a statement that returns rows (`SELECT`, or a write with `RETURNING`). */
  all(sql: string, params?: readonly SqlValue[]): Promise<SqlRow[]>;
  /** Run a statement that returns no rows; resolves to the number of rows changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
}

/** The differences between SQLite and PostgreSQL that the shared SQL depends on. */
export interface SqlDialect {
  readonly name: 'sqlite' | 'postgres';
  /** Column type of an auto-increment integer primary key. */
  readonly autoIdColumn: string;
  /** Column type of a key or sort text compared byte-wise (PostgreSQL: `COLLATE "C"`). */
  readonly keyText: string;
  /** Column type of a 64-bit integer. */
  readonly bigint: string;
  /** Column type of raw bytes. */
  readonly bytes: string;
  /** Appended to a `SELECT` that reads a row it will then change (row lock), or empty. */
  readonly forUpdate: string;
  /** Appended to a `SELECT` of rows to clean up that skips rows another writer holds, or empty. */
  readonly skipLocked: string;
  /** SQL that is true when `needle` (a bound value) occurs in `column`. */
  contains(column: string, needle: string): string;
  /** Whether `error` is a unique or primary-key violation. */
  isUniqueViolation(error: unknown): boolean;
}

/** A database the store runs on. */
export interface SqlDatabase {
  readonly dialect: SqlDialect;
  /**
   * Run `work` in one transaction: committed when it resolves, rolled back when it throws.
   * Writers are serialized as the dialect allows (SQLite: one writer; PostgreSQL: row locks).
   */
  transaction<T>(work: (tx: SqlTransaction) => Promise<T>): Promise<T>;
  /**
   * Take the lock that serializes schema migrations across processes, inside `tx`
   * (PostgreSQL: an advisory transaction lock; SQLite: the write lock already held).
   */
  lockMigrations(tx: SqlTransaction): Promise<void>;
  close(): Promise<void>;
}

/**
 * Wrap a driver error that is not already a `FleetError` as `ERR_TUF_FLEET_STORE`, keeping the
 * cause; a unique violation becomes `ERR_TUF_FLEET_CONFLICT` with `conflict` as the message.
 */
export function storeError(
  dialect: SqlDialect,
  error: unknown,
  what: string,
  conflict?: string,
): FleetError {
  if (error instanceof FleetError) return error;
  if (conflict !== undefined && dialect.isUniqueViolation(error)) {
    return new FleetError('ERR_TUF_FLEET_CONFLICT', conflict, { cause: error });
  }
  return new FleetError(
    'ERR_TUF_FLEET_STORE',
    `${dialect.name} store: ${what} failed: ${(error as Error)?.message ?? String(error)}`,
    { cause: error },
  );
}
