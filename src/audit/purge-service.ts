import type { JobQueue, JobStatus } from '../jobs/queue.js';
import type { JobContext } from '../jobs/runner.js';
import { nextTick, type Scheduler } from '../jobs/scheduler.js';
import { nowIso } from '../lib/clock.js';
import { apiError } from '../lib/errors.js';
import type { AuditPurgeStore, PurgeFilter, PurgeRunRow } from './purge-store.js';
import { auditEventTypes } from './service.js';

/** Harbor's vendor type: the job's type, the history's job_name and the schedule's name. */
export const auditPurgeJobType = 'PURGE_AUDIT_LOG';
const scheduleName = 'PURGE_AUDIT_LOG';

/** Harbor's cap on audit_retention_hour (common.MaxAuditRetentionHour). */
export const maxRetentionHours = 240000;

/** Records deleted per statement: a stop is honoured between two batches. */
const batchSize = 1000;

/** Harbor's audit_log_ext event types (pkg/auditext/model), which its portal and scripts send. */
const harborEventTypes = [
  'create_artifact',
  'delete_artifact',
  'pull_artifact',
  'create_project',
  'delete_project',
  'delete_repository',
  'login_user',
  'logout_user',
  'create_user',
  'delete_user',
  'update_user',
  'create_robot',
  'delete_robot',
  'update_configuration',
  'create_member',
  'delete_member',
  'update_member',
  'update_project',
];
/** "other" is every event type but these (Harbor: EventTypes[3:]). */
const notOther = ['create_artifact', 'delete_artifact', 'pull_artifact'];
/** Harbor's legacy audit_log purge took operations. */
const plainOperations = ['create', 'delete', 'pull'];

export const purgeEventTypeNames = [...new Set([...auditEventTypes, ...harborEventTypes]), 'other', ...plainOperations];

export type PurgeTrigger = 'MANUAL' | 'SCHEDULE';

/** Harbor's parameters, as the job and the history carry them. */
export interface PurgeParameters {
  audit_retention_hour: number;
  include_event_types: string;
  dry_run: boolean;
}

export interface PurgeJobPayload {
  trigger: PurgeTrigger;
  operator: string;
  parameters: PurgeParameters;
  /** For a scheduled run: Hourly, Daily, Weekly or Custom. */
  schedule_type?: string;
}

export interface PurgeRun {
  id: number;
  trigger: PurgeTrigger;
  operator: string;
  /** Pending | Running | Success | Error | Stopped */
  status: string;
  /** The parameters and, once known, `purged` (records deleted, or counted by a dry run). */
  jobParameters: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

export interface PurgeSchedule {
  type: string;
  cron: string;
  nextRunAt: string | null;
  parameters: PurgeParameters;
  createdAt: string;
  updatedAt: string;
}

const scheduleTypes = ['Hourly', 'Daily', 'Weekly', 'Custom'];

const statusNames: Record<JobStatus, string> = {
  pending: 'Pending',
  running: 'Running',
  success: 'Success',
  error: 'Error',
  stopped: 'Stopped',
};

const pairOf = (eventType: string): [string, string] => {
  const at = eventType.indexOf('_');
  return [eventType.slice(0, at), eventType.slice(at + 1)];
};

/** The records include_event_types names (Harbor's rules; see COMPATIBILITY.md). */
export function purgeFilterOf(includeEventTypes: string): PurgeFilter {
  const filter: PurgeFilter = { eventTypes: [], operations: [], allBut: null };
  for (const name of eventTypeNames(includeEventTypes)) {
    if (name === 'other') filter.allBut = notOther.map(pairOf);
    else if (plainOperations.includes(name)) filter.operations.push(name);
    else filter.eventTypes.push(pairOf(name));
  }
  return filter;
}

function eventTypeNames(includeEventTypes: string): string[] {
  return [
    ...new Set(
      includeEventTypes
        .split(',')
        .map((s) => s.trim().toLowerCase())
        .filter((s) => s !== ''),
    ),
  ];
}

export class PurgeStopped extends Error {
  constructor(readonly purged: number) {
    super('the purge was stopped');
  }
}

/**
 * Harbor's audit log purge: runs now (Manual) or on a cron schedule, on the durable job
 * queue; a run deletes the records older than the retention of the chosen event types, in
 * batches, and stops between two batches when asked. A dry run only counts.
 */
export class AuditPurgeService {
  constructor(
    private readonly store: AuditPurgeStore,
    private readonly queue: JobQueue,
    private readonly scheduler: Scheduler,
  ) {}

