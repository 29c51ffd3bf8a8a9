import type { Selectable } from 'kysely';
import type { Db } from '../db/index.js';
import type { AuditLogsTable } from '../db/types.js';
import { applyQuery, applySort, type Field } from '../db/query.js';
import { cappedCount, readCount } from '../db/counts.js';
import type { Paging } from '../lib/paging.js';
import type { QueryTerm } from '../lib/query.js';

export const auditFields: Record<string, Field> = {
  operation: { column: 'operation', type: 'string' },
  resource: { column: 'resource', type: 'string' },
  resource_type: { column: 'resource_type', type: 'string' },
  username: { column: 'username', type: 'string' },
  op_time: { column: 'op_time', type: 'time' },
  result: { column: 'result', type: 'string' },
};

/** How far a filtered audit log count goes (X-Total-Count): a page count beyond is not useful. */
export const countCap = 10_000;

export type AuditRow = Omit<Selectable<AuditLogsTable>, 'client_ip' | 'tx_id'>;

/** Which audit rows a caller may read: all, or only those of some projects. */
export type AuditScope = { all: true } | { projectIds: number[] };

export class AuditStore {
  constructor(private readonly db: Db) {}

  async list(
    scope: AuditScope,
    terms: QueryTerm[],
    sort: string | undefined,
    paging: Paging,
  ): Promise<{ items: AuditRow[]; total: number }> {
    let base = applyQuery(this.db.selectFrom('audit_logs'), terms, auditFields);
    if (!('all' in scope)) {
      if (scope.projectIds.length === 0) return { items: [], total: 0 };
      base = base.where('project_id', 'in', scope.projectIds);
    }
    // Every record: the database's kept count. A filtered or project-scoped count stops at
    // countCap (docs/COMPATIBILITY.md): the table grows without bound.
    const total =
      'all' in scope && terms.length === 0 ? await readCount(this.db, 'audit_logs') : await cappedCount(this.db, base, countCap);
    const rows = await applySort(
      base.select(['id', 'project_id', 'username', 'operation', 'resource_type', 'resource', 'result', 'op_time']),
      sort,
      auditFields,
      { column: 'id', direction: 'desc' },
    )
      .limit(paging.pageSize)
      .offset(paging.offset)
      .execute();
    return {
      items: rows.map((r) => ({ ...r, id: Number(r.id), project_id: r.project_id === null ? null : Number(r.project_id) })),
      total,
    };
  }
}
