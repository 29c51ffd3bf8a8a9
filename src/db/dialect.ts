import { sql, type ColumnDefinitionBuilder, type CreateTableBuilder, type Kysely, type RawBuilder } from 'kysely';

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
  /**
   * An aggregate giving the column's values over the rows as one JSON array text, in the
   * column's order ('[]' for no rows). Long listings are answered from this text directly,
   * without building one JavaScript object per row.
   */
  jsonArrayText(column: string): RawBuilder<string>;
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
    jsonArrayText(column) {
      const ref = sql.ref(column);
      return name === 'sqlite'
        ? sql<string>`json_group_array(${ref} order by ${ref})`
        : sql<string>`coalesce(json_agg(${ref} order by ${ref})::text, '[]')`;
    },
  };
}

export type AnyKysely = Kysely<any>;
