import type { Kysely } from 'kysely';
import type { DialectHelpers } from '../dialect.js';

/**
 * Scans (Harbor's scan reports): one report per (artifact digest, scanner registration, report
 * MIME type), its findings one row each (the security hub and CVE export query them), and the
 * scan-all runs. A report's job does the work on the durable queue; while a report is Pending
 * or Running its status is read together with its job's, so a job that ended without writing
 * (stopped before it ran, lost its last attempt) shows as Stopped or Error.
 */
export async function up(db: Kysely<any>, d: DialectHelpers): Promise<void> {
  await d
    .addId(db.schema.createTable('scan_all_runs'))
    .addColumn('job_id', 'bigint')
    // Manual | Schedule | Event (Harbor's Stats.trigger)
    .addColumn('trigger', d.string(16), (c) => c.notNull())
    .addColumn('operator', d.string(255), (c) => c.notNull())
    // Running | Success | Error | Stopped: the enqueuing job's state; the scans' states are their reports'.
    .addColumn('status', d.string(16), (c) => c.notNull())
    // The last artifact id the run has enqueued scans for (it resumes from there after a restart).
    .addColumn('cursor', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('enqueued', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('start_time', d.string(32), (c) => c.notNull())
    .addColumn('end_time', d.string(32))
    .execute();
  await d
    .addId(db.schema.createTable('scan_reports'))
    // Harbor's report uuid (report_id in scan_overview and the scan log path).
    .addColumn('uuid', d.string(36), (c) => c.notNull().unique())
    .addColumn('digest', d.string(160), (c) => c.notNull())
    .addColumn('registration_uuid', d.string(64), (c) => c.notNull())
    .addColumn('mime_type', d.string(128), (c) => c.notNull())
    // Pending | Running | Success | Error | Stopped
    .addColumn('status', d.string(16), (c) => c.notNull())
    .addColumn('severity', d.string(16))
    // JSON: {total, fixable, summary: {Critical: n, …}} (vulnerability reports)
    .addColumn('summary', d.string())
    // JSON: the report as the scanner gave it (the SBOM report without its document)
    .addColumn('report', d.string())
    .addColumn('sbom_digest', d.string(160))
    .addColumn('sbom_media_type', d.string(64))
    // Where the artifact was scanned from (for the SBOM accessory and the log).
    .addColumn('repository', d.string(255), (c) => c.notNull())
    .addColumn('job_id', 'bigint')
    .addColumn('scan_all_run_id', 'bigint', (c) => c.references('scan_all_runs.id').onDelete('set null'))
    // JSON: {name, vendor, version}
    .addColumn('scanner', d.string())
    .addColumn('message', d.string())
    .addColumn('start_time', d.string(32), (c) => c.notNull())
    .addColumn('end_time', d.string(32))
    .addColumn('complete_percent', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .createIndex('scan_reports_artifact')
    .on('scan_reports')
    .columns(['digest', 'registration_uuid', 'mime_type'])
    .unique()
    .execute();
  await db.schema.createIndex('scan_reports_run').on('scan_reports').columns(['scan_all_run_id', 'status']).execute();
  await d
    .addId(db.schema.createTable('scan_vulnerabilities'))
    .addColumn('report_id', 'bigint', (c) => c.notNull().references('scan_reports.id').onDelete('cascade'))
    .addColumn('digest', d.string(160), (c) => c.notNull())
    .addColumn('registration_uuid', d.string(64), (c) => c.notNull())
    .addColumn('cve_id', d.string(128), (c) => c.notNull())
    .addColumn('package', d.string(255), (c) => c.notNull())
    .addColumn('version', d.string(255), (c) => c.notNull())
    .addColumn('fixed_version', d.string(255), (c) => c.notNull())
    .addColumn('severity', d.string(16), (c) => c.notNull())
    // 0 Unknown … 5 Critical (types.ts severities), for "at or above" filters.
    .addColumn('severity_rank', 'integer', (c) => c.notNull())
    .addColumn('cvss_score_v3', 'double precision')
    .addColumn('cvss_score_v2', 'double precision')
    .addColumn('cvss_vector_v3', d.string(255))
    .addColumn('cvss_vector_v2', d.string(255))
    .addColumn('description', d.string())
    // JSON arrays
    .addColumn('links', d.string())
    .addColumn('cwe_ids', d.string())
    .execute();
  await db.schema.createIndex('scan_vulnerabilities_report').on('scan_vulnerabilities').columns(['report_id']).execute();
  await db.schema.createIndex('scan_vulnerabilities_cve').on('scan_vulnerabilities').columns(['cve_id']).execute();
  await db.schema
    .createIndex('scan_vulnerabilities_severity')
    .on('scan_vulnerabilities')
    .columns(['severity_rank', 'cvss_score_v3'])
    .execute();
}
