import { sql, type Transaction } from 'kysely';
import type { Db } from '../db/index.js';
import type { Database } from '../db/types.js';

type Tx = Transaction<Database>;

/** The syslog forwarder's cursor (forward.ts). */
export const forwardCursorName = 'syslog';

/** Which records a purge takes: by event type (operation + resource type), by operation, or all but some event types. */
export interface PurgeFilter {
  /** [operation, resource_type] pairs. */
  eventTypes: Array<[string, string]>;
  /** Operations taken whatever the resource type (Harbor's legacy audit_log purge: create, delete, pull). */
  operations: string[];
  /** Harbor's "other": every record whose event type is not one of these. */
  allBut: Array<[string, string]> | null;
}

export interface PurgeRunRow {
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

/** The audit log purge's SQL: its runs, and the batches it deletes. */
export class AuditPurgeStore {
  /**
   * @param keepUnforwarded while audit records are forwarded to syslog (audit/forward.ts),
   *   records the forwarder has not sent yet are never purged: they would be lost to it.
   */
  constructor(
    readonly db: Db,
    private readonly keepUnforwarded = false,
  ) {}

  private matching(cutoff: string, filter: PurgeFilter) {
    let query = this.db.selectFrom('audit_logs').where('op_time', '<', cutoff);
    if (this.keepUnforwarded) {
      query = query.where(({ exists, selectFrom }) =>
        exists(
          selectFrom('audit_forward_cursors as c')
            .select('c.name')
            .where('c.name', '=', forwardCursorName)
            .where((eb) =>
              eb.or([
                eb('audit_logs.tx_id', '<', eb.ref('c.last_tx_id')),
                eb.and([eb('audit_logs.tx_id', '=', eb.ref('c.last_tx_id')), eb('audit_logs.id', '<=', eb.ref('c.last_id'))]),
              ]),
            ),
        ),
      );
    }
    return query
      .where((eb) => {
        const pair = ([operation, resourceType]: [string, string]) =>
          eb.and([eb('operation', '=', operation), eb('resource_type', '=', resourceType)]);
        const any = [
          ...filter.eventTypes.map(pair),
          ...(filter.operations.length > 0 ? [eb('operation', 'in', filter.operations)] : []),
          ...(filter.allBut ? [eb.not(eb.or(filter.allBut.map(pair)))] : []),
        ];
        return any.length === 0 ? sql<boolean>`1 = 0` : eb.or(any);
      });
  }

  /** How many records the purge would take (a dry run). */
  async count(cutoff: string, filter: PurgeFilter): Promise<number> {
    const row = await this.matching(cutoff, filter)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Deletes up to `limit` of the records, oldest ids first; returns how many went. */
  async deleteBatch(cutoff: string, filter: PurgeFilter, limit: number): Promise<number> {
    const ids = (await this.matching(cutoff, filter).select('id').orderBy('id').limit(limit).execute()).map((r) => Number(r.id));
    if (ids.length === 0) return 0;
    const result = await this.db.deleteFrom('audit_logs').where('id', 'in', ids).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  // Runs.

  async insertRun(
    executor: Db | Tx,
    run: { jobId: number; trigger: string; operator: string; parameters: unknown; status: string; now: string },
  ): Promise<void> {
    await executor
      .insertInto('audit_purge_runs')
      .values({
        job_id: run.jobId,
        trigger: run.trigger,
        operator: run.operator,
        parameters: JSON.stringify(run.parameters),
        results: null,
        status: run.status,
        created_at: run.now,
        updated_at: run.now,
      })
      .onConflict((oc) => oc.column('job_id').doNothing())
      .execute();
  }

  async update(jobId: number, values: { status?: string; results?: unknown }, now: string): Promise<void> {
    await this.db
      .updateTable('audit_purge_runs')
      .set({
        ...(values.status !== undefined && { status: values.status }),
        ...(values.results !== undefined && { results: JSON.stringify(values.results) }),
        updated_at: now,
      })
      .where('job_id', '=', jobId)
      .execute();
  }

  /** The job of a purge that is pending or running, if any. */
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
    return this.db
      .selectFrom('audit_purge_runs as p')
      .leftJoin('jobs as j', 'j.id', 'p.job_id')
      .select([
        'p.job_id',
        'p.trigger',
        'p.operator',
        'p.parameters',
        'p.results',
        'p.status as run_status',
        'j.status as job_status',
        'p.created_at',
        'p.updated_at',
        'j.updated_at as job_updated_at',
      ]);
  }

  /** Harbor's history: the runs, newest first unless sorted, a page at a time. */
  async listRuns(options: {
    offset: number;
    limit: number;
    status?: string;
    kind?: string;
    sort?: { column: 'created_at' | 'updated_at' | 'job_id'; desc: boolean };
  }): Promise<{ items: PurgeRunRow[]; total: number }> {
    let q = this.runs();
    if (options.kind !== undefined) q = q.where('p.trigger', '=', options.kind);
    if (options.status !== undefined) {
      const status = options.status;
      const jobStatus = status.toLowerCase();
      q = q.where((eb) => eb.or([eb('j.status', '=', jobStatus), eb.and([eb('j.status', 'is', null), eb('p.status', '=', status)])]));
    }
    const total = await q
      .clearSelect()
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    const sort = options.sort ?? { column: 'job_id', desc: true };
    const rows = await q
      .orderBy(sql.ref(`p.${sort.column}`), sort.desc ? 'desc' : 'asc')
      .orderBy('p.job_id', 'desc')
      .limit(options.limit)
      .offset(options.offset)
      .execute();
    return { items: rows.map(toRun), total: Number(total.n) };
  }

  async getRun(jobId: number): Promise<PurgeRunRow | undefined> {
    const row = await this.runs().where('p.job_id', '=', jobId).executeTakeFirst();
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
}): PurgeRunRow {
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
