import type { Kysely } from 'kysely';
import type { DialectHelpers } from '../dialect.js';

/**
 * Tag immutability rules (src/immutability/): at most 15 per project, each a repository and a
 * tag selector (doublestar patterns, matches or excludes). Read on every tag move and delete,
 * so they are found by project through the index.
 */
export async function up(db: Kysely<any>, d: DialectHelpers): Promise<void> {
  await d
    .addId(db.schema.createTable('immutable_rules'))
    .addColumn('project_id', 'bigint', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('priority', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
    // The selectors as sent (JSON), validated at write time.
    .addColumn('tag_selectors', d.string(), (c) => c.notNull())
    .addColumn('scope_selectors', d.string(), (c) => c.notNull())
    .addColumn('created_at', d.string(32), (c) => c.notNull())
    .addColumn('updated_at', d.string(32), (c) => c.notNull())
    .execute();
  await db.schema.createIndex('immutable_rules_project').on('immutable_rules').column('project_id').execute();
}
