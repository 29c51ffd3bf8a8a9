import type { FastifyRequest } from 'fastify';
import { apiError } from '../lib/errors.js';
import { parseQuery } from '../lib/query.js';
import { queryOf } from './api-helpers.js';

/**
 * Harbor's ExecHistory shape, shared by the system jobs that answer it the same way
 * (garbage collection under /system/gc, audit log purge under /system/purgeaudit).
 */

export interface HistorySort {
  column: 'created_at' | 'updated_at' | 'job_id';
  desc: boolean;
}

export interface HistoryFilter {
  status?: string;
  kind?: string;
  sort?: HistorySort;
}

const sortColumns = { creation_time: 'created_at', update_time: 'updated_at', id: 'job_id' } as const;

/** The history list's `q` (job_status, job_kind; exact values) and `sort` (one of creation_time, update_time, id). */
export function historyFilterOf(req: FastifyRequest): HistoryFilter {
  const q = queryOf(req);
  let status: string | undefined;
  let kind: string | undefined;
  for (const term of parseQuery(q.q)) {
    if (term.op !== 'exact') throw apiError('BAD_REQUEST', `invalid q: ${term.key} takes an exact value (key=value)`);
    if (term.key === 'job_status') status = term.value;
    else if (term.key === 'job_kind') kind = term.value.toUpperCase();
    else throw apiError('BAD_REQUEST', `invalid q: unknown key "${term.key}"; allowed: job_status, job_kind`);
  }
  let sort: HistorySort | undefined;
  const sortKeys = (q.sort ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (sortKeys.length > 1) throw apiError('BAD_REQUEST', 'invalid sort: give one key');
  if (sortKeys.length === 1) {
    const desc = sortKeys[0].startsWith('-');
    const name = desc ? sortKeys[0].slice(1) : sortKeys[0];
    if (!(name in sortColumns))
      throw apiError('BAD_REQUEST', `invalid sort: unknown key "${name}"; allowed: ${Object.keys(sortColumns).join(', ')}`);
    sort = { column: sortColumns[name as keyof typeof sortColumns], desc };
  }
  return { status, kind, sort };
}

export interface HistoryRun {
  id: number;
  trigger: string;
  status: string;
  jobParameters: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

/** One run as an ExecHistory; `scheduleCron` is added to `schedule` when given (GC's GCHistory carries an empty one). */
export function runHistoryOf(run: HistoryRun, jobName: string, scheduleCron?: string) {
  return {
    id: run.id,
    job_name: jobName,
    job_kind: run.trigger,
    job_parameters: JSON.stringify(run.jobParameters),
    schedule: { type: run.trigger === 'MANUAL' ? 'Manual' : 'Schedule', ...(scheduleCron !== undefined && { cron: scheduleCron }) },
    job_status: run.status,
    deleted: false,
    creation_time: run.createdAt,
    update_time: run.updatedAt,
  };
}

export interface HistorySchedule {
  type: string;
  cron: string;
  nextRunAt: string | null;
  parameters: unknown;
  createdAt: string;
  updatedAt: string;
}

/** The answer to GET …/schedule when a schedule is set (Harbor answers an empty body when none is). */
export function scheduleHistoryOf(s: HistorySchedule) {
  return {
    id: 0,
    job_name: '',
    job_kind: s.cron,
    job_parameters: JSON.stringify(s.parameters),
    schedule: { type: s.type, cron: s.cron, ...(s.nextRunAt !== null && { next_scheduled_time: s.nextRunAt }) },
    job_status: '',
    deleted: false,
    creation_time: s.createdAt,
    update_time: s.updatedAt,
  };
}
