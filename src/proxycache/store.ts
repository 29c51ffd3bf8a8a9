import { sql } from 'kysely';
import type { DialectHelpers } from '../db/dialect.js';
import type { Db } from '../db/index.js';

export interface FetchHolder {
  owner: string;
  repository: string;
  /** Milliseconds until the lease ends, on the database's clock (negative: expired). */
  remainingMs: number;
}

/**
 * `proxy_fetches` (migration 018): who fetches which blob from an upstream right now, so that
 * instances sharing a database fetch each blob once. Times are the database's, so instances
 * whose clocks differ still agree on when a lease ends.
 */
export class ProxyFetchStore {
  constructor(
    private readonly db: Db,
    private readonly dialect: DialectHelpers,
  ) {}

  private expiry(leaseMs: number) {
    return sql<number>`${this.dialect.currentTimeMs} + ${leaseMs}`;
  }

  /** Takes the fetch of `digest` (a new row, or one whose lease has ended); false when another holds it. */
  async claim(digest: string, owner: string, repository: string, leaseMs: number, now: string): Promise<boolean> {
    const inserted = await this.db
      .insertInto('proxy_fetches')
      .values({ digest, owner, repository, started_at: now, expires_at: this.expiry(leaseMs) })
      .onConflict((oc) => oc.column('digest').doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0) return true;
    const taken = await this.db
      .updateTable('proxy_fetches')
      .set({ owner, repository, started_at: now, expires_at: this.expiry(leaseMs) })
      .where('digest', '=', digest)
      .where('expires_at', '<', this.dialect.currentTimeMs)
      .executeTakeFirst();
    return Number(taken.numUpdatedRows) > 0;
  }

  /** Extends a lease this owner holds; false when it is no longer its own. */
  async extend(digest: string, owner: string, leaseMs: number): Promise<boolean> {
    const result = await this.db
      .updateTable('proxy_fetches')
      .set({ expires_at: this.expiry(leaseMs) })
      .where('digest', '=', digest)
      .where('owner', '=', owner)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async release(digest: string, owner: string): Promise<void> {
    await this.db.deleteFrom('proxy_fetches').where('digest', '=', digest).where('owner', '=', owner).execute();
  }

  async holder(digest: string): Promise<FetchHolder | undefined> {
    const row = await this.db
      .selectFrom('proxy_fetches')
      .select(['owner', 'repository', sql<number>`expires_at - ${this.dialect.currentTimeMs}`.as('remaining')])
      .where('digest', '=', digest)
      .executeTakeFirst();
    return row && { owner: row.owner, repository: row.repository, remainingMs: Number(row.remaining) };
  }
}
