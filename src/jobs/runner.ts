import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Tracer } from '@opentelemetry/api';
import { inJobSpan } from '../tracing/jobs.js';
import type { Executor, Job, JobLogLevel, JobQueue, Lease } from './queue.js';

/** What a handler is given for one attempt of one job. */
export interface JobContext<P = unknown> {
  id: number;
  type: string;
  payload: P;
  /** 1 for the first attempt. */
  attempt: number;
  maxAttempts: number;
  /**
   * Fires when the job is stopped (Harbor's "stop"), when this pool lost the lease (another
   * instance took the job over), or when the instance shuts down past its grace period.
   * `signal.reason` says which. A handler that ignores it runs on, but its result is
   * then discarded.
   */
  signal: AbortSignal;
  /**
   * Adds a line to the job's log (GET /jobservice/jobs/{id}/log); given `executor`, in that
   * transaction, so that the line is committed with the change it reports.
   */
  log(message: string, level?: JobLogLevel, executor?: Executor): Promise<void>;
  /**
   * Adds a line to the job's log, stamped now but written in the transaction that records the
   * attempt's outcome, after any line `log` wrote meanwhile: a short job's lines then cost no
   * commit of their own. Lost with the attempt if the instance dies before recording it.
   * (The runner always gives this and `withOutcome`; contexts made by hand in tests may not.)
   */
  logWithOutcome?(message: string, level?: JobLogLevel): void;
  /**
   * Writes to make in the transaction that records this attempt's outcome (success or failure),
   * only while this instance still holds the job. A write that fails fails the recording: the
   * lease lapses and the job runs again.
   */
  withOutcome?(write: (tx: Executor) => Promise<void>): void;
}

/** What registering a job type may add. */
export interface JobTypeOptions {
  /**
   * Writes made in the transaction that claims a job of the type (e.g. marking the record it
   * works on as running), so that they cost no commit of their own.
   */
  whenClaimed?: (job: Job, tx: Executor) => Promise<void>;
}

/**
 * Does one attempt of a job; returning is success, throwing is failure (retried with
 * exponential backoff while attempts remain). A job may run more than once (a retry, or
 * an instance that died after the work but before recording it), so a handler must be
 * idempotent.
 */
export type JobHandler<P = any> = (ctx: JobContext<P>) => Promise<unknown> | unknown;

/**
 * Thrown by a handler that chooses when its retry runs (a webhook's own backoff), instead of
 * the runner's exponential backoff. The attempt still counts.
 */
export class RetryLaterError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(message);
    this.name = 'RetryLaterError';
  }
}

export interface RunnerLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface JobRunnerOptions {
  /** Jobs run at once by this instance (default 4; 0 runs none). */
  concurrency?: number;
  /**
   * At most this many jobs of a type at once on this instance, within `concurrency` (e.g. a
   * scan-all's thousands of IMAGE_SCAN jobs leave the other slots to GC, retention, …).
   */
  typeConcurrency?: Record<string, number>;
  /** How often to look for runnable jobs when not woken up (default 500 ms). */
  pollIntervalMs?: number;
  /** A running job's lease; another instance takes the job over once it lapses (default 30 s). */
  leaseMs?: number;
  /** Lease renewal, pool heartbeat and stop checks (default a sixth of the lease, at most 5 s). */
  heartbeatMs?: number;
  /** Delay before the first retry; doubled for each further one (default 10 s). */
  retryBaseMs?: number;
  /** Longest delay between retries (default 1 h). */
  retryMaxMs?: number;
  /** How long stop() waits for running jobs before interrupting them (default 10 s). */
  stopTimeoutMs?: number;
  /** The pool's id; default host, pid and a random suffix. */
  poolId?: string;
  logger?: RunnerLogger;
  /** A span per attempt when tracing is on. */
  tracer?: Tracer;
}

interface Running {
  job: Job;
  lease: Lease;
  controller: AbortController;
  done: Promise<void>;
  /** Set when stop() gave the job back: its outcome is no longer recorded. */
  released: boolean;
}

