import type { Kysely } from 'kysely';
import type { DialectHelpers } from '../dialect.js';

/**
 * Enterprise sign-in and system settings: the settings an administrator changes through
 * /configurations (shared by every instance), user groups (LDAP, HTTP, OIDC) and the groups
 * each user belonged to at their last sign-in, OIDC users' subject, CLI secret and tokens,
 * and users made administrators by an admin group.
 */
export async function up(db: Kysely<any>, d: DialectHelpers): Promise<void> {
  await db.schema
    .createTable('configurations')
    // Harbor's key, such as ldap_url or read_only.
    .addColumn('name', d.string(64), (c) => c.primaryKey())
    // JSON; secrets (ldap_search_password, oidc_client_secret) sealed by the secret box.
    .addColumn('value', d.string(), (c) => c.notNull())
    .addColumn('update_time', d.string(32), (c) => c.notNull())
    .execute();

  await d
    .addId(db.schema.createTable('user_groups'))
    .addColumn('group_name', d.string(255), (c) => c.notNull())
    // 1 LDAP, 2 HTTP (auth proxy), 3 OIDC: Harbor's numbers.
    .addColumn('group_type', 'integer', (c) => c.notNull())
    .addColumn('ldap_group_dn', d.string(1024), (c) => c.notNull().defaultTo(''))
    // What makes a group unique within its type: the DN in lower case for LDAP, else the name.
    .addColumn('group_key', d.string(1024), (c) => c.notNull())
    .addColumn('creation_time', d.string(32), (c) => c.notNull())
    .addColumn('update_time', d.string(32), (c) => c.notNull())
    .addUniqueConstraint('user_groups_type_key', ['group_type', 'group_key'])
    .execute();

  await db.schema
    .createTable('user_group_members')
    .addColumn('user_id', 'bigint', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('group_id', 'bigint', (c) => c.notNull().references('user_groups.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('user_group_members_pk', ['user_id', 'group_id'])
    .execute();
  await db.schema.createIndex('user_group_members_group').on('user_group_members').column('group_id').execute();

  await db.schema
    .createTable('oidc_users')
    .addColumn('user_id', 'bigint', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
    // The provider's subject and issuer ("sub" + "iss"), as Harbor's oidc_user.subiss.
    .addColumn('subiss', d.string(1024), (c) => c.notNull().unique())
    // The CLI secret, sealed.
    .addColumn('secret', d.string(), (c) => c.notNull())
    // The provider's token set (refresh token, ID token, expiry) as sealed JSON.
    .addColumn('token', d.string(), (c) => c.notNull().defaultTo(''))
    // Unix milliseconds when the stored access/ID token expires; 0 when unknown.
    .addColumn('token_expires_at', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('creation_time', d.string(32), (c) => c.notNull())
    .addColumn('update_time', d.string(32), (c) => c.notNull())
    .execute();

  // Set at each LDAP/OIDC sign-in: the user is in the configured admin group.
  await db.schema
    .alterTable('users')
    .addColumn('group_admin', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}
