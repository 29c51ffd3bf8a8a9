import type { Kysely } from 'kysely';
import type { DialectHelpers } from '../dialect.js';

/**
 * Integrity scrub: a quarantine marker on blobs, the scrub runs (history, progress, the one
 * running at a time) and what each run found.
 */
export async function up(db: Kysely<any>, d: DialectHelpers): Promise<void> {
  // Set when a scrub found the stored object wrong or missing: /v2 then answers BLOB_UNKNOWN for it.
  await db.schema.alterTable('blobs').addColumn('quarantined_at', d.string(32)).execute();
  // Why (digest_mismatch, size_mismatch, missing_object) and which run said so.
  await db.schema.alterTable('blobs').addColumn('quarantine_reason', d.string(32)).execute();
  await db.schema.alterTable('blobs').addColumn('quarantine_run_id', 'bigint').execute();
  // Bumped whenever the object is replaced by a re-push (a heal); a scrub quarantines only the
  // generation it read, so bytes replaced while it was hashing are never quarantined by mistake.
  await db.schema
    .alterTable('blobs')
    .addColumn('generation', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.createIndex('blobs_quarantined').on('blobs').column('quarantined_at').execute();

  await d
    .addId(db.schema.createTable('scrub_runs'))
    // The job that runs it (jobs are pruned after their retention; the run stays).
    .addColumn('job_id', 'bigint', (c) => c.unique())
    // Manual | Schedule | CLI
    .addColumn('trigger', d.string(16), (c) => c.notNull())
    .addColumn('parameters', d.string(), (c) => c.notNull())
    // Pending | Running | Success | Error | Stopped
    .addColumn('status', d.string(16), (c) => c.notNull())
    // 1 while this run scrubs, else NULL: the unique index lets one run at a time hold it.
    .addColumn('active', 'integer', (c) => c.unique())
    .addColumn('message', d.string())
    .addColumn('blobs_total', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('blobs_checked', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('bytes_checked', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('manifests_total', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('manifests_checked', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('digest_mismatches', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('size_mismatches', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('missing_objects', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('read_errors', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('broken_references', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('manifest_mismatches', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('affected_artifacts', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('quarantined', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('released', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', d.string(32), (c) => c.notNull())
    .addColumn('started_at', d.string(32))
    .addColumn('finished_at', d.string(32))
    .addColumn('updated_at', d.string(32), (c) => c.notNull())
    .execute();

  await d
    .addId(db.schema.createTable('scrub_findings'))
    .addColumn('run_id', 'bigint', (c) => c.notNull().references('scrub_runs.id').onDelete('cascade'))
    .addColumn('kind', d.string(32), (c) => c.notNull())
    .addColumn('digest', d.string(150), (c) => c.notNull())
    .addColumn('repository', d.string(255))
    .addColumn('artifact_digest', d.string(150))
    .addColumn('expected_size', 'bigint')
    .addColumn('actual_size', 'bigint')
    .addColumn('actual_digest', d.string(150))
    .addColumn('quarantined', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('message', d.string(), (c) => c.notNull())
    .addColumn('created_at', d.string(32), (c) => c.notNull())
    .execute();
  await db.schema.createIndex('scrub_findings_run').on('scrub_findings').columns(['run_id', 'id']).execute();
}
