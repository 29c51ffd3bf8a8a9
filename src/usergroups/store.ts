import type { Db } from '../db/index.js';
import { countRows, likeFragment } from '../db/query.js';
import { writeAudit, type AuditEntry } from '../events/audit.js';
import type { Paging } from '../lib/paging.js';
import { isUniqueViolation } from '../db/errors.js';

/** A stored user group. */
export interface UserGroupRow {
  id: number;
  group_name: string;
  group_type: number;
  ldap_group_dn: string;
  group_key: string;
}

/** A group to store: its key decides whether it already exists (see groupKey). */
export interface NewGroup {
  group_name: string;
  group_type: number;
  ldap_group_dn: string;
  group_key: string;
}

export interface GroupFilter {
  /** Only these types (none: every type). */
  types?: number[];
  /** Names containing this (any case). */
  nameContains?: string;
  /** LDAP groups with this DN (any case). */
  ldapDn?: string;
}

const columns = ['id', 'group_name', 'group_type', 'ldap_group_dn', 'group_key'] as const;

function normalized(row: UserGroupRow): UserGroupRow {
  return { ...row, id: Number(row.id), group_type: Number(row.group_type) };
}

export class UserGroupStore {
  constructor(private readonly db: Db) {}

  private filtered(filter: GroupFilter) {
    let qb = this.db.selectFrom('user_groups').select(columns);
    if (filter.types && filter.types.length > 0) qb = qb.where('group_type', 'in', filter.types);
    if (filter.nameContains) qb = qb.where(likeFragment('group_name', filter.nameContains));
    // A type-1 group's key is its DN in lower case.
    if (filter.ldapDn) qb = qb.where('group_type', '=', 1).where('group_key', '=', filter.ldapDn.trim().toLowerCase());
    return qb;
  }

  async list(filter: GroupFilter, paging: Paging): Promise<{ items: UserGroupRow[]; total: number }> {
    const qb = this.filtered(filter);
    const total = await countRows(qb);
    const rows = await qb.orderBy('group_name').orderBy('id').limit(paging.pageSize).offset(paging.offset).execute();
    return { items: rows.map(normalized), total };
  }

  async byId(id: number): Promise<UserGroupRow | undefined> {
    const row = await this.db.selectFrom('user_groups').select(columns).where('id', '=', id).executeTakeFirst();
    return row && normalized(row);
  }

  async byKey(groupType: number, key: string): Promise<UserGroupRow | undefined> {
    const row = await this.db
      .selectFrom('user_groups')
      .select(columns)
      .where('group_type', '=', groupType)
      .where('group_key', '=', key)
      .executeTakeFirst();
    return row && normalized(row);
  }

  /** Groups with exactly this name, of one type or (no type) of any, oldest first. */
  async byName(name: string, groupType?: number): Promise<UserGroupRow[]> {
    let qb = this.db.selectFrom('user_groups').select(columns).where('group_name', '=', name);
    if (groupType !== undefined) qb = qb.where('group_type', '=', groupType);
    return (await qb.orderBy('id').execute()).map(normalized);
  }

  /** Stores a group with its audit record; null when its key (or, caught earlier, its name) is taken. */
  async insert(group: NewGroup, now: string, audit: AuditEntry): Promise<number | null> {
    try {
      return await this.db.transaction().execute(async (tx) => {
        const row = await tx
          .insertInto('user_groups')
          .values({ ...group, creation_time: now, update_time: now })
          .returning('id')
          .executeTakeFirstOrThrow();
        await writeAudit(tx, audit);
        return Number(row.id);
      });
    } catch (err) {
      if (isUniqueViolation(err)) return null;
      throw err;
    }
  }

  /**
   * Stores the groups not yet known and returns every group's row, in the order given. An
   * insert that loses a race with another instance is ignored, and the winner's row is read.
   */
  async ensure(groups: NewGroup[], now: string): Promise<UserGroupRow[]> {
    if (groups.length === 0) return [];
    const groupType = groups[0]!.group_type;
    await this.db
      .insertInto('user_groups')
      .values(groups.map((g) => ({ ...g, creation_time: now, update_time: now })))
      .onConflict((oc) => oc.columns(['group_type', 'group_key']).doNothing())
      .execute();
    const rows = await this.db
      .selectFrom('user_groups')
      .select(columns)
      .where('group_type', '=', groupType)
      .where(
        'group_key',
        'in',
        groups.map((g) => g.group_key),
      )
      .execute();
    const byKey = new Map(rows.map((r) => [r.group_key, normalized(r)]));
    return groups.map((g) => byKey.get(g.group_key)).filter((r): r is UserGroupRow => r !== undefined);
  }

  /** Changes a group's name (and, for the types keyed by name, its key); false when the group is gone. */
  async rename(id: number, name: string, key: string, now: string, audit: AuditEntry): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      const result = await tx
        .updateTable('user_groups')
        .set({ group_name: name, group_key: key, update_time: now })
        .where('id', '=', id)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) return false;
      await writeAudit(tx, audit);
      return true;
    });
  }

  /** Deletes a group, its project memberships and its users' memberships, with the audit records, at once. */
  async delete(id: number, audit: AuditEntry[]): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('project_members').where('entity_type', '=', 'g').where('entity_id', '=', id).execute();
      await tx.deleteFrom('user_group_members').where('group_id', '=', id).execute();
      const result = await tx.deleteFrom('user_groups').where('id', '=', id).executeTakeFirst();
      if (Number(result.numDeletedRows) === 0) return false;
      await writeAudit(tx, audit);
      return true;
    });
  }

  /** The projects a group is a member of (named for the audit records of its removal). */
  async projectMemberships(id: number): Promise<Array<{ project_id: number; project_name: string }>> {
    const rows = await this.db
      .selectFrom('project_members as m')
      .innerJoin('projects as p', 'p.id', 'm.project_id')
      .select(['m.project_id', 'p.name as project_name'])
      .where('m.entity_type', '=', 'g')
      .where('m.entity_id', '=', id)
      .execute();
    return rows.map((r) => ({ project_id: Number(r.project_id), project_name: r.project_name }));
  }

  /** Replaces the user's memberships of groups of this type with these groups, in one transaction. */
  async replaceMemberships(userId: number, groupType: number, groupIds: number[]): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      // Locks the user's row (PostgreSQL): two sign-ins of one user replace the list one after
      // the other, so the last one wins whole rather than both lists merging.
      await tx
        .updateTable('users')
        .set((eb) => ({ group_admin: eb.ref('group_admin') }))
        .where('id', '=', userId)
        .execute();
      await tx
        .deleteFrom('user_group_members')
        .where('user_id', '=', userId)
        .where('group_id', 'in', (eb) => eb.selectFrom('user_groups').select('id').where('group_type', '=', groupType))
        .execute();
      if (groupIds.length === 0) return;
      await tx
        .insertInto('user_group_members')
        .values(groupIds.map((groupId) => ({ user_id: userId, group_id: groupId })))
        // Another sign-in of the same user may have put the row there meanwhile.
        .onConflict((oc) => oc.columns(['user_id', 'group_id']).doNothing())
        .execute();
    });
  }

  /** The ids of the groups a user is in. */
  async groupIdsOf(userId: number): Promise<number[]> {
    const rows = await this.db.selectFrom('user_group_members').select('group_id').where('user_id', '=', userId).execute();
    return rows.map((r) => Number(r.group_id));
  }
}
