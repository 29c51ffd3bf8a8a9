import type { Kysely } from 'kysely';
import type { DialectHelpers } from '../dialect.js';

/** What processors learn about an artifact at push, accessories, and labels. */
export async function up(db: Kysely<any>, d: DialectHelpers): Promise<void> {
  await db.schema
    .alterTable('artifacts')
    .addColumn('type', d.string(32), (c) => c.notNull().defaultTo('UNKNOWN'))
    .execute();
  await db.schema.alterTable('artifacts').addColumn('config_media_type', d.string(255)).execute();
  await db.schema.alterTable('artifacts').addColumn('extra_attrs', d.string()).execute();
  await db.schema.alterTable('artifacts').addColumn('icon', d.string(150)).execute();
  await db.schema.alterTable('artifacts').addColumn('accessory_of', d.string(150)).execute();
  await db.schema.alterTable('artifacts').addColumn('accessory_type', d.string(64)).execute();
  await db.schema.createIndex('artifacts_accessory').on('artifacts').columns(['repository_id', 'accessory_of']).execute();
  await db.schema.createIndex('artifacts_push_time').on('artifacts').columns(['repository_id', 'push_time']).execute();

  await d
    .addId(db.schema.createTable('labels'))
    .addColumn('name', d.string(128), (c) => c.notNull())
    .addColumn('description', d.string(), (c) => c.notNull().defaultTo(''))
    .addColumn('color', d.string(16), (c) => c.notNull().defaultTo(''))
    .addColumn('scope', d.string(1), (c) => c.notNull())
    .addColumn('project_id', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('creation_time', d.string(32), (c) => c.notNull())
    .addColumn('update_time', d.string(32), (c) => c.notNull())
    .addUniqueConstraint('labels_name_scope_project', ['name', 'scope', 'project_id'])
    .execute();

  await db.schema
    .createTable('artifact_labels')
    .addColumn('artifact_id', 'bigint', (c) => c.notNull().references('artifacts.id').onDelete('cascade'))
    .addColumn('label_id', 'bigint', (c) => c.notNull().references('labels.id').onDelete('cascade'))
    .addColumn('creation_time', d.string(32), (c) => c.notNull())
    .addPrimaryKeyConstraint('artifact_labels_pk', ['artifact_id', 'label_id'])
    .execute();
  await db.schema.createIndex('artifact_labels_label').on('artifact_labels').column('label_id').execute();
}
