import { nextTick, type Scheduler } from '../jobs/scheduler.js';
import type { JobQueue, JobStatus } from '../jobs/queue.js';
import type { JobContext } from '../jobs/runner.js';
import { nowIso } from '../lib/clock.js';
import { apiError } from '../lib/errors.js';
import { collect, emptyResults, GcStopped, type CollectorDeps, type GcParameters, type GcResults } from './collector.js';
import type { GcRunRow, GcStore } from './store.js';

/** Harbor's name for the job, its history's job_name and the schedule's vendor type. */
export const gcJobType = 'GARBAGE_COLLECTION';
const scheduleName = 'GARBAGE_COLLECTION';

export type GcTrigger = 'MANUAL' | 'SCHEDULE';

/** The schedule types Harbor accepts besides Manual and None; each comes with its cron, as from Harbor's portal. */
const scheduleTypes = ['Hourly', 'Daily', 'Weekly', 'Custom', 'Schedule'];

export const maxWorkers = 10;

/** A run lists the blob store for objects without a row when no run has for this long (or when asked). */
const storeListingIntervalMs = 24 * 3600_000;

/** What the job carries. */
export interface GcJobPayload {
  trigger: GcTrigger;
  operator: string;
  parameters: GcParameters;
  /** For a scheduled run: Hourly, Daily, Weekly or Custom. */
  schedule_type?: string;
}

/** One run as Harbor's GC history shows it. */
export interface GcRun {
  id: number;
  trigger: GcTrigger;
  operator: string;
  /** Pending | Running | Success | Error | Stopped */
  status: string;
  /** The parameters and, once known, the results, as one object (Harbor's job_parameters). */
  jobParameters: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

export interface GcSchedule {
  type: string;
  cron: string;
  nextRunAt: string | null;
  parameters: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

export interface GcServiceOptions {
  timeWindowHours: number;
}

const statusNames: Record<JobStatus, string> = {
  pending: 'Pending',
  running: 'Running',
  success: 'Success',
  error: 'Error',
  stopped: 'Stopped',
};

/**
 * Garbage collection as Harbor offers it: manual runs and a cron schedule on the durable job
 * queue, one run collecting at a time across every instance, stop, history and logs.
 */
export class GcService {
  constructor(
    private readonly store: GcStore,
    private readonly queue: JobQueue,
    private readonly scheduler: Scheduler,
    private readonly collector: Omit<CollectorDeps, 'store'>,
    private readonly options: GcServiceOptions,
  ) {}

  get timeWindowHours(): number {
    return this.options.timeWindowHours;
  }

  /** Reads Harbor's `parameters` object; refuses what is not one with a message naming the key. */
  parseParameters(raw: unknown): GcParameters {
    if (raw === undefined || raw === null) raw = {};
    if (typeof raw !== 'object' || Array.isArray(raw)) throw apiError('BAD_REQUEST', 'parameters must be an object');
    const p = raw as Record<string, unknown>;
    const flag = (key: string): boolean => {
      const value = p[key];
      if (value === undefined || value === null) return false;
      if (typeof value !== 'boolean')
        throw apiError('BAD_REQUEST', `parameters.${key} must be true or false, not ${JSON.stringify(value)}`);
      return value;
    };
    let workers = 1;
    if (p.workers !== undefined && p.workers !== null) {
      if (typeof p.workers !== 'number' || !Number.isInteger(p.workers) || p.workers < 1 || p.workers > maxWorkers) {
        throw apiError(
          'BAD_REQUEST',
          `parameters.workers must be a whole number from 1 to ${maxWorkers}, not ${JSON.stringify(p.workers)}`,
        );
      }
      workers = p.workers;
    }
    return {
      delete_untagged: flag('delete_untagged'),
      dry_run: flag('dry_run'),
      workers,
      remove_empty_repositories: flag('remove_empty_repositories'),
      scan_orphans: flag('scan_orphans'),
    };
  }

