import type { Kysely } from 'kysely';
import type { DialectHelpers } from '../dialect.js';

/**
 * The vulnerability database: OSV records imported from the ecosystem archives, trimmed to
 * what matching and reports need. One row per record, and one row per (record, affected
 * package) looked up by (ecosystem base, package name).
 */
export async function up(db: Kysely<any>, d: DialectHelpers): Promise<void> {
  await db.schema
    .createTable('vuln_advisories')
    .addColumn('id', d.string(255), (c) => c.primaryKey())
    // The record's own `modified` (RFC3339): a re-import with the same value leaves the record alone.
    .addColumn('modified', d.string(40), (c) => c.notNull())
    // JSON: aliases, summary, details (trimmed), severity vectors, database_specific severity, cwe ids, reference URLs.
    .addColumn('data', d.string(), (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('vuln_affected')
    .addColumn('advisory_id', d.string(255), (c) => c.notNull())
    // The ecosystem without its release (Debian, Alpine, npm, …) and the package name as matched (PyPI normalised).
    .addColumn('ecosystem', d.string(64), (c) => c.notNull())
    .addColumn('package', d.string(512), (c) => c.notNull())
    // The record's full ecosystem string (Debian:12, Alpine:v3.19, Ubuntu:22.04:LTS, npm).
    .addColumn('ecosystem_full', d.string(255), (c) => c.notNull())
    // JSON: { ranges: [{ type, events }], versions: [...] } of this affected entry.
    .addColumn('data', d.string(), (c) => c.notNull())
    .execute();
  await db.schema.createIndex('vuln_affected_package').on('vuln_affected').columns(['ecosystem', 'package']).execute();
  await db.schema.createIndex('vuln_affected_advisory').on('vuln_affected').column('advisory_id').execute();
  await db.schema
    .createTable('vulndb_sources')
    // The OSV export folder (Debian, npm, …) an import or update read.
    .addColumn('ecosystem', d.string(64), (c) => c.primaryKey())
    // Where it came from: the URL of the archive or the local path.
    .addColumn('source', d.string(), (c) => c.notNull())
    .addColumn('imported_at', d.string(32), (c) => c.notNull())
    // Records in that source that concern a supported package, and the newest `modified` among them.
    .addColumn('records', 'integer', (c) => c.notNull())
    .addColumn('newest_modified', d.string(40))
    .execute();
}
