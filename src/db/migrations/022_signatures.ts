import type { Kysely } from 'kysely';
import type { DialectHelpers } from '../dialect.js';

/**
 * Signature trust (src/signatures/): a project's trusted keys, certificates and Sigstore
 * roots, and the cache of verification results. A result is keyed by the signature, its
 * subject and the fingerprints of the keys it was checked against, so adding or removing a
 * key makes a new key and old results are simply no longer asked for.
 */
export async function up(db: Kysely<any>, d: DialectHelpers): Promise<void> {
  await d
    .addId(db.schema.createTable('trust_keys'))
    .addColumn('project_id', 'bigint', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('name', d.string(255), (c) => c.notNull())
    .addColumn('type', d.string(32), (c) => c.notNull())
    .addColumn('pem', d.string(), (c) => c.notNull())
    .addColumn('fingerprint', d.string(64), (c) => c.notNull())
    .addColumn('created_at', d.string(32), (c) => c.notNull())
    .addUniqueConstraint('trust_keys_project_name', ['project_id', 'name'])
    .addUniqueConstraint('trust_keys_project_key', ['project_id', 'type', 'fingerprint'])
    .execute();

  await db.schema
    .createTable('signature_verifications')
    // sha256 hex of signature digest, subject digest and the sorted trust fingerprints.
    .addColumn('cache_key', d.string(64), (c) => c.primaryKey())
    .addColumn('signature_digest', d.string(150), (c) => c.notNull())
    .addColumn('verified', 'integer', (c) => c.notNull())
    .addColumn('signer', d.string(), (c) => c)
    .addColumn('key_name', d.string(255), (c) => c)
    .addColumn('reason', d.string(), (c) => c)
    .addColumn('checked_at', d.string(32), (c) => c.notNull())
    .execute();
  await db.schema.createIndex('signature_verifications_signature').on('signature_verifications').column('signature_digest').execute();
}