  /**
   * Starts a run now (Harbor's "Manual"). Refused with 409 while another run is pending or
   * running. Returns the run's id (its job's id).
   */
  async start(parameters: GcParameters, operator: string): Promise<number> {
    const unfinished = await this.store.history.unfinishedRun(gcJobType);
    if (unfinished !== undefined) {
      throw apiError('CONFLICT', `garbage collection ${unfinished} is still pending or running; wait for it to end or stop it first`);
    }
    const payload: GcJobPayload = { trigger: 'MANUAL', operator, parameters };
    const id = await this.store.db.transaction().execute(async (tx) => {
      const jobId = await this.queue.enqueue(gcJobType, payload, { tx, maxAttempts: 1 });
      await this.store.insertRun(tx, { jobId, trigger: 'MANUAL', operator, parameters, status: 'Pending', now: nowIso() });
      return jobId;
    });
    this.queue.notify(gcJobType);
    return id;
  }

  /** The job handler: one attempt of one run. */
  async handle(ctx: JobContext<GcJobPayload>): Promise<GcResults> {
    const payload = ctx.payload ?? ({} as GcJobPayload);
    const parameters = this.parseParameters(payload.parameters);
    const trigger: GcTrigger = payload.trigger === 'MANUAL' ? 'MANUAL' : 'SCHEDULE';
    const operator = payload.operator || 'system';
    await this.store.insertRun(this.store.db, { jobId: ctx.id, trigger, operator, parameters, status: 'Pending', now: nowIso() });
    const holder = await this.store.activate(ctx.id, nowIso());
    if (holder !== undefined) {
      await this.store.finish(ctx.id, 'Error', emptyResults(), nowIso());
      throw new Error(`garbage collection ${holder} is running; at most one runs at a time`);
    }
    let results = emptyResults();
    const lastListing = await this.store.lastStoreListing();
    const listStore = parameters.scan_orphans || lastListing === null || Date.parse(lastListing) < Date.now() - storeListingIntervalMs;
    const onAbort = () => {
      const reason = ctx.signal.reason instanceof Error ? ctx.signal.reason.message : 'stopped';
      void ctx.log(`stop received (${reason}): ending after the batches in progress`).catch(() => undefined);
    };
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    try {
      results = await collect(
        { ...this.collector, store: this.store, listStore },
        parameters,
        { timeWindowHours: this.options.timeWindowHours, operator },
        {
          signal: ctx.signal,
          log: (message, level) => ctx.log(message, level),
          progress: async (r) => {
            results = r;
            await this.store.recordResults(ctx.id, r, nowIso());
          },
        },
      );
      if (results.store_listed && !parameters.dry_run) await this.store.storeListed(ctx.id, nowIso());
      await this.store.finish(ctx.id, 'Success', results, nowIso());
      await ctx.log(`results: ${JSON.stringify(results)}`);
      return results;
    } catch (err) {
      const stopped = err instanceof GcStopped || ctx.signal.aborted;
      if (err instanceof GcStopped) results = err.results;
      await this.store.finish(ctx.id, stopped ? 'Stopped' : 'Error', results, nowIso());
      if (stopped) await ctx.log(`stopped; results so far: ${JSON.stringify(results)}`);
      throw err;
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
    }
  }

  async history(options: {
    offset: number;
    limit: number;
    status?: string;
    kind?: string;
    sort?: { column: 'created_at' | 'updated_at' | 'job_id'; desc: boolean };
  }): Promise<{ items: GcRun[]; total: number }> {
    const page = await this.store.history.listRuns(options);
    return { items: page.items.map((r) => this.toRun(r)), total: page.total };
  }

  async get(id: number): Promise<GcRun | undefined> {
    const row = await this.store.history.getRun(id);
    return row && this.toRun(row);
  }

  /** The run's log; undefined when there is no such run, null when its log was pruned with its job. */
  async log(id: number): Promise<string | null | undefined> {
    if (!(await this.store.history.getRun(id))) return undefined;
    return (await this.queue.logText(id)) ?? null;
  }

