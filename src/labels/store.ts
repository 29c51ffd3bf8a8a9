import type { Selectable, Transaction } from 'kysely';
import type { Db } from '../db/index.js';
import { applyQuery, applySort, countRows, likeFragment, type Field } from '../db/query.js';
import type { Database, LabelsTable } from '../db/types.js';
import { writeAudit, type AuditEntry } from '../events/audit.js';
import type { Paging } from '../lib/paging.js';
import type { QueryTerm } from '../lib/query.js';
import { isUniqueViolation } from '../db/errors.js';

export type LabelRow = Selectable<LabelsTable>;

/** 'g' global or 'p' project, as Harbor stores a label's scope. */
export type LabelScope = 'g' | 'p';

/** `q`/`sort` keys of GET /labels; scope and project_id come from their own parameters. */
export const labelFields: Record<string, Field> = {
  id: { column: 'id', type: 'number' },
  name: { column: 'name', type: 'string' },
  description: { column: 'description', type: 'string' },
  color: { column: 'color', type: 'string' },
  creation_time: { column: 'creation_time', type: 'time' },
  update_time: { column: 'update_time', type: 'time' },
};

export interface LabelFilter {
  scope: LabelScope;
  /** 0 for global labels. */
  projectId: number;
  /** Fuzzy name match (Harbor's `name` parameter). */
  name?: string;
  terms: QueryTerm[];
  sort?: string;
}

export interface NewLabel {
  name: string;
  description: string;
  color: string;
  scope: LabelScope;
  projectId: number;
  now: string;
}

export type LabelChanges = Pick<LabelRow, 'name' | 'description' | 'color'>;

export class LabelStore {
  constructor(private readonly db: Db) {}

  byId(id: number): Promise<LabelRow | undefined> {
    return this.db.selectFrom('labels').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async byIds(ids: number[]): Promise<LabelRow[]> {
    const out: LabelRow[] = [];
    // Chunked so that a long list stays under the bound-parameter limit.
    for (let i = 0; i < ids.length; i += 500) {
      out.push(
        ...(await this.db
          .selectFrom('labels')
          .selectAll()
          .where('id', 'in', ids.slice(i, i + 500))
          .execute()),
      );
    }
    return out;
  }

  /** The label with this exact name in a scope (and project), if any. */
  named(name: string, scope: LabelScope, projectId: number): Promise<LabelRow | undefined> {
    return this.db
      .selectFrom('labels')
      .selectAll()
      .where('name', '=', name)
      .where('scope', '=', scope)
      .where('project_id', '=', projectId)
      .executeTakeFirst();
  }

  async list(filter: LabelFilter, paging: Paging): Promise<{ items: LabelRow[]; total: number }> {
    let qb = this.db.selectFrom('labels').selectAll().where('scope', '=', filter.scope).where('project_id', '=', filter.projectId);
    if (filter.name) qb = qb.where(likeFragment('name', filter.name));
    qb = applyQuery(qb, filter.terms, labelFields);
    const total = await countRows(qb);
    const items = await applySort(qb, filter.sort || 'name', labelFields, { column: 'id', direction: 'asc' })
      .limit(paging.pageSize)
      .offset(paging.offset)
      .execute();
    return { items, total };
  }

  /** Inserts a label and its audit record in one transaction; null when the name is taken. */
  async insert(label: NewLabel, audit: AuditEntry): Promise<LabelRow | null> {
    try {
      return await this.db.transaction().execute(async (tx) => {
        const row = await tx
          .insertInto('labels')
          .values({
            name: label.name,
            description: label.description,
            color: label.color,
            scope: label.scope,
            project_id: label.projectId,
            creation_time: label.now,
            update_time: label.now,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        await writeAudit(tx, audit);
        return row;
      });
    } catch (err) {
      if (isUniqueViolation(err)) return null;
      throw err;
    }
  }

  /** Updates name, description and color; 'conflict' when the new name is taken, 'gone' when the label is. */
  async update(id: number, changes: LabelChanges, now: string, audit: AuditEntry): Promise<'ok' | 'gone' | 'conflict'> {
    try {
      return await this.db.transaction().execute(async (tx) => {
        const result = await tx
          .updateTable('labels')
          .set({ ...changes, update_time: now })
          .where('id', '=', id)
          .executeTakeFirst();
        if (Number(result.numUpdatedRows) === 0) return 'gone' as const;
        await writeAudit(tx, audit);
        return 'ok' as const;
      });
    } catch (err) {
      if (isUniqueViolation(err)) return 'conflict';
      throw err;
    }
  }

  /** Deletes a label (its artifact_labels rows go by the foreign key's cascade) and writes its audit record. */
  async delete(id: number, audit: AuditEntry): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      const result = await tx.deleteFrom('labels').where('id', '=', id).executeTakeFirst();
      if (Number(result.numDeletedRows) === 0) return false;
      await writeAudit(tx, audit);
      return true;
    });
  }

  /**
   * Deletes every label of a project, with one audit record per label (from `audit`), in
   * the given transaction or a new one. Returns the deleted labels.
   */
  async deleteForProject(projectId: number, audit: (label: LabelRow) => AuditEntry, executor?: Transaction<Database>): Promise<LabelRow[]> {
    const run = async (tx: Transaction<Database>) => {
      const rows = await tx.deleteFrom('labels').where('scope', '=', 'p').where('project_id', '=', projectId).returningAll().execute();
      await writeAudit(tx, rows.map(audit));
      return rows;
    };
    return executor ? run(executor) : this.db.transaction().execute(run);
  }
}
