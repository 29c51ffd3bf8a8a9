import type { Kysely } from 'kysely';
import type { DialectHelpers } from '../dialect.js';

/**
 * Webhooks (Harbor's /projects/{p}/webhook/…): policies per project, one execution per
 * (outbox event, policy) and one task per target of it. A task holds the rendered request
 * (body and headers, chosen once with its delivery id), so every attempt of the WEBHOOK job
 * sends the same bytes; its row keeps the history (run count, last status code, duration,
 * response excerpt) after the queue prunes the job.
 */
export async function up(db: Kysely<any>, d: DialectHelpers): Promise<void> {
  await d
    .addId(db.schema.createTable('webhook_policies'))
    .addColumn('project_id', 'bigint', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('name', d.string(255), (c) => c.notNull())
    .addColumn('description', d.string(), (c) => c.notNull().defaultTo(''))
    // JSON: [{type, address, auth_header, skip_cert_verify, payload_format}] as Harbor's targets.
    .addColumn('targets', d.string(), (c) => c.notNull())
    // JSON: the event types (PUSH_ARTIFACT, …).
    .addColumn('event_types', d.string(), (c) => c.notNull())
    .addColumn('creator', d.string(255), (c) => c.notNull().defaultTo(''))
    .addColumn('enabled', 'integer', (c) => c.notNull())
    .addColumn('created_at', d.string(32), (c) => c.notNull())
    .addColumn('updated_at', d.string(32), (c) => c.notNull())
    .execute();
  await db.schema.createIndex('webhook_policies_name').on('webhook_policies').columns(['project_id', 'name']).unique().execute();
  await d
    .addId(db.schema.createTable('webhook_executions'))
    .addColumn('policy_id', 'bigint', (c) => c.notNull().references('webhook_policies.id').onDelete('cascade'))
    .addColumn('project_id', 'bigint', (c) => c.notNull())
    // The outbox event it delivers (0 for none).
    .addColumn('event_id', 'bigint', (c) => c.notNull())
    .addColumn('event_type', d.string(64), (c) => c.notNull())
    .addColumn('vendor_type', d.string(32), (c) => c.notNull())
    .addColumn('trigger', d.string(16), (c) => c.notNull())
    // Running | Success | Error: derived from its tasks.
    .addColumn('status', d.string(16), (c) => c.notNull())
    .addColumn('status_message', d.string(), (c) => c.notNull().defaultTo(''))
    // JSON: Harbor's extra_attrs (event_type, payload) and event_id.
    .addColumn('extra_attrs', d.string(), (c) => c.notNull())
    .addColumn('start_time', d.string(32), (c) => c.notNull())
    .addColumn('end_time', d.string(32))
    .execute();
  await db.schema.createIndex('webhook_executions_policy').on('webhook_executions').columns(['policy_id', 'id']).execute();
  await db.schema
    .createIndex('webhook_executions_trigger')
    .on('webhook_executions')
    .columns(['policy_id', 'event_type', 'start_time'])
    .execute();
  await db.schema.createIndex('webhook_executions_start').on('webhook_executions').column('start_time').execute();
  await d
    .addId(db.schema.createTable('webhook_tasks'))
    .addColumn('execution_id', 'bigint', (c) => c.notNull().references('webhook_executions.id').onDelete('cascade'))
    .addColumn('policy_id', 'bigint', (c) => c.notNull())
    .addColumn('target_index', 'integer', (c) => c.notNull())
    .addColumn('event_type', d.string(64), (c) => c.notNull())
    // http | slack; Default | CloudEvents; the target as it was when the event came.
    .addColumn('notify_type', d.string(16), (c) => c.notNull())
    .addColumn('address', d.string(2048), (c) => c.notNull())
    .addColumn('payload_format', d.string(32), (c) => c.notNull())
    .addColumn('skip_cert_verify', 'integer', (c) => c.notNull())
    .addColumn('auth_header', d.string())
    // The CloudEvents id / X-Berth-Delivery-Id: one per (event, policy, target), for every attempt.
    .addColumn('delivery_id', d.string(64), (c) => c.notNull())
    // The exact request body and headers (JSON) sent on every attempt.
    .addColumn('body', d.string(), (c) => c.notNull())
    .addColumn('headers', d.string(), (c) => c.notNull())
    // Pending | Running | Success | Error
    .addColumn('status', d.string(16), (c) => c.notNull())
    .addColumn('status_message', d.string(), (c) => c.notNull().defaultTo(''))
    .addColumn('run_count', 'integer', (c) => c.notNull().defaultTo(0))
    // The last attempt: HTTP status (0: no answer), how long it took, the first KiB of the answer.
    .addColumn('status_code', 'integer')
    .addColumn('duration_ms', 'integer')
    .addColumn('response', d.string())
    .addColumn('job_id', 'bigint')
    .addColumn('creation_time', d.string(32), (c) => c.notNull())
    .addColumn('update_time', d.string(32), (c) => c.notNull())
    .addColumn('start_time', d.string(32))
    .addColumn('end_time', d.string(32))
    .execute();
  await db.schema.createIndex('webhook_tasks_execution').on('webhook_tasks').columns(['execution_id', 'status']).execute();
  await db.schema.createIndex('webhook_tasks_policy').on('webhook_tasks').columns(['policy_id', 'id']).execute();
}
