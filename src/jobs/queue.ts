import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { DialectHelpers } from '../db/dialect.js';
import type { Database, JobsTable } from '../db/types.js';
import { DbClock } from './clock.js';

export type JobStatus = 'pending' | 'running' | 'success' | 'error' | 'stopped';
export type JobLogLevel = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';
export type Executor = Kysely<Database> | Transaction<Database>;

export interface Job {
  id: number;
  type: string;
  payload: unknown;
  status: JobStatus;
  /** Attempts started so far (the running one included). */
  attempts: number;
  maxAttempts: number;
  cancelRequested: boolean;
  runAt: string;
  lockedBy: string | null;
  lockedUntil: string | null;
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface EnqueueOptions {
  /** Not before this time (default: now). */
  runAt?: Date | string;
  /** Attempts before the job ends in `error` (default: the queue's, 3). */
  maxAttempts?: number;
  /** The caller's transaction: the job exists only if it commits. */
  tx?: Executor;
}

export interface JobLogLine {
  time: string;
  level: JobLogLevel;
  message: string;
}

export interface QueueInfo {
  jobType: string;
  /** Pending jobs that may run now. */
  count: number;
  /** Seconds the oldest of them has been waiting. */
  latencySeconds: number;
  paused: boolean;
}

export interface PoolInfo {
  id: string;
  pid: number;
  host: string;
  concurrency: number;
  startedAt: string;
  heartbeatAt: string;
}

export interface WorkerInfo {
  id: string;
  poolId: string;
  jobType: string | null;
  jobId: number | null;
  startedAt: string | null;
  /** The job's latest log line. */
  checkIn: string;
  checkInAt: string | null;
}

/** A running job as its holder knows it: the lease is fenced by (pool, attempt). */
export interface Lease {
  id: number;
  attempts: number;
}

export type CancelResult = 'stopped' | 'stopping' | 'finished';

export interface JobQueueOptions {
  defaultMaxAttempts?: number;
  /** Finished jobs and their logs are deleted this long after they end (default 30 days). */
  retentionMs?: number;
  /** A pool that has not sent a heartbeat for this long is gone (default 60 s). */
  poolTtlMs?: number;
}

/** The row of job_queues that pauses every queue ('all' in the API). */
const everyQueue = '*';
const maxTypeLength = 128;
/** How many lost attempts (a pool that died holding the job) a job gets back uncounted. */
export const lostAttemptsGivenBack = 3;

/**
 * The durable job queue: every state lives in the database, so any instance may enqueue,
 * claim, renew, finish, stop or inspect any job, and a job survives the instance that
 * enqueued or ran it.
 *
 * A job is `pending` until a pool claims it (`running`, with a lease), then `success`,
 * `pending` again for a retry, `error` after its last attempt, or `stopped`. Every change
 * of a running job is fenced by (locked_by, attempts): a pool whose lease expired and was
 * taken over can no longer finish, fail or renew the job.
 */
export class JobQueue {
  readonly clock: DbClock;
  private readonly defaultMaxAttempts: number;
  private readonly retentionMs: number;
  readonly poolTtlMs: number;
  /** Types this process has seen (handlers, enqueues, schedules), so empty queues are listed too. */
  private readonly types = new Set<string>();
  private enqueueListeners: Array<(type: string) => void> = [];
  private cancelListeners: Array<(id: number) => void> = [];

  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: DialectHelpers,
    options: JobQueueOptions = {},
  ) {
    this.clock = new DbClock(db, dialect);
    this.defaultMaxAttempts = options.defaultMaxAttempts ?? 3;
    this.retentionMs = options.retentionMs ?? 30 * 24 * 3600_000;
    this.poolTtlMs = options.poolTtlMs ?? 60_000;
  }

  /** Remembers a job type, so that its queue is listed before any job of it exists. */
  declareType(type: string): void {
    checkType(type);
    this.types.add(type);
  }

  knownTypes(): string[] {
    return [...this.types].sort();
  }

  /** Called with the type of every job this process enqueues (the runner wakes up). */
  onEnqueue(listener: (type: string) => void): () => void {
    this.enqueueListeners.push(listener);
    return () => (this.enqueueListeners = this.enqueueListeners.filter((l) => l !== listener));
  }

