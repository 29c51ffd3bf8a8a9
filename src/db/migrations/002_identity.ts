import type { Kysely } from 'kysely';
import type { DialectHelpers } from '../dialect.js';

/** Users, project ownership and metadata, members, robot accounts, portal sessions, audit log. */
export async function up(db: Kysely<any>, d: DialectHelpers): Promise<void> {
  await d
    .addId(db.schema.createTable('users'))
    .addColumn('username', d.string(255), (c) => c.notNull().unique())
    .addColumn('email', d.string(255), (c) => c.notNull().defaultTo(''))
    .addColumn('realname', d.string(255), (c) => c.notNull().defaultTo(''))
    .addColumn('comment', d.string(1024), (c) => c.notNull().defaultTo(''))
    .addColumn('password_hash', d.string(255), (c) => c.notNull())
    .addColumn('sysadmin', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('creation_time', d.string(32), (c) => c.notNull())
    .addColumn('update_time', d.string(32), (c) => c.notNull())
    .execute();
  await db.schema.createIndex('users_email').on('users').column('email').execute();

  await db.schema.alterTable('projects').addColumn('owner_id', 'bigint').execute();
  await db.schema
    .alterTable('projects')
    .addColumn('storage_limit', 'bigint', (c) => c.notNull().defaultTo(-1))
    .execute();

  await db.schema
    .createTable('project_metadata')
    .addColumn('project_id', 'bigint', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('name', d.string(64), (c) => c.notNull())
    .addColumn('value', d.string(255), (c) => c.notNull())
    .addPrimaryKeyConstraint('project_metadata_pk', ['project_id', 'name'])
    .execute();

  await d
    .addId(db.schema.createTable('project_members'))
    .addColumn('project_id', 'bigint', (c) => c.notNull().references('projects.id').onDelete('cascade'))
    .addColumn('entity_type', d.string(1), (c) => c.notNull())
    .addColumn('entity_id', 'bigint', (c) => c.notNull())
    .addColumn('role_id', 'integer', (c) => c.notNull())
    .addColumn('creation_time', d.string(32), (c) => c.notNull())
    .addColumn('update_time', d.string(32), (c) => c.notNull())
    .addUniqueConstraint('project_members_entity', ['project_id', 'entity_type', 'entity_id'])
    .execute();
  await db.schema.createIndex('project_members_entity_idx').on('project_members').columns(['entity_type', 'entity_id']).execute();

  await d
    .addId(db.schema.createTable('robots'))
    .addColumn('name', d.string(255), (c) => c.notNull().unique())
    .addColumn('description', d.string(1024), (c) => c.notNull().defaultTo(''))
    .addColumn('level', d.string(16), (c) => c.notNull())
    .addColumn('project_id', 'bigint', (c) => c.references('projects.id').onDelete('cascade'))
    .addColumn('secret_hash', d.string(255), (c) => c.notNull())
    .addColumn('permissions', d.string(), (c) => c.notNull())
    .addColumn('duration', 'integer', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('creator_type', d.string(16), (c) => c.notNull())
    .addColumn('creator_ref', 'bigint', (c) => c.notNull())
    .addColumn('creation_time', d.string(32), (c) => c.notNull())
    .addColumn('update_time', d.string(32), (c) => c.notNull())
    .execute();
  await db.schema.createIndex('robots_project').on('robots').column('project_id').execute();

  await db.schema
    .createTable('sessions')
    .addColumn('id_hash', d.string(64), (c) => c.primaryKey())
    .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('csrf_token', d.string(64), (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('created_at', d.string(32), (c) => c.notNull())
    .execute();

  await d
    .addId(db.schema.createTable('audit_logs'))
    .addColumn('project_id', 'bigint')
    .addColumn('username', d.string(255), (c) => c.notNull())
    .addColumn('operation', d.string(32), (c) => c.notNull())
    .addColumn('resource_type', d.string(32), (c) => c.notNull())
    .addColumn('resource', d.string(1024), (c) => c.notNull())
    .addColumn('result', d.string(16), (c) => c.notNull().defaultTo('success'))
    .addColumn('client_ip', d.string(64), (c) => c.notNull().defaultTo(''))
    .addColumn('op_time', d.string(32), (c) => c.notNull())
    .execute();
  await db.schema.createIndex('audit_logs_time').on('audit_logs').column('op_time').execute();
  await db.schema.createIndex('audit_logs_project').on('audit_logs').columns(['project_id', 'op_time']).execute();
}
