import { Cron } from 'croner';
import type { Kysely, Selectable } from 'kysely';
import type { Database, SchedulesTable } from '../db/types.js';
import type { JobQueue } from './queue.js';
import type { RunnerLogger } from './runner.js';

export interface ScheduleSpec {
  /** Unique; defining a schedule again by name updates it. */
  name: string;
  jobType: string;
  /** Cron with seconds (6 fields, Harbor's form) or without (5 fields), evaluated in UTC. */
  cron: string;
  payload?: unknown;
  /** What the schedule belongs to (a policy id), as Harbor's vendor_id. */
  vendorId?: number;
}

export interface Schedule {
  id: number;
  name: string;
  jobType: string;
  vendorId: number;
  cron: string;
  payload: unknown;
  paused: boolean;
  nextRunAt: string | null;
  lastRunAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface SchedulerOptions {
  /** How often due schedules are looked for (default 500 ms). */
  pollIntervalMs?: number;
  logger?: RunnerLogger;
}

/** The first tick of a cron expression strictly after `after`; null when there is none. Throws when it is invalid. */
export function nextTick(cron: string, after: Date): Date | null {
  return new Cron(cron, { timezone: 'UTC', mode: '5-or-6-parts' }).nextRun(after);
}

/**
 * Cron schedules stored in the database. Every instance looks for due schedules; a tick
 * fires by moving the schedule's next_run_at forward with a compare-and-set on its old
 * value, in the same transaction as the job it enqueues, so exactly one instance fires
 * each tick and a tick is never consumed without its job. Ticks missed while no instance
 * ran collapse into one.
 */
export class Scheduler {
  private readonly pollIntervalMs: number;
  private readonly logger: RunnerLogger | undefined;
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<number> | null = null;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly queue: JobQueue,
    options: SchedulerOptions = {},
  ) {
    this.pollIntervalMs = options.pollIntervalMs ?? 500;
    this.logger = options.logger;
  }

  /** Creates or updates a schedule. A changed cron starts counting from now. */
  async define(spec: ScheduleSpec): Promise<Schedule> {
    if (!spec.name || spec.name.length > 255) throw new Error('a schedule needs a name of 1 to 255 characters');
    this.queue.declareType(spec.jobType);
    const now = this.queue.clock.iso();
    let next: Date | null;
    try {
      next = nextTick(spec.cron, new Date(now));
    } catch (err) {
      throw new Error(`"${spec.cron}" is not a valid cron expression: ${(err as Error).message}`);
    }
    const nextRunAt = next?.toISOString() ?? null;
    const payload = JSON.stringify(spec.payload ?? null);
    const vendorId = spec.vendorId ?? 0;
    await this.db
      .insertInto('schedules')
      .values({
        name: spec.name,
        job_type: spec.jobType,
        vendor_id: vendorId,
        cron: spec.cron,
        payload,
        paused: 0,
        next_run_at: nextRunAt,
        last_run_at: null,
        created_at: now,
        updated_at: now,
      })
      .onConflict((oc) =>
        oc.column('name').doUpdateSet((eb) => ({
          job_type: spec.jobType,
          vendor_id: vendorId,
          payload,
          next_run_at: eb.case().when('schedules.cron', '=', spec.cron).then(eb.ref('schedules.next_run_at')).else(nextRunAt).end(),
          cron: spec.cron,
          updated_at: now,
        })),
      )
      .execute();
    return (await this.get(spec.name))!;
  }

  async get(name: string): Promise<Schedule | undefined> {
    const row = await this.db.selectFrom('schedules').selectAll().where('name', '=', name).executeTakeFirst();
    return row && toSchedule(row);
  }

  async remove(name: string): Promise<boolean> {
    const result = await this.db.deleteFrom('schedules').where('name', '=', name).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** Holds or releases one schedule's ticks (a resumed schedule fires from its next tick after now). */
  async setPaused(name: string, paused: boolean): Promise<boolean> {
    const schedule = await this.get(name);
    if (!schedule) return false;
    const now = this.queue.clock.iso();
    const next = paused ? schedule.nextRunAt : (nextTick(schedule.cron, new Date(now))?.toISOString() ?? null);
    await this.db
      .updateTable('schedules')
      .set({ paused: paused ? 1 : 0, next_run_at: next, updated_at: now })
      .where('name', '=', name)
      .execute();
    return true;
  }

  async list(paging: { offset: number; limit: number }): Promise<{ items: Schedule[]; total: number }> {
    const total = await this.db
      .selectFrom('schedules')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    const rows = await this.db.selectFrom('schedules').selectAll().orderBy('id').limit(paging.limit).offset(paging.offset).execute();
    return { items: rows.map(toSchedule), total: Number(total.n) };
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(
      () => void this.tick().catch((err) => this.logger?.warn({ err }, 'firing schedules failed')),
      this.pollIntervalMs,
    );
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.ticking?.catch(() => undefined);
  }

  /** Fires every due tick this instance wins. Returns how many it fired. */
  async tick(): Promise<number> {
    if (this.ticking) return this.ticking;
    this.ticking = this.fireDue().finally(() => (this.ticking = null));
    return this.ticking;
  }

  private async fireDue(): Promise<number> {
    const nowMs = this.queue.clock.now();
    const now = new Date(nowMs).toISOString();
    const due = await this.db
      .selectFrom('schedules')
      .selectAll()
      .where('paused', '=', 0)
      .where('next_run_at', '<=', now)
      .orderBy('next_run_at')
      .limit(100)
      .execute();
    let fired = 0;
    for (const row of due) {
      const tick = row.next_run_at!;
      let next: string | null;
      try {
        next = nextTick(row.cron, new Date(Math.max(nowMs, Date.parse(tick))))?.toISOString() ?? null;
      } catch (err) {
        this.logger?.error({ err, schedule: row.name }, 'a schedule has an invalid cron expression; it is not fired');
        continue;
      }
      const jobId = await this.db.transaction().execute(async (tx) => {
        const won = await tx
          .updateTable('schedules')
          .set({ next_run_at: next, last_run_at: tick })
          .where('id', '=', row.id)
          .where('next_run_at', '=', tick)
          .where('paused', '=', 0)
          .executeTakeFirst();
        if (Number(won.numUpdatedRows) !== 1) return undefined;
        const id = await this.queue.enqueue(row.job_type, parse(row.payload), { runAt: tick, tx });
        await this.queue.log(id, 'INFO', `started by schedule "${row.name}" (${row.cron}) for its tick at ${tick}`, tx);
        return id;
      });
      if (jobId !== undefined) {
        fired++;
        this.queue.notify(row.job_type);
      }
    }
    return fired;
  }
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function toSchedule(r: Selectable<SchedulesTable>): Schedule {
  return {
    id: Number(r.id),
    name: r.name,
    jobType: r.job_type,
    vendorId: Number(r.vendor_id),
    cron: r.cron,
    payload: parse(r.payload),
    paused: Number(r.paused) === 1,
    nextRunAt: r.next_run_at,
    lastRunAt: r.last_run_at,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}
