import type { Kysely } from 'kysely';
import type { DialectHelpers } from '../dialect.js';

/**
 * Tag retention (Harbor's /retentions): one policy per project (its id is the project's
 * `retention_id` metadata), its executions, and one task per repository of an execution.
 * Executions and tasks run on the durable job queue; their rows keep the history and counts
 * after the queue prunes its jobs.
 */
export async function up(db: Kysely<any>, d: DialectHelpers): Promise<void> {
  await d
    .addId(db.schema.createTable('retention_policies'))
    .addColumn('project_id', 'bigint', (c) => c.notNull().unique().references('projects.id').onDelete('cascade'))
    // JSON: Harbor's RetentionPolicy without id and scope (they are the columns).
    .addColumn('data', d.string(), (c) => c.notNull())
    .addColumn('created_at', d.string(32), (c) => c.notNull())
    .addColumn('updated_at', d.string(32), (c) => c.notNull())
    .execute();
  await d
    .addId(db.schema.createTable('retention_executions'))
    .addColumn('policy_id', 'bigint', (c) => c.notNull().references('retention_policies.id').onDelete('cascade'))
    // The job that lists the repositories and enqueues the tasks.
    .addColumn('job_id', 'bigint')
    // MANUAL | SCHEDULE
    .addColumn('trigger', d.string(16), (c) => c.notNull())
    .addColumn('dry_run', 'integer', (c) => c.notNull())
    // Pending | Running | Success | Error | Stopped (Running until every task ended).
    .addColumn('status', d.string(16), (c) => c.notNull())
    // The rules as they were when the execution started (JSON), so tasks all apply the same ones.
    .addColumn('policy', d.string(), (c) => c.notNull())
    .addColumn('start_time', d.string(32), (c) => c.notNull())
    .addColumn('end_time', d.string(32))
    .execute();
  await db.schema.createIndex('retention_executions_policy').on('retention_executions').columns(['policy_id', 'id']).execute();
  await d
    .addId(db.schema.createTable('retention_tasks'))
    .addColumn('execution_id', 'bigint', (c) => c.notNull().references('retention_executions.id').onDelete('cascade'))
    .addColumn('repository', d.string(255), (c) => c.notNull())
    .addColumn('repository_id', 'bigint', (c) => c.notNull())
    .addColumn('job_id', 'bigint')
    .addColumn('status', d.string(16), (c) => c.notNull())
    .addColumn('start_time', d.string(32))
    .addColumn('end_time', d.string(32))
    .addColumn('total', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('retained', 'integer', (c) => c.notNull().defaultTo(0))
    // Harbor's task log: a table of every candidate and what became of it.
    .addColumn('log', d.string())
    .execute();
  await db.schema.createIndex('retention_tasks_execution').on('retention_tasks').columns(['execution_id', 'id']).execute();
}
