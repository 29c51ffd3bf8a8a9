import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { sql } from 'kysely';
import type { RateLimiterStoreAbstract as StoreAbstractType, IRateLimiterStoreOptions } from 'rate-limiter-flexible';
import { RateLimiterRes } from 'rate-limiter-flexible';
import type { Db } from '../db/index.js';

// rate-limiter-flexible's base for stores: it keeps keys found over their limit blocked in
// memory (no database trip for a client already refused) and falls back to an insurance
// limiter when the store fails. Its package exports the base only by path.
const require = createRequire(import.meta.url);
const RateLimiterStoreAbstract = require('rate-limiter-flexible/lib/RateLimiterStoreAbstract.js') as typeof StoreAbstractType;

type Row = { points: number; expire: number };

/** A key as stored: long ones (user names typed by strangers) become their hash. */
function storedKey(key: string): string {
  return key.length <= 200 ? key : `sha256:${createHash('sha256').update(key).digest('hex')}`;
}

/**
 * Counters in the rate_limits table (migration 024), through Kysely on either dialect: one
 * atomic upsert per counted request, so that every instance over one database enforces one
 * limit. A window is fixed: it starts with a key's first request and lasts `duration` seconds.
 */
export class DatabaseRateLimiter extends RateLimiterStoreAbstract {
  private readonly db: Db;

  constructor(db: Db, opts: Omit<IRateLimiterStoreOptions, 'storeClient'>) {
    super({ ...opts, storeClient: db });
    this.db = db;
  }

  // The methods below are rate-limiter-flexible's store interface.
  _getRateLimiterRes(_rlKey: string, changedPoints: number, row: Row | null): RateLimiterRes {
    const points = (this as unknown as { points: number }).points;
    const consumed = row ? Number(row.points) : 0;
    const msBeforeNext = row ? Math.max(Number(row.expire) - Date.now(), 0) : -1;
    return new RateLimiterRes(Math.max(points - consumed, 0), msBeforeNext, consumed, consumed === changedPoints);
  }

  /** How long `key` stays refused on this instance without asking the database (0: not blocked here). */
  blockedMs(key: string): number {
    const self = this as unknown as { getKey(k: string): string; getInMemoryBlockMsBeforeExpire(k: string): number };
    return self.getInMemoryBlockMsBeforeExpire(self.getKey(key));
  }

  async _upsert(rlKey: string, points: number, msDuration: number, forceExpire = false): Promise<Row> {
    const now = Date.now();
    const expire = now + (msDuration > 0 ? msDuration : 365 * 24 * 3600_000);
    const reset = forceExpire ? sql`1 = 1` : sql`rate_limits.expire <= ${now}`;
    const result = await sql<Row>`
      INSERT INTO rate_limits (limit_key, points, expire) VALUES (${storedKey(rlKey)}, ${points}, ${expire})
      ON CONFLICT (limit_key) DO UPDATE SET
        points = CASE WHEN ${reset} THEN excluded.points ELSE rate_limits.points + excluded.points END,
        expire = CASE WHEN ${reset} THEN excluded.expire ELSE rate_limits.expire END
      RETURNING points, expire`.execute(this.db);
    return result.rows[0];
  }

  async _get(rlKey: string): Promise<Row | null> {
    const result =
      await sql<Row>`SELECT points, expire FROM rate_limits WHERE limit_key = ${storedKey(rlKey)} AND expire > ${Date.now()}`.execute(
        this.db,
      );
    return result.rows[0] ?? null;
  }

  async _delete(rlKey: string): Promise<boolean> {
    const result = await sql`DELETE FROM rate_limits WHERE limit_key = ${storedKey(rlKey)}`.execute(this.db);
    return Number(result.numAffectedRows ?? 0) > 0;
  }
}

/** Removes counters whose window ended more than a minute ago; returns how many. */
export async function purgeExpiredRateLimits(db: Db, now = Date.now()): Promise<number> {
  const result = await sql`DELETE FROM rate_limits WHERE expire < ${now - 60_000}`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}
