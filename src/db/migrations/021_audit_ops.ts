import type { Kysely } from 'kysely';
import type { DialectHelpers } from '../dialect.js';

/**
 * Audit log purge and forwarding.
 * - audit_logs.tx_id: the id of the writing transaction, as the outbox's events carry, so the
 *   forwarder reads records in (tx_id, id) order and, on PostgreSQL, only below the oldest
 *   running transaction: a record whose id was taken before a higher one committed is never
 *   skipped (see events/outbox.ts).
 * - audit_forward_cursors: how far the syslog forwarder got, and which instance holds the
 *   right to forward (a lease, so that no transaction stays open during a network send).
 * - audit_purge_runs: the purge history (PURGE_AUDIT_LOG jobs), kept after the queue prunes its jobs.
 */
export async function up(db: Kysely<any>, d: DialectHelpers): Promise<void> {
  await db.schema
    .alterTable('audit_logs')
    .addColumn('tx_id', 'bigint', (c) => c.notNull().defaultTo(d.transactionIdDefault))
    .execute();
  await db.schema.createIndex('audit_logs_order').on('audit_logs').columns(['tx_id', 'id']).execute();
  await db.schema
    .createTable('audit_forward_cursors')
    .addColumn('name', d.string(64), (c) => c.primaryKey())
    .addColumn('last_tx_id', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('last_id', 'bigint', (c) => c.notNull().defaultTo(0))
    // The instance forwarding now and until when (database clock, Unix ms); '' and 0 when none.
    .addColumn('holder', d.string(64), (c) => c.notNull().defaultTo(''))
    .addColumn('held_until', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('forwarded', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', d.string(32), (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('audit_purge_runs')
    .addColumn('job_id', 'bigint', (c) => c.primaryKey())
    // MANUAL | SCHEDULE (Harbor's job_kind)
    .addColumn('trigger', d.string(16), (c) => c.notNull())
    .addColumn('operator', d.string(255), (c) => c.notNull())
    // JSON: audit_retention_hour, include_event_types, dry_run.
    .addColumn('parameters', d.string(), (c) => c.notNull())
    // JSON: purged (deleted, or counted by a dry run); null before the run records any.
    .addColumn('results', d.string())
    // Pending | Running | Success | Error | Stopped: the run's own record (the job's status wins while the job exists).
    .addColumn('status', d.string(16), (c) => c.notNull())
    .addColumn('created_at', d.string(32), (c) => c.notNull())
    .addColumn('updated_at', d.string(32), (c) => c.notNull())
    .execute();
  await db.schema.createIndex('audit_purge_runs_created').on('audit_purge_runs').column('created_at').execute();
}
