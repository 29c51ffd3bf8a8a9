import type { Kysely } from 'kysely';
import type { Database } from '../../db/types.js';
import type { JobQueue } from '../../jobs/queue.js';
import type { JobContext } from '../../jobs/runner.js';
import { nextTick, type Scheduler } from '../../jobs/scheduler.js';
import { apiError, isAppError } from '../../lib/errors.js';
import { imageScanJobType, yieldWhileBusy, type ScanService } from './service.js';
import type { ScanRegistration } from './ports.js';
import type { ScanStore } from './store.js';
import type { ScanTargets } from './targets.js';

export const scanAllJobType = 'SCAN_ALL';
const scheduleName = 'SCAN_ALL';
const scheduleTypes = ['Hourly', 'Daily', 'Weekly', 'Custom', 'Schedule'];

export interface ScanAllPayload {
  trigger: 'Manual' | 'Schedule';
  operator: string;
  schedule_type?: string;
}

/** Harbor's Stats. */
export interface ScanAllStats {
  total?: number;
  completed?: number;
  metrics?: Record<string, number>;
  ongoing?: boolean;
  trigger?: string;
}

export interface ScanAllOptions {
  /** Artifacts enqueued per transaction. */
  batchSize?: number;
  /** Whether /v2 requests are being answered: the run waits between batches while they are (bounded). */
  busy?: () => boolean;
}

/**
 * Scan all (Harbor's /system/scanAll): one SCAN_ALL job walks every image manifest in id order
 * and enqueues IMAGE_SCAN jobs a batch at a time, each batch in one transaction with the run's
 * cursor, so a restart resumes where it was and never enqueues an artifact twice. The scans
 * themselves run at `scanning.concurrency` per instance.
 */
