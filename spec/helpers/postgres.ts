/**
 * Tests that need a PostgreSQL server ask here whether one answers at `TUFOTA_PG_URL` (default
 * `postgres://tufota:tufota@127.0.0.1:5432/postgres`, a role allowed to create databases). As
 * with the system tools (`system-tools.ts`): outside CI an unreachable server skips those tests
 * and prints why with the commands that start one; under CI (`CI=true`) the tests run and fail,
 * so a CI machine without PostgreSQL can never pass by skipping.
 */
import pg from 'pg';

export const DEFAULT_PG_URL = 'postgres://tufota:tufota@127.0.0.1:5432/postgres';

/** How to get a server the tests can use (Debian 12; `.ci/run` does the same). */
export const START_POSTGRES =
  'apt-get install -y postgresql && pg_ctlcluster 15 main start && su postgres -c "psql -c \\"CREATE ROLE tufota LOGIN PASSWORD \'tufota\' CREATEDB\\""';

export interface PostgresCheck {
  /** True when the PostgreSQL tests should be skipped (never under CI). */
  readonly skip: boolean;
  /** The administrative URL (a database the role can connect to, to create others). */
  readonly url: string;
  /** Why the server cannot be used, when it cannot (under CI a test should fail with it). */
  readonly problem?: string;
}

/** Check that PostgreSQL answers for the spec file `file`; print why its tests are skipped. */
export async function postgresServer(file: string): Promise<PostgresCheck> {
  const url = process.env.TUFOTA_PG_URL ?? DEFAULT_PG_URL;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return { skip: false, url };
  } catch (error) {
    const what = `${file}: no PostgreSQL at ${url.replace(/:[^:@/]*@/, ':***@')} (${(error as Error).message})`;
    if (process.env.CI === 'true') {
      console.error(`${what}: CI=true, so the PostgreSQL tests run and fail`);
      return { skip: false, url, problem: what };
    }
    console.warn(`SKIPPED ${what}; set TUFOTA_PG_URL, or start one with: ${START_POSTGRES}`);
    return { skip: true, url, problem: what };
  } finally {
    await client.end().catch(() => {});
  }
}

/** `url` with its database replaced by `database`. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/**
 * Drop a test database, retrying while PostgreSQL refuses: `WITH (FORCE)` cannot terminate a
 * backend the role does not own — an autovacuum worker that just started on the fresh
 * database ("must be a member of the role whose process is being terminated") — and such a
 * worker ends within moments. Bounded: 20 tries, 250 ms apart.
 */
export async function dropDatabase(adminUrl: string, database: string): Promise<void> {
  let last: unknown;
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 });
    try {
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      return;
    } catch (error) {
      last = error;
      const code = (error as { code?: string }).code;
      if (code !== '42501' && code !== '55006') throw error;
    } finally {
      await client.end().catch(() => {});
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw last;
}
