import type { Kysely } from 'kysely';
import type { DialectHelpers } from '../dialect.js';

/**
 * P2P preheat (Harbor's /p2p/preheat and /projects/{p}/preheat): provider instances
 * (Dragonfly, Kraken) with their credentials sealed by the secret box, preheat policies per
 * project, their executions, and one task per (artifact, tag) of an execution. Executions
 * and tasks run on the durable job queue (PREHEAT, PREHEAT_TASK); their rows keep the
 * history and the counts after the queue prunes its jobs.
 */
export async function up(db: Kysely<any>, d: DialectHelpers): Promise<void> {
  await d
    .addId(db.schema.createTable('preheat_instances'))
    .addColumn('name', d.string(255), (c) => c.notNull().unique())
    .addColumn('description', d.string(), (c) => c.notNull().defaultTo(''))
    // dragonfly | kraken (the driver)
    .addColumn('vendor', d.string(32), (c) => c.notNull())
    .addColumn('endpoint', d.string(1024), (c) => c.notNull())
    // NONE | BASIC | OAUTH | CUSTOM
    .addColumn('auth_mode', d.string(16), (c) => c.notNull())
    // Harbor's auth_info map as JSON, sealed (auth/secret-box.ts); null for NONE.
    .addColumn('auth_info_sealed', d.string())
    .addColumn('enabled', 'integer', (c) => c.notNull())
    .addColumn('is_default', 'integer', (c) => c.notNull())
    .addColumn('insecure', 'integer', (c) => c.notNull())
    // Healthy | Unhealthy | Unknown: the last ping's answer.
    .addColumn('status', d.string(16), (c) => c.notNull().defaultTo('Unknown'))
    .addColumn('setup_timestamp', 'bigint', (c) => c.notNull())
    .addColumn('created_at', d.string(32), (c) => c.notNull())
    .addColumn('updated_at', d.string(32), (c) => c.notNull())
    .execute();
  await d
    .addId(db.schema.createTable('preheat_policies'))
    .addColumn('project_id', 'bigint', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('name', d.string(255), (c) => c.notNull())
    .addColumn('description', d.string(), (c) => c.notNull().defaultTo(''))
    // The instance; an instance a policy uses cannot be deleted (Harbor's 412).
    .addColumn('provider_id', 'bigint', (c) => c.notNull())
    // Harbor's filters and trigger, normalised JSON ([{type, value}], {type, trigger_setting: {cron}}).
    .addColumn('filters', d.string(), (c) => c.notNull())
    .addColumn('trigger', d.string(), (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull())
    // Vendor attributes as JSON (Dragonfly: scope, cluster_ids), or null.
    .addColumn('extra_attrs', d.string())
    .addColumn('created_at', d.string(32), (c) => c.notNull())
    .addColumn('updated_at', d.string(32), (c) => c.notNull())
    .execute();
  await db.schema.createIndex('preheat_policies_name').on('preheat_policies').columns(['project_id', 'name']).unique().execute();
  await db.schema.createIndex('preheat_policies_provider').on('preheat_policies').column('provider_id').execute();
  await d
    .addId(db.schema.createTable('preheat_executions'))
    .addColumn('policy_id', 'bigint', (c) => c.notNull().references('preheat_policies.id').onDelete('cascade'))
    // manual | scheduled | event_based (the policy's trigger type, as Harbor records it)
    .addColumn('trigger', d.string(16), (c) => c.notNull())
    // Pending | Running | Success | Error | Stopped (Running until every task ended).
    .addColumn('status', d.string(16), (c) => c.notNull())
    .addColumn('status_message', d.string(), (c) => c.notNull().defaultTo(''))
    // The PREHEAT job that plans it (finds the artifacts, writes the tasks).
    .addColumn('job_id', 'bigint')
    // For an event-based run: the pushed artifact it is about.
    .addColumn('artifact_id', 'bigint')
    // JSON: Harbor's extra_attrs (totalCount, trigger, triggerSetting).
    .addColumn('extra_attrs', d.string(), (c) => c.notNull())
    .addColumn('start_time', d.string(32), (c) => c.notNull())
    .addColumn('end_time', d.string(32))
    .execute();
  await db.schema.createIndex('preheat_executions_policy').on('preheat_executions').columns(['policy_id', 'id']).execute();
  await db.schema.createIndex('preheat_executions_job').on('preheat_executions').column('job_id').execute();
  await d
    .addId(db.schema.createTable('preheat_tasks'))
    .addColumn('execution_id', 'bigint', (c) => c.notNull().references('preheat_executions.id').onDelete('cascade'))
    // Pending | Running | Success | Error | Stopped
    .addColumn('status', d.string(16), (c) => c.notNull())
    .addColumn('status_message', d.string(), (c) => c.notNull().defaultTo(''))
    .addColumn('run_count', 'integer', (c) => c.notNull().defaultTo(0))
    // What is preheated: repository (full name), one tag, the digest, Harbor's kind (image).
    .addColumn('repository', d.string(255), (c) => c.notNull())
    .addColumn('tag', d.string(255), (c) => c.notNull())
    .addColumn('digest', d.string(160), (c) => c.notNull())
    .addColumn('kind', d.string(32), (c) => c.notNull())
    .addColumn('job_id', 'bigint')
    // The provider's id for the preheat (Dragonfly's job id), so a retried attempt polls it instead of starting another.
    .addColumn('provider_task_id', d.string(255))
    .addColumn('creation_time', d.string(32), (c) => c.notNull())
    .addColumn('update_time', d.string(32), (c) => c.notNull())
    .addColumn('start_time', d.string(32))
    .addColumn('end_time', d.string(32))
    .execute();
  await db.schema.createIndex('preheat_tasks_execution').on('preheat_tasks').columns(['execution_id', 'status']).execute();
}
