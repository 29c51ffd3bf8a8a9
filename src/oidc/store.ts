import type { Db } from '../db/index.js';
import type { OidcUsersTable } from '../db/types.js';
import { writeAudit, type AuditEntry } from '../events/audit.js';
import { nowIso } from '../lib/clock.js';

export type OidcUserRow = OidcUsersTable;

/** oidc_users: an OIDC user's subject, sealed CLI secret and sealed provider tokens. */
export class OidcUserStore {
  constructor(private readonly db: Db) {}

  async byUserId(userId: number): Promise<OidcUserRow | undefined> {
    const row = await this.db.selectFrom('oidc_users').selectAll().where('user_id', '=', userId).executeTakeFirst();
    return row && normalize(row);
  }

  async bySubiss(subiss: string): Promise<OidcUserRow | undefined> {
    const row = await this.db.selectFrom('oidc_users').selectAll().where('subiss', '=', subiss).executeTakeFirst();
    return row && normalize(row);
  }

  /** The user with this email, if any (onboarding refuses an email another account uses, as Harbor does). */
  userByEmail(email: string): Promise<{ id: number } | undefined> {
    return this.db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst();
  }

  /** Throws on a unique violation (the subject or the user is already linked). */
  async insert(row: { userId: number; subiss: string; secret: string; token: string; tokenExpiresAt: number }): Promise<void> {
    const now = nowIso();
    await this.db
      .insertInto('oidc_users')
      .values({
        user_id: row.userId,
        subiss: row.subiss,
        secret: row.secret,
        token: row.token,
        token_expires_at: row.tokenExpiresAt,
        creation_time: now,
        update_time: now,
      })
      .execute();
  }

  async setToken(userId: number, token: string, tokenExpiresAt: number): Promise<void> {
    await this.db
      .updateTable('oidc_users')
      .set({ token, token_expires_at: tokenExpiresAt, update_time: nowIso() })
      .where('user_id', '=', userId)
      .execute();
  }

  async setSecret(userId: number, secret: string, audit: AuditEntry): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.updateTable('oidc_users').set({ secret, update_time: nowIso() }).where('user_id', '=', userId).execute();
      await writeAudit(tx, audit);
    });
  }
}

/** PostgreSQL returns bigint columns as strings. */
function normalize(row: OidcUserRow): OidcUserRow {
  return { ...row, user_id: Number(row.user_id), token_expires_at: Number(row.token_expires_at) };
}
