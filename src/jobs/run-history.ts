import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/types.js';

/**
 * A system job that keeps one row per run beside its job (gc_runs, audit_purge_runs), read
 * back as Harbor's ExecHistory: the run's own record, and its job's status while the job row
 * exists (jobs are removed after 30 days; the run row stays).
 */
export type RunTable = 'gc_runs' | 'audit_purge_runs';

export interface RunRow {
  jobId: number;
  trigger: string;
  operator: string;
  parameters: string;
  results: string | null;
  /** The run's own record of its status. */
  runStatus: string;
  /** The job's status while the job row exists (pending, running, success, error, stopped). */
  jobStatus: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface RunListOptions {
  offset: number;
  limit: number;
  status?: string;
  kind?: string;
  sort?: { column: 'created_at' | 'updated_at' | 'job_id'; desc: boolean };
}

/** The history queries of one run table. */
export class RunHistory {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly table: RunTable,
  ) {}

  /** The job of a run of `jobType` that is pending or running, if any. */
  async unfinishedRun(jobType: string): Promise<number | undefined> {
    const row = await this.db
      .selectFrom('jobs')
      .select('id')
      .where('type', '=', jobType)
      .where('status', 'in', ['pending', 'running'])
      .orderBy('id')
      .executeTakeFirst();
    return row ? Number(row.id) : undefined;
  }

  private runs() {
    // Typed as audit_purge_runs: every run table has its columns (gc_runs has more).
    return this.db
      .selectFrom(`${this.table} as r` as 'audit_purge_runs as r')
      .leftJoin('jobs as j', 'j.id', 'r.job_id')
      .select([
        'r.job_id',
        'r.trigger',
        'r.operator',
        'r.parameters',
        'r.results',
        'r.status as run_status',
        'j.status as job_status',
        'r.created_at',
        'r.updated_at',
        'j.updated_at as job_updated_at',
      ]);
  }

  /** Harbor's history: the runs, newest first unless sorted, a page at a time. */
  async listRuns(options: RunListOptions): Promise<{ items: RunRow[]; total: number }> {
    let q = this.runs();
    if (options.kind !== undefined) q = q.where('r.trigger', '=', options.kind);
    if (options.status !== undefined) {
      const status = options.status;
      const jobStatus = status.toLowerCase();
      q = q.where((eb) => eb.or([eb('j.status', '=', jobStatus), eb.and([eb('j.status', 'is', null), eb('r.status', '=', status)])]));
    }
    const total = await q
      .clearSelect()
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    const sort = options.sort ?? { column: 'job_id', desc: true };
    const rows = await q
      .orderBy(sql.ref(`r.${sort.column}`), sort.desc ? 'desc' : 'asc')
      .orderBy('r.job_id', 'desc')
      .limit(options.limit)
      .offset(options.offset)
      .execute();
    return { items: rows.map(toRun), total: Number(total.n) };
  }

  async getRun(jobId: number): Promise<RunRow | undefined> {
    const row = await this.runs().where('r.job_id', '=', jobId).executeTakeFirst();
    return row && toRun(row);
  }
}

function toRun(r: {
  job_id: number;
  trigger: string;
  operator: string;
  parameters: string;
  results: string | null;
  run_status: string;
  job_status: string | null;
  created_at: string;
  updated_at: string;
  job_updated_at: string | null;
}): RunRow {
  const updated = r.job_updated_at !== null && r.job_updated_at > r.updated_at ? r.job_updated_at : r.updated_at;
  return {
    jobId: Number(r.job_id),
    trigger: r.trigger,
    operator: r.operator,
    parameters: r.parameters,
    results: r.results,
    runStatus: r.run_status,
    jobStatus: r.job_status,
    createdAt: r.created_at,
    updatedAt: updated,
  };
}