/** An attempt that ended, waiting for the transaction that records it. */
interface Outcome {
  entry: Running;
  /** null: the handler returned. */
  failure: unknown;
  lines: Array<{ time: string; level: JobLogLevel; message: string }>;
  writes: Array<(tx: Executor) => Promise<void>>;
  resolve(): void;
  reject(err: unknown): void;
}

const silent: RunnerLogger = { info() {}, warn() {}, error() {} };

/** Why a handler's signal fired. */
export class JobAbortError extends Error {
  constructor(
    readonly kind: 'stopped' | 'lease-lost' | 'shutdown',
    message: string,
  ) {
    super(message);
    this.name = 'JobAbortError';
  }
}

/**
 * Runs jobs of the registered types, `concurrency` at a time, on this instance (one
 * "pool" in Harbor's words). It claims jobs when woken (a local enqueue, a finished job)
 * or every poll interval, renews its leases at every heartbeat, and on stop waits for its
 * running jobs up to a bound, then gives the rest back to the queue for another instance.
 */
export class JobRunner {
  readonly poolId: string;
  readonly concurrency: number;
  private readonly handlers = new Map<string, JobHandler>();
  private readonly typeOptions = new Map<string, JobTypeOptions>();
  private readonly typeLimits = new Map<string, number>();
  /** Types whose jobs run in slots of their own, beside `concurrency`, and how many. */
  private readonly ownSlots = new Map<string, number>();
  private readonly running = new Map<string, Running>();
  private readonly options: Required<Omit<JobRunnerOptions, 'poolId' | 'logger' | 'tracer' | 'concurrency' | 'typeConcurrency'>>;
  private readonly logger: RunnerLogger;
  private readonly tracer: Tracer | undefined;
  private state: 'idle' | 'running' | 'stopping' | 'stopped' = 'idle';
  private startedAt = '';
  private loopDone: Promise<void> = Promise.resolve();
  private wakeUp: (() => void) | null = null;
  private wokenEarly = false;
  /** The last claim took every free slot: there may be more to take when one frees up. */
  private saturated = false;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private heartbeating: Promise<void> | null = null;
  private heartbeats = 0;
  private unsubscribe: Array<() => void> = [];
  /** Attempts that ended and wait to be recorded; `recording` while a transaction records some. */
  private outcomes: Outcome[] = [];
  private recording = false;

