import type { Kysely, Selectable, Transaction } from 'kysely';
import type { DialectHelpers } from '../db/dialect.js';
import type { Database, EventsTable } from '../db/types.js';
import { nowIso } from '../lib/clock.js';

/**
 * The outbox: domain events written in the transaction of the change they describe, then
 * handed to every subscriber.
 *
 * Guarantee, per subscriber, across instances and restarts: each event is handed over in
 * a transaction that also moves the subscriber's cursor past it, and the cursor row is
 * locked for that transaction (FOR UPDATE SKIP LOCKED on PostgreSQL, so one instance
 * delivers a subscriber's events at a time; on SQLite transactions run one at a time).
 * Hence:
 * - a subscriber that writes its effects with the transaction it is given (a row, a job
 *   enqueued with `tx`) gets each event exactly once: effects and cursor commit together,
 *   or neither does and the batch is handed over again;
 * - a subscriber with an effect outside the database (an HTTP call) gets each event at
 *   least once: a crash between the effect and the commit repeats it. Event ids are
 *   unique and stable; deduplicate on them, or better, enqueue a job in the transaction
 *   and let the job do the call with retries.
 * A subscriber that throws rolls its batch back; the batch is retried with backoff, and
 * the events after it wait (per subscriber, events are delivered in order). Handlers run
 * inside a database transaction, and on SQLite every other query waits for it: keep them
 * to database writes.
 *
 * Order: by (transaction id, event id). On PostgreSQL ids are taken before commit, so a
 * transaction can commit an event with a lower id after one with a higher id has been
 * read; reading only events of transactions below the oldest one still running
 * (the snapshot's xmin) makes the order final before it is read, so no event is skipped.
 */

export const EventTypes = {
  artifactPushed: 'PUSH_ARTIFACT',
  artifactPulled: 'PULL_ARTIFACT',
  artifactDeleted: 'DELETE_ARTIFACT',
} as const;

export interface OutboxEvent<P = any> {
  id: number;
  type: string;
  payload: P;
  createdAt: string;
}

export type Executor = Kysely<Database> | Transaction<Database>;

/** Writes an event with the caller's transaction, so it exists exactly when the change commits. */
export async function writeEvent(executor: Executor, type: string, payload: unknown): Promise<void> {
  await writeEvents(executor, [{ type, payload }]);
}

export async function writeEvents(executor: Executor, events: Array<{ type: string; payload: unknown }>): Promise<void> {
  const now = nowIso();
  for (let i = 0; i < events.length; i += 200) {
    await executor
      .insertInto('events')
      .values(events.slice(i, i + 200).map((e) => ({ type: e.type, payload: JSON.stringify(e.payload ?? null), created_at: now })))
      .execute();
  }
}

/**
 * Handles one event; `tx` is the transaction that also moves the subscriber's cursor. Use
 * only `tx` for the database (e.g. `queue.enqueue(type, payload, { tx })`): on SQLite a
 * query through another handle would wait for this very transaction to end.
 */
export type SubscriberHandler = (event: OutboxEvent, tx: Transaction<Database>) => Promise<void> | void;

export interface SubscribeOptions {
  /**
   * Where a subscriber seen for the first time starts: 'earliest' (every event still kept,
   * the default) or 'latest' (events written from now on).
   */
  start?: 'earliest' | 'latest';
}

export interface DispatcherLogger {
  warn(obj: object, msg: string): void;
}

export interface DispatcherOptions {
  /** How often to look for new events (default 500 ms). */
  pollIntervalMs?: number;
  /** Events handed over per transaction (default 100). */
  batchSize?: number;
  /** Longest wait before retrying a subscriber that failed (default 60 s). */
  retryMaxMs?: number;
  /** Events every subscriber has read are deleted this long after they were written (default 7 days). */
  retentionMs?: number;
  logger?: DispatcherLogger;
}

interface Subscription {
  name: string;
  handler: SubscriberHandler;
  start: 'earliest' | 'latest';
  ready: Promise<void> | null;
  failures: number;
  retryAt: number;
}

