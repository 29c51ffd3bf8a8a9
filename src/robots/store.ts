import type { Db } from '../db/index.js';
import { applyQuery, applySort, countRows, type Field } from '../db/query.js';
import type { Robot } from '../db/types.js';
import { writeAudit, type AuditEntry } from '../events/audit.js';
import type { Paging } from '../lib/paging.js';
import type { QueryTerm } from '../lib/query.js';

/** `q`/`sort` keys of GET /robots besides Level and ProjectID, which the service reads itself. */
export const robotFields: Record<string, Field> = {
  id: { column: 'id', type: 'number' },
  name: { column: 'name', type: 'string' },
  description: { column: 'description', type: 'string' },
  disable: { column: 'disabled', type: 'boolean' },
  duration: { column: 'duration', type: 'number' },
  expires_at: { column: 'expires_at', type: 'number' },
  creation_time: { column: 'creation_time', type: 'time' },
  update_time: { column: 'update_time', type: 'time' },
};

export interface NewRobot {
  /** Stored without the configured prefix: `name` or `project+name`, as Harbor stores it. */
  name: string;
  description: string;
  level: 'system' | 'project';
  project_id: number | null;
  secret_hash: string;
  permissions: string;
  duration: number;
  expires_at: number;
  disabled: boolean;
  creator_type: string;
  creator_ref: number;
  now: string;
}

export type RobotChanges = Partial<Pick<Robot, 'description' | 'disabled' | 'duration' | 'expires_at' | 'permissions' | 'secret_hash'>>;

export interface RobotFilter {
  level?: 'system' | 'project';
  projectId?: number;
}

export class RobotStore {
  constructor(private readonly db: Db) {}

  byId(id: number): Promise<Robot | undefined> {
    return this.db.selectFrom('robots').selectAll().where('id', '=', id).executeTakeFirst();
  }

  byName(name: string): Promise<Robot | undefined> {
    return this.db.selectFrom('robots').selectAll().where('name', '=', name).executeTakeFirst();
  }

  /** Inserts a robot and its audit record in one transaction. */
  async insert(r: NewRobot, audit: AuditEntry): Promise<Robot> {
    return this.db.transaction().execute(async (tx) => {
      const robot = await tx
        .insertInto('robots')
        .values({
          name: r.name,
          description: r.description,
          level: r.level,
          project_id: r.project_id,
          secret_hash: r.secret_hash,
          permissions: r.permissions,
          duration: r.duration,
          expires_at: r.expires_at,
          disabled: r.disabled ? 1 : 0,
          creator_type: r.creator_type,
          creator_ref: r.creator_ref,
          creation_time: r.now,
          update_time: r.now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await writeAudit(tx, audit);
      return robot;
    });
  }

  async update(id: number, changes: RobotChanges, now: string, audit: AuditEntry): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx
        .updateTable('robots')
        .set({ ...changes, update_time: now })
        .where('id', '=', id)
        .execute();
      await writeAudit(tx, audit);
    });
  }

  async delete(id: number, audit: AuditEntry): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('robots').where('id', '=', id).execute();
      await writeAudit(tx, audit);
    });
  }

  async list(
    filter: RobotFilter,
    terms: QueryTerm[],
    sort: string | undefined,
    paging: Paging,
  ): Promise<{ items: Robot[]; total: number }> {
    let base = applyQuery(this.db.selectFrom('robots'), terms, robotFields);
    if (filter.level) base = base.where('level', '=', filter.level);
    if (filter.projectId !== undefined) base = base.where('project_id', '=', filter.projectId);
    const total = await countRows(base);
    const items = await applySort(base.selectAll(), sort, robotFields, { column: 'id', direction: 'desc' })
      .limit(paging.pageSize)
      .offset(paging.offset)
      .execute();
    return { items, total };
  }
}