  constructor(
    private readonly queue: JobQueue,
    options: JobRunnerOptions = {},
  ) {
    this.concurrency = options.concurrency ?? 4;
    for (const [type, limit] of Object.entries(options.typeConcurrency ?? {})) this.limitType(type, limit);
    const leaseMs = options.leaseMs ?? 30_000;
    this.options = {
      pollIntervalMs: options.pollIntervalMs ?? 500,
      leaseMs,
      heartbeatMs: options.heartbeatMs ?? Math.min(5000, Math.max(10, Math.floor(leaseMs / 6))),
      retryBaseMs: options.retryBaseMs ?? 10_000,
      retryMaxMs: options.retryMaxMs ?? 3600_000,
      stopTimeoutMs: options.stopTimeoutMs ?? 10_000,
    };
    if (this.options.heartbeatMs >= leaseMs) throw new Error('the heartbeat must be shorter than the lease');
    this.poolId = options.poolId ?? `${hostname().slice(0, 40)}-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.logger = options.logger ?? silent;
    this.tracer = options.tracer;
  }

  /** Handles jobs of a type; may be called before or after start(). */
  register<P = any>(type: string, handler: JobHandler<P>, options: JobTypeOptions = {}): void {
    this.queue.declareType(type);
    this.handlers.set(type, handler as JobHandler);
    this.typeOptions.set(type, options);
    this.wake();
  }

  /** Runs at most `limit` jobs of the type at once on this instance (within the runner's concurrency). */
  limitType(type: string, limit: number): void {
    if (!Number.isInteger(limit) || limit < 0) throw new Error(`the concurrency of ${type} must be a whole number >= 0, not ${limit}`);
    this.typeLimits.set(type, limit);
    this.wake();
  }

  /**
   * Runs jobs of the type in `slots` slots of their own, beside `concurrency`: short jobs that
   * wait on the network and come in bursts (webhook deliveries) then neither take nor wait for
   * the slots of GC, scans and the rest, and those that end together share their commits.
   */
  dedicateSlots(type: string, slots: number): void {
    if (!Number.isInteger(slots) || slots < 1) throw new Error(`the slots of ${type} must be a whole number >= 1, not ${slots}`);
    this.ownSlots.set(type, slots);
    this.wake();
  }

  /** The delay before the retry that follows attempt `attempt` (1-based). */
  retryDelayMs(attempt: number): number {
    return Math.min(this.options.retryBaseMs * 2 ** Math.max(0, attempt - 1), this.options.retryMaxMs);
  }

  /** Ids of the jobs this instance is running. */
  runningJobIds(): number[] {
    return [...this.running.values()].map((r) => r.job.id);
  }

  async start(): Promise<void> {
    if (this.state !== 'idle') return;
    this.state = 'running';
    await this.queue.clock.sync();
    this.startedAt = this.queue.clock.iso();
    await this.queue.heartbeat(this.poolInfo());
    this.unsubscribe.push(
      this.queue.onEnqueue((type) => {
        if (this.handlers.has(type)) this.wake();
      }),
      this.queue.onCancel((id) => {
        for (const r of this.running.values()) {
          if (r.job.id === id) r.controller.abort(new JobAbortError('stopped', 'the job was stopped'));
        }
      }),
    );
    this.heartbeatTimer = setInterval(() => void this.beat(), this.options.heartbeatMs);
    this.heartbeatTimer.unref();
    this.loopDone = this.loop();
    // Leases a crashed instance left behind are taken over without waiting a heartbeat.
    void this.beat();
  }

  /**
   * Stops claiming, waits up to `timeoutMs` for running jobs, then interrupts the rest
   * (their signals fire) and gives them back to the queue without counting the attempt.
   */
  async stop(timeoutMs = this.options.stopTimeoutMs): Promise<void> {
    if (this.state !== 'running') return;
    this.state = 'stopping';
    for (const u of this.unsubscribe) u();
    this.unsubscribe = [];
    this.wake();
    await this.loopDone;
    const all = () => Promise.all([...this.running.values()].map((r) => r.done));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all(), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
    await this.heartbeating;
    for (const r of this.running.values()) {
      r.released = true;
      r.controller.abort(new JobAbortError('shutdown', 'the instance is shutting down'));
      try {
        if (await this.queue.release(this.poolId, r.lease)) {
          await this.queue.log(r.job.id, 'WARNING', `interrupted: pool ${this.poolId} shut down; the job is pending again`);
        }
      } catch (err) {
        // The lease lapses on its own and another instance takes the job over.
        this.logger.warn({ err, job: r.job.id }, 'giving a job back failed');
      }
    }
    try {
      await this.queue.removePool(this.poolId);
    } catch (err) {
      this.logger.warn({ err }, 'removing the job pool failed');
    }
    this.state = 'stopped';
  }

  private poolInfo() {
    return { id: this.poolId, pid: process.pid, host: hostname(), concurrency: this.concurrency, startedAt: this.startedAt };
  }

  private wake(): void {
    const wakeUp = this.wakeUp;
    if (wakeUp) wakeUp();
    else this.wokenEarly = true;
  }

  private sleep(ms: number): Promise<void> {
    if (this.wokenEarly) {
      this.wokenEarly = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      const self = this;
      function done() {
        clearTimeout(timer);
        self.wakeUp = null;
        resolve();
      }
      this.wakeUp = done;
    });
  }

  private async loop(): Promise<void> {
    while (this.state === 'running') {
      const free = this.concurrency - [...this.running.values()].filter((r) => !this.ownSlots.has(r.job.type)).length;
      let more = false;
      if (this.handlers.size > 0) {
        try {
          if (free > 0) {
            const claimed = await this.claimWithin(free);
            this.saturated = claimed === free;
            more = this.saturated;
          }
          for (const [type, slots] of this.ownSlots) {
            const room = slots - this.runningOf(type);
            if (!this.handlers.has(type) || room < 1 || this.state !== 'running') continue;
            if ((await this.claimInto([type], room)) === room) more = true;
          }
          more &&= this.state === 'running';
        } catch (err) {
          this.logger.warn({ err }, 'claiming jobs failed');
        }
      }
      if (!more) await this.sleep(this.options.pollIntervalMs);
    }
  }

  private runningOf(type: string): number {
    return [...this.running.values()].filter((r) => r.job.type === type).length;
  }

  /** Claims up to `limit` jobs of the types and starts them; returns how many. */
  private async claimInto(types: string[], limit: number): Promise<number> {
    if (limit < 1 || types.length === 0) return 0;
    const jobs = await this.queue.claim(this.poolId, types, limit, this.options.leaseMs, (claimed, tx) => this.started(claimed, tx));
    for (const job of jobs) this.execute(job);
    return jobs.length;
  }

  /**
   * Claims up to `free` jobs: the types without a limit in one claim, then each limited type
   * up to the room it has left. Returns how many were claimed.
   */
  private async claimWithin(free: number): Promise<number> {
    const unlimited = [...this.handlers.keys()].filter((t) => !this.typeLimits.has(t) && !this.ownSlots.has(t));
    let claimed = await this.claimInto(unlimited, free);
    for (const [type, limit] of this.typeLimits) {
      if (!this.handlers.has(type) || this.ownSlots.has(type) || this.state !== 'running') continue;
      claimed += await this.claimInto([type], Math.min(limit - this.runningOf(type), free - claimed));
    }
    return claimed;
  }

  /** In the claim's transaction: each job's first log line and its type's `whenClaimed` writes. */
  private async started(jobs: Job[], tx: Executor): Promise<void> {
    for (const job of jobs) {
      await this.queue.log(job.id, 'INFO', `attempt ${job.attempts} of ${job.maxAttempts} started on pool ${this.poolId}`, tx);
      await this.typeOptions.get(job.type)?.whenClaimed?.(job, tx);
    }
  }

  private execute(job: Job): void {
    const handler = this.handlers.get(job.type)!;
    const lease = { id: job.id, attempts: job.attempts };
    const key = `${job.id}:${job.attempts}`;
    const controller = new AbortController();
    const entry: Running = { job, lease, controller, released: false, done: Promise.resolve() };
    this.running.set(key, entry);
    const lines: Outcome['lines'] = [];
    const writes: Outcome['writes'] = [];
    entry.done = (async () => {
      try {
        let failure: unknown = null;
        try {
          const attempt = async () =>
            handler({
              id: job.id,
              type: job.type,
              payload: job.payload,
              attempt: job.attempts,
              maxAttempts: job.maxAttempts,
              signal: controller.signal,
              log: (message, level = 'INFO', executor) => this.queue.log(job.id, level, message, executor),
              logWithOutcome: (message, level = 'INFO') => void lines.push({ time: this.queue.clock.iso(), level, message }),
              withOutcome: (write) => void writes.push(write),
            });
          if (this.tracer)
            await inJobSpan(this.tracer, { id: job.id, type: job.type, attempt: job.attempts, maxAttempts: job.maxAttempts }, attempt);
          else await attempt();
        } catch (err) {
          failure = err ?? new Error('the handler failed');
        }
        if (entry.released) return;
        await new Promise<void>((resolve, reject) => {
          this.outcomes.push({ entry, failure, lines, writes, resolve, reject });
          if (!this.recording) {
            this.recording = true;
            // After the I/O callbacks of this turn of the event loop: jobs ending together share a commit.
            setImmediate(() => void this.recordOutcomes());
          }
        });
      } catch (err) {
        this.logger.error({ err, job: job.id }, 'recording the outcome of a job failed; its lease will lapse and it will be retried');
      } finally {
        this.running.delete(key);
        if (this.saturated || this.typeLimits.has(job.type) || this.ownSlots.has(job.type)) this.wake();
      }
    })();
  }

  /**
   * Records the attempts that ended, a transaction for all that are waiting (and again for those
   * that ended meanwhile): a burst of short jobs, such as webhook deliveries, costs a commit per
   * burst instead of several per job. When a transaction fails, each attempt is recorded alone,
   * so that one failing write holds back no other.
   */
  private async recordOutcomes(): Promise<void> {
    try {
      while (this.outcomes.length > 0) {
        const batch = this.outcomes.splice(0);
        try {
          await this.queue.transaction(async (tx) => {
            for (const o of batch) await this.recordOutcome(o, tx);
          });
          for (const o of batch) o.resolve();
        } catch (err) {
          if (batch.length === 1) {
            batch[0]!.reject(err);
            continue;
          }
          for (const o of batch) {
            try {
              await this.queue.transaction((tx) => this.recordOutcome(o, tx));
              o.resolve();
            } catch (alone) {
              o.reject(alone);
            }
          }
        }
      }
    } finally {
      this.recording = false;
    }
  }

  private async recordOutcome(o: Outcome, tx: Executor): Promise<void> {
    const { job, lease } = o.entry;
    if (o.entry.released) return;
    const handlerWrites = async () => {
      for (const write of o.writes) await write(tx);
      for (const line of o.lines) await this.queue.log(job.id, line.level, line.message, tx, line.time);
    };
    const log = (message: string, level: JobLogLevel = 'INFO') => this.queue.log(job.id, level, message, tx);
    if (o.failure === null) {
      if (!(await this.queue.complete(this.poolId, lease, tx))) {
        this.logger.warn({ job: job.id }, 'a job finished after its lease was lost; its result is discarded');
        return;
      }
      await handlerWrites();
      await log('succeeded');
      return;
    }
    const message = errorMessage(o.failure);
    const delay = o.failure instanceof RetryLaterError ? Math.max(0, o.failure.retryAfterMs) : this.retryDelayMs(job.attempts);
    const status = await this.queue.fail(this.poolId, lease, message, this.queue.clock.iso(delay), tx);
    if (status === undefined) {
      this.logger.warn({ job: job.id, err: o.failure }, 'a job failed after its lease was lost');
      return;
    }
    await handlerWrites();
    if (status === 'pending') await log(`attempt ${job.attempts} failed: ${message}; retrying in ${delay} ms`, 'WARNING');
    else if (status === 'error') await log(`attempt ${job.attempts} failed: ${message}; no attempt left`, 'ERROR');
    else if (status === 'stopped') await log(`stopped: ${message}`);
  }

  /** Renews leases, fires signals of stopped or lost jobs, ends leases dead pools left. */
  private async beat(): Promise<void> {
    if (this.heartbeating) return;
    this.heartbeating = (async () => {
      try {
        const beat = this.heartbeats++;
        await this.queue.clock.sync();
        // Every third beat is often enough for the pool list (a pool is gone after a silent minute).
        if (beat % 3 === 0) await this.queue.heartbeat(this.poolInfo());
        const entries = [...this.running.values()].filter((r) => !r.released);
        const held = await this.queue.renew(
          this.poolId,
          entries.map((r) => r.lease),
          this.options.leaseMs,
        );
        for (const r of entries) {
          const h = held.find((x) => x.id === r.lease.id && x.attempts === r.lease.attempts);
          if (!h) r.controller.abort(new JobAbortError('lease-lost', 'this instance lost the lease of the job'));
          else if (h.cancelRequested) r.controller.abort(new JobAbortError('stopped', 'the job was stopped'));
        }
        await this.queue.expireLeases();
        if (beat % 60 === 0) await this.queue.prune();
      } catch (err) {
        this.logger.warn({ err }, 'job heartbeat failed');
      }
    })();
    await this.heartbeating;
    this.heartbeating = null;
  }
}

function errorMessage(err: unknown): string {
  const text = err instanceof Error ? err.message || err.name : String(err);
  return text.length > 4000 ? `${text.slice(0, 4000)}…` : text;
}
