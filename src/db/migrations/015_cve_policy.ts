import { sql, type Kysely } from 'kysely';
import type { DialectHelpers } from '../dialect.js';

/**
 * Scanning policies (src/scanning/policy, src/scanning/export): CVE allowlists, one per
 * project plus the system's (project_id 0, so no foreign key; a project's row goes with the
 * project in ProjectStore.delete), and CVE exports: one execution per request, its CSV kept
 * in chunks until it is downloaded or purged. Also indexes on scan_vulnerabilities (014) for
 * the security hub's queries.
 */
export async function up(db: Kysely<any>, d: DialectHelpers): Promise<void> {
  await d
    .addId(db.schema.createTable('cve_allowlists'))
    .addColumn('project_id', 'bigint', (c) => c.notNull().unique())
    // Unix seconds; null: never expires.
    .addColumn('expires_at', 'bigint')
    // JSON: [{"cve_id": "..."}], as Harbor stores it.
    .addColumn('items', d.string(), (c) => c.notNull())
    .addColumn('creation_time', d.string(32), (c) => c.notNull())
    .addColumn('update_time', d.string(32), (c) => c.notNull())
    .execute();

  await d
    .addId(db.schema.createTable('cve_export_executions'))
    .addColumn('job_id', 'bigint')
    .addColumn('user_id', 'bigint', (c) => c.notNull())
    .addColumn('user_name', d.string(255), (c) => c.notNull())
    .addColumn('job_name', d.string(255), (c) => c.notNull())
    // JSON: the project ids the export covers (Harbor: one).
    .addColumn('project_ids', d.string(), (c) => c.notNull())
    // JSON: the request's filters (labels, repositories, tags, cveIds).
    .addColumn('criteria', d.string(), (c) => c.notNull())
    // Pending | Running | Success | Error | Stopped
    .addColumn('status', d.string(16), (c) => c.notNull())
    .addColumn('status_text', d.string(), (c) => c.notNull().defaultTo(''))
    .addColumn('trigger', d.string(16), (c) => c.notNull())
    .addColumn('start_time', d.string(32), (c) => c.notNull())
    .addColumn('end_time', d.string(32))
    .addColumn('file_present', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('file_size', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('row_count', 'bigint', (c) => c.notNull().defaultTo(0))
    // sha256 of the CSV, set when it is complete.
    .addColumn('file_digest', d.string(128))
    .execute();
  await db.schema.createIndex('cve_export_executions_user').on('cve_export_executions').columns(['user_name', 'id']).execute();

  await db.schema
    .createTable('cve_export_chunks')
    .addColumn('execution_id', 'bigint', (c) => c.notNull().references('cve_export_executions.id').onDelete('cascade'))
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('data', d.binaryType, (c) => c.notNull())
    .addPrimaryKeyConstraint('cve_export_chunks_pk', ['execution_id', 'seq'])
    .execute();

  // The security hub and CVE export find a scanner's findings by artifact digest, and list them by score.
  await db.schema
    .createIndex('scan_vulnerabilities_scanner_digest')
    .on('scan_vulnerabilities')
    .columns(['registration_uuid', 'digest'])
    .execute();
  // Highest score first with unscored findings last: SQLite's natural descending order, PostgreSQL's NULLS LAST.
  // The id makes the order total, so a page is read straight from the index.
  const scoreOrder = d.name === 'postgres' ? sql.raw('cvss_score_v3 desc nulls last, id desc') : sql.raw('cvss_score_v3 desc, id desc');
  await sql`create index scan_vulnerabilities_scanner_score on scan_vulnerabilities (registration_uuid, ${scoreOrder})`.execute(db);
}
