import { sql, type Expression } from 'kysely';
import type { Db } from '../db/index.js';
import { writeAudit, type AuditEntry } from '../events/audit.js';
import { apiError } from '../lib/errors.js';
import type { Paging } from '../lib/paging.js';
import type { QuotaUsage } from './usage.js';

/** A project's quota with what the API shows of it. */
export interface QuotaRow {
  project_id: number;
  name: string;
  owner_name: string | null;
  storage_limit: number;
  used: number;
  created_at: string;
  /** The latest of: the limit's last change, the last change of usage. */
  updated_at: string;
  /** When the limit was last changed (null: never since the project was created). */
  limit_updated_at: string | null;
  refused_at: string | null;
  refused_resource: string | null;
  refused_message: string | null;
}

export interface QuotaFilter {
  /** Only this project (Harbor's reference_id). */
  projectId?: number;
}

/**
 * Harbor's quota sort keys. `hard.storage` orders -1 (unlimited) above every limit, as
 * Harbor does; `used.storage` is the stored usage.
 */
const sortKeys = ['creation_time', 'update_time', 'hard.storage', 'used.storage'] as const;
type SortKey = (typeof sortKeys)[number];

function parseSort(sort: string | undefined): Array<{ key: SortKey; desc: boolean }> {
  const out: Array<{ key: SortKey; desc: boolean }> = [];
  for (const raw of (sort ?? '').split(',').map((s) => s.trim())) {
    if (raw === '') continue;
    const desc = raw.startsWith('-');
    const key = (desc || raw.startsWith('+') ? raw.slice(1) : raw) as SortKey;
    if (!sortKeys.includes(key)) throw apiError('BAD_REQUEST', `invalid sort: unknown key "${key}"; allowed: ${sortKeys.join(', ')}`);
    out.push({ key, desc });
  }
  return out;
}

/** The SQL of the quotas API: one quota per project, its id the project's id. */
export class QuotaStore {
  constructor(
    private readonly db: Db,
    private readonly usage: QuotaUsage,
  ) {}

  private rows(filter: QuotaFilter) {
    let qb = this.db
      .selectFrom('projects as p')
      .leftJoin('users as o', 'o.id', 'p.owner_id')
      .leftJoin('project_quotas as q', 'q.project_id', 'p.id');
    if (filter.projectId !== undefined) qb = qb.where('p.id', '=', filter.projectId);
    return qb;
  }

  private selected(filter: QuotaFilter) {
    return this.rows(filter).select((eb) => [
      'p.id as project_id',
      'p.name',
      'o.username as owner_name',
      'p.storage_limit',
      'p.created_at',
      'q.updated_at as limit_updated_at',
      'q.refused_at',
      'q.refused_resource',
      'q.refused_message',
      eb
        .selectFrom('quota_usage as u')
        .select((inner) => inner.fn.coalesce(inner.fn.sum<number>('u.used'), sql<number>`0`).as('n'))
        .whereRef('u.project_id', '=', 'p.id')
        .as('used'),
      eb
        .selectFrom('quota_usage as u')
        .select((inner) => inner.fn.max('u.updated_at').as('t'))
        .whereRef('u.project_id', '=', 'p.id')
        .as('used_updated_at'),
    ]);
  }

  async list(filter: QuotaFilter, sort: string | undefined, paging: Paging): Promise<{ items: QuotaRow[]; total: number }> {
    const order = parseSort(sort);
    const countRow = await this.rows(filter)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    let qb = this.selected(filter);
    const used = sql<number>`(select coalesce(sum(u.used), 0) from quota_usage u where u.project_id = p.id)`;
    const usageTime = sql<string>`coalesce((select max(u.updated_at) from quota_usage u where u.project_id = p.id), p.created_at)`;
    const limitTime = sql<string>`coalesce(q.updated_at, p.created_at)`;
    const updateTime = sql<string>`case when ${limitTime} > ${usageTime} then ${limitTime} else ${usageTime} end`;
    const hard = sql<number>`case when p.storage_limit < 0 then 9223372036854775807 else p.storage_limit end`;
    const columns: Record<SortKey, Expression<unknown>> = {
      creation_time: sql.ref('p.created_at'),
      update_time: updateTime,
      'hard.storage': hard,
      'used.storage': used,
    };
    for (const { key, desc } of order) qb = qb.orderBy(columns[key], desc ? 'desc' : 'asc');
    // Harbor lists newest first unless told otherwise.
    qb = order.length === 0 ? qb.orderBy('p.created_at', 'desc').orderBy('p.id', 'desc') : qb.orderBy('p.id', 'asc');
    const rows = await qb.limit(paging.pageSize).offset(paging.offset).execute();
    return { items: rows.map(toRow), total: Number(countRow.n) };
  }

  async get(projectId: number): Promise<QuotaRow | undefined> {
    const row = await this.selected({ projectId }).executeTakeFirst();
    return row && toRow(row);
  }

  /** Sets the limit with its audit record, in one transaction that waits for pushes admitted under the old limit. */
  async setLimit(projectId: number, hard: number, now: string, audit: AuditEntry): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await this.usage.setLimit(tx, projectId, hard, now);
      await writeAudit(tx, audit);
    });
  }
}

interface SelectedRow {
  project_id: number;
  name: string;
  owner_name: string | null;
  storage_limit: number;
  created_at: string;
  limit_updated_at: string | null;
  refused_at: string | null;
  refused_resource: string | null;
  refused_message: string | null;
  used: number | null;
  used_updated_at: string | null;
}

function toRow(r: SelectedRow): QuotaRow {
  const times = [r.created_at, r.limit_updated_at, r.used_updated_at].filter((t): t is string => typeof t === 'string');
  return {
    project_id: Number(r.project_id),
    name: r.name,
    owner_name: r.owner_name,
    storage_limit: Number(r.storage_limit),
    used: Number(r.used ?? 0),
    created_at: r.created_at,
    updated_at: times.sort().at(-1)!,
    limit_updated_at: r.limit_updated_at,
    refused_at: r.refused_at,
    refused_resource: r.refused_resource,
    refused_message: r.refused_message,
  };
}
