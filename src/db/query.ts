import { sql, type Expression, type OrderByItemBuilder, type RawBuilder, type SelectQueryBuilder } from 'kysely';
import { apiError } from '../lib/errors.js';
import { lastValue, type QueryTerm } from '../lib/query.js';

export type FieldType = 'string' | 'number' | 'boolean' | 'time';

/** A `q`/`sort` key a list endpoint accepts, and the SQL column it reads. */
export interface Field {
  column: string;
  type: FieldType;
}

function value(field: Field, key: string, raw: string): string | number | RawBuilder<number> {
  if (field.type === 'number') {
    // Every number column is an integer. A bigint parameter: PostgreSQL would otherwise type it
    // as the column (integer, say) and fail on a value out of that type's range.
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isSafeInteger(n)) throw apiError('BAD_REQUEST', `invalid q: ${key} must be an integer, not "${raw}"`);
    return sql<number>`cast(${n} as bigint)`;
  }
  if (field.type === 'boolean') {
    if (raw === 'true' || raw === '1') return 1;
    if (raw === 'false' || raw === '0') return 0;
    throw apiError('BAD_REQUEST', `invalid q: ${key} must be true or false, not "${raw}"`);
  }
  if (field.type === 'time') {
    const t = Date.parse(raw.includes('T') || raw.includes('-') ? raw : Number(raw) * 1000 + '');
    const parsed = Number.isNaN(t) ? Date.parse(raw) : t;
    if (Number.isNaN(parsed)) throw apiError('BAD_REQUEST', `invalid q: ${key} must be a time, not "${raw}"`);
    return new Date(parsed).toISOString();
  }
  return raw;
}

/** Escapes LIKE wildcards so a fragment matches literally (use with `escape '\\'`). */
export function escapeLike(raw: string): string {
  return raw.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * `column` contains `fragment` literally (`%`, `_` and `\` are plain characters), with the
 * same answer on SQLite and PostgreSQL. Every substring filter goes through here.
 *
 * By default ASCII letters match either case, as Harbor's fuzzy filters do (its ORM's
 * `icontains`, `UPPER(col) LIKE UPPER(?)`): `lower()` folds ASCII only on SQLite and on
 * PostgreSQL's byte-order (`COLLATE "C"`) columns alike, so the fragment is folded the same way
 * here rather than by the database. `caseSensitive` matches bytes exactly, as Harbor's plain
 * `LIKE` does on PostgreSQL (tags=~): SQLite's LIKE ignores ASCII case, so this compares with
 * replace(), which is exact on both (SQLite has instr() and PostgreSQL strpos(), neither both).
 */
export function likeFragment(
  column: string | Expression<unknown>,
  fragment: string,
  options: { caseSensitive?: boolean } = {},
): RawBuilder<boolean> {
  const col = typeof column === 'string' ? sql.ref(column) : column;
  if (options.caseSensitive) {
    if (fragment === '') return sql<boolean>`${col} is not null`;
    return sql<boolean>`replace(${col}, ${fragment}, '') <> ${col}`;
  }
  const folded = fragment.replace(/[A-Z]+/g, (c) => c.toLowerCase());
  return sql<boolean>`lower(${col}) like ${`%${escapeLike(folded)}%`} escape '\\'`;
}

/** How many rows a filtered query matches (for X-Total-Count). */
export async function countRows<DB, TB extends keyof DB, O>(qb: SelectQueryBuilder<DB, TB, O>): Promise<number> {
  const row = await qb
    .clearSelect()
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number((row as { n: number }).n);
}

/** The field a key names: only `fields`' own keys (not "constructor", "__proto__" and the like). */
function fieldOf(fields: Record<string, Field>, key: string): Field | undefined {
  return Object.hasOwn(fields, key) ? fields[key] : undefined;
}

/** Applies `q` terms to a query; keys not in `fields` are refused with 400 naming them. */
export function applyQuery<DB, TB extends keyof DB, O>(
  qb: SelectQueryBuilder<DB, TB, O>,
  terms: QueryTerm[],
  fields: Record<string, Field>,
): SelectQueryBuilder<DB, TB, O> {
  for (const term of terms) {
    const field = fieldOf(fields, term.key);
    if (!field) {
      throw apiError('BAD_REQUEST', `invalid q: unknown key "${term.key}"; allowed: ${Object.keys(fields).join(', ')}`);
    }
    const col = sql.ref(field.column);
    switch (term.op) {
      case 'exact':
        qb = qb.where(sql<boolean>`${col} = ${value(field, term.key, term.value)}`);
        break;
      case 'fuzzy':
        // A number column is matched by its decimal text (PostgreSQL has no lower() of a number).
        qb = qb.where(
          likeFragment(field.type === 'string' || field.type === 'time' ? field.column : sql`cast(${col} as text)`, term.value),
        );
        break;
      case 'range':
        if (term.min !== null) qb = qb.where(sql<boolean>`${col} >= ${value(field, term.key, term.min)}`);
        if (term.max !== null) qb = qb.where(sql<boolean>`${col} <= ${value(field, term.key, term.max)}`);
        break;
      case 'or':
        qb = qb.where(sql<boolean>`${col} in (${sql.join(term.values.map((v) => value(field, term.key, v)))})`);
        break;
      case 'and':
        for (const v of term.values) qb = qb.where(sql<boolean>`${col} = ${value(field, term.key, v)}`);
        break;
    }
  }
  return qb;
}

/** Applies Harbor's `sort=a,-b`; keys not in `fields` are refused. */
export function applySort<DB, TB extends keyof DB, O>(
  qb: SelectQueryBuilder<DB, TB, O>,
  sort: string | undefined,
  fields: Record<string, Field>,
  /** A column that is never NULL. */
  fallback: { column: string; direction: 'asc' | 'desc' },
): SelectQueryBuilder<DB, TB, O> {
  const keys = (lastValue(sort) ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const key of keys) {
    const desc = key.startsWith('-');
    const name = desc ? key.slice(1) : key;
    const field = fieldOf(fields, name);
    if (!field) throw apiError('BAD_REQUEST', `invalid sort: unknown key "${name}"; allowed: ${Object.keys(fields).join(', ')}`);
    qb = qb.orderBy(sql.ref(field.column), nullsLow(desc ? 'desc' : 'asc'));
  }
  // The fallback is a NOT NULL column (an id or a push time): a plain order lets PostgreSQL
  // walk its index instead of sorting every row, as NULLS LAST would make it.
  return qb.orderBy(sql.ref(fallback.column), fallback.direction);
}

/**
 * Orders NULL as the lowest value on both dialects (SQLite's rule; PostgreSQL's default is
 * the opposite): never-pulled artifacts come first by `pull_time` and last by `-pull_time`.
 */
function nullsLow(direction: 'asc' | 'desc') {
  return (ob: OrderByItemBuilder) => (direction === 'asc' ? ob.asc().nullsFirst() : ob.desc().nullsLast());
}