/** Hands the outbox's events to subscribers; run one on every instance. */
export class Dispatcher {
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly options: Required<Omit<DispatcherOptions, 'logger'>>;
  private readonly logger: DispatcherLogger | undefined;
  private timer: NodeJS.Timeout | null = null;
  private round: Promise<number> | null = null;
  private lastPrune = 0;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: DialectHelpers,
    options: DispatcherOptions = {},
  ) {
    this.options = {
      pollIntervalMs: options.pollIntervalMs ?? 500,
      batchSize: options.batchSize ?? 100,
      retryMaxMs: options.retryMaxMs ?? 60_000,
      retentionMs: options.retentionMs ?? 7 * 24 * 3600_000,
    };
    this.logger = options.logger;
  }

  /** Registers a subscriber by a name that never changes (its cursor is stored under it). */
  subscribe(name: string, handler: SubscriberHandler, options: SubscribeOptions = {}): void {
    if (!name || name.length > 128) throw new Error('a subscriber needs a name of 1 to 128 characters');
    if (this.subscriptions.has(name)) throw new Error(`a subscriber named "${name}" is already registered`);
    this.subscriptions.set(name, { name, handler, start: options.start ?? 'earliest', ready: null, failures: 0, retryAt: 0 });
  }

  /**
   * Creates every subscriber's cursor now. Called before the server takes requests, so that a
   * subscriber starting at the latest event does not skip events written before its first round.
   */
  async prepare(): Promise<void> {
    for (const sub of this.subscriptions.values()) await this.ensureCursor(sub);
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.dispatch(), this.options.pollIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.round;
  }

  /** One round: hands every subscriber the events it has not had yet. Returns how many were handed over. */
  async dispatch(): Promise<number> {
    if (this.round) return this.round;
    this.round = this.deliverAll().finally(() => (this.round = null));
    return this.round;
  }

  /** Rounds until no subscriber has anything left (for tests and for draining at shutdown). */
  async drain(): Promise<void> {
    // A round already running may have read before the events to drain were committed.
    await this.round;
    while ((await this.dispatch()) > 0);
  }

  private async deliverAll(): Promise<number> {
    let delivered = 0;
    try {
      const subs = [...this.subscriptions.values()];
      for (const sub of subs) await this.ensureCursor(sub);
      const now = Date.now();
      if (now - this.lastPrune > 3600_000) {
        this.lastPrune = now;
        await this.prune();
      }
      const due = subs.filter((s) => s.retryAt <= now);
      if (due.length === 0) return 0;
      for (const name of await this.withPending(due.map((s) => s.name))) {
        const sub = this.subscriptions.get(name)!;
        try {
          delivered += await this.deliver(sub);
          sub.failures = 0;
          sub.retryAt = 0;
        } catch (err) {
          sub.failures++;
          const delay = Math.min(this.options.pollIntervalMs * 2 ** sub.failures, this.options.retryMaxMs);
          sub.retryAt = Date.now() + delay;
          this.logger?.warn({ err, subscriber: name, retryInMs: delay }, 'an event subscriber failed; its batch will be handed over again');
        }
      }
    } catch (err) {
      this.logger?.warn({ err }, 'dispatching events failed');
    }
    return delivered;
  }

  private async ensureCursor(sub: Subscription): Promise<void> {
    sub.ready ??= (async () => {
      let start = { tx: 0, id: 0 };
      if (sub.start === 'latest') {
        const last = await this.db
          .selectFrom('events')
          .select(['tx_id', 'id'])
          .orderBy('tx_id', 'desc')
          .orderBy('id', 'desc')
          .limit(1)
          .executeTakeFirst();
        if (last) start = { tx: Number(last.tx_id), id: Number(last.id) };
      }
      await this.db
        .insertInto('event_cursors')
        .values({ subscriber: sub.name, last_tx_id: start.tx, last_event_id: start.id, updated_at: nowIso() })
        .onConflict((oc) => oc.column('subscriber').doNothing())
        .execute();
    })().catch((err) => {
      sub.ready = null;
      throw err;
    });
    await sub.ready;
  }

  /** Which of the subscribers have events after their cursor (one read, no lock: the cheap idle path). */
  private async withPending(names: string[]): Promise<string[]> {
    const rows = await this.db
      .selectFrom('event_cursors as c')
      .select('c.subscriber')
      .where('c.subscriber', 'in', names)
      .where(({ exists, selectFrom }) =>
        exists(
          selectFrom('events as e')
            .select('e.id')
            .where((eb) =>
              eb.or([
                eb('e.tx_id', '>', eb.ref('c.last_tx_id')),
                eb.and([eb('e.tx_id', '=', eb.ref('c.last_tx_id')), eb('e.id', '>', eb.ref('c.last_event_id'))]),
              ]),
            )
            .where('e.tx_id', '<', this.dialect.transactionHorizon),
        ),
      )
      .execute();
    return rows.map((r) => r.subscriber);
  }

  /** One transaction: lock the cursor, hand over the next batch, move the cursor. */
  private async deliver(sub: Subscription): Promise<number> {
    return this.db.transaction().execute(async (tx) => {
      const cursor = await this.dialect
        .skipLocked(tx.selectFrom('event_cursors').select(['last_tx_id', 'last_event_id']).where('subscriber', '=', sub.name))
        .executeTakeFirst();
      // Another instance is delivering to this subscriber right now.
      if (!cursor) return 0;
      const lastTx = Number(cursor.last_tx_id);
      const lastId = Number(cursor.last_event_id);
      const rows = await tx
        .selectFrom('events')
        .selectAll()
        .where((eb) => eb.or([eb('tx_id', '>', lastTx), eb.and([eb('tx_id', '=', lastTx), eb('id', '>', lastId)])]))
        .where('tx_id', '<', this.dialect.transactionHorizon)
        .orderBy('tx_id')
        .orderBy('id')
        .limit(this.options.batchSize)
        .execute();
      if (rows.length === 0) return 0;
      for (const row of rows) await sub.handler(toEvent(row), tx);
      const last = rows[rows.length - 1];
      await tx
        .updateTable('event_cursors')
        .set({ last_tx_id: Number(last.tx_id), last_event_id: Number(last.id), updated_at: nowIso() })
        .where('subscriber', '=', sub.name)
        .execute();
      return rows.length;
    });
  }

  /**
   * Deletes events older than the retention that every cursor has passed. A subscriber
   * retired for good should have its cursor row deleted, or it holds events forever.
   */
  async prune(): Promise<number> {
    const cutoff = new Date(Date.now() - this.options.retentionMs).toISOString();
    const result = await this.db
      .deleteFrom('events as e')
      .where('e.created_at', '<', cutoff)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('event_cursors as c')
              .select('c.subscriber')
              .where((eb) =>
                eb.or([
                  eb('e.tx_id', '>', eb.ref('c.last_tx_id')),
                  eb.and([eb('e.tx_id', '=', eb.ref('c.last_tx_id')), eb('e.id', '>', eb.ref('c.last_event_id'))]),
                ]),
              ),
          ),
        ),
      )
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}

function toEvent(r: Selectable<EventsTable>): OutboxEvent {
  let payload: unknown;
  try {
    payload = JSON.parse(r.payload);
  } catch {
    payload = r.payload;
  }
  return { id: Number(r.id), type: r.type, payload, createdAt: r.created_at };
}