  /** Called with the id of every running job this process is asked to stop. */
  onCancel(listener: (id: number) => void): () => void {
    this.cancelListeners.push(listener);
    return () => (this.cancelListeners = this.cancelListeners.filter((l) => l !== listener));
  }

  /** Wakes this process's runners now, e.g. after committing a transaction that enqueued. */
  notify(type: string): void {
    for (const listener of this.enqueueListeners) listener(type);
  }

  /**
   * Adds a job. With `tx`, the job is written in the caller's transaction and exists only
   * if that commits; runners on other instances see it at their next poll.
   */
  async enqueue(type: string, payload: unknown, options: EnqueueOptions = {}): Promise<number> {
    checkType(type);
    const maxAttempts = options.maxAttempts ?? this.defaultMaxAttempts;
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new Error(`maxAttempts must be a positive integer, not ${maxAttempts}`);
    const now = this.clock.iso();
    const runAt = options.runAt === undefined ? now : new Date(options.runAt).toISOString();
    const row = await (options.tx ?? this.db)
      .insertInto('jobs')
      .values({
        type,
        payload: JSON.stringify(payload ?? null),
        status: 'pending',
        max_attempts: maxAttempts,
        run_at: runAt,
        locked_by: null,
        locked_until: null,
        last_error: null,
        created_at: now,
        updated_at: now,
        started_at: null,
        finished_at: null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    this.types.add(type);
    // Inside a transaction this is early; the poll after the commit finds the job anyway.
    this.notify(type);
    return Number(row.id);
  }

  async get(id: number): Promise<Job | undefined> {
    const row = await this.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toJob(row);
  }

  async log(jobId: number, level: JobLogLevel, message: string, executor: Executor = this.db, time = this.clock.iso()): Promise<void> {
    await executor.insertInto('job_logs').values({ job_id: jobId, time, level, message }).execute();
  }

  /** Runs `work` in one transaction (one commit for several of the calls below that take an executor). */
  transaction<T>(work: (tx: Transaction<Database>) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(work);
  }

  async logs(jobId: number): Promise<JobLogLine[]> {
    const rows = await this.db
      .selectFrom('job_logs')
      .select(['time', 'level', 'message'])
      .where('job_id', '=', jobId)
      .orderBy('id')
      .execute();
    return rows.map((r) => ({ time: r.time, level: r.level as JobLogLevel, message: r.message }));
  }

  /** The job's log as text, one line per entry; undefined when there is no such job. */
  async logText(jobId: number): Promise<string | undefined> {
    if (!(await this.get(jobId))) return undefined;
    return (await this.logs(jobId)).map((l) => `${l.time} [${l.level}] ${l.message}\n`).join('');
  }

  /**
   * Stops a job: a pending one at once (`stopped`); a running one is flagged (`stopping`)
   * and its handler's AbortSignal fires (here at once, on another instance at its next
   * heartbeat). `finished` when it had already ended; undefined when there is no such job.
   */
  async cancel(id: number): Promise<CancelResult | undefined> {
    const now = this.clock.iso();
    const stopped = await this.db
      .updateTable('jobs')
      .set({ status: 'stopped', finished_at: now, updated_at: now })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    if (Number(stopped.numUpdatedRows) === 1) {
      await this.log(id, 'INFO', 'stopped before it ran');
      return 'stopped';
    }
    const flagged = await this.db
      .updateTable('jobs')
      .set({ cancel_requested: 1, updated_at: now })
      .where('id', '=', id)
      .where('status', '=', 'running')
      .executeTakeFirst();
    if (Number(flagged.numUpdatedRows) === 1) {
      await this.log(id, 'INFO', 'stop requested');
      for (const listener of this.cancelListeners) listener(id);
      return 'stopping';
    }
    return (await this.get(id)) ? 'finished' : undefined;
  }

  // The worker's side.

  /**
   * Takes up to `limit` runnable jobs of the given types for a pool, in run_at order, and
   * gives it a lease on each until now + leaseMs. One statement: on PostgreSQL the rows are
   * picked with FOR UPDATE SKIP LOCKED, so concurrent pools never take the same job nor
   * wait for each other; on SQLite the statement itself is the compare-and-set. `andThen`
   * runs in the claim's transaction with the claimed jobs (e.g. their first log lines), so
   * that they commit together.
   */
  async claim(
    poolId: string,
    types: string[],
    limit: number,
    leaseMs: number,
    andThen?: (jobs: Job[], tx: Executor) => Promise<void>,
  ): Promise<Job[]> {
    if (types.length === 0 || limit < 1) return [];
    if (andThen) {
      return this.transaction(async (tx) => {
        const jobs = await this.claimWith(tx, poolId, types, limit, leaseMs);
        if (jobs.length > 0) await andThen(jobs, tx);
        return jobs;
      });
    }
    return this.claimWith(this.db, poolId, types, limit, leaseMs);
  }

  private async claimWith(executor: Executor, poolId: string, types: string[], limit: number, leaseMs: number): Promise<Job[]> {
    const now = this.clock.iso();
    const candidates = this.dialect.skipLocked(
      executor
        .selectFrom('jobs as j')
        .select('j.id')
        .where('j.status', '=', 'pending')
        .where('j.run_at', '<=', now)
        .where('j.type', 'in', types)
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('job_queues as q')
                .select('q.job_type')
                .where('q.paused', '=', 1)
                .where((eb) => eb.or([eb('q.job_type', '=', eb.ref('j.type')), eb('q.job_type', '=', everyQueue)])),
            ),
          ),
        )
        .orderBy('j.run_at')
        .orderBy('j.id')
        .limit(limit),
    );
    const rows = await executor
      .updateTable('jobs')
      .set((eb) => ({
        status: 'running',
        attempts: eb('attempts', '+', 1),
        locked_by: poolId,
        locked_until: this.clock.iso(leaseMs),
        started_at: now,
        updated_at: now,
      }))
      .where('id', 'in', candidates)
      .returningAll()
      .execute();
    return rows.map(toJob).sort((a, b) => (a.runAt < b.runAt ? -1 : a.runAt > b.runAt ? 1 : a.id - b.id));
  }

  /**
   * Extends the leases a pool still holds. Answers the ones it holds, each with whether a
   * stop was requested; a lease missing from the answer was lost (taken over or ended).
   */
  async renew(poolId: string, leases: Lease[], leaseMs: number): Promise<Array<Lease & { cancelRequested: boolean }>> {
    if (leases.length === 0) return [];
    const rows = await this.db
      .updateTable('jobs')
      .set({ locked_until: this.clock.iso(leaseMs) })
      .where('status', '=', 'running')
      .where('locked_by', '=', poolId)
      .where((eb) => eb.or(leases.map((l) => eb.and([eb('id', '=', l.id), eb('attempts', '=', l.attempts)]))))
      .returning(['id', 'attempts', 'cancel_requested'])
      .execute();
    return rows.map((r) => ({ id: Number(r.id), attempts: Number(r.attempts), cancelRequested: Number(r.cancel_requested) === 1 }));
  }

  /** Marks a job the pool holds as done; false when the lease was lost. */
  async complete(poolId: string, lease: Lease, executor: Executor = this.db): Promise<boolean> {
    const now = this.clock.iso();
    const result = await this.fenced(poolId, lease, executor)
      .set({ status: 'success', locked_by: null, locked_until: null, last_error: null, finished_at: now, updated_at: now })
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /**
   * Records a failed attempt: `stopped` when a stop was requested, else `pending` again at
   * `retryAt` while attempts remain, else `error`. Undefined when the lease was lost.
   */
  async fail(poolId: string, lease: Lease, message: string, retryAt: string, executor: Executor = this.db): Promise<JobStatus | undefined> {
    const now = this.clock.iso();
    const row = await this.fenced(poolId, lease, executor)
      .set({
        status: sql<string>`case when cancel_requested = 1 then 'stopped' when attempts < max_attempts then 'pending' else 'error' end`,
        run_at: retryAt,
        finished_at: sql<string | null>`case when cancel_requested = 0 and attempts < max_attempts then null else ${now} end`,
        locked_by: null,
        locked_until: null,
        last_error: message,
        updated_at: now,
      })
      .returning('status')
      .executeTakeFirst();
    return row?.status as JobStatus | undefined;
  }

  /**
   * Gives a job back without counting the attempt (its pool is shutting down): pending
   * again at once, for any instance; stopped if a stop was requested.
   */
  async release(poolId: string, lease: Lease): Promise<boolean> {
    const now = this.clock.iso();
    const result = await this.fenced(poolId, lease)
      .set((eb) => ({
        status: sql<string>`case when cancel_requested = 1 then 'stopped' else 'pending' end`,
        attempts: eb('attempts', '-', 1),
        run_at: now,
        finished_at: sql<string | null>`case when cancel_requested = 1 then ${now} else null end`,
        locked_by: null,
        locked_until: null,
        updated_at: now,
      }))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  private fenced(poolId: string, lease: Lease, executor: Executor = this.db) {
    return executor
      .updateTable('jobs')
      .where('id', '=', lease.id)
      .where('status', '=', 'running')
      .where('locked_by', '=', poolId)
      .where('attempts', '=', lease.attempts);
  }

  /**
   * Ends the leases nobody renewed (the pool died: SIGKILL, a lost host, a partition). A lost
   * attempt is not the job's failure, so it is given back uncounted, up to
   * `lostAttemptsGivenBack` times per job (then a job that keeps losing its pool, a crash loop,
   * is counted like any other): the job is pending again for any instance, even a job of one
   * attempt (GC, retention). Past that, pending while attempts remain, else `error`; `stopped`
   * when a stop was requested. Any instance may run this; each job is taken once.
   */
  async expireLeases(): Promise<number> {
    const now = this.clock.iso();
    // Every SET expression reads the row as it was before this update.
    const givenBack = sql<boolean>`lost_attempts < ${lostAttemptsGivenBack}`;
    const retry = sql<boolean>`(${givenBack} or attempts < max_attempts)`;
    return this.db.transaction().execute(async (tx) => {
      const rows = await tx
        .updateTable('jobs')
        .set({
          status: sql<string>`case when cancel_requested = 1 then 'stopped' when ${retry} then 'pending' else 'error' end`,
          // Given back by adding one attempt: attempts, the lease's fencing token, only grows.
          max_attempts: sql<number>`case when cancel_requested = 0 and ${givenBack} then max_attempts + 1 else max_attempts end`,
          lost_attempts: sql<number>`lost_attempts + 1`,
          last_error: sql<string>`'attempt ' || attempts || ' was lost: pool ' || locked_by || ' stopped renewing its lease'`,
          finished_at: sql<string | null>`case when cancel_requested = 0 and ${retry} then null else ${now} end`,
          run_at: now,
          locked_by: null,
          locked_until: null,
          updated_at: now,
        })
        .where('status', '=', 'running')
        .where('locked_until', '<', now)
        .returning(['id', 'status', 'last_error', 'lost_attempts'])
        .execute();
      for (const row of rows) {
        const next =
          row.status === 'stopped'
            ? 'stopped'
            : row.status === 'error'
              ? 'no attempt left'
              : Number(row.lost_attempts) <= lostAttemptsGivenBack
                ? `retrying; a lost attempt is given back (${row.lost_attempts} of ${lostAttemptsGivenBack})`
                : 'retrying';
        await this.log(Number(row.id), 'WARNING', `${row.last_error}; ${next}`, tx);
      }
      return rows.length;
    });
  }

  /** Deletes jobs (with their logs) that ended longer ago than the retention, and pools long gone. */
  async prune(): Promise<number> {
    const cutoff = this.clock.iso(-this.retentionMs);
    const ids = (
      await this.db
        .selectFrom('jobs')
        .select('id')
        .where('finished_at', '<', cutoff)
        .where('status', 'in', ['success', 'error', 'stopped'])
        .limit(1000)
        .execute()
    ).map((r) => Number(r.id));
    if (ids.length > 0) {
      await this.db.transaction().execute(async (tx) => {
        await tx.deleteFrom('job_logs').where('job_id', 'in', ids).execute();
        await tx.deleteFrom('jobs').where('id', 'in', ids).execute();
      });
    }
    await this.db
      .deleteFrom('job_pools')
      .where('heartbeat_at', '<', this.clock.iso(-10 * this.poolTtlMs))
      .execute();
    return ids.length;
  }

  // Queues.

  async queues(): Promise<QueueInfo[]> {
    const now = this.clock.iso();
    const ready = await this.db
      .selectFrom('jobs')
      .select((eb) => ['type', eb.fn.countAll<number>().as('count'), eb.fn.min('run_at').as('oldest')])
      .where('status', '=', 'pending')
      .where('run_at', '<=', now)
      .groupBy('type')
      .execute();
    const flags = await this.db.selectFrom('job_queues').select(['job_type', 'paused']).execute();
    const all = flags.some((f) => f.job_type === everyQueue && Number(f.paused) === 1);
    const paused = new Set(flags.filter((f) => Number(f.paused) === 1).map((f) => f.job_type));
    const types = new Set([...this.types, ...ready.map((r) => r.type), ...flags.map((f) => f.job_type).filter((t) => t !== everyQueue)]);
    const nowMs = Date.parse(now);
    return [...types].sort().map((jobType) => {
      const r = ready.find((x) => x.type === jobType);
      return {
        jobType,
        count: r ? Number(r.count) : 0,
        latencySeconds: r?.oldest ? Math.max(0, Math.floor((nowMs - Date.parse(String(r.oldest))) / 1000)) : 0,
        paused: all || paused.has(jobType),
      };
    });
  }

  /** Whether a queue's jobs are held ('all': whether every queue is). */
  async isPaused(jobType: string): Promise<boolean> {
    const keys = jobType === 'all' ? [everyQueue] : [jobType, everyQueue];
    const row = await this.db
      .selectFrom('job_queues')
      .select('job_type')
      .where('job_type', 'in', keys)
      .where('paused', '=', 1)
      .executeTakeFirst();
    return row !== undefined;
  }

  /**
   * Pauses or resumes a queue ('all': every queue, including types not seen yet). A paused
   * queue's pending jobs wait; running ones finish. Resuming one queue while all are paused
   * pauses each of the others by name instead.
   */
  async setPaused(jobType: string, paused: boolean): Promise<void> {
    const key = jobType === 'all' ? everyQueue : jobType;
    if (key !== everyQueue) checkType(key);
    const now = this.clock.iso();
    await this.db.transaction().execute(async (tx) => {
      const upsert = (type: string, value: number) =>
        tx
          .insertInto('job_queues')
          .values({ job_type: type, paused: value, updated_at: now })
          .onConflict((oc) => oc.column('job_type').doUpdateSet({ paused: value, updated_at: now }))
          .execute();
      if (paused) return void (await upsert(key, 1));
      if (key === everyQueue) return void (await tx.updateTable('job_queues').set({ paused: 0, updated_at: now }).execute());
      const all = await tx
        .selectFrom('job_queues')
        .select('job_type')
        .where('job_type', '=', everyQueue)
        .where('paused', '=', 1)
        .executeTakeFirst();
      if (all) {
        const seen = await tx.selectFrom('jobs').select('type').distinct().where('status', '=', 'pending').execute();
        const flagged = await tx.selectFrom('job_queues').select('job_type').execute();
        const others = new Set([...this.types, ...seen.map((r) => r.type), ...flagged.map((r) => r.job_type)]);
        others.delete(everyQueue);
        others.delete(key);
        for (const type of others) await upsert(type, 1);
        await upsert(everyQueue, 0);
      }
      await upsert(key, 0);
    });
  }

  /** Stops every pending job of a queue ('all': of every queue). Returns how many. */
  async stopPending(jobType: string): Promise<number> {
    if (jobType !== 'all') checkType(jobType);
    const now = this.clock.iso();
    return this.db.transaction().execute(async (tx) => {
      let q = tx.updateTable('jobs').set({ status: 'stopped', finished_at: now, updated_at: now }).where('status', '=', 'pending');
      if (jobType !== 'all') q = q.where('type', '=', jobType);
      const rows = await q.returning('id').execute();
      for (const row of rows) await this.log(Number(row.id), 'INFO', 'stopped with its queue before it ran', tx);
      return rows.length;
    });
  }

  // Pools (one per instance) and their workers.

  async heartbeat(pool: Omit<PoolInfo, 'heartbeatAt'>): Promise<void> {
    const now = this.clock.iso();
    await this.db
      .insertInto('job_pools')
      .values({ id: pool.id, pid: pool.pid, host: pool.host, concurrency: pool.concurrency, started_at: pool.startedAt, heartbeat_at: now })
      .onConflict((oc) => oc.column('id').doUpdateSet({ heartbeat_at: now, concurrency: pool.concurrency }))
      .execute();
  }

  async removePool(id: string): Promise<void> {
    await this.db.deleteFrom('job_pools').where('id', '=', id).execute();
  }

  /** Pools that sent a heartbeat within the pool TTL, oldest first. */
  async pools(): Promise<PoolInfo[]> {
    const rows = await this.db
      .selectFrom('job_pools')
      .selectAll()
      .where('heartbeat_at', '>=', this.clock.iso(-this.poolTtlMs))
      .orderBy('started_at')
      .orderBy('id')
      .execute();
    return rows.map((r) => ({
      id: r.id,
      pid: Number(r.pid),
      host: r.host,
      concurrency: Number(r.concurrency),
      startedAt: r.started_at,
      heartbeatAt: r.heartbeat_at,
    }));
  }

  /**
   * A pool's workers (its concurrency slots), each with the job it runs if any; 'all' for
   * every pool's. Undefined when the pool is not alive.
   */
  async workers(poolId: string): Promise<WorkerInfo[] | undefined> {
    const pools = (await this.pools()).filter((p) => poolId === 'all' || p.id === poolId);
    if (pools.length === 0 && poolId !== 'all') return undefined;
    if (pools.length === 0) return [];
    const running = await this.db
      .selectFrom('jobs')
      .select(['id', 'type', 'locked_by', 'started_at'])
      .where('status', '=', 'running')
      .where(
        'locked_by',
        'in',
        pools.map((p) => p.id),
      )
      .orderBy('started_at')
      .orderBy('id')
      .execute();
    const ids = running.map((r) => Number(r.id));
    const latest =
      ids.length === 0
        ? []
        : await this.db
            .selectFrom('job_logs')
            .select(['job_id', 'time', 'message'])
            .where('id', 'in', (eb) =>
              eb
                .selectFrom('job_logs')
                .select((e) => e.fn.max('id').as('id'))
                .where('job_id', 'in', ids)
                .groupBy('job_id'),
            )
            .execute();
    const workers: WorkerInfo[] = [];
    for (const pool of pools) {
      const jobs = running.filter((r) => r.locked_by === pool.id);
      const slots = Math.max(pool.concurrency, jobs.length);
      for (let i = 0; i < slots; i++) {
        const job = jobs[i];
        const line = job && latest.find((l) => Number(l.job_id) === Number(job.id));
        workers.push({
          id: `${pool.id}-${i + 1}`,
          poolId: pool.id,
          jobType: job?.type ?? null,
          jobId: job ? Number(job.id) : null,
          startedAt: job?.started_at ?? null,
          checkIn: line?.message ?? '',
          checkInAt: line?.time ?? null,
        });
      }
    }
    return workers;
  }
}

function checkType(type: string): void {
  if (typeof type !== 'string' || type === '' || type.length > maxTypeLength || type === everyQueue || type === 'all') {
    throw new Error(`"${type}" is not a job type: give 1 to ${maxTypeLength} characters, not "*" nor "all"`);
  }
}

function toJob(r: Selectable<JobsTable>): Job {
  let payload: unknown;
  try {
    payload = JSON.parse(r.payload);
  } catch {
    payload = r.payload;
  }
  return {
    id: Number(r.id),
    type: r.type,
    payload,
    status: r.status as JobStatus,
    attempts: Number(r.attempts),
    maxAttempts: Number(r.max_attempts),
    cancelRequested: Number(r.cancel_requested) === 1,
    runAt: r.run_at,
    lockedBy: r.locked_by,
    lockedUntil: r.locked_until,
    lastError: r.last_error,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
  };
}
