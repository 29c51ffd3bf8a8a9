import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql, type CompiledQuery } from 'kysely';
import { LRUCache } from 'lru-cache';
import type { Db } from '../db/index.js';

/**
 * Failed-login limits per account name, shared by every instance through the database.
 *
 * A password check is admitted only while the name's failures in the current window plus the
 * checks still in progress stay below `maxFailures`, and the admission is one atomic statement
 * taken BEFORE the password is checked: however many guesses arrive at once, on one
 * connection or many, on one instance or several, at most `maxFailures` of them are ever
 * evaluated in a window. The check that brings the failures to `maxFailures` locks the name
 * for `lockMs`; a check that finds the limit reached by checks still in progress waits for
 * them (a lock, or room again) instead of being evaluated. A success gives back its own
 * place but does not wipe earlier failures, so a client that logs in often cannot reopen
 * the window for someone guessing. The same rules apply to names that do not exist, so the
 * answers reveal nothing about which accounts exist.
 */
export interface ThrottleOptions {
  /** Failures in a window that lock the name; also the most checks evaluated per window. */
  maxFailures: number;
  /** How long a lock lasts, and the length of the window failures are counted in. */
  lockMs: number;
  /** Delay added to a failed answer per failure in the window, capped at maxDelayMs. */
  delayStepMs: number;
  maxDelayMs: number;
  /** How long a check waits for others in progress on the same name before it is refused. */
  maxWaitMs: number;
}

export const defaultThrottleOptions: ThrottleOptions = {
  maxFailures: 5,
  lockMs: 5 * 60_000,
  delayStepMs: 300,
  maxDelayMs: 1500,
  maxWaitMs: 10_000,
};

type StateRow = { window_start: number; failures: number; pending: number; locked_until: number };

/** An admitted check: it must be ended with succeeded() or failed(). */
export interface LoginTicket {
  key: string;
  /** The window the check was admitted in; a check never changes a later window's count of checks in progress. */
  windowStart: number;
}

export class LoginThrottle {
  private readonly options: ThrottleOptions;
  /** Per name, the last admission asked for on this instance. */
  private readonly queues = new Map<string, Promise<void>>();

  constructor(
    private readonly db: Db,
    options: Partial<ThrottleOptions> = {},
    private readonly now: () => number = Date.now,
  ) {
    this.options = { ...defaultThrottleOptions, ...options };
    this.stateQuery = db
      .selectFrom('login_attempts')
      .select(['window_start', 'failures', 'pending', 'locked_until'])
      .where('name_hash', '=', '')
      .compile();
  }

  private readonly stateQuery: CompiledQuery<StateRow>;
  /** Hashes of names seen lately: the hash is asked for on every Basic request. */
  private readonly keys = new LRUCache<string, string>({ max: 10_000 });

  /** Names are compared without case, and only a hash of them is stored. */
  private key(name: string): string {
    let key = this.keys.get(name);
    if (key === undefined) {
      key = createHash('sha256').update(name.toLowerCase()).digest('hex');
      this.keys.set(name, key);
    }
    return key;
  }

  /**
   * Where a name stands: locked; quiet (no failure in the current window and no check in
   * progress), when remembered credentials may answer without taking a place; or active.
   */
  async state(name: string): Promise<'locked' | 'quiet' | 'active'> {
    const row = await this.row(this.key(name));
    if (!row) return 'quiet';
    const now = this.now();
    if (Number(row.locked_until) > now) return 'locked';
    if (Number(row.window_start) <= now - this.options.lockMs) return 'quiet';
    return Number(row.failures) === 0 && Number(row.pending) === 0 ? 'quiet' : 'active';
  }

  /** Every Basic request reads this (remembered credentials included), so the query is built once. */
  private async row(key: string): Promise<StateRow | undefined> {
    return (await this.db.executeQuery<StateRow>({ ...this.stateQuery, parameters: [key] })).rows[0];
  }

  private async lockedByKey(key: string): Promise<boolean> {
    const row = await this.row(key);
    return row !== undefined && Number(row.locked_until) > this.now();
  }

