import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { redactUrl } from '../../src/config/load.js';

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
 * Creates an empty database on the server. Its name starts with the run's prefix
 * (BERTH_TEST_DATABASE_PREFIX, set by scripts/test.mjs, which drops whatever a failed test
 * left behind), so runs never touch each other's databases. Its commits do not wait for the
 * WAL to reach the disk (synchronous_commit off): what other sessions see is the same, only
 * durability across a crash of the server is given up, which no test relies on.
 */
export async function createDatabaseOn(serverUrl: string): Promise<TestDatabase> {
  const prefix = process.env.BERTH_TEST_DATABASE_PREFIX ?? 'berth_t';
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await onServer(serverUrl, async (client) => {
    await client.query(`create database "${name}"`);
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
