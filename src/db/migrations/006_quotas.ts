import { sql, type Kysely } from 'kysely';
import type { DialectHelpers } from '../dialect.js';

/**
 * Project quotas (src/quotas/usage.ts): the distinct digests each project holds with their
 * sizes, its usage kept in several rows summed on read (so that concurrent pushes do not
 * queue behind one row), and per-project quota state. Existing data is counted here.
 */
export async function up(db: Kysely<any>, d: DialectHelpers): Promise<void> {
  // A link whose artifacts were all deleted is *released*: the repository still serves the blob
  // (and DELETE of it answers 202, as in Distribution) until GC removes the link, but the
  // project no longer holds it for its quota. A push, mount or copy that links it again, or a
  // manifest that names it, takes it back (quotas/usage.ts).
  await db.schema.alterTable('repository_blobs').addColumn('released_at', d.string(32)).execute();

  // One row per digest a project holds: linked to one of its repositories, or the manifest
  // of one of its artifacts (size: the manifest's bytes).
  await db.schema
    .createTable('project_blobs')
    .addColumn('project_id', 'bigint', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('digest', d.string(150), (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('created_at', d.string(32), (c) => c.notNull())
    .addPrimaryKeyConstraint('project_blobs_pk', ['project_id', 'digest'])
    .execute();
  await db.schema.createIndex('project_blobs_digest').on('project_blobs').column('digest').execute();

  // A project's usage is the sum of its rows; a writer adds its change to any row no other
  // transaction holds, or to a new one (shard numbers are arbitrary).
  await db.schema
    .createTable('quota_usage')
    .addColumn('project_id', 'bigint', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('shard', 'bigint', (c) => c.notNull())
    .addColumn('used', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', d.string(32), (c) => c.notNull())
    .addPrimaryKeyConstraint('quota_usage_pk', ['project_id', 'shard'])
    .execute();

  // Written only when the limit changes, usage crosses the warning threshold or a push is refused.
  await db.schema
    .createTable('project_quotas')
    .addColumn('project_id', 'bigint', (c) => c.primaryKey().references('projects.id').onDelete('cascade'))
    // 1 once usage reached the warning threshold (the audit record is written once per crossing).
    .addColumn('warned', 'integer', (c) => c.notNull().defaultTo(0))
    // When the limit was last changed (null: never since the project was created).
    .addColumn('updated_at', d.string(32))
    // The last push refused for quota: when, what, and Harbor's message.
    .addColumn('refused_at', d.string(32))
    .addColumn('refused_resource', d.string(1024))
    .addColumn('refused_message', d.string(1024))
    .execute();

  const now = new Date().toISOString();
  await sql`
    insert into project_blobs (project_id, digest, size, created_at)
    select project_id, digest, max(size), ${now} from (
      select r.project_id, rb.digest, b.size
        from repository_blobs rb
        join repositories r on r.id = rb.repository_id
        join blobs b on b.digest = rb.digest
       where rb.released_at is null
      union all
      select r.project_id, a.digest, length(a.manifest)
        from artifacts a
        join repositories r on r.id = a.repository_id
    ) held
    group by project_id, digest
  `.execute(db);
  await sql`
    insert into quota_usage (project_id, shard, used, updated_at)
    select project_id, 0, sum(size), ${now} from project_blobs group by project_id
  `.execute(db);
}
