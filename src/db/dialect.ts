import {
  sql,
  type ColumnDefinitionBuilder,
  type CreateTableBuilder,
  type Expression,
  type Kysely,
  type RawBuilder,
  type SelectQueryBuilder,
} from 'kysely';

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
   * The column type for strings: `varchar(length)`, or `text` without a length. On
   * PostgreSQL the column compares and sorts byte by byte (`COLLATE "C"`), as SQLite does
   * everywhere, so that ordering, `>` paging (`last=`) and case folding (ASCII only) are the
   * same on both, whatever locale the database was created with. Every string column of a
   * migration uses this.
   */
  string(length?: number): Expression<unknown>;
  /**
   * An aggregate giving the column's values over the rows as one JSON array text, in the
   * column's order ('[]' for no rows), compact (no spaces) on both dialects. Long listings
   * are answered from this text directly, without building one JavaScript object per row.
   * `presorted`: the rows come from a subquery ordered by the column through an index (a
   * listing's pages), so SQLite aggregates them as they come instead of sorting them again
   * (a quarter of the time for 5,000 tags); PostgreSQL still orders in the aggregate.
   */
  jsonArrayText(column: string, options?: { presorted?: boolean }): RawBuilder<string>;
  /**
   * The query with `FOR UPDATE SKIP LOCKED` on PostgreSQL: the rows it selects are locked
   * for the transaction, and rows another transaction has locked are passed over. Unchanged
   * on SQLite, where one transaction writes at a time.
   */
  skipLocked<Q extends SelectQueryBuilder<any, any, any>>(query: Q): Q;
  /**
   * A column default: the id of the transaction inserting the row, ever increasing
   * (PostgreSQL's 64-bit xid8; 0 on SQLite). The outbox orders events by it.
   */
  transactionIdDefault: RawBuilder<number>;
  /**
   * Every transaction whose id is below this has ended (committed or rolled back), so no
   * new row stamped with such an id can appear (PostgreSQL: the snapshot's xmin). On SQLite
   * transactions run one at a time: a number above every id.
   */
  transactionHorizon: RawBuilder<number>;
  /** The database server's clock in Unix milliseconds, so that instances agree on time. */
  currentTimeMs: RawBuilder<number>;
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
    string(length) {
      const type = length === undefined ? 'text' : `varchar(${length})`;
      return sql.raw(name === 'sqlite' ? type : `${type} collate "C"`);
    },
    jsonArrayText(column, options = {}) {
      const ref = sql.ref(column);
      // json_agg would separate the values with ", "; string_agg keeps SQLite's compact form.
      if (name === 'sqlite' && options.presorted) return sql<string>`json_group_array(${ref})`;
      return name === 'sqlite'
        ? sql<string>`json_group_array(${ref} order by ${ref})`
        : sql<string>`coalesce('[' || string_agg(to_json(${ref})::text, ',' order by ${ref}) || ']', '[]')`;
    },
    skipLocked(query) {
      return name === 'sqlite' ? query : (query.forUpdate().skipLocked() as typeof query);
    },
    transactionIdDefault: name === 'sqlite' ? sql<number>`0` : sql<number>`(pg_current_xact_id()::text::bigint)`,
    transactionHorizon:
      name === 'sqlite' ? sql<number>`9007199254740991` : sql<number>`(pg_snapshot_xmin(pg_current_snapshot())::text::bigint)`,
    currentTimeMs:
      name === 'sqlite'
        ? sql<number>`((julianday('now') - 2440587.5) * 86400000.0)`
        : sql<number>`(extract(epoch from clock_timestamp()) * 1000)::float8`,
  };
}

export type AnyKysely = Kysely<any>;
