import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, sql, type Dialect, type Migration, type SqliteDatabase } from 'kysely';
import type Pg from 'pg';
import { resolvePaths } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { dialectHelpers, type DialectHelpers } from './dialect.js';
import { migrations } from './migrations/index.js';
import { TransactionAwareSqliteDialect } from './sqlite-dialect.js';
import { WalSync } from './wal-sync.js';
import type { Database } from './types.js';

export type Db = Kysely<Database>;

export interface DatabaseHandle {
  db: Db;
  dialect: DialectHelpers;
  close(): Promise<void>;
  /** PostgreSQL: the pool's connections now (for metrics); absent on SQLite (one connection). */
  poolStats?(): { total: number; idle: number; waiting: number; max: number };
  /** SQLite: fsyncs of the write-ahead log so far (one covers every commit that waited for it). */
  logSyncs?(): number;
  /**
   * SQLite: a number that changes whenever a change may have been made to the database since
   * it was last read — a statement of this process that writes, a commit or rollback, or a
   * commit by any other connection (PRAGMA data_version). Reads kept under one stamp are
   * exact while it holds (db/read-cache.ts). Absent on PostgreSQL.
   */
  changeStamp?(): number;
}

/** Wraps the dialect a database is opened with (tracing's span per query). */
export type DialectWrapper = (dialect: Dialect, system: 'sqlite' | 'postgresql') => Dialect;

/** Opens the database `database.url` names: SQLite (the default) or PostgreSQL. */
export function openDatabase(
  config: Config,
  options: { onError?: (err: Error) => void; wrapDialect?: DialectWrapper } = {},
): DatabaseHandle {
  const paths = resolvePaths(config);
  if (paths.postgresUrl !== null) {
    return openPostgres(paths.postgresUrl, {
      maxConnections: config.database.max_connections,
      onError: options.onError,
      wrapDialect: options.wrapDialect,
    });
  }
  return openSqlite(paths.sqliteFile!, { wrapDialect: options.wrapDialect });
}

const pgInt8 = 20;
const pgNumeric = 1700;

/**
 * How values come back from PostgreSQL: as from SQLite. int8 (ids, sizes, counts, bigint
 * columns) and numeric (what sum() of a bigint gives) as JavaScript numbers, which hold
 * every integer below 2^53 exactly: far above any id, and 8 PiB of bytes. bytea stays a
 * Buffer (pg's default). Set per pool, not on pg's global parsers.
 */
function pgTypes(pg: typeof Pg): Pg.CustomTypesConfig {
  return {
    getTypeParser(oid: number, format?: 'text' | 'binary') {
      if (oid === pgInt8 || oid === pgNumeric) return (value: string) => Number(value);
      return pg.types.getTypeParser(oid, format as 'text');
    },
  } as Pg.CustomTypesConfig;
}

/** pg is loaded by the first PostgreSQL pool: an embedded Berth never needs it. */
function loadPg(): typeof Pg {
  return createRequire(import.meta.url)('pg') as typeof Pg;
}

export interface PostgresOptions {
  /** Connections the pool keeps at most. */
  maxConnections?: number;
  /** Errors of idle connections (the server restarted or ended them); without it they are ignored, not fatal. */
  onError?: (err: Error) => void;
  wrapDialect?: DialectWrapper;
}

/** Kysely over a pg connection pool. The URL is a libpq-style postgres:// or postgresql:// URL. */
export function openPostgres(url: string, options: PostgresOptions = {}): DatabaseHandle {
  const pg = loadPg();
  const pool = new pg.Pool({ connectionString: url, max: options.maxConnections ?? 20, types: pgTypes(pg) });
  // An idle connection that breaks emits 'error' on the pool; unhandled, that would end the process.
  pool.on('error', (err) => options.onError?.(err));
  // So does a connection checked out between two statements (a transaction in progress) when
  // the server ends it (a restart: 57P01): pg emits 'error' on the client, which the pool
  // listens to only while the client is idle. The transaction's next statement fails instead,
  // and the pool discards the broken client when it comes back.
  pool.on('connect', (client) => client.on('error', (err) => options.onError?.(err)));
  const dialect = new PostgresDialect({ pool });
  const db = new Kysely<Database>({ dialect: options.wrapDialect ? options.wrapDialect(dialect, 'postgresql') : dialect });
  const max = options.maxConnections ?? 20;
  const poolStats = () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max });
  return { db, dialect: dialectHelpers('postgres'), close: () => db.destroy(), poolStats };
}

