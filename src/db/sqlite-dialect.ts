import type SQLite from 'better-sqlite3';
import { CompiledQuery, SqliteDialect, SqliteDriver, type DatabaseConnection, type Driver, type SqliteDialectConfig } from 'kysely';
import type { WalSync } from './wal-sync.js';

/** Whether statements that write ran since the connection was last released, and the log's group commit (null: not in WAL mode). */
export interface SqliteDurability {
  writes: { pending: boolean };
  walSync: WalSync;
}

/**
 * Kysely's SQLite driver, told whether the connection is really in a transaction.
 *
 * When a statement or the COMMIT fails with SQLITE_FULL (a full disk), SQLITE_IOERR,
 * SQLITE_BUSY or SQLITE_NOMEM, SQLite may already have rolled the transaction back. Kysely
 * then issues ROLLBACK anyway, which fails with "cannot rollback - no transaction is active",
 * and that error replaces the one that says what happened: a push on a full disk answered
 * 500 instead of 507 "storage is full". So ROLLBACK is only sent when a transaction is open,
 * and a transaction left open by a failure that could not be rolled back is ended before the
 * next one begins, instead of silently holding every later write.
 *
 * And durable before it is released: when the connection is given back after statements that
 * wrote, and no transaction is left open, the caller waits for the write-ahead log to be on
 * disk (wal-sync.ts), with the connection already free for the next request.
 */
class TransactionAwareSqliteDriver extends SqliteDriver {
  constructor(
    config: SqliteDialectConfig,
    private readonly sqlite: SQLite.Database,
    private readonly durability: SqliteDurability | null,
  ) {
    super(config);
  }

  override async releaseConnection(): Promise<void> {
    const durability = this.durability;
    const sync = durability !== null && durability.writes.pending && !this.sqlite.inTransaction;
    if (sync) durability.writes.pending = false;
    await super.releaseConnection();
    if (sync) await durability.walSync.durable();
  }

  /**
   * IMMEDIATE: the database's write lock is taken at BEGIN, not at the first write. With one
   * process it changes nothing (one connection, one transaction at a time); with workers
   * (server.workers) a deferred transaction that read and then wrote while another process
   * held the lock would fail with SQLITE_BUSY at once, where this one waits its turn
   * (busy_timeout) before it reads, so what it read is still true when it writes.
   */
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    if (this.sqlite.inTransaction) await super.rollbackTransaction(connection);
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }

  override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    if (this.sqlite.inTransaction) await super.rollbackTransaction(connection);
  }
}

export class TransactionAwareSqliteDialect extends SqliteDialect {
  constructor(
    private readonly settings: SqliteDialectConfig,
    private readonly sqlite: SQLite.Database,
    private readonly durability: SqliteDurability | null,
  ) {
    super(settings);
  }

  override createDriver(): Driver {
    return new TransactionAwareSqliteDriver(this.settings, this.sqlite, this.durability);
  }
}
