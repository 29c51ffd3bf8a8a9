import type { Kysely } from 'kysely';
import type { DialectHelpers } from '../dialect.js';

/**
 * Registry endpoints (Harbor's /registries): the other registries replication copies from
 * and to and proxy-cache projects mirror. The credential's secret is kept sealed
 * (auth/secret-box.ts: AES-256-GCM under a key id), never in clear.
 */
export async function up(db: Kysely<any>, d: DialectHelpers): Promise<void> {
  await d
    .addId(db.schema.createTable('registries'))
    .addColumn('name', d.string(64), (c) => c.notNull().unique())
    .addColumn('description', d.string(1024), (c) => c.notNull().defaultTo(''))
    // The adapter type: harbor, docker-registry, docker-hub, … (replication/adapters).
    .addColumn('type', d.string(32), (c) => c.notNull())
    // scheme://host[:port][/path], without a trailing slash (Harbor's ValidateHTTPURL).
    .addColumn('url', d.string(512), (c) => c.notNull())
    .addColumn('insecure', 'integer', (c) => c.notNull().defaultTo(0))
    // PEM bundle trusted in addition to the system's.
    .addColumn('ca_certificate', d.string())
    // basic | oauth | secret; NULL with no credential.
    .addColumn('credential_type', d.string(16))
    .addColumn('access_key', d.string(1024))
    // The sealed secret (`bsec1:<key id>:…`); NULL with no credential or an empty secret.
    .addColumn('access_secret', d.string())
    // healthy | unhealthy (Harbor's), from the last ping; and why the last ping failed (Berth).
    .addColumn('status', d.string(16), (c) => c.notNull().defaultTo('healthy'))
    .addColumn('status_message', d.string(1024), (c) => c.notNull().defaultTo(''))
    .addColumn('status_time', d.string(32))
    .addColumn('created_at', d.string(32), (c) => c.notNull())
    .addColumn('updated_at', d.string(32), (c) => c.notNull())
    .execute();
}
