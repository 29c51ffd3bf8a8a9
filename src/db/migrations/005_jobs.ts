import type { Kysely } from 'kysely';
import type { DialectHelpers } from '../dialect.js';

/**
 * The durable job queue (jobs, their log lines, paused queues, the instances running them),
 * cron schedules, and the outbox (events, and how far each subscriber has read).
 */
export async function up(db: Kysely<any>, d: DialectHelpers): Promise<void> {
  await d
    .addId(db.schema.createTable('jobs'))
    .addColumn('type', d.string(128), (c) => c.notNull())
    .addColumn('payload', d.string(), (c) => c.notNull())
    // pending | running | success | error | stopped
    .addColumn('status', d.string(16), (c) => c.notNull())
    // Attempts started so far; also the fencing token of the current lease.
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('max_attempts', 'integer', (c) => c.notNull())
    .addColumn('cancel_requested', 'integer', (c) => c.notNull().defaultTo(0))
    // When a pending job may next run.
    .addColumn('run_at', d.string(32), (c) => c.notNull())
    // The pool (instance) holding the lease of a running job, and until when.
    .addColumn('locked_by', d.string(64))
    .addColumn('locked_until', d.string(32))
    .addColumn('last_error', d.string())
    .addColumn('created_at', d.string(32), (c) => c.notNull())
    .addColumn('updated_at', d.string(32), (c) => c.notNull())
    .addColumn('started_at', d.string(32))
    .addColumn('finished_at', d.string(32))
    .execute();
  await db.schema.createIndex('jobs_status_run_at').on('jobs').columns(['status', 'run_at']).execute();
  await db.schema.createIndex('jobs_type_status').on('jobs').columns(['type', 'status']).execute();
  await db.schema.createIndex('jobs_finished_at').on('jobs').column('finished_at').execute();

  await d
    .addId(db.schema.createTable('job_logs'))
    .addColumn('job_id', 'bigint', (c) => c.notNull().references('jobs.id').onDelete('cascade'))
    .addColumn('time', d.string(32), (c) => c.notNull())
    .addColumn('level', d.string(8), (c) => c.notNull())
    .addColumn('message', d.string(), (c) => c.notNull())
    .execute();
  await db.schema.createIndex('job_logs_job').on('job_logs').columns(['job_id', 'id']).execute();

  // A paused queue's jobs stay pending; job_type '*' pauses every queue.
  await db.schema
    .createTable('job_queues')
    .addColumn('job_type', d.string(128), (c) => c.primaryKey())
    .addColumn('paused', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', d.string(32), (c) => c.notNull())
    .execute();

  // One row per running instance (Harbor's worker pool), kept fresh by its heartbeat.
  await db.schema
    .createTable('job_pools')
    .addColumn('id', d.string(64), (c) => c.primaryKey())
    .addColumn('pid', 'integer', (c) => c.notNull())
    .addColumn('host', d.string(255), (c) => c.notNull())
    .addColumn('concurrency', 'integer', (c) => c.notNull())
    .addColumn('started_at', d.string(32), (c) => c.notNull())
    .addColumn('heartbeat_at', d.string(32), (c) => c.notNull())
    .execute();

  await d
    .addId(db.schema.createTable('schedules'))
    .addColumn('name', d.string(255), (c) => c.notNull().unique())
    .addColumn('job_type', d.string(128), (c) => c.notNull())
    // The id of what the schedule belongs to (a policy, a project), as Harbor shows it.
    .addColumn('vendor_id', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('cron', d.string(128), (c) => c.notNull())
    .addColumn('payload', d.string(), (c) => c.notNull())
    .addColumn('paused', 'integer', (c) => c.notNull().defaultTo(0))
    // The next tick; moved forward by compare-and-set, so that a tick fires once.
    .addColumn('next_run_at', d.string(32))
    .addColumn('last_run_at', d.string(32))
    .addColumn('created_at', d.string(32), (c) => c.notNull())
    .addColumn('updated_at', d.string(32), (c) => c.notNull())
    .execute();
  await db.schema.createIndex('schedules_due').on('schedules').columns(['paused', 'next_run_at']).execute();

  // The outbox: read in (tx_id, id) order, which on PostgreSQL is safe against commits
  // landing out of id order (see events/outbox.ts).
  await d
    .addId(db.schema.createTable('events'))
    .addColumn('tx_id', 'bigint', (c) => c.notNull().defaultTo(d.transactionIdDefault))
    .addColumn('type', d.string(64), (c) => c.notNull())
    .addColumn('payload', d.string(), (c) => c.notNull())
    .addColumn('created_at', d.string(32), (c) => c.notNull())
    .execute();
  await db.schema.createIndex('events_order').on('events').columns(['tx_id', 'id']).execute();

  await db.schema
    .createTable('event_cursors')
    .addColumn('subscriber', d.string(128), (c) => c.primaryKey())
    .addColumn('last_tx_id', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('last_event_id', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', d.string(32), (c) => c.notNull())
    .execute();
}
