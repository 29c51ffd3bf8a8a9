import { sql, type ExpressionBuilder } from 'kysely';
import type { Db } from '../db/index.js';
import type { Database } from '../db/types.js';
import { countRows, likeFragment } from '../db/query.js';
import { isRoleId, strongestRole, type RoleId } from '../auth/rbac.js';
import { writeAudit, type AuditEntry } from '../events/audit.js';
import type { Paging } from '../lib/paging.js';
import { isUniqueViolation } from '../db/errors.js';

/** A member with its user's or group's name. */
export interface MemberRow {
  id: number;
  project_id: number;
  entity_type: string;
  entity_id: number;
  role_id: number;
  entity_name: string;
}

/** 'u' a user, 'g' a user group: Harbor's entity types. */
export type EntityType = 'u' | 'g';

export class MemberStore {
  constructor(private readonly db: Db) {}

  /**
   * The memberships that give a user a role: their own (entity_type u) and those of the
   * groups they are in (entity_type g, through user_group_members). One condition, so each
   * question below is one query.
   */
  private heldBy(userId: number) {
    return (eb: ExpressionBuilder<Database & { m: Database['project_members'] }, 'm'>) =>
      eb.or([
        eb.and([eb('m.entity_type', '=', 'u'), eb('m.entity_id', '=', userId)]),
        eb.and([
          eb('m.entity_type', '=', 'g'),
          eb('m.entity_id', 'in', eb.selectFrom('user_group_members').select('group_id').where('user_id', '=', userId)),
        ]),
      ]);
  }

  /** A user's effective role in a project: the strongest of their own and their groups' roles, or null. */
  async roleOf(projectId: number, userId: number): Promise<RoleId | null> {
    const rows = await this.db
      .selectFrom('project_members as m')
      .select('m.role_id')
      .where('m.project_id', '=', projectId)
      .where(this.heldBy(userId))
      .execute();
    return strongestRole(rows.map((r) => Number(r.role_id)).filter(isRoleId));
  }

  /** Ids of the projects in which a user is Project Admin, themself or through a group. */
  async projectsAdministeredBy(userId: number): Promise<number[]> {
    const rows = await this.db
      .selectFrom('project_members as m')
      .select('m.project_id')
      .distinct()
      .where(this.heldBy(userId))
      .where('m.role_id', '=', 1)
      .execute();
    return rows.map((r) => Number(r.project_id));
  }

  /** Ids of every project a user is a member of, themself or through a group. */
  async projectIdsOf(userId: number): Promise<number[]> {
    const rows = await this.db.selectFrom('project_members as m').select('m.project_id').distinct().where(this.heldBy(userId)).execute();
    return rows.map((r) => Number(r.project_id));
  }

  /** A user's roles (their own and their groups', each once) in each of the given projects. */
  async rolesIn(userId: number, projectIds: number[]): Promise<Map<number, RoleId[]>> {
    const out = new Map<number, RoleId[]>();
    if (projectIds.length === 0) return out;
    const rows = await this.db
      .selectFrom('project_members as m')
      .select(['m.project_id', 'm.role_id'])
      .distinct()
      .where(this.heldBy(userId))
      .where('m.project_id', 'in', projectIds)
      .execute();
    for (const r of rows) {
      const role = Number(r.role_id);
      if (isRoleId(role)) out.set(Number(r.project_id), [...(out.get(Number(r.project_id)) ?? []), role]);
    }
    return out;
  }

  /** Members with their user's or group's name (members whose user or group is gone are not listed). */
  private members() {
    return this.db
      .selectFrom('project_members as m')
      .leftJoin('users as u', (join) => join.onRef('u.id', '=', 'm.entity_id').on('m.entity_type', '=', 'u'))
      .leftJoin('user_groups as g', (join) => join.onRef('g.id', '=', 'm.entity_id').on('m.entity_type', '=', 'g'))
      .where((eb) => eb.or([eb('u.id', 'is not', null), eb('g.id', 'is not', null)]))
      .select((eb) => [
        'm.id',
        'm.project_id',
        'm.entity_type',
        'm.entity_id',
        'm.role_id',
        eb.fn.coalesce('u.username', 'g.group_name').$notNull().as('entity_name'),
      ]);
  }

  async list(projectId: number, entityName: string | undefined, paging: Paging): Promise<{ items: MemberRow[]; total: number }> {
    let qb = this.members().where('m.project_id', '=', projectId);
    if (entityName) qb = qb.where(likeFragment(sql`coalesce(u.username, g.group_name)`, entityName));
    const total = await countRows(qb);
    const items = await qb.orderBy('entity_name').orderBy('m.id').limit(paging.pageSize).offset(paging.offset).execute();
    return { items, total };
  }

  get(projectId: number, memberId: number): Promise<MemberRow | undefined> {
    return this.members().where('m.project_id', '=', projectId).where('m.id', '=', memberId).executeTakeFirst();
  }

  /** The membership of one user ('u') or group ('g') in a project. */
  entityMember(projectId: number, entityType: EntityType, entityId: number): Promise<MemberRow | undefined> {
    return this.members()
      .where('m.project_id', '=', projectId)
      .where('m.entity_type', '=', entityType)
      .where('m.entity_id', '=', entityId)
      .executeTakeFirst();
  }

  /** Adds a user or group member and its audit record; null when it is already a member. */
  async insert(
    projectId: number,
    entityType: EntityType,
    entityId: number,
    role: RoleId,
    now: string,
    audit: AuditEntry,
  ): Promise<number | null> {
    try {
      return await this.db.transaction().execute(async (tx) => {
        const row = await tx
          .insertInto('project_members')
          .values({
            project_id: projectId,
            entity_type: entityType,
            entity_id: entityId,
            role_id: role,
            creation_time: now,
            update_time: now,
          })
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
