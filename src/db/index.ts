import { mkdirSync } from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, type Migration, type SqliteDatabase } from 'kysely';
import pg from 'pg';
import { resolvePaths } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { dialectHelpers, type DialectHelpers } from './dialect.js';
import { migrations } from './migrations/index.js';
import { TransactionAwareSqliteDialect } from './sqlite-dialect.js';
import type { Database } from './types.js';

export type Db = Kysely<Database>;

export interface DatabaseHandle {
  db: Db;
  dialect: DialectHelpers;
  close(): Promise<void>;
}

/** Opens the database `database.url` names: SQLite (the default) or PostgreSQL. */
export function openDatabase(config: Config, options: { onError?: (err: Error) => void } = {}): DatabaseHandle {
  const paths = resolvePaths(config);
  if (paths.postgresUrl !== null) {
    return openPostgres(paths.postgresUrl, { maxConnections: config.database.max_connections, onError: options.onError });
  }
  return openSqlite(paths.sqliteFile!);
}

const pgInt8 = 20;
const pgNumeric = 1700;

/**
 * How values come back from PostgreSQL: as from SQLite. int8 (ids, sizes, counts, bigint
 * columns) and numeric (what sum() of a bigint gives) as JavaScript numbers, which hold
 * every integer below 2^53 exactly: far above any id, and 8 PiB of bytes. bytea stays a
 * Buffer (pg's default). Set per pool, not on pg's global parsers.
 */
const pgTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === pgInt8 || oid === pgNumeric) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format as 'text');
  },
} as pg.CustomTypesConfig;

export interface PostgresOptions {
  /** Connections the pool keeps at most. */
  maxConnections?: number;
  /** Errors of idle connections (the server restarted or ended them); without it they are ignored, not fatal. */
  onError?: (err: Error) => void;
}

/** Kysely over a pg connection pool. The URL is a libpq-style postgres:// or postgresql:// URL. */
export function openPostgres(url: string, options: PostgresOptions = {}): DatabaseHandle {
  const pool = new pg.Pool({ connectionString: url, max: options.maxConnections ?? 20, types: pgTypes });
  // An idle connection that breaks emits 'error' on the pool; unhandled, that would end the process.
  pool.on('error', (err) => options.onError?.(err));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, dialect: dialectHelpers('postgres'), close: () => db.destroy() };
}

export function openSqlite(file: string): DatabaseHandle {
  mkdirSync(path.dirname(file), { recursive: true });
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  // FULL: an acknowledged push survives power loss, not only a crash of the process.
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new TransactionAwareSqliteDialect({ database: withStatementCache(sqlite) }, sqlite) });
  return { db, dialect: dialectHelpers('sqlite'), close: () => db.destroy() };
}

/**
 * Kysely's SQLite driver prepares every query anew, and on the data path preparing (parsing
 * and planning the SQL) costs more than running it. This keeps the most recently used
 * prepared statements by SQL text. A statement still being iterated (a streamed query) is
 * busy and is not handed out again; a fresh one is prepared instead.
 */
function withStatementCache(sqlite: SQLite.Database, max = 1000): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(sql: string) {
      const cached = cache.get(sql);
      if (cached && !cached.busy) {
        // Most recently used last, so that the first key is the one to evict.
        cache.delete(sql);
        cache.set(sql, cached);
        return cached;
      }
      const statement = sqlite.prepare(sql);
      if (!cached) {
        cache.set(sql, statement);
        if (cache.size > max) cache.delete(cache.keys().next().value!);
      }
      return statement;
    },
  };
}

/** Applies every pending migration; safe to run at every start. */
export async function migrate(handle: DatabaseHandle): Promise<string[]> {
  const provider = {
    async getMigrations(): Promise<Record<string, Migration>> {
      return Object.fromEntries(
        Object.entries(migrations).map(([name, m]) => [name, { up: (db: Kysely<any>) => m.up(db, handle.dialect) }]),
      );
    },
  };
  const migrator = new Migrator({ db: handle.db, provider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
