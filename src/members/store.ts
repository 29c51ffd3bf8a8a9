import type { Db } from '../db/index.js';
import { isRoleId, type RoleId } from '../auth/rbac.js';

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
}
