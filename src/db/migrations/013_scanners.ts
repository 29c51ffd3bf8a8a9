import type { Kysely } from 'kysely';
import type { DialectHelpers } from '../dialect.js';

/**
 * Scanner registrations (Harbor's /scanners), the scanner a project chose, and the scans
 * Berth's own Pluggable Scanner API (`/scanner/api/v1`) accepted for other registries.
 */
export async function up(db: Kysely<any>, d: DialectHelpers): Promise<void> {
  await d
    .addId(db.schema.createTable('scanner_registrations'))
    .addColumn('uuid', d.string(64), (c) => c.notNull().unique())
    .addColumn('name', d.string(128), (c) => c.notNull().unique())
    .addColumn('description', d.string(1024), (c) => c.notNull().defaultTo(''))
    // NULL for the built-in scanner: its URL is where this Berth serves /scanner, known at start.
    .addColumn('url', d.string(512), (c) => c.unique())
    // '' | Basic | Bearer | APIKey (Harbor's values).
    .addColumn('auth', d.string(32), (c) => c.notNull().defaultTo(''))
    .addColumn('access_credential', d.string(1024))
    .addColumn('skip_cert_verify', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('use_internal_addr', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('is_default', 'integer', (c) => c.notNull().defaultTo(0))
    // Cannot be edited or deleted (Harbor's Trivy registration; Berth's built-in scanner).
    .addColumn('immutable', 'integer', (c) => c.notNull().defaultTo(0))
    // 1 for Berth's own scanner (unique: there is one).
    .addColumn('builtin', 'integer', (c) => c.unique())
    .addColumn('created_at', d.string(32), (c) => c.notNull())
    .addColumn('updated_at', d.string(32), (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('project_scanners')
    .addColumn('project_id', 'bigint', (c) => c.primaryKey().references('projects.id').onDelete('cascade'))
    .addColumn('registration_uuid', d.string(64), (c) => c.notNull().references('scanner_registrations.uuid').onDelete('cascade'))
    .execute();
  await db.schema
    .createTable('scanner_adapter_scans')
    .addColumn('id', d.string(64), (c) => c.primaryKey())
    // Pending | Running | Success | Error
    .addColumn('status', d.string(16), (c) => c.notNull())
    // The accepted ScanRequest (JSON); the registry authorization is blanked once the scan ends.
    .addColumn('request', d.string(), (c) => c.notNull())
    // JSON: report MIME type (SBOM: `<mime>|<sbom media type>`) → the report's JSON text.
    .addColumn('reports', d.string())
    .addColumn('error', d.string())
    .addColumn('job_id', 'bigint')
    .addColumn('created_at', d.string(32), (c) => c.notNull())
    .addColumn('updated_at', d.string(32), (c) => c.notNull())
    .execute();
  await db.schema.createIndex('scanner_adapter_scans_updated').on('scanner_adapter_scans').column('updated_at').execute();
}
