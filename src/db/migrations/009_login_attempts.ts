import type { Kysely } from 'kysely';
import type { DialectHelpers } from '../dialect.js';

/**
 * Failed-login counters, shared by every instance: one row per account name (a hash of it,
 * so names typed by strangers are not kept), with the failures of the current window, the
 * checks in progress and the end of a lock. Times are Unix milliseconds.
 */
export async function up(db: Kysely<any>, d: DialectHelpers): Promise<void> {
  await db.schema
    .createTable('login_attempts')
    .addColumn('name_hash', d.string(64), (c) => c.primaryKey())
    .addColumn('window_start', 'bigint', (c) => c.notNull())
    .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('pending', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('locked_until', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.createIndex('login_attempts_window').on('login_attempts').column('window_start').execute();
}