  /** Stops a run (Harbor's PUT /system/gc/{id}); false when there is no such run. */
  async stop(id: number): Promise<boolean> {
    const run = await this.store.history.getRun(id);
    if (!run) return false;
    const outcome = await this.queue.cancel(id);
    if (outcome === 'stopped') await this.store.finish(id, 'Stopped', run.results ? JSON.parse(run.results) : emptyResults(), nowIso());
    return true;
  }

  async schedule(): Promise<GcSchedule | null> {
    const s = await this.scheduler.get(scheduleName);
    if (!s) return null;
    const payload = (s.payload ?? {}) as Partial<GcJobPayload>;
    return {
      type: payload.schedule_type ?? 'Custom',
      cron: s.cron,
      nextRunAt: s.nextRunAt,
      parameters: { ...(payload.parameters ?? {}), time_window: this.options.timeWindowHours },
      createdAt: s.createdAt,
      updatedAt: s.updatedAt,
    };
  }

  /**
   * Harbor's POST/PUT /system/gc/schedule: Manual starts a run (its id is returned), None
   * removes the schedule, Hourly/Daily/Weekly/Custom set it.
   */
  async applySchedule(body: unknown, operator: string): Promise<{ started?: number }> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw apiError('BAD_REQUEST', 'the body must be an object like {"schedule":{"type":"Manual"},"parameters":{...}}');
    }
    const { schedule, parameters } = body as { schedule?: unknown; parameters?: unknown };
    if (typeof schedule !== 'object' || schedule === null || Array.isArray(schedule)) {
      throw apiError(
        'BAD_REQUEST',
        'schedule is required: {"type":"Manual"}, {"type":"None"} or {"type":"Daily"|"Hourly"|"Weekly"|"Custom","cron":"…"}',
      );
    }
    const { type, cron } = schedule as { type?: unknown; cron?: unknown };
    const params = this.parseParameters(parameters);
    if (type === 'Manual') return { started: await this.start(params, operator) };
    if (type === 'None') {
      await this.scheduler.remove(scheduleName);
      return {};
    }
    if (typeof type !== 'string' || !scheduleTypes.includes(type)) {
      throw apiError(
        'BAD_REQUEST',
        `schedule.type must be one of Manual, None, Hourly, Daily, Weekly, Custom, not ${JSON.stringify(type ?? null)}`,
      );
    }
    if (cron !== undefined && cron !== null && typeof cron !== 'string') throw apiError('BAD_REQUEST', 'schedule.cron must be a string');
    const expression = typeof cron === 'string' ? cron.trim() : '';
    if (expression === '') throw apiError('BAD_REQUEST', `empty cron string for gc schedule (type ${type})`);
    try {
      nextTick(expression, new Date());
    } catch (err) {
      throw apiError('BAD_REQUEST', `"${expression}" is not a valid cron expression: ${(err as Error).message}`);
    }
    const payload: GcJobPayload = {
      trigger: 'SCHEDULE',
      operator,
      parameters: params,
      schedule_type: type === 'Schedule' ? 'Custom' : type,
    };
    await this.scheduler.define({ name: scheduleName, jobType: gcJobType, cron: expression, payload });
    return {};
  }

  private toRun(r: GcRunRow): GcRun {
    const parameters = parseObject(r.parameters);
    const results = r.results === null ? {} : parseObject(r.results);
    return {
      id: r.jobId,
      trigger: r.trigger === 'MANUAL' ? 'MANUAL' : 'SCHEDULE',
      operator: r.operator,
      status: r.jobStatus !== null ? (statusNames[r.jobStatus as JobStatus] ?? r.runStatus) : r.runStatus,
      jobParameters: { ...parameters, time_window: this.options.timeWindowHours, ...results },
      createdAt: r.createdAt,
      updatedAt: r.updatedAt,
    };
  }
}

function parseObject(text: string): Record<string, unknown> {
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
