import cluster from 'node:cluster';
import { sql, type Kysely, type Transaction } from 'kysely';
import { ClusterLockClient } from './cluster-locks.js';
import type { DialectHelpers } from './dialect.js';
import { KeyedRwLock, type LockMode, type RwLock } from './rw-lock.js';
import type { Database } from './types.js';

export type { LockMode } from './rw-lock.js';

export interface LockedWork<T> {
  /**
   * Storage work that must happen under the locks before the database writes (an upload
   * publishing its object). On PostgreSQL it runs inside the transaction, after the locks.
   */
  before?: () => Promise<void>;
  /**
   * Storage work that must happen under the locks after the database writes (GC deleting
   * objects). On PostgreSQL it runs before the commit (the locks end with the transaction)
   * and a failure rolls the writes back; on SQLite it runs after the commit.
   */
  after?: (value: T) => Promise<void>;
}

/**
 * A lock per blob digest with two modes, the safety of online garbage collection
 * (docs/ARCHITECTURE.md, "Garbage collection"). SHARED: anyone creating a reference to a
 * blob (an upload publishing it, a mount or copy linking it, a manifest naming it) for the
 * whole of the check-and-write. EXCLUSIVE: GC removing a link or sweeping a blob. Every
 * holder re-checks, under the lock, that what it relies on is still there.
 *
 * PostgreSQL: transaction-level advisory locks (pg_advisory_xact_lock_shared / _lock), taken
 * in key order at the start of the transaction, so instances share them. SQLite (one
 * machine, one writer): a reader-writer lock per digest, held around the transaction, so
 * that storage work outside the transaction (publishing a file) is covered too without
 * holding SQLite's only writer while the disk works; in the process, or with workers
 * (server.workers) in the cluster's primary (cluster-locks.ts).
 */
export interface BlobLocks {
  /** Runs `write` in a transaction while holding `mode` locks on every digest. */
  run<T>(mode: LockMode, digests: string[], write: (tx: Transaction<Database>) => Promise<T>, work?: LockedWork<T>): Promise<T>;
}

/** The 64-bit advisory lock key of a digest: the first 16 hex digits of its hash, signed. */
export function lockKey(digest: string): bigint {
  const hex = digest.slice(digest.indexOf(':') + 1, digest.indexOf(':') + 17);
  if (!/^[0-9a-f]{16}$/.test(hex)) throw new Error(`not a digest: ${digest}`);
  return BigInt.asIntN(64, BigInt(`0x${hex}`));
}

class PostgresBlobLocks implements BlobLocks {
  constructor(private readonly db: Kysely<Database>) {}

  async run<T>(mode: LockMode, digests: string[], write: (tx: Transaction<Database>) => Promise<T>, work: LockedWork<T> = {}): Promise<T> {
    const keys = [...new Set(digests.map(lockKey))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map(String);
    return this.db.transaction().execute(async (tx) => {
      if (keys.length === 1) {
        await (
          mode === 'shared'
            ? sql`select pg_advisory_xact_lock_shared(cast(${keys[0]} as bigint))`
            : sql`select pg_advisory_xact_lock(cast(${keys[0]} as bigint))`
        ).execute(tx);
      } else if (keys.length > 1) {
        // One round trip; the subquery (not flattened: OFFSET 0) hands keys over in order,
        // so two transactions never take the same keys in opposite orders.
        const fn = sql.raw(mode === 'shared' ? 'pg_advisory_xact_lock_shared' : 'pg_advisory_xact_lock');
        await sql`select ${fn}(k) from (select k from unnest(cast(${keys} as bigint[])) as t(k) order by k offset 0) as s`.execute(tx);
      }
      await work.before?.();
      const value = await write(tx);
      await work.after?.(value);
      return value;
    });
  }
}

class SqliteBlobLocks implements BlobLocks {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly lock: RwLock,
  ) {}

  async run<T>(mode: LockMode, digests: string[], write: (tx: Transaction<Database>) => Promise<T>, work: LockedWork<T> = {}): Promise<T> {
    const release = await this.lock.acquire(digests, mode);
    try {
      await work.before?.();
      const value = await this.db.transaction().execute(write);
      await work.after?.(value);
      return value;
    } finally {
      release();
    }
  }
}

const byDatabase = new WeakMap<object, BlobLocks>();

/**
 * The blob locks of a database. One instance per Kysely instance, so that every store of a
 * process (the registry's, GC's) shares the in-process locks on SQLite.
 */
export function blobLocksFor(db: Kysely<Database>, dialect: DialectHelpers): BlobLocks {
  let locks = byDatabase.get(db);
  if (!locks) {
    locks =
      dialect.name === 'postgres'
        ? new PostgresBlobLocks(db)
        : // Workers of one Berth (server.workers) share the primary's lock table.
          new SqliteBlobLocks(db, cluster.isWorker ? new ClusterLockClient() : new KeyedRwLock());
    byDatabase.set(db, locks);
  }
  return locks;
}
