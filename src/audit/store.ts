import type { Selectable } from 'kysely';
import type { Db } from '../db/index.js';
import type { AuditLogsTable } from '../db/types.js';
import { applyQuery, applySort, countRows, type Field } from '../db/query.js';
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
    const total = await countRows(base);
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
