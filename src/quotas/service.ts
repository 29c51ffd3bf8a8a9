import type { Db } from '../db/index.js';
import { nowIso } from '../lib/clock.js';
import { apiError } from '../lib/errors.js';
import type { Paging } from '../lib/paging.js';
import { storageLimitProblem } from './format.js';
import type { QuotaRow, QuotaStore } from './store.js';
import type { QuotaUsage } from './usage.js';

/** Harbor's Quota definition. */
export interface QuotaView {
  id: number;
  ref: { id: number; name: string; owner_name: string };
  hard: { storage: number };
  used: { storage: number };
  creation_time: string;
  update_time: string;
}

/** A project summary's quota: Harbor's `hard` and `used`, and Berth's record of the last refused push. */
export interface QuotaSummary {
  hard: { storage: number };
  used: { storage: number };
  /** Berth's own: the last push refused for quota since the limit last changed (Harbor clients ignore it). */
  last_refused?: { time: string; resource: string; message: string };
}

function view(row: QuotaRow): QuotaView {
  return {
    id: row.project_id,
    ref: { id: row.project_id, name: row.name, owner_name: row.owner_name ?? '' },
    hard: { storage: row.storage_limit },
    used: { storage: row.used },
    creation_time: row.created_at,
    update_time: row.updated_at,
  };
}

function shown(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  return text.length > 100 ? `${text.slice(0, 100)}…` : text;
}

/**
 * Project quotas as Harbor's API shows them. A quota's id is its project's id (Berth keeps
 * one quota per project, so there is nothing else to number).
 */
export class QuotaService {
  constructor(
    private readonly db: Db,
    private readonly store: QuotaStore,
    readonly usage: QuotaUsage,
  ) {}

  /** GET /quotas: `reference` other than "project", or a `reference_id` that names no project id, match nothing. */
  async list(query: { reference?: string; referenceId?: string; sort?: string }, paging: Paging) {
    if (query.reference !== undefined && query.reference !== '' && query.reference !== 'project') return { items: [], total: 0 };
    let projectId: number | undefined;
    if (query.referenceId !== undefined && query.referenceId !== '') {
      if (!/^\d+$/.test(query.referenceId) || !Number.isSafeInteger(Number(query.referenceId))) return { items: [], total: 0 };
      projectId = Number(query.referenceId);
    }
    const page = await this.store.list({ projectId }, query.sort, paging);
    return { items: page.items.map(view), total: page.total };
  }

  async get(id: number): Promise<QuotaView> {
    return view(await this.row(id));
  }

  private async row(id: number): Promise<QuotaRow> {
    const row = await this.store.get(id);
    if (!row) throw apiError('NOT_FOUND', `quota ${id} not found`);
    return row;
  }

  /**
   * PUT /quotas/{id} with {"hard": {"storage": N}}: N is -1 (unlimited) or 1 byte to 1024 TiB.
   * A limit below the current usage is accepted: it refuses growth and deletes nothing.
   */
  async update(id: number, body: Record<string, unknown>, actor: { username: string }): Promise<void> {
    const hard = body.hard;
    if (hard === undefined || hard === null || (typeof hard === 'object' && !Array.isArray(hard) && Object.keys(hard).length === 0)) {
      throw apiError('BAD_REQUEST', 'hard required in body, such as {"hard": {"storage": 10737418240}}');
    }
    if (typeof hard !== 'object' || Array.isArray(hard))
      throw apiError('BAD_REQUEST', `hard must be an object such as {"storage": 10737418240}, not ${shown(hard)}`);
    const row = await this.row(id);
    const resources = hard as Record<string, unknown>;
    for (const name of Object.keys(resources)) {
      if (name !== 'storage') throw apiError('BAD_REQUEST', `resource ${shown(name)} not support: a project quota has only "storage"`);
    }
    if (!Object.hasOwn(resources, 'storage')) throw apiError('BAD_REQUEST', 'resource storage not found');
    const problem = storageLimitProblem(resources.storage);
    if (problem) throw apiError('BAD_REQUEST', problem);
    const storage = resources.storage as number;
    await this.store.setLimit(id, storage, nowIso(), {
      username: actor.username,
      operation: 'update',
      resourceType: 'quota',
      resource: `${row.name}: storage limit ${storage === -1 ? 'unlimited' : `${storage} bytes`}`,
      projectId: id,
    });
  }

  /** What a project summary shows of the quota; a refusal from before the last change of the limit is history. */
  async summary(projectId: number): Promise<QuotaSummary> {
    const row = await this.row(projectId);
    const current = row.refused_at !== null && (row.limit_updated_at === null || row.refused_at > row.limit_updated_at);
    return {
      hard: { storage: row.storage_limit },
      used: { storage: row.used },
      ...(current && {
        last_refused: { time: row.refused_at!, resource: row.refused_resource ?? '', message: row.refused_message ?? '' },
      }),
    };
  }

  /** Stored usage of a project in bytes. */
  used(projectId: number): Promise<number> {
    return this.usage.used(this.db, projectId);
  }

  /** The usage computed afresh from the base tables (see QuotaUsage.recount). */
  recount(projectId: number): Promise<number> {
    return this.usage.recount(this.db, projectId);
  }
}
