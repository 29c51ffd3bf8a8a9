import { sql, type Transaction } from 'kysely';
import type { Db } from '../db/index.js';
import type { Database } from '../db/types.js';
import { RunHistory, type RunRow } from '../jobs/run-history.js';

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

export type PurgeRunRow = RunRow;

/** The audit log purge's SQL: its runs, and the batches it deletes. */
export class AuditPurgeStore {
  /** The runs, as Harbor's history lists them. */
  readonly history: RunHistory;

  /**
   * @param keepUnforwarded while audit records are forwarded to syslog (audit/forward.ts),
   *   records the forwarder has not sent yet are never purged: they would be lost to it. A
   *   function is asked at each purge (forwarding follows the system settings).
   */
  constructor(
    readonly db: Db,
    private readonly keepUnforwarded: boolean | (() => boolean) = false,
  ) {
    this.history = new RunHistory(db, 'audit_purge_runs');
  }

  private matching(cutoff: string, filter: PurgeFilter) {
    let query = this.db.selectFrom('audit_logs').where('op_time', '<', cutoff);
    if (typeof this.keepUnforwarded === 'function' ? this.keepUnforwarded() : this.keepUnforwarded) {
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
    return query.where((eb) => {
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
}
