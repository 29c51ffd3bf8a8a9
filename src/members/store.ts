import type { Db } from '../db/index.js';
import { countRows, likeFragment } from '../db/query.js';
import { isRoleId, type RoleId } from '../auth/rbac.js';
import { writeAudit, type AuditEntry } from '../events/audit.js';
import type { Paging } from '../lib/paging.js';

/** A user member with the user's name (members whose user is gone are not listed). */
export interface MemberRow {
  id: number;
  project_id: number;
  entity_type: string;
  entity_id: number;
  role_id: number;
  entity_name: string;
}

function isUniqueViolation(err: unknown): boolean {
  return /unique|duplicate/i.test((err as Error)?.message ?? '');
}

export class MemberStore {
  constructor(private readonly db: Db) {}

  /** A user's role in a project (direct membership), or null. */
  async roleOf(projectId: number, userId: number): Promise<RoleId | null> {
    const row = await this.db
      .selectFrom('project_members')
      .select('role_id')
      .where('project_id', '=', projectId)
      .where('entity_type', '=', 'u')
      .where('entity_id', '=', userId)
      .executeTakeFirst();
    const role = row ? Number(row.role_id) : null;
    return isRoleId(role) ? role : null;
  }

  /** Ids of the projects in which a user is Project Admin. */
  async projectsAdministeredBy(userId: number): Promise<number[]> {
    const rows = await this.db
      .selectFrom('project_members')
      .select('project_id')
      .where('entity_type', '=', 'u')
      .where('entity_id', '=', userId)
      .where('role_id', '=', 1)
      .execute();
    return rows.map((r) => Number(r.project_id));
  }

  /** Ids of every project a user is a member of. */
  async projectIdsOf(userId: number): Promise<number[]> {
    const rows = await this.db
      .selectFrom('project_members')
      .select('project_id')
      .where('entity_type', '=', 'u')
      .where('entity_id', '=', userId)
      .execute();
    return rows.map((r) => Number(r.project_id));
  }

  /** A user's roles in each of the given projects. */
  async rolesIn(userId: number, projectIds: number[]): Promise<Map<number, RoleId[]>> {
    const out = new Map<number, RoleId[]>();
    if (projectIds.length === 0) return out;
    const rows = await this.db
      .selectFrom('project_members')
      .select(['project_id', 'role_id'])
      .where('entity_type', '=', 'u')
      .where('entity_id', '=', userId)
      .where('project_id', 'in', projectIds)
      .execute();
    for (const r of rows) {
      const role = Number(r.role_id);
      if (isRoleId(role)) out.set(Number(r.project_id), [...(out.get(Number(r.project_id)) ?? []), role]);
    }
    return out;
  }

  private members() {
    return this.db
      .selectFrom('project_members as m')
      .innerJoin('users as u', (join) => join.onRef('u.id', '=', 'm.entity_id').on('m.entity_type', '=', 'u'))
      .select(['m.id', 'm.project_id', 'm.entity_type', 'm.entity_id', 'm.role_id', 'u.username as entity_name']);
  }

  async list(projectId: number, entityName: string | undefined, paging: Paging): Promise<{ items: MemberRow[]; total: number }> {
    let qb = this.members().where('m.project_id', '=', projectId);
    if (entityName) qb = qb.where(likeFragment('u.username', entityName));
    const total = await countRows(qb);
    const items = await qb.orderBy('u.username').orderBy('m.id').limit(paging.pageSize).offset(paging.offset).execute();
    return { items, total };
  }

  get(projectId: number, memberId: number): Promise<MemberRow | undefined> {
    return this.members().where('m.project_id', '=', projectId).where('m.id', '=', memberId).executeTakeFirst();
  }

  userMember(projectId: number, userId: number): Promise<MemberRow | undefined> {
    return this.members()
      .where('m.project_id', '=', projectId)
      .where('m.entity_type', '=', 'u')
      .where('m.entity_id', '=', userId)
      .executeTakeFirst();
  }

  /** Adds a user member and its audit record; null when the user is already a member. */
  async insert(projectId: number, userId: number, role: RoleId, now: string, audit: AuditEntry): Promise<number | null> {
    try {
      return await this.db.transaction().execute(async (tx) => {
        const row = await tx
          .insertInto('project_members')
          .values({ project_id: projectId, entity_type: 'u', entity_id: userId, role_id: role, creation_time: now, update_time: now })
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

  async updateRole(projectId: number, memberId: number, role: RoleId, now: string, audit: AuditEntry): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      const result = await tx
        .updateTable('project_members')
        .set({ role_id: role, update_time: now })
        .where('project_id', '=', projectId)
        .where('id', '=', memberId)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) return false;
      await writeAudit(tx, audit);
      return true;
    });
  }

  async delete(projectId: number, memberId: number, audit: AuditEntry): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      const result = await tx
        .deleteFrom('project_members')
        .where('project_id', '=', projectId)
        .where('id', '=', memberId)
        .executeTakeFirst();
      if (Number(result.numDeletedRows) === 0) return false;
      await writeAudit(tx, audit);
      return true;
    });
  }

  /** How many (listed) members each role has in a project. */
  async countByRole(projectId: number): Promise<Map<RoleId, number>> {
    const rows = await this.members()
      .clearSelect()
      .select((eb) => ['m.role_id', eb.fn.countAll<number>().as('n')])
      .where('m.project_id', '=', projectId)
      .groupBy('m.role_id')
      .execute();
    const out = new Map<RoleId, number>();
    for (const r of rows) {
      const role = Number(r.role_id);
      if (isRoleId(role)) out.set(role, Number(r.n));
    }
    return out;
  }
}
