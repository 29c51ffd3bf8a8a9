import type { Kysely } from 'kysely';
import type { DialectHelpers } from '../dialect.js';

/**
 * Rate limit counters shared by every instance (rate_limits in the configuration, on
 * PostgreSQL): one row per limited key with the points used in its current window and the
 * window's end (Unix milliseconds). Rows whose window ended are removed periodically.
 */
export async function up(db: Kysely<any>, d: DialectHelpers): Promise<void> {
  await db.schema
    .createTable('rate_limits')
    .addColumn('limit_key', d.string(255), (c) => c.primaryKey())
    .addColumn('points', 'integer', (c) => c.notNull())
    .addColumn('expire', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('rate_limits_expire').on('rate_limits').column('expire').execute();
}