  /**
   * Reads Harbor's `parameters` (both audit_retention_hour and include_event_types required,
   * as Harbor's handler requires them), with Harbor's messages.
   */
  parseParameters(raw: unknown): PurgeParameters {
    if (raw === undefined || raw === null) throw apiError('BAD_REQUEST', "schedule parameter cann't be empty");
    if (typeof raw !== 'object' || Array.isArray(raw)) throw apiError('BAD_REQUEST', 'parameters must be an object');
    const p = raw as Record<string, unknown>;
    if (Object.keys(p).length === 0) throw apiError('BAD_REQUEST', "schedule parameter cann't be empty");
    if (!('audit_retention_hour' in p)) throw apiError('BAD_REQUEST', 'audit_retention_hour should provide');
    const hours = p.audit_retention_hour;
    if (typeof hours !== 'number' || !Number.isInteger(hours)) {
      throw apiError('BAD_REQUEST', 'audit_retention_hour should be integer format');
    }
    if (hours > maxRetentionHours) throw apiError('BAD_REQUEST', `audit_retention_hour should be less than ${maxRetentionHours}`);
    if (hours < -1) throw apiError('BAD_REQUEST', `audit_retention_hour must be -1, 0 (purge nothing) or a number of hours, not ${hours}`);
    if (!('include_event_types' in p)) throw apiError('BAD_REQUEST', 'include_event_types should provide');
    const types = p.include_event_types;
    if (typeof types !== 'string') {
      throw apiError(
        'BAD_REQUEST',
        'include_event_types must be a comma separated string, such as "create_artifact,delete_artifact,other"',
      );
    }
    const unknown = eventTypeNames(types).filter((name) => !purgeEventTypeNames.includes(name));
    if (unknown.length > 0) {
      throw apiError(
        'BAD_REQUEST',
        `include_event_types: unknown event type ${unknown.map((u) => JSON.stringify(u)).join(', ')}; ` +
          'use those of GET /api/v2.0/auditlog-exts/events, "other", or the operations create, delete, pull',
      );
    }
    const dryRun = p.dry_run ?? false;
    if (typeof dryRun !== 'boolean') throw apiError('BAD_REQUEST', `dry_run must be true or false, not ${JSON.stringify(dryRun)}`);
    return { audit_retention_hour: hours, include_event_types: types, dry_run: dryRun };
  }

  /** Starts a purge now (Harbor's "Manual"); 409 while another is pending or running. Returns its id. */
  async start(parameters: PurgeParameters, operator: string): Promise<number> {
    const unfinished = await this.store.history.unfinishedRun(auditPurgeJobType);
    if (unfinished !== undefined) {
      throw apiError('CONFLICT', `audit log purge ${unfinished} is still pending or running; wait for it to end or stop it first`);
    }
    const payload: PurgeJobPayload = { trigger: 'MANUAL', operator, parameters };
    const id = await this.store.db.transaction().execute(async (tx) => {
      const jobId = await this.queue.enqueue(auditPurgeJobType, payload, { tx, maxAttempts: 1 });
      await this.store.insertRun(tx, { jobId, trigger: 'MANUAL', operator, parameters, status: 'Pending', now: nowIso() });
      return jobId;
    });
    this.queue.notify(auditPurgeJobType);
    return id;
  }

  /** The job handler (one attempt: Harbor's purge job never retries). */
  async handle(ctx: JobContext<PurgeJobPayload>): Promise<{ purged: number }> {
    const payload = ctx.payload ?? ({} as PurgeJobPayload);
    const parameters = this.parseParameters(payload.parameters);
    const trigger: PurgeTrigger = payload.trigger === 'MANUAL' ? 'MANUAL' : 'SCHEDULE';
    await this.store.insertRun(this.store.db, {
      jobId: ctx.id,
      trigger,
      operator: payload.operator || 'system',
      parameters,
      status: 'Pending',
      now: nowIso(),
    });
    await this.store.update(ctx.id, { status: 'Running' }, nowIso());
    let purged = 0;
    try {
      await ctx.log('Purge audit job start');
      await ctx.log(`job parameters ${JSON.stringify(parameters)}`);
      purged = await this.purge(ctx, parameters, (n) => (purged = n));
      await this.store.update(ctx.id, { status: 'Success', results: { purged } }, nowIso());
      return { purged };
    } catch (err) {
      const stopped = err instanceof PurgeStopped || ctx.signal.aborted;
      await this.store.update(ctx.id, { status: stopped ? 'Stopped' : 'Error', results: { purged } }, nowIso());
      if (stopped) await ctx.log(`stopped; purged ${purged} rows of audit logs before the stop`);
      else await ctx.log(`failed to purge audit log, error: ${(err as Error).message}`, 'ERROR');
      throw err;
    }
  }

