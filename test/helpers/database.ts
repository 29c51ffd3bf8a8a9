import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { redactUrl } from '../../src/config/load.js';
import { migrate, openPostgres } from '../../src/db/index.js';

/**
 * The PostgreSQL server the whole suite runs against when BERTH_TEST_DATABASE_URL is set
 * (a URL to any database on it that the user may connect to, e.g.
 * postgres://postgres@127.0.0.1:5432/postgres); undefined means SQLite.
 */
export function testPostgresServer(): string | undefined {
  const url = process.env.BERTH_TEST_DATABASE_URL;
  return url === undefined || url === '' ? undefined : url;
}

/** The dialect this run of the suite tests. */
export function testDialect(): 'sqlite' | 'postgres' {
  return testPostgresServer() === undefined ? 'sqlite' : 'postgres';
}

/** Where PostgreSQL is expected when nothing says otherwise. */
export const defaultPostgresServer = 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  /** A URL to the new, empty database. */
  url: string;
  name: string;
  /** Drops it, ending any connection still open to it. */
  drop(): Promise<void>;
}

async function onServer<T>(serverUrl: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/**
 * Creates an empty database on the server (or a copy of `template`). Its name starts with the run's prefix
 * (BERTH_TEST_DATABASE_PREFIX, set by scripts/test.mjs, which drops whatever a failed test
 * left behind), so runs never touch each other's databases. Its commits do not wait for the
 * WAL to reach the disk (synchronous_commit off): what other sessions see is the same, only
 * durability across a crash of the server is given up, which no test relies on.
 */
export async function createDatabaseOn(serverUrl: string, template?: string): Promise<TestDatabase> {
  const prefix = process.env.BERTH_TEST_DATABASE_PREFIX ?? 'berth_t';
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await onServer(serverUrl, async (client) => {
    await client.query(`create database "${name}"${template ? ` template "${template}"` : ''}`);
    await client.query(`alter database "${name}" set synchronous_commit = off`);
  });
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    url: url.toString(),
    name,
    async drop() {
      if (dropped) return;
      dropped = true;
      await onServer(serverUrl, (client) => client.query(`drop database if exists "${name}" with (force)`));
    },
  };
}

/** A fresh database on the suite's PostgreSQL server, or null when the suite runs on SQLite. */
export async function createTestDatabase(): Promise<TestDatabase | null> {
  const server = testPostgresServer();
  return server === undefined ? null : createDatabaseOn(server);
}

/**
 * A fresh database already migrated to the latest schema, for a test server (null on SQLite):
 * a copy of the run's template database, which the first caller in the run makes (under an
 * advisory lock, so that concurrent test files make it once). Migrating every test server's
 * database took about two seconds each on PostgreSQL; a copy takes a fraction of that. Only
 * runs through scripts/test.mjs, which names the run (BERTH_TEST_DATABASE_PREFIX) and drops
 * its databases, the template included, at the end, get a template; a run of one file by
 * hand migrates an empty database, so a template can never outlive the code that made it.
 */
export async function createMigratedTestDatabase(): Promise<TestDatabase | null> {
  const server = testPostgresServer();
  if (server === undefined) return null;
  const prefix = process.env.BERTH_TEST_DATABASE_PREFIX;
  if (!prefix) return createDatabaseOn(server);
  const template = `${prefix}_template`;
  await onServer(server, async (client) => {
    await client.query('select pg_advisory_lock(hashtext($1))', [template]);
    try {
      const { rows } = await client.query('select datistemplate from pg_database where datname = $1', [template]);
      if (rows[0]?.datistemplate) return;
      // Not there, or left half made by a file that stopped while making it.
      await client.query(`drop database if exists "${template}" with (force)`);
      await client.query(`create database "${template}"`);
      const url = new URL(server);
      url.pathname = `/${template}`;
      const handle = openPostgres(url.toString());
      try {
        await migrate(handle);
      } finally {
        await handle.close();
      }
      await client.query(`alter database "${template}" is_template true`);
    } finally {
      await client.query('select pg_advisory_unlock(hashtext($1))', [template]);
    }
  });
  return createDatabaseOn(server, template);
}

/** Connects once to see whether a PostgreSQL server answers; the error message when not. */
export async function probePostgres(serverUrl: string): Promise<string | null> {
  try {
    await onServer(serverUrl, (client) => client.query('select 1'));
    return null;
  } catch (err) {
    const e = err as Error & { code?: string };
    return `PostgreSQL at ${redactUrl(serverUrl)} cannot be reached: ${e.message || e.code || String(err)}`;
  }
}
