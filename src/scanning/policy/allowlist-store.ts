import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../db/types.js';

export type Executor = Kysely<Database> | Transaction<Database>;

export interface AllowlistRow {
  id: number;
  projectId: number;
  expiresAt: number | null;
  items: string[];
  creationTime: string;
  updateTime: string;
}

function toRow(r: {
  id: number;
  project_id: number;
  expires_at: number | null;
  items: string;
  creation_time: string;
  update_time: string;
}): AllowlistRow {
  const items = (JSON.parse(r.items) as Array<{ cve_id: string }>).map((i) => i.cve_id);
  return {
    id: Number(r.id),
    projectId: Number(r.project_id),
    expiresAt: r.expires_at === null ? null : Number(r.expires_at),
    items,
    creationTime: r.creation_time,
    updateTime: r.update_time,
  };
}

/** The cve_allowlists table: one row per project, project 0 being the system. */
export class AllowlistStore {
  constructor(readonly db: Kysely<Database>) {}

  async get(projectId: number, executor: Executor = this.db): Promise<AllowlistRow | undefined> {
    const row = await executor.selectFrom('cve_allowlists').selectAll().where('project_id', '=', projectId).executeTakeFirst();
    return row ? toRow(row) : undefined;
  }

  async many(projectIds: number[]): Promise<Map<number, AllowlistRow>> {
    const out = new Map<number, AllowlistRow>();
    if (projectIds.length === 0) return out;
    const rows = await this.db.selectFrom('cve_allowlists').selectAll().where('project_id', 'in', projectIds).execute();
    for (const row of rows) out.set(Number(row.project_id), toRow(row));
    return out;
  }

  /** Replaces the list (creating it the first time); `creation_time` stays the first write's. */
  async set(projectId: number, items: string[], expiresAt: number | null, now: string, executor: Executor = this.db): Promise<void> {
    const json = JSON.stringify(items.map((cve_id) => ({ cve_id })));
    await executor
      .insertInto('cve_allowlists')
      .values({ project_id: projectId, items: json, expires_at: expiresAt, creation_time: now, update_time: now })
      .onConflict((oc) => oc.column('project_id').doUpdateSet({ items: json, expires_at: expiresAt, update_time: now }))
      .execute();
  }

  async delete(projectId: number, executor: Executor = this.db): Promise<void> {
    await executor.deleteFrom('cve_allowlists').where('project_id', '=', projectId).execute();
  }
}
