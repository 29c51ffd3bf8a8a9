import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../db/index.js';
import { nowIso } from '../lib/clock.js';

export interface Session {
  userId: number;
  csrfToken: string;
}

function hashId(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}

/**
 * Portal sessions, kept in the database so that any instance can serve any request.
 * Only a hash of the session id is stored; the id itself lives in the HTTP-only cookie.
 */
export class SessionStore {
  constructor(
    private readonly db: Db,
    /** A function follows the session_timeout setting as it changes. */
    private readonly ttl: number | (() => number),
  ) {}

  private get ttlMs(): number {
    return typeof this.ttl === 'function' ? this.ttl() : this.ttl;
  }

  async create(userId: number): Promise<{ id: string; csrfToken: string }> {
    const id = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(24).toString('base64url');
    await this.db
      .insertInto('sessions')
      .values({ id_hash: hashId(id), user_id: userId, csrf_token: csrfToken, expires_at: Date.now() + this.ttlMs, created_at: nowIso() })
      .execute();
    return { id, csrfToken };
  }

  /** The live session for a cookie value; sliding expiry, refreshed at most once a minute. */
  async find(id: string): Promise<Session | null> {
    const row = await this.db.selectFrom('sessions').selectAll().where('id_hash', '=', hashId(id)).executeTakeFirst();
    if (!row) return null;
    const now = Date.now();
    if (Number(row.expires_at) < now) {
      await this.delete(id);
      return null;
    }
    if (Number(row.expires_at) - now < this.ttlMs - 60_000) {
      await this.db
        .updateTable('sessions')
        .set({ expires_at: now + this.ttlMs })
        .where('id_hash', '=', row.id_hash)
        .execute();
    }
    return { userId: Number(row.user_id), csrfToken: row.csrf_token };
  }

  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('id_hash', '=', hashId(id)).execute();
  }

  /** Ends every session of a user, but the one given (the session that made the change may stay). */
  async endForUser(userId: number, keep?: string): Promise<void> {
    let query = this.db.deleteFrom('sessions').where('user_id', '=', userId);
    if (keep !== undefined) query = query.where('id_hash', '!=', hashId(keep));
    await query.execute();
  }

  async purgeExpired(): Promise<void> {
    await this.db.deleteFrom('sessions').where('expires_at', '<', Date.now()).execute();
  }
}