  private async purge(ctx: JobContext<unknown>, parameters: PurgeParameters, progress: (purged: number) => void): Promise<number> {
    const hours = parameters.audit_retention_hour;
    if (hours === -1 || hours === 0) {
      await ctx.log(`quit purge job, retentionHour:${hours}`);
      return 0;
    }
    const filter = purgeFilterOf(parameters.include_event_types);
    const names = eventTypeNames(parameters.include_event_types);
    const summary = `retention_hour:${hours}, include_event_types:[${names.join(' ')}], dry_run:${parameters.dry_run}`;
    if (names.length === 0) {
      await ctx.log(`Purge operation parameter, ${summary}`);
      await ctx.log(`${parameters.dry_run ? '[DRYRUN]' : ''}no operation selected, skip to purge audit log`);
      return 0;
    }
    const cutoff = new Date(Date.now() - hours * 3600_000).toISOString();
    if (parameters.dry_run) {
      const n = await this.store.count(cutoff, filter);
      await ctx.log(`Purge operation parameter, ${summary}`);
      await ctx.log(`[DRYRUN]Purged ${n} rows of audit logs (recorded before ${cutoff})`);
      return n;
    }
    let purged = 0;
    for (;;) {
      if (ctx.signal.aborted) throw new PurgeStopped(purged);
      const n = await this.store.deleteBatch(cutoff, filter, batchSize);
      purged += n;
      progress(purged);
      if (n > 0) await this.store.update(ctx.id, { results: { purged } }, nowIso());
      if (n < batchSize) break;
    }
    await ctx.log(`Purge operation parameter, ${summary}`);
    await ctx.log(`Purged ${purged} rows of audit logs (recorded before ${cutoff})`);
    return purged;
  }

  async history(options: {
    offset: number;
    limit: number;
    status?: string;
    kind?: string;
    sort?: { column: 'created_at' | 'updated_at' | 'job_id'; desc: boolean };
  }): Promise<{ items: PurgeRun[]; total: number }> {
    const page = await this.store.history.listRuns(options);
    return { items: page.items.map(toRun), total: page.total };
  }

  async get(id: number): Promise<PurgeRun | undefined> {
    const row = await this.store.history.getRun(id);
    return row && toRun(row);
  }

  /** The run's log; undefined when there is no such run, null when its log was pruned with its job. */
  async log(id: number): Promise<string | null | undefined> {
    if (!(await this.store.history.getRun(id))) return undefined;
    return (await this.queue.logText(id)) ?? null;
  }

  /** Stops a run (Harbor's PUT /system/purgeaudit/{id}); false when there is no such run. */
  async stop(id: number): Promise<boolean> {
    const run = await this.store.history.getRun(id);
    if (!run) return false;
    const outcome = await this.queue.cancel(id);
    if (outcome === 'stopped') await this.store.update(id, { status: 'Stopped' }, nowIso());
    return true;
  }

  async schedule(): Promise<PurgeSchedule | null> {
    const s = await this.scheduler.get(scheduleName);
    if (!s) return null;
    const payload = (s.payload ?? {}) as Partial<PurgeJobPayload>;
    return {
      type: payload.schedule_type ?? 'Custom',
      cron: s.cron,
      nextRunAt: s.nextRunAt,
      parameters: payload.parameters ?? { audit_retention_hour: 0, include_event_types: '', dry_run: false },
      createdAt: s.createdAt,
      updatedAt: s.updatedAt,
    };
  }

  /**
   * Harbor's POST/PUT /system/purgeaudit/schedule: Manual starts a run (its id is returned),
   * None removes the schedule, Hourly/Daily/Weekly/Custom set it. Everything is checked
   * before anything changes.
   */
  async applySchedule(body: unknown, operator: string): Promise<{ started?: number }> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw apiError('BAD_REQUEST', "schedule cann't be empty");
    }
    const { schedule, parameters } = body as { schedule?: unknown; parameters?: unknown };
    if (typeof schedule !== 'object' || schedule === null || Array.isArray(schedule)) {
      throw apiError('BAD_REQUEST', "schedule cann't be empty");
    }
    const params = this.parseParameters(parameters);
    const { type, cron } = schedule as { type?: unknown; cron?: unknown };
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
    const expression = typeof cron === 'string' ? cron.trim() : '';
    try {
      if (cron !== undefined && cron !== null && typeof cron !== 'string') throw new Error('the cron must be a string');
      if (expression === '') throw new Error('empty cron string');
      nextTick(expression, new Date());
    } catch (err) {
      throw apiError(
        'BAD_REQUEST',
        `invalid cron string for scheduled log rotation purge: ${typeof cron === 'string' ? cron : JSON.stringify(cron ?? null)}, error: ${(err as Error).message}`,
      );
    }
    const payload: PurgeJobPayload = { trigger: 'SCHEDULE', operator, parameters: params, schedule_type: type };
    await this.scheduler.define({ name: scheduleName, jobType: auditPurgeJobType, cron: expression, payload });
    return {};
  }
}

function toRun(r: PurgeRunRow): PurgeRun {
  return {
    id: r.jobId,
    trigger: r.trigger === 'MANUAL' ? 'MANUAL' : 'SCHEDULE',
    operator: r.operator,
    status: r.jobStatus !== null ? (statusNames[r.jobStatus as JobStatus] ?? r.runStatus) : r.runStatus,
    jobParameters: { ...parseObject(r.parameters), ...(r.results === null ? {} : parseObject(r.results)) },
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  };
}

function parseObject(text: string): Record<string, unknown> {
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
