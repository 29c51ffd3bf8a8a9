import { apiError } from '../lib/errors.js';
import type { QueryTerm } from '../lib/query.js';
import type { JobQueue, JobStatus } from '../jobs/queue.js';
import { JobAbortError, type JobContext } from '../jobs/runner.js';
import { nextTick, type Scheduler } from '../jobs/scheduler.js';
import { emptyCounts, problemCount, type Finding, type ScrubCounts, type ScrubParams, type Scrubber } from './scrubber.js';
import { findingsPerRun, type FindingRow, type RunRow, type RunStatus, type ScrubStore } from './store.js';

/** The scrub's job type on the durable queue, and its schedule's name. */
export const scrubJob = 'SCRUB';
export type ScrubTrigger = 'MANUAL' | 'SCHEDULE' | 'CLI';

/** Harbor's schedule types (`Manual` runs now, `None` removes the schedule). */
const scheduleTypes = ['Hourly', 'Daily', 'Weekly', 'Custom', 'Manual', 'None', 'Schedule'] as const;
export type ScheduleType = (typeof scheduleTypes)[number];

const maxWorkers = 32;
/** Progress is written to the run row at most this often. */
const progressEveryMs = 1000;
/** Findings also written to the job's log, one line each. */
const findingsLogged = 100;

interface JobPayload {
  trigger?: ScrubTrigger;
  schedule_type?: string;
  parameters?: Partial<ScrubParams>;
}

/** A run as the API shows it (Harbor's GCHistory shape, plus Berth's `results`). */
export interface RunView {
  id: number;
  job_name: string;
  job_kind: string;
  job_parameters: string;
  schedule: { type: string; cron: string; next_scheduled_time?: string };
  job_status: RunStatus;
  deleted: boolean;
  creation_time: string;
  update_time: string;
  results: ScrubCounts & { problems: number; message: string | null; start_time: string | null; end_time: string | null };
}

export interface ScheduleView {
  id: number;
  job_name: string;
  job_kind: string;
  job_parameters: string;
  job_status: string;
  deleted: boolean;
  schedule: { type: string; cron: string; next_scheduled_time?: string };
  creation_time: string;
  update_time: string;
}

export interface FindingView {
  id: number;
  kind: string;
  digest: string;
  repository: string | null;
  artifact_digest: string | null;
  expected_size: number | null;
  actual_size: number | null;
  actual_digest: string | null;
  quarantined: boolean;
  message: string;
  creation_time: string;
}

export interface ScrubServiceOptions {
  /** Blobs hashed at once when a request gives no `workers` (scrub.workers). */
  defaultWorkers: number;
}

/**
 * Integrity scrub as a job (Berth's own; zot has one, Harbor does not): runs started by
 * hand, by a cron schedule or by `berth scrub`, at most one scrubbing at a time across all
 * instances, stoppable, with a history shaped like Harbor's garbage collection's.
 */
export class ScrubService {
  constructor(
    private readonly store: ScrubStore,
    private readonly scrubber: Scrubber,
    private readonly queue: JobQueue,
    private readonly scheduler: Scheduler,
    private readonly options: ScrubServiceOptions,
  ) {
    queue.declareType(scrubJob);
  }

