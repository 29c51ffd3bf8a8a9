import { sql, type Kysely } from 'kysely';
import type { DialectHelpers } from '../db/dialect.js';
import type { Database } from '../db/types.js';

/**
 * The database server's clock, as seen from this process. Leases, retries and schedule
 * ticks are compared across instances, so they are all read from one clock: each instance
 * measures its offset from the database's (at start and at every heartbeat) and adds it
 * to its own. A skewed host clock then moves nothing but the precision of that offset.
 */
export class DbClock {
  private offsetMs = 0;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: DialectHelpers,
  ) {}

  /** Unix milliseconds by the database's clock. */
  now(): number {
    return Date.now() + this.offsetMs;
  }

  /** ISO-8601 (UTC, milliseconds) of now plus `deltaMs`: the form every time column holds. */
  iso(deltaMs = 0): string {
    return new Date(this.now() + deltaMs).toISOString();
  }

  /** Measures the offset from the database's clock, halving the round trip. */
  async sync(): Promise<void> {
    const before = Date.now();
    const { rows } = await sql<{ ms: number | string }>`select ${this.dialect.currentTimeMs} as ms`.execute(this.db);
    const after = Date.now();
    const serverMs = Number(rows[0]?.ms);
    if (Number.isFinite(serverMs)) this.offsetMs = Math.round(serverMs - (before + after) / 2);
  }
}