export class ScanAllService {
  private readonly batchSize: number;
  private readonly busy: (() => boolean) | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly store: ScanStore,
    private readonly targets: ScanTargets,
    private readonly scans: ScanService,
    private readonly queue: JobQueue,
    private readonly scheduler: Scheduler,
    options: ScanAllOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 50;
    this.busy = options.busy;
  }

  /**
   * Whether the run's job is still enqueuing: the run says Running and its job is pending or
   * running (a job that ended otherwise — its last attempt failed, it was pruned — enqueues no more).
   */
  private async enqueuing(run: { status: string; job_id: number | null }): Promise<boolean> {
    if (run.status !== 'Running') return false;
    if (run.job_id === null) return true;
    const job = await this.queue.get(Number(run.job_id));
    return job !== undefined && (job.status === 'pending' || job.status === 'running');
  }

  /** Whether the run is still going: its job enqueuing, or scans it enqueued not ended. */
  private async ongoing(run: { id: number; status: string; job_id: number | null }): Promise<boolean> {
    if (await this.enqueuing(run)) return true;
    const counts = await this.store.runCounts(Number(run.id));
    return counts.Pending + counts.Running > 0;
  }

  /** Starts a run now (Harbor's POST schedule with type Manual); 409 while one is going. */
  async start(operator: string): Promise<number> {
    const latest = await this.store.latestRun();
    if (latest && (await this.ongoing(latest))) {
      throw apiError('CONFLICT', 'a previous scan all job aleady exits, its status is Running');
    }
    const runId = await this.db.transaction().execute(async (tx) => {
      const id = await this.store.createRun(tx, 'Manual', operator);
      const payload: ScanAllPayload = { trigger: 'Manual', operator };
      const jobId = await this.queue.enqueue(scanAllJobType, payload, { tx, maxAttempts: 5 });
      await this.store.setRunJob(tx, id, jobId);
      return id;
    });
    this.queue.notify(scanAllJobType);
    return runId;
  }

  /** Stops the newest run: no more scans are enqueued, those not started end Stopped, running ones are asked to stop. */
  async stop(): Promise<void> {
    const run = await this.store.latestRun();
    if (!run) throw apiError('BAD_REQUEST', 'no scan all job is found currently');
    await this.store.endRun(Number(run.id), 'Stopped');
    if (run.job_id !== null) await this.queue.cancel(Number(run.job_id));
    await this.store.stopRunPending(Number(run.id));
    for (const jobId of await this.store.runningJobsOfRun(Number(run.id))) await this.queue.cancel(jobId);
  }

  /** Harbor's Stats of the newest run (of a trigger); {} when there has been none. */
  async metrics(trigger?: 'Manual' | 'Schedule'): Promise<ScanAllStats> {
    const run = await this.store.latestRun(trigger);
    if (!run) return {};
    const counts = await this.store.runCounts(Number(run.id));
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    const completed = counts.Success + counts.Error + counts.Stopped;
    return {
      total,
      completed,
      metrics: { ...counts },
      ongoing: (await this.enqueuing(run)) || total !== completed,
      trigger: run.trigger,
    };
  }

  async schedule() {
    const s = await this.scheduler.get(scheduleName);
    if (!s) return null;
    const payload = (s.payload ?? {}) as Partial<ScanAllPayload>;
    return {
      id: s.id,
      type: payload.schedule_type ?? 'Custom',
      cron: s.cron,
      nextRunAt: s.nextRunAt,
      createdAt: s.createdAt,
      updatedAt: s.updatedAt,
    };
  }

  /**
   * Harbor's POST (create) and PUT (update) /system/scanAll/schedule: Manual starts a run
   * (POST only), None removes the schedule, the others set it from its cron. A POST of a
   * schedule when one exists is refused with 412, as Harbor does.
   */
  async applySchedule(body: unknown, operator: string, mode: 'create' | 'update'): Promise<void> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw apiError('BAD_REQUEST', 'the body must be an object like {"schedule":{"type":"Daily","cron":"0 0 0 * * *"}}');
    }
    const { schedule } = body as { schedule?: unknown };
    if (typeof schedule !== 'object' || schedule === null || Array.isArray(schedule)) {
      throw apiError(
        'BAD_REQUEST',
        'schedule is required: {"type":"Manual"}, {"type":"None"} or {"type":"Hourly"|"Daily"|"Weekly"|"Custom","cron":"…"}',
      );
    }
    const { type, cron } = schedule as { type?: unknown; cron?: unknown };
    if (type === 'Manual') {
      if (mode === 'update') throw apiError('BAD_REQUEST', `fail to update scan all schedule as wrong schedule type: ${type}`);
      await this.start(operator);
      return;
    }
    if (type === 'None') {
      await this.scheduler.remove(scheduleName);
      return;
    }
    if (typeof type !== 'string' || !scheduleTypes.includes(type)) {
      throw apiError(
        'BAD_REQUEST',
        `schedule.type must be one of Manual, None, Hourly, Daily, Weekly, Custom, not ${JSON.stringify(type ?? null)}`,
      );
    }
    if (cron !== undefined && cron !== null && typeof cron !== 'string') throw apiError('BAD_REQUEST', 'schedule.cron must be a string');
    const expression = typeof cron === 'string' ? cron.trim() : '';
    try {
      if (expression === '') throw new Error('it is empty');
      nextTick(expression, new Date());
    } catch (err) {
      throw apiError('BAD_REQUEST', `invalid cron string for scheduled scan all: ${expression}, error: ${(err as Error).message}`);
    }
    if (mode === 'create' && (await this.scheduler.get(scheduleName))) {
      throw apiError('PRECONDITION', 'fail to set schedule for scan all as always had one, please delete it firstly then to re-schedule');
    }
    const payload: ScanAllPayload = { trigger: 'Schedule', operator, schedule_type: type === 'Schedule' ? 'Custom' : type };
    await this.scheduler.define({ name: scheduleName, jobType: scanAllJobType, cron: expression, payload });
  }

  /** The SCAN_ALL job: resumes its run from the cursor, a batch per transaction. */
  handle = async (ctx: JobContext<ScanAllPayload>): Promise<void> => {
    const payload = ctx.payload ?? ({ trigger: 'Schedule', operator: 'system' } as ScanAllPayload);
    let run = await this.db.selectFrom('scan_all_runs').selectAll().where('job_id', '=', ctx.id).executeTakeFirst();
    if (!run) {
      const id = await this.db.transaction().execute(async (tx) => {
        const runId = await this.store.createRun(tx, payload.trigger === 'Manual' ? 'Manual' : 'Schedule', payload.operator || 'system');
        await this.store.setRunJob(tx, runId, ctx.id);
        return runId;
      });
      run = (await this.store.run(id))!;
    }
    const runId = Number(run.id);
    if (run.status !== 'Running') {
      await ctx.log(`scan-all run ${runId} is ${run.status}; nothing to do`);
      return;
    }
    let cursor = Number(run.cursor);
    // Each project's scanner, looked up once per run and before the batch transactions.
    const registrations = new Map<number, ScanRegistration | null>();
    const registrationOf = async (projectId: number) => {
      if (!registrations.has(projectId)) {
        try {
          registrations.set(projectId, await this.scans.registrationFor(projectId));
        } catch (err) {
          // No usable scanner: the project's artifacts are left out (Harbor counts them as not scannable).
          if (!isAppError(err) || err.code !== 'PRECONDITION') throw err;
          registrations.set(projectId, null);
        }
      }
      return registrations.get(projectId) ?? null;
    };
    await ctx.log(`scan-all run ${runId} (${run.trigger}) enqueuing scans from artifact id ${cursor + 1}`);
    for (;;) {
      if (ctx.signal.aborted) {
        await this.store.endRun(runId, 'Stopped');
        await ctx.log('stopped');
        return;
      }
      // A batch's transaction holds SQLite's one writer: taken between requests where possible.
      await yieldWhileBusy(this.busy, ctx.signal, 2_000);
      const batch = await this.targets.imagesAfter(cursor, this.batchSize);
      if (batch.length === 0) break;
      for (const artifact of batch) await registrationOf(artifact.projectId);
      const enqueued = await this.db.transaction().execute(async (tx) => {
        const current = await this.store.run(runId, tx);
        if (current?.status !== 'Running') return -1;
        let n = 0;
        for (const artifact of batch) {
          const registration = registrations.get(artifact.projectId);
          if (!registration) continue;
          n += (
            await this.scans.scan(artifact, { operator: payload.operator || 'system', quiet: true, scanAllRunId: runId, tx, registration })
          ).length;
        }
        await this.store.advanceRun(tx, runId, batch[batch.length - 1].id, n);
        return n;
      });
      if (enqueued < 0) {
        await ctx.log('the run was stopped');
        return;
      }
      cursor = batch[batch.length - 1].id;
      if (enqueued > 0) this.queue.notify(imageScanJobType);
      await ctx.log(`enqueued ${enqueued} scan(s) up to artifact id ${cursor}`, 'DEBUG');
    }
    await this.store.endRun(runId, 'Success');
    const finished = await this.store.run(runId);
    await ctx.log(`scan-all run ${runId} enqueued ${finished?.enqueued ?? 0} scan(s)`);
  };
}