  /**
   * Takes a place for one password check; null when the name is locked (or stays busy past
   * maxWaitMs). On one instance places are taken in the order they were asked for, so a guess
   * sent behind others never overtakes them.
   */
  admit(name: string): Promise<LoginTicket | null> {
    const key = this.key(name);
    const turn = (this.queues.get(key) ?? Promise.resolve()).then(() => this.admitNow(key));
    const done = turn.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(key, done);
    void done.then(() => {
      if (this.queues.get(key) === done) this.queues.delete(key);
    });
    return turn;
  }

  private async admitNow(key: string): Promise<LoginTicket | null> {
    const started = this.now();
    for (;;) {
      // A locked name is answered by a read: a flood of guesses at it writes nothing.
      if (await this.lockedByKey(key)) return null;
      const windowStart = await this.tryAdmit(key);
      if (windowStart !== null) return { key, windowStart };
      if (await this.lockedByKey(key)) return null;
      if (this.now() - started >= this.options.maxWaitMs) return null;
      // Checks in progress fill the window: their outcome decides whether this one may run.
      await sleep(20 + Math.floor(Math.random() * 40));
    }
  }

  /** One statement: a new window when the last one is over, else one more check in progress while there is room. */
  private async tryAdmit(key: string): Promise<number | null> {
    const now = this.now();
    const over = now - this.options.lockMs;
    const windowOver = sql<boolean>`login_attempts.window_start <= ${over}`;
    const row = await this.db
      .insertInto('login_attempts')
      .values({ name_hash: key, window_start: now, failures: 0, pending: 1, locked_until: 0 })
      .onConflict((oc) =>
        oc
          .column('name_hash')
          .doUpdateSet({
            window_start: sql<number>`case when ${windowOver} then ${now} else login_attempts.window_start end`,
            failures: sql<number>`case when ${windowOver} then 0 else login_attempts.failures end`,
            pending: sql<number>`case when ${windowOver} then 1 else login_attempts.pending + 1 end`,
          })
          .where(
            sql<boolean>`login_attempts.locked_until <= ${now} and (${windowOver} or login_attempts.failures + login_attempts.pending < ${this.options.maxFailures})`,
          ),
      )
      .returning('window_start')
      .executeTakeFirst();
    return row ? Number(row.window_start) : null;
  }

  /** The check succeeded: its place is free again; earlier failures stay counted. */
  async succeeded(ticket: LoginTicket): Promise<void> {
    await this.db
      .updateTable('login_attempts')
      .set({ pending: sql<number>`case when pending > 0 then pending - 1 else 0 end` })
      .where('name_hash', '=', ticket.key)
      .where('window_start', '=', ticket.windowStart)
      .execute();
  }

  /**
   * Records failures (the check's own, plus requests that shared its answer) and frees the
   * check's place; locks the name when the window's failures reach the limit. Returns how long
   * to hold the answer back.
   */
  async failed(ticket: LoginTicket, count = 1, options: { held: boolean } = { held: true }): Promise<number> {
    const now = this.now();
    const { maxFailures, lockMs } = this.options;
    const ownWindow = sql<boolean>`window_start = ${ticket.windowStart}`;
    const row = await this.db
      .updateTable('login_attempts')
      .set({
        failures: sql<number>`failures + ${count}`,
        pending: options.held ? sql<number>`case when ${ownWindow} and pending > 0 then pending - 1 else pending end` : sql<number>`pending`,
        locked_until: sql<number>`case when failures + ${count} >= ${maxFailures} and locked_until <= ${now} then ${now + lockMs} else locked_until end`,
      })
      .where('name_hash', '=', ticket.key)
      .returning('failures')
      .executeTakeFirst();
    const failures = row ? Number(row.failures) : count;
    return Math.min(failures * this.options.delayStepMs, this.options.maxDelayMs);
  }

  /** Removes counters whose window and lock are over (a scheduled job calls it). */
  async purgeStale(): Promise<number> {
    const now = this.now();
    const result = await this.db
      .deleteFrom('login_attempts')
      .where('window_start', '<=', now - this.options.lockMs)
      .where('locked_until', '<=', now)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
