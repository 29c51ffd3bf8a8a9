import type { Kysely } from 'kysely';
import type { DialectHelpers } from '../dialect.js';

/**
 * Proxy-cache projects (src/proxycache): a project created with a `registry_id` is a pull-through
 * cache of that registry endpoint (016's `registries`; no foreign key, the registries feature
 * refuses to delete an endpoint a project uses). Its other settings (freshness, Harbor's proxy
 * metadata) are project metadata rows. `proxy_fetches` is the single-flight of blob fetches across
 * instances: the instance that inserts a digest's row fetches it from the upstream, holding the
 * lease (`expires_at`, Unix ms on the database's clock) while it streams; the others wait for the
 * row to go and then read the blob from storage. A lease that expired (its instance died) is taken over.
 */
export async function up(db: Kysely<any>, d: DialectHelpers): Promise<void> {
  await db.schema.alterTable('projects').addColumn('registry_id', 'bigint').execute();
  await db.schema.createIndex('projects_registry').on('projects').column('registry_id').execute();

  await db.schema
    .createTable('proxy_fetches')
    .addColumn('digest', d.string(150), (c) => c.primaryKey())
    // Which instance (and request) fetches it: "<pool id>/<n>".
    .addColumn('owner', d.string(128), (c) => c.notNull())
    // The repository it is fetched for, for the log and for readers on other instances.
    .addColumn('repository', d.string(255), (c) => c.notNull())
    .addColumn('started_at', d.string(32), (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
}