export function openSqlite(file: string, options: { wrapDialect?: DialectWrapper } = {}): DatabaseHandle {
  mkdirSync(path.dirname(file), { recursive: true });
  const sqlite = new SQLite(file);
  const wal = sqlite.pragma('journal_mode = WAL', { simple: true }) === 'wal';
  // NORMAL: a commit does not wait for an fsync on the event loop's thread; the driver syncs
  // the log before a request that wrote is answered (group commit, wal-sync.ts), so an
  // acknowledged push still survives power loss, not only a crash of the process. Where the
  // filesystem refuses WAL mode, FULL makes every commit sync its journal itself.
  sqlite.pragma(wal ? 'synchronous = NORMAL' : 'synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const writes = { pending: false, generation: 0 };
  const walSync = new WalSync(`${file}-wal`);
  const durability = wal ? { writes, walSync } : null;
  const dialect = new TransactionAwareSqliteDialect({ database: withStatementCache(sqlite, writes) }, sqlite, durability);
  const db = new Kysely<Database>({ dialect: options.wrapDialect ? options.wrapDialect(dialect, 'sqlite') : dialect });
  return {
    db,
    dialect: dialectHelpers('sqlite'),
    logSyncs: () => walSync.syncs,
    changeStamp: changeStampOf(sqlite, writes),
    close: async () => {
      await db.destroy();
      await walSync.close();
    },
  };
}

/** The handle's changeStamp: this process's write generation, moved on when another connection committed. */
function changeStampOf(sqlite: SQLite.Database, writes: { generation: number }): () => number {
  const dataVersion = sqlite.prepare('pragma data_version').pluck();
  let seen = dataVersion.get();
  return () => {
    const version = dataVersion.get();
    if (version !== seen) {
      seen = version;
      writes.generation++;
    }
    return writes.generation;
  };
}

/**
 * Kysely's SQLite driver prepares every query anew, and on the data path preparing (parsing
 * and planning the SQL) costs more than running it. This keeps the most recently used
 * prepared statements by SQL text. A statement still being iterated (a streamed query) is
 * busy and is not handed out again; a fresh one is prepared instead. Each statement handed
 * out that writes, or that commits, marks `writes.pending` (the driver then syncs the log);
 * those and rollbacks move `writes.generation` on (the handle's changeStamp).
 */
function withStatementCache(sqlite: SQLite.Database, writes: { pending: boolean; generation: number }, max = 1000): SqliteDatabase {
  const cache = new Map<string, { statement: SQLite.Statement; writes: boolean; changes: boolean }>();
  const writesOf = (sql: string, statement: SQLite.Statement) => !statement.readonly || /^\s*(commit|end)\b/i.test(sql);
  const handOut = (entry: { writes: boolean; changes: boolean }) => {
    if (entry.writes) writes.pending = true;
    if (entry.changes) writes.generation++;
  };
  return {
    close: () => sqlite.close(),
    prepare(sql: string) {
      const cached = cache.get(sql);
      if (cached && !cached.statement.busy) {
        // Most recently used last, so that the first key is the one to evict.
        cache.delete(sql);
        cache.set(sql, cached);
        handOut(cached);
        return cached.statement;
      }
      const statement = sqlite.prepare(sql);
      const written = writesOf(sql, statement);
      const entry = { statement, writes: written, changes: written || /^\s*rollback\b/i.test(sql) };
      handOut(entry);
      if (!cached) {
        cache.set(sql, entry);
        if (cache.size > max) cache.delete(cache.keys().next().value!);
      }
      return statement;
    },
  };
}

/** How long an instance waits for another one's migrations (SQLite) before giving up. */
const migrationWaitMs = 10 * 60 * 1000;

/**
 * Applies every pending migration; safe to run at every start, and by several instances
 * starting at once: one applies them while the others wait, then find nothing pending.
 * PostgreSQL: Kysely's migrator holds a session advisory lock and runs the migrations in one
 * transaction. SQLite: Kysely takes no lock there (it assumes one process), so two processes
 * would both see a migration pending and the second would fail half way; the migrations run
 * instead inside one BEGIN IMMEDIATE transaction (the database's write lock, taken before the
 * list of applied migrations is read), and a second process waits for it.
 */
export async function migrate(handle: DatabaseHandle): Promise<string[]> {
  const provider = {
    async getMigrations(): Promise<Record<string, Migration>> {
      return Object.fromEntries(
        Object.entries(migrations).map(([name, m]) => [name, { up: (db: Kysely<any>) => m.up(db, handle.dialect) }]),
      );
    },
  };
  const sqlite = handle.dialect.name === 'sqlite';
  const migrator = new Migrator({ db: handle.db, provider, disableTransactions: sqlite });
  if (!sqlite) return outcome(await migrator.migrateToLatest());
  // Kysely's SQLite driver has one connection: every statement below runs on it, in this transaction.
  const timeout = (await sql<{ timeout: number }>`pragma busy_timeout`.execute(handle.db)).rows[0].timeout;
  await sql.raw(`pragma busy_timeout = ${migrationWaitMs}`).execute(handle.db);
  try {
    await sql`begin immediate`.execute(handle.db);
    let result: Awaited<ReturnType<Migrator['migrateToLatest']>>;
    try {
      result = await migrator.migrateToLatest();
    } catch (err) {
      await sql`rollback`.execute(handle.db);
      throw err;
    }
    await sql.raw(result.error ? 'rollback' : 'commit').execute(handle.db);
    return outcome(result);
  } finally {
    await sql.raw(`pragma busy_timeout = ${Number(timeout)}`).execute(handle.db);
  }
}

function outcome({ error, results }: Awaited<ReturnType<Migrator['migrateToLatest']>>): string[] {
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
