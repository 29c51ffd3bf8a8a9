import type { Selectable, Transaction } from 'kysely';
import type { Db } from '../db/index.js';
import { applyQuery, applySort, countRows, type Field } from '../db/query.js';
import type { Database, ScrubFindingsTable, ScrubRunsTable } from '../db/types.js';
import type { QueryTerm } from '../lib/query.js';
import type { Finding, ScrubCounts } from './scrubber.js';

export type RunRow = Selectable<ScrubRunsTable>;
export type FindingRow = Selectable<ScrubFindingsTable>;
export type RunStatus = 'Pending' | 'Running' | 'Success' | 'Error' | 'Stopped';
export type Executor = Db | Transaction<Database>;

/** Findings kept per run; the counts stay exact beyond it. */
export const findingsPerRun = 1000;
/** Runs whose findings are kept (older runs keep their counts and log). */
const runsWithFindings = 50;

const runFields: Record<string, Field> = {
  id: { column: 'id', type: 'number' },
  job_kind: { column: 'trigger', type: 'string' },
  job_status: { column: 'status', type: 'string' },
  creation_time: { column: 'created_at', type: 'time' },
  update_time: { column: 'updated_at', type: 'time' },
};

/** The scrub runs (history, progress, the one that holds the run slot) and their findings. */
export class ScrubStore {
  constructor(readonly db: Db) {}

  async createRun(
    run: { jobId: number; trigger: string; parameters: unknown; now: string },
    executor: Executor = this.db,
  ): Promise<number> {
    const row = await executor
      .insertInto('scrub_runs')
      .values({
        job_id: run.jobId,
        trigger: run.trigger,
        parameters: JSON.stringify(run.parameters),
        status: 'Pending',
        active: null,
        message: null,
        created_at: run.now,
        started_at: null,
        finished_at: null,
        updated_at: run.now,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(row.id);
  }

  get(id: number): Promise<RunRow | undefined> {
    return this.db.selectFrom('scrub_runs').selectAll().where('id', '=', id).executeTakeFirst();
  }

  byJob(jobId: number): Promise<RunRow | undefined> {
    return this.db.selectFrom('scrub_runs').selectAll().where('job_id', '=', jobId).executeTakeFirst();
  }

  async list(
    terms: QueryTerm[],
    sort: string | undefined,
    paging: { offset: number; limit: number },
  ): Promise<{ items: RunRow[]; total: number }> {
    const filtered = applyQuery(this.db.selectFrom('scrub_runs'), terms, runFields);
    const total = await countRows(filtered);
    const items = await applySort(filtered.selectAll(), sort, runFields, { column: 'id', direction: 'desc' })
      .limit(paging.limit)
      .offset(paging.offset)
      .execute();
    return { items, total };
  }

  /** A run not yet ended (Pending or Running), the newest first. */
  unfinished(): Promise<RunRow | undefined> {
    return this.db
      .selectFrom('scrub_runs')
      .selectAll()
      .where('status', 'in', ['Pending', 'Running'])
      .orderBy('id', 'desc')
      .executeTakeFirst();
  }

  /**
   * Takes the run slot for `runId` (at most one run scrubs at a time, across instances): a
   * holder whose job is no longer running (its instance died) loses it. Answers the id of
   * the run that holds it when that is another, live one.
   */
  async acquire(runId: number, now: string): Promise<{ ok: true } | { ok: false; holder: number }> {
    try {
      return await this.db.transaction().execute(async (tx) => {
        const holder = await tx.selectFrom('scrub_runs').select(['id', 'job_id']).where('active', '=', 1).executeTakeFirst();
        if (holder && Number(holder.id) !== runId) {
          const job =
            holder.job_id === null
              ? undefined
              : await tx.selectFrom('jobs').select('status').where('id', '=', Number(holder.job_id)).executeTakeFirst();
          if (job?.status === 'running') return { ok: false as const, holder: Number(holder.id) };
          await tx
            .updateTable('scrub_runs')
            .set({ active: null, status: 'Error', message: 'its instance stopped before it ended', finished_at: now, updated_at: now })
            .where('id', '=', Number(holder.id))
            .execute();
        }
        await tx
          .updateTable('scrub_runs')
          .set({ active: 1, status: 'Running', message: null, started_at: now, finished_at: null, updated_at: now })
          .where('id', '=', runId)
          .execute();
        return { ok: true as const };
      });
    } catch (err) {
      // Another instance took the slot between our read and write (the unique index said so).
      const holder = await this.db.selectFrom('scrub_runs').select('id').where('active', '=', 1).executeTakeFirst();
      if (holder && Number(holder.id) !== runId) return { ok: false, holder: Number(holder.id) };
      throw err;
    }
  }

  async progress(runId: number, counts: ScrubCounts, now: string): Promise<void> {
    await this.db
      .updateTable('scrub_runs')
      .set({ ...counts, updated_at: now })
      .where('id', '=', runId)
      .execute();
  }

  /** Ends a run and gives the slot back. */
  async finish(runId: number, status: RunStatus, message: string | null, counts: ScrubCounts | null, now: string): Promise<void> {
    await this.db
      .updateTable('scrub_runs')
      .set({ ...(counts ?? {}), status, message, active: null, finished_at: now, updated_at: now })
      .where('id', '=', runId)
      .execute();
  }

  async addFinding(runId: number, f: Finding, now: string): Promise<void> {
    await this.db
      .insertInto('scrub_findings')
      .values({
        run_id: runId,
        kind: f.kind,
        digest: f.digest,
        repository: f.repository,
        artifact_digest: f.artifactDigest,
        expected_size: f.expectedSize,
        actual_size: f.actualSize,
        actual_digest: f.actualDigest,
        quarantined: f.quarantined ? 1 : 0,
        message: f.message,
        created_at: now,
      })
      .execute();
  }

  async findings(runId: number, paging: { offset: number; limit: number }): Promise<{ items: FindingRow[]; total: number }> {
    const base = this.db.selectFrom('scrub_findings').where('run_id', '=', runId);
    const total = await countRows(base.select('id'));
    const items = await base.selectAll().orderBy('id').limit(paging.limit).offset(paging.offset).execute();
    return { items, total };
  }

  /** Drops the findings of all but the newest runs. */
  async pruneFindings(): Promise<void> {
    const cutoff = await this.db
      .selectFrom('scrub_runs')
      .select('id')
      .orderBy('id', 'desc')
      .limit(1)
      .offset(runsWithFindings - 1)
      .executeTakeFirst();
    if (cutoff) await this.db.deleteFrom('scrub_findings').where('run_id', '<', Number(cutoff.id)).execute();
  }
}
