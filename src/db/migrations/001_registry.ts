import type { Kysely } from 'kysely';
import type { DialectHelpers } from '../dialect.js';

/** Projects, repositories, blobs, artifacts, tags, their links, and upload sessions. */
export async function up(db: Kysely<any>, d: DialectHelpers): Promise<void> {
  await d
    .addId(db.schema.createTable('projects'))
    .addColumn('name', d.string(255), (c) => c.notNull().unique())
    .addColumn('public', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', d.string(32), (c) => c.notNull())
    .addColumn('updated_at', d.string(32), (c) => c.notNull())
    .execute();

  await d
    .addId(db.schema.createTable('repositories'))
    .addColumn('project_id', 'bigint', (c) => c.notNull().references('projects.id'))
    .addColumn('name', d.string(255), (c) => c.notNull().unique())
    .addColumn('description', d.string(), (c) => c.notNull().defaultTo(''))
    .addColumn('pull_count', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', d.string(32), (c) => c.notNull())
    .addColumn('updated_at', d.string(32), (c) => c.notNull())
    .execute();
  await db.schema.createIndex('repositories_project').on('repositories').column('project_id').execute();

  await db.schema
    .createTable('blobs')
    .addColumn('digest', d.string(150), (c) => c.primaryKey())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('created_at', d.string(32), (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('repository_blobs')
    .addColumn('repository_id', 'bigint', (c) => c.notNull().references('repositories.id').onDelete('cascade'))
    .addColumn('digest', d.string(150), (c) => c.notNull().references('blobs.digest'))
    .addColumn('created_at', d.string(32), (c) => c.notNull())
    .addPrimaryKeyConstraint('repository_blobs_pk', ['repository_id', 'digest'])
    .execute();
  await db.schema.createIndex('repository_blobs_digest').on('repository_blobs').column('digest').execute();

  await d
    .addId(db.schema.createTable('artifacts'))
    .addColumn('repository_id', 'bigint', (c) => c.notNull().references('repositories.id').onDelete('cascade'))
    .addColumn('digest', d.string(150), (c) => c.notNull())
    .addColumn('media_type', d.string(255), (c) => c.notNull())
    .addColumn('artifact_type', d.string(255))
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('manifest', d.binaryType, (c) => c.notNull())
    .addColumn('subject_digest', d.string(150))
    .addColumn('annotations', d.string())
    .addColumn('push_time', d.string(32), (c) => c.notNull())
    .addColumn('pull_time', d.string(32))
    .addUniqueConstraint('artifacts_repository_digest', ['repository_id', 'digest'])
    .execute();
  await db.schema.createIndex('artifacts_subject').on('artifacts').columns(['repository_id', 'subject_digest']).execute();
  await db.schema.createIndex('artifacts_digest').on('artifacts').column('digest').execute();

  await d
    .addId(db.schema.createTable('tags'))
    .addColumn('repository_id', 'bigint', (c) => c.notNull().references('repositories.id').onDelete('cascade'))
    .addColumn('artifact_id', 'bigint', (c) => c.notNull().references('artifacts.id').onDelete('cascade'))
    .addColumn('name', d.string(128), (c) => c.notNull())
    .addColumn('push_time', d.string(32), (c) => c.notNull())
    .addColumn('pull_time', d.string(32))
    .addUniqueConstraint('tags_repository_name', ['repository_id', 'name'])
    .execute();
  await db.schema.createIndex('tags_artifact').on('tags').column('artifact_id').execute();

  await db.schema
    .createTable('artifact_blobs')
    .addColumn('artifact_id', 'bigint', (c) => c.notNull().references('artifacts.id').onDelete('cascade'))
    .addColumn('digest', d.string(150), (c) => c.notNull())
    .addPrimaryKeyConstraint('artifact_blobs_pk', ['artifact_id', 'digest'])
    .execute();
  await db.schema.createIndex('artifact_blobs_digest').on('artifact_blobs').column('digest').execute();

  await db.schema
    .createTable('artifact_references')
    .addColumn('parent_id', 'bigint', (c) => c.notNull().references('artifacts.id').onDelete('cascade'))
    .addColumn('child_id', 'bigint', (c) => c.notNull().references('artifacts.id'))
    .addColumn('child_digest', d.string(150), (c) => c.notNull())
    .addColumn('platform', d.string())
    .addColumn('annotations', d.string())
    .addPrimaryKeyConstraint('artifact_references_pk', ['parent_id', 'child_id'])
    .execute();
  await db.schema.createIndex('artifact_references_child').on('artifact_references').column('child_id').execute();

  await db.schema
    .createTable('uploads')
    .addColumn('id', d.string(64), (c) => c.primaryKey())
    .addColumn('repository_id', 'bigint', (c) => c.notNull().references('repositories.id').onDelete('cascade'))
    .addColumn('digest_algorithm', d.string(16), (c) => c.notNull().defaultTo('sha256'))
    .addColumn('size', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', d.string(32), (c) => c.notNull())
    .addColumn('updated_at', d.string(32), (c) => c.notNull())
    .execute();
}
