import { sql, type ColumnDefinitionBuilder, type CreateTableBuilder, type Kysely } from 'kysely';

export type DialectName = 'sqlite' | 'postgres';

/**
 * The few places where SQLite and PostgreSQL differ, kept here so that migrations and
 * stores stay portable.
 */
export interface DialectHelpers {
  name: DialectName;
  /** Adds an auto-incrementing integer primary key named `id`. */
  addId<T extends string>(table: CreateTableBuilder<T, never>): CreateTableBuilder<T, 'id'>;
  /** The column type for raw bytes. */
  binaryType: ReturnType<typeof sql.raw>;
}

export function dialectHelpers(name: DialectName): DialectHelpers {
  return {
    name,
    addId(table) {
      return name === 'sqlite'
        ? table.addColumn('id', 'integer', (c: ColumnDefinitionBuilder) => c.primaryKey().autoIncrement())
        : table.addColumn('id', 'bigserial', (c: ColumnDefinitionBuilder) => c.primaryKey());
    },
    binaryType: sql.raw(name === 'sqlite' ? 'blob' : 'bytea'),
  };
}

export type AnyKysely = Kysely<any>;
