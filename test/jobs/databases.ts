import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe } from 'node:test';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { dialectHelpers, type DialectName } from '../../src/db/dialect.js';
import { migrate, openSqlite, type DatabaseHandle } from '../../src/db/index.js';
import type { Database } from '../../src/db/types.js';
import { createDatabaseOn, defaultPostgresServer, probePostgres } from '../helpers/database.js';

/**
 * The jobs and events suites run once per dialect, whichever dialect the rest of the run
 * uses: on a fresh SQLite file always, and on a fresh PostgreSQL database (created for the
 * test file, dropped after) when the server answers (BERTH_TEST_DATABASE_URL, else the
 * local default). Under CI=true an unreachable PostgreSQL fails the suite instead of
 * skipping it.
 */

export const postgresServer = process.env.BERTH_TEST_DATABASE_URL || defaultPostgresServer;

export interface TestDatabase {
  dialect: DialectName;
  /** The migrated database, as the first instance sees it. */
  handle: DatabaseHandle;
  /**
   * A second way in, as another instance would have: its own connection pool on
   * PostgreSQL; on SQLite, where one process owns the file, the same handle.
   */
  connect(): DatabaseHandle;
  /** The PostgreSQL URL or SQLite file, for a child process. */
  location: string;
  drop(): Promise<void>;
}

/** int8 and numeric as numbers, as the server's own pool reads them. */
const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20 || oid === 1700) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format as 'text');
  },
} as pg.CustomTypesConfig;

export function postgresHandle(url: string, max = 10): DatabaseHandle {
  const pool = new pg.Pool({ connectionString: url, max, types: pgTypes });
  pool.on('error', () => undefined);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, dialect: dialectHelpers('postgres'), close: () => db.destroy() };
}

const postgresUnavailable = (await probePostgres(postgresServer)) ?? undefined;
if (postgresUnavailable && process.env.CI !== 'true') {
  console.log(`# ${postgresUnavailable}: the PostgreSQL runs of the jobs and events suites are skipped`);
}

export async function createTestDatabase(dialect: DialectName): Promise<TestDatabase> {
  if (dialect === 'sqlite') {
    const dir = await mkdtemp(path.join(tmpdir(), 'berth-jobs-'));
    const file = path.join(dir, 'berth.db');
    const handle = openSqlite(file);
    await migrate(handle);
    const shared: DatabaseHandle = { ...handle, close: async () => undefined };
    return {
      dialect,
      handle,
      connect: () => shared,
      location: file,
      async drop() {
        await handle.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
  if (postgresUnavailable) throw new Error(`${postgresUnavailable}, and CI=true requires it`);
  const created = await createDatabaseOn(postgresServer);
  const location = created.url;
  const handle = postgresHandle(location);
  await migrate(handle);
  const others: DatabaseHandle[] = [];
  return {
    dialect,
    handle,
    connect() {
      const other = postgresHandle(location);
      others.push(other);
      return other;
    },
    location,
    async drop() {
      for (const other of others) await other.close();
      await handle.close();
      await created.drop();
    },
  };
}

/** Declares the suite once per dialect; `db()` is that dialect's fresh database. */
export function eachDatabase(title: string, body: (db: () => TestDatabase) => void): void {
  for (const dialect of ['sqlite', 'postgres'] as const) {
    const skip = dialect === 'postgres' && postgresUnavailable !== undefined && process.env.CI !== 'true' ? postgresUnavailable : false;
    describe(`${title} (${dialect})`, { skip }, () => {
      let database: TestDatabase | undefined;
      before(async () => {
        database = await createTestDatabase(dialect);
      });
      after(async () => {
        await database?.drop();
      });
      body(() => {
        if (!database) throw new Error('the test database was not created');
        return database;
      });
    });
  }
}

/** Polls `read` until `done` holds for its value (the process under test works asynchronously). */
export async function waitFor<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  what = 'the expected state',
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}; last seen: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
