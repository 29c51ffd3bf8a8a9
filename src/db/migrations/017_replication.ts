import type { Kysely } from 'kysely';
import type { DialectHelpers } from '../dialect.js';

/**
 * Replication (Harbor's /replication/policies and /replication/executions): policies between
 * Berth and one registry endpoint (016's `registries`; 0 on either side is Berth itself, as in
 * Harbor), their executions, and one task per artifact copied or deleted. Executions and tasks
 * run on the durable job queue; their rows keep the history, the counts and the link to each
 * task's job (whose log is the task's log) after the queue prunes its jobs.
 */
export async function up(db: Kysely<any>, d: DialectHelpers): Promise<void> {
  await d
    .addId(db.schema.createTable('replication_policies'))
    .addColumn('name', d.string(255), (c) => c.notNull().unique())
    .addColumn('description', d.string(), (c) => c.notNull().defaultTo(''))
    .addColumn('creator', d.string(255), (c) => c.notNull().defaultTo(''))
    // 0 is Berth itself (Harbor's convention); no foreign key: a registry in use is refused
    // deletion by the usage check the policies register with the registries feature.
    .addColumn('src_registry_id', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('dest_registry_id', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('dest_namespace', d.string(255), (c) => c.notNull().defaultTo(''))
    // Harbor's flattening: -1 legacy (flatten all), 0 keep the path, n replace n components.
    .addColumn('dest_namespace_replace_count', 'integer', (c) => c.notNull().defaultTo(-1))
    // manual | scheduled | event_based, and the cron of a scheduled one ('' otherwise).
    .addColumn('trigger_type', d.string(16), (c) => c.notNull())
    .addColumn('cron', d.string(255), (c) => c.notNull().defaultTo(''))
    // JSON: Harbor's ReplicationFilter array as checked ({type, value, decoration?}).
    .addColumn('filters', d.string(), (c) => c.notNull().defaultTo('[]'))
    .addColumn('replicate_deletion', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('override', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
    // KB/s per task; 0 is unlimited.
    .addColumn('speed_kb', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('copy_by_chunk', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('single_active_replication', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', d.string(32), (c) => c.notNull())
    .addColumn('updated_at', d.string(32), (c) => c.notNull())
    .execute();
  await d
    .addId(db.schema.createTable('replication_executions'))
    .addColumn('policy_id', 'bigint', (c) => c.notNull().references('replication_policies.id').onDelete('cascade'))
    // manual | scheduled | event_based
    .addColumn('trigger', d.string(16), (c) => c.notNull())
    // InProgress | Succeed | Failed | Stopped (Harbor's words on the API)
    .addColumn('status', d.string(16), (c) => c.notNull())
    .addColumn('status_text', d.string(), (c) => c.notNull().defaultTo(''))
    .addColumn('operator', d.string(255), (c) => c.notNull().defaultTo(''))
    // The REPLICATION job that plans the execution (lists the source, writes the tasks).
    .addColumn('job_id', 'bigint')
    .addColumn('start_time', d.string(32), (c) => c.notNull())
    .addColumn('end_time', d.string(32))
    .execute();
  await db.schema.createIndex('replication_executions_policy').on('replication_executions').columns(['policy_id', 'id']).execute();
  await db.schema.createIndex('replication_executions_status').on('replication_executions').columns(['status']).execute();
  await d
    .addId(db.schema.createTable('replication_tasks'))
    .addColumn('execution_id', 'bigint', (c) => c.notNull().references('replication_executions.id').onDelete('cascade'))
    // Pending | InProgress | Succeed | Failed | Stopped
    .addColumn('status', d.string(16), (c) => c.notNull())
    .addColumn('status_text', d.string(), (c) => c.notNull().defaultTo(''))
    // copy | deletion
    .addColumn('operation', d.string(16), (c) => c.notNull())
    // image | artifact
    .addColumn('resource_type', d.string(16), (c) => c.notNull())
    .addColumn('src_resource', d.string(), (c) => c.notNull())
    .addColumn('dst_resource', d.string(), (c) => c.notNull())
    // JSON: the engine's TaskSpec.detail.
    .addColumn('spec', d.string(), (c) => c.notNull())
    // The REPLICATION_TASK job (its log is the task's log).
    .addColumn('job_id', 'bigint')
    // Attempts started (each InProgress mark counts one).
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', d.string(32), (c) => c.notNull())
    .addColumn('start_time', d.string(32))
    .addColumn('end_time', d.string(32))
    .execute();
  await db.schema.createIndex('replication_tasks_execution').on('replication_tasks').columns(['execution_id', 'status']).execute();
}
