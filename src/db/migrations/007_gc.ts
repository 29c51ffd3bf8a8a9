import type { Kysely } from 'kysely';
import type { DialectHelpers } from '../dialect.js';

/**
 * Garbage collection runs: Harbor's GC history. The job queue runs them (type
 * GARBAGE_COLLECTION); a run keeps its parameters, what it found and freed, and its last
 * status here, so the history outlives the job rows the queue prunes.
 */
export async function up(db: Kysely<any>, d: DialectHelpers): Promise<void> {
  await db.schema
    .createTable('gc_runs')
    .addColumn('job_id', 'bigint', (c) => c.primaryKey())
    // MANUAL | SCHEDULE (Harbor's job_kind)
    .addColumn('trigger', d.string(16), (c) => c.notNull())
    .addColumn('operator', d.string(255), (c) => c.notNull())
    // JSON: delete_untagged, dry_run, workers, remove_empty_repositories, time_window.
    .addColumn('parameters', d.string(), (c) => c.notNull())
    // JSON: freed_space, purged_blobs, purged_manifests and Berth's own counts; null before the run records any.
    .addColumn('results', d.string())
    // Pending | Running | Success | Error | Stopped: the run's own record (the job's status wins while the job exists).
    .addColumn('status', d.string(16), (c) => c.notNull())
    // 1 while the run collects, else NULL: the unique index lets one run at a time hold it.
    .addColumn('active', 'integer', (c) => c.unique())
    // When the run listed the blob store for objects without a row (at most daily, unless asked).
    .addColumn('store_listed_at', d.string(32))
    .addColumn('created_at', d.string(32), (c) => c.notNull())
    .addColumn('updated_at', d.string(32), (c) => c.notNull())
    .execute();
  await db.schema.createIndex('gc_runs_created').on('gc_runs').column('created_at').execute();
}
