import type { Kysely } from 'kysely';
import type { DialectHelpers } from '../dialect.js';

/** Values every instance must share, such as the registry token signing key. */
export async function up(db: Kysely<any>, d: DialectHelpers): Promise<void> {
  await db.schema
    .createTable('settings')
    .addColumn('name', d.string(64), (c) => c.primaryKey())
    .addColumn('value', d.string(), (c) => c.notNull())
    .addColumn('created_at', d.string(32), (c) => c.notNull())
    .execute();
}
