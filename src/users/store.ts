import type { Db } from '../db/index.js';
import { writeAudit, type AuditEntry } from '../events/audit.js';
import { applyQuery, applySort, countRows, likeFragment, type Field } from '../db/query.js';
import type { User } from '../db/types.js';
import type { Paging } from '../lib/paging.js';
import type { QueryTerm } from '../lib/query.js';

export const userFields: Record<string, Field> = {
  username: { column: 'username', type: 'string' },
  email: { column: 'email', type: 'string' },
  realname: { column: 'realname', type: 'string' },
  sysadmin_flag: { column: 'sysadmin', type: 'boolean' },
  user_id: { column: 'id', type: 'number' },
  creation_time: { column: 'creation_time', type: 'time' },
  update_time: { column: 'update_time', type: 'time' },
};

export interface NewUser {
  username: string;
  email: string;
  realname: string;
  comment: string;
  password_hash: string;
  sysadmin: boolean;
  now: string;
}

export class UserStore {
  constructor(private readonly db: Db) {}

  byId(id: number): Promise<User | undefined> {
    return this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  }

  byUsername(username: string): Promise<User | undefined> {
    return this.db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
  }

  byEmail(email: string): Promise<User | undefined> {
    return this.db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
  }

  /** Inserts a user and, in the same transaction, its audit record. */
  async insert(u: NewUser, audit?: AuditEntry): Promise<User> {
    return this.db.transaction().execute(async (tx) => {
      const user = await tx
        .insertInto('users')
        .values({
          username: u.username,
          email: u.email,
          realname: u.realname,
          comment: u.comment,
          password_hash: u.password_hash,
          sysadmin: u.sysadmin ? 1 : 0,
          creation_time: u.now,
          update_time: u.now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      if (audit) await writeAudit(tx, audit);
      return user;
    });
  }

  async update(
    id: number,
    changes: Partial<Pick<User, 'email' | 'realname' | 'comment' | 'password_hash' | 'sysadmin'>>,
    now: string,
    audit: AuditEntry,
  ): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx
        .updateTable('users')
        .set({ ...changes, update_time: now })
        .where('id', '=', id)
        .execute();
      await writeAudit(tx, audit);
    });
  }

  async setGroupAdmin(id: number, admin: boolean): Promise<void> {
    await this.db
      .updateTable('users')
      .set({ group_admin: admin ? 1 : 0 })
      .where('id', '=', id)
      .where('group_admin', '!=', admin ? 1 : 0)
      .execute();
  }

  async delete(id: number, audit: AuditEntry): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('users').where('id', '=', id).execute();
      await writeAudit(tx, audit);
    });
  }

  async count(): Promise<number> {
    const row = await this.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async list(terms: QueryTerm[], sort: string | undefined, paging: Paging): Promise<{ items: User[]; total: number }> {
    const filtered = applyQuery(this.db.selectFrom('users'), terms, userFields);
    const total = await countRows(filtered);
    const items = await applySort(filtered.selectAll(), sort, userFields, { column: 'id', direction: 'asc' })
      .limit(paging.pageSize)
      .offset(paging.offset)
      .execute();
    return { items, total };
  }

  async search(fragment: string, paging: Paging): Promise<{ items: Array<{ id: number; username: string }>; total: number }> {
    const base = this.db.selectFrom('users').where(likeFragment('username', fragment));
    const total = await countRows(base);
    const items = await base.select(['id', 'username']).orderBy('username').limit(paging.pageSize).offset(paging.offset).execute();
    return { items: items.map((i) => ({ id: Number(i.id), username: i.username })), total };
  }
}