  /** Checks and completes a request's `parameters`; 400 naming what is wrong. */
  parameters(input: unknown): ScrubParams {
    const params: ScrubParams = { workers: this.options.defaultWorkers, quarantine: true };
    if (input === undefined || input === null) return params;
    if (typeof input !== 'object' || Array.isArray(input)) throw apiError('BAD_REQUEST', 'parameters must be an object');
    for (const [key, value] of Object.entries(input)) {
      if (key === 'workers') {
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > maxWorkers) {
          throw apiError('BAD_REQUEST', `parameters.workers must be an integer from 1 to ${maxWorkers}, not ${JSON.stringify(value)}`);
        }
        params.workers = value;
      } else if (key === 'quarantine') {
        if (typeof value !== 'boolean')
          throw apiError('BAD_REQUEST', `parameters.quarantine must be true or false, not ${JSON.stringify(value)}`);
        params.quarantine = value;
      } else {
        throw apiError('BAD_REQUEST', `unknown scrub parameter "${key}"; a scrub takes workers and quarantine`);
      }
    }
    return params;
  }

  /** Starts a run now (409 while another is pending or running); answers its id. */
  async start(trigger: 'MANUAL' | 'CLI', params: ScrubParams): Promise<number> {
    const unfinished = await this.store.unfinished();
    if (unfinished?.job_id != null) {
      const job = await this.queue.get(Number(unfinished.job_id));
      if (job && (job.status === 'pending' || job.status === 'running')) {
        throw apiError('CONFLICT', `scrub ${unfinished.id} is already ${job.status}; wait for it to end or stop it first`);
      }
    }
    const payload: JobPayload = { trigger, parameters: params };
    const id = await this.store.db.transaction().execute(async (tx) => {
      // A scrub started again after a failure starts over: one attempt each.
      const jobId = await this.queue.enqueue(scrubJob, payload, { tx, maxAttempts: 1 });
      return this.store.createRun({ jobId, trigger, parameters: params, now: this.queue.clock.iso() }, tx);
    });
    this.queue.notify(scrubJob);
    return id;
  }

  async list(terms: QueryTerm[], sort: string | undefined, paging: { offset: number; limit: number }) {
    const page = await this.store.list(terms, sort, paging);
    return { items: await Promise.all(page.items.map((r) => this.view(r))), total: page.total };
  }

  async get(id: number): Promise<RunView> {
    return this.view(await this.run(id));
  }

  /** The run's job log; 404 once the job was pruned. */
  async log(id: number): Promise<string> {
    const run = await this.run(id);
    const text = run.job_id === null ? undefined : await this.queue.logText(Number(run.job_id));
    if (text === undefined) throw apiError('NOT_FOUND', `the log of scrub ${id} is no longer kept`);
    return text;
  }

  async findings(id: number, paging: { offset: number; limit: number }): Promise<{ items: FindingView[]; total: number }> {
    await this.run(id);
    const page = await this.store.findings(id, paging);
    return { items: page.items.map(findingView), total: page.total };
  }

  /** Stops a run: at once if pending, at its next check if running; nothing once it ended. */
  async stop(id: number): Promise<void> {
    const run = await this.run(id);
    if (run.job_id !== null) await this.queue.cancel(Number(run.job_id));
  }

  async schedule(): Promise<ScheduleView | null> {
    const schedule = await this.scheduler.get(scrubJob);
    if (!schedule) return null;
    const payload = (schedule.payload ?? {}) as JobPayload;
    return {
      id: schedule.id,
      job_name: '',
      job_kind: schedule.cron,
      job_parameters: JSON.stringify(payload.parameters ?? {}),
      job_status: schedule.paused ? 'Paused' : '',
      deleted: false,
      schedule: {
        type: payload.schedule_type ?? 'Custom',
        cron: schedule.cron,
        ...(schedule.nextRunAt && { next_scheduled_time: schedule.nextRunAt }),
      },
      creation_time: schedule.createdAt,
      update_time: schedule.updatedAt,
    };
  }

  /**
   * Harbor's POST/PUT …/schedule: `Manual` starts a run (its id is returned), `None`
   * removes the schedule, the others (with a cron) set it.
   */
  async kick(body: Record<string, unknown>): Promise<number | null> {
    const schedule = body.schedule;
    if (typeof schedule !== 'object' || schedule === null || Array.isArray(schedule)) {
      throw apiError('BAD_REQUEST', 'schedule must be an object with a type (and a cron for a periodic schedule)');
    }
    const { type, cron } = schedule as { type?: unknown; cron?: unknown };
    if (typeof type !== 'string' || !(scheduleTypes as readonly string[]).includes(type)) {
      throw apiError('BAD_REQUEST', `schedule.type must be one of ${scheduleTypes.join(', ')}, not ${JSON.stringify(type ?? null)}`);
    }
    const params = this.parameters(body.parameters);
    if (type === 'Manual') return this.start('MANUAL', params);
    if (type === 'None') {
      await this.scheduler.remove(scrubJob);
      return null;
    }
    if (typeof cron !== 'string' || cron.trim() === '') throw apiError('BAD_REQUEST', `a ${type} schedule needs a cron expression`);
    try {
      nextTick(cron, new Date());
    } catch (err) {
      throw apiError('BAD_REQUEST', `"${cron}" is not a valid cron expression: ${(err as Error).message}`);
    }
    const payload: JobPayload = { trigger: 'SCHEDULE', schedule_type: type, parameters: params };
    await this.scheduler.define({ name: scrubJob, jobType: scrubJob, cron, payload });
    return null;
  }

  /** The job handler: one run, in the run slot, reporting to its row and its job's log. */
  readonly handle = async (ctx: JobContext<JobPayload>): Promise<void> => {
    const payload = ctx.payload ?? {};
    const params = this.parameters(payload.parameters);
    const existing = await this.store.byJob(ctx.id);
    const runId =
      existing?.id ??
      (await this.store.createRun({
        jobId: ctx.id,
        trigger: payload.trigger ?? 'SCHEDULE',
        parameters: params,
        now: this.queue.clock.iso(),
      }));
    const slot = await this.store.acquire(runId, this.queue.clock.iso());
    if (!slot.ok) {
      const message = `scrub ${slot.holder} is running, and one scrub runs at a time: this one did not start`;
      await ctx.log(message, 'WARNING');
      await this.store.finish(runId, 'Stopped', message, null, this.queue.clock.iso());
      return;
    }
    await ctx.log(`scrub ${runId} holds the run slot`);
    let counts = emptyCounts();
    let stored = 0;
    let lastProgress = 0;
    const sink = {
      finding: async (f: Finding) => {
        if (stored < findingsPerRun) await this.store.addFinding(runId, f, this.queue.clock.iso());
        if (stored < findingsLogged) await ctx.log(f.message, f.kind === 'affected_artifact' ? 'INFO' : 'WARNING');
        if (stored === findingsLogged) await ctx.log('further findings are in the findings list, not here', 'WARNING');
        if (stored === findingsPerRun)
          await ctx.log(`more than ${findingsPerRun} findings: only the first ${findingsPerRun} are kept; the counts are exact`, 'WARNING');
        stored++;
      },
      progress: async (c: ScrubCounts) => {
        counts = c;
        if (Date.now() - lastProgress < progressEveryMs) return;
        lastProgress = Date.now();
        await this.store.progress(runId, c, this.queue.clock.iso());
      },
      log: (message: string, level?: 'INFO' | 'WARNING' | 'ERROR') => ctx.log(message, level),
    };
    try {
      counts = await this.scrubber.run(params, runId, sink, ctx.signal);
    } catch (err) {
      const reason = ctx.signal.aborted ? ctx.signal.reason : null;
      if (reason instanceof JobAbortError && reason.kind === 'lease-lost') throw err; // the instance that took the job over owns the run now
      const status: RunStatus = reason instanceof JobAbortError && reason.kind === 'shutdown' ? 'Pending' : reason ? 'Stopped' : 'Error';
      const message = reason ? (reason as Error).message : `failed: ${(err as Error).message ?? String(err)}`;
      await this.store.finish(runId, status, message, counts, this.queue.clock.iso());
      throw err;
    }
    const problems = problemCount(counts);
    const message =
      problems === 0
        ? 'no problems found'
        : `${problems} problem(s) found; ${counts.quarantined} blob(s) quarantined, ${counts.affected_artifacts} artifact(s) affected`;
    await this.store.finish(runId, 'Success', message, counts, this.queue.clock.iso());
    await ctx.log(`scrub ${runId} done: ${message}`, problems === 0 ? 'INFO' : 'WARNING');
    await this.store.pruneFindings();
  };

  private async run(id: number): Promise<RunRow> {
    const run = await this.store.get(id);
    if (!run) throw apiError('NOT_FOUND', `there is no scrub ${id}`);
    return run;
  }

  private async view(run: RunRow): Promise<RunView> {
    const job = run.job_id === null ? undefined : await this.queue.get(Number(run.job_id));
    const counts = countsOf(run);
    const trigger = run.trigger as ScrubTrigger;
    let parameters: unknown;
    try {
      parameters = JSON.parse(run.parameters);
    } catch {
      parameters = {};
    }
    return {
      id: Number(run.id),
      job_name: scrubJob,
      job_kind: trigger,
      job_parameters: JSON.stringify({ ...(parameters as object), ...counts }),
      schedule: { type: trigger === 'SCHEDULE' ? 'Schedule' : 'Manual', cron: '' },
      job_status: statusOf(run, job?.status),
      deleted: false,
      creation_time: run.created_at,
      update_time: run.updated_at,
      results: {
        ...counts,
        problems: problemCount(counts),
        message: run.message,
        start_time: run.started_at,
        end_time: run.finished_at,
      },
    };
  }
}

/** The run's own status, unless its job says it ended otherwise (an instance died mid-run). */
function statusOf(run: RunRow, job: JobStatus | undefined): RunStatus {
  const own = run.status as RunStatus;
  if (own !== 'Pending' && own !== 'Running') return own;
  if (job === 'error') return 'Error';
  if (job === 'stopped') return 'Stopped';
  if (job === 'running') return 'Running';
  return own;
}

function countsOf(run: RunRow): ScrubCounts {
  const c = emptyCounts();
  for (const key of Object.keys(c) as Array<keyof ScrubCounts>) c[key] = Number(run[key]);
  return c;
}

function findingView(f: FindingRow): FindingView {
  return {
    id: Number(f.id),
    kind: f.kind,
    digest: f.digest,
    repository: f.repository,
    artifact_digest: f.artifact_digest,
    expected_size: f.expected_size === null ? null : Number(f.expected_size),
    actual_size: f.actual_size === null ? null : Number(f.actual_size),
    actual_digest: f.actual_digest,
    quarantined: Number(f.quarantined) === 1,
    message: f.message,
    creation_time: f.created_at,
  };
}
