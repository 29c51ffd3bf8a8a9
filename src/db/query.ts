import { sql, type SelectQueryBuilder } from 'kysely';
import { apiError } from '../lib/errors.js';
import type { QueryTerm } from '../lib/query.js';

export type FieldType = 'string' | 'number' | 'boolean' | 'time';

/** A `q`/`sort` key a list endpoint accepts, and the SQL column it reads. */
export interface Field {
  column: string;
  type: FieldType;
}

function value(field: Field, key: string, raw: string): string | number {
  if (field.type === 'number') {
    const n = Number(raw);
    if (raw === '' || !Number.isFinite(n)) throw apiError('BAD_REQUEST', `invalid q: ${key} must be a number, not "${raw}"`);
    return n;
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

/** How many rows a filtered query matches (for X-Total-Count). */
export async function countRows<DB, TB extends keyof DB, O>(qb: SelectQueryBuilder<DB, TB, O>): Promise<number> {
  const row = await qb
    .clearSelect()
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number((row as { n: number }).n);
}

/** Applies `q` terms to a query; keys not in `fields` are refused with 400 naming them. */
export function applyQuery<DB, TB extends keyof DB, O>(
  qb: SelectQueryBuilder<DB, TB, O>,
  terms: QueryTerm[],
  fields: Record<string, Field>,
): SelectQueryBuilder<DB, TB, O> {
  for (const term of terms) {
    const field = fields[term.key];
    if (!field) {
      throw apiError('BAD_REQUEST', `invalid q: unknown key "${term.key}"; allowed: ${Object.keys(fields).join(', ')}`);
    }
    const col = sql.ref(field.column);
    switch (term.op) {
      case 'exact':
        qb = qb.where(sql<boolean>`${col} = ${value(field, term.key, term.value)}`);
        break;
      case 'fuzzy':
        qb = qb.where(sql<boolean>`${col} like ${`%${escapeLike(term.value)}%`} escape '\\'`);
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
  fallback: { column: string; direction: 'asc' | 'desc' },
): SelectQueryBuilder<DB, TB, O> {
  const keys = (sort ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const key of keys) {
    const desc = key.startsWith('-');
    const name = desc ? key.slice(1) : key;
    const field = fields[name];
    if (!field) throw apiError('BAD_REQUEST', `invalid sort: unknown key "${name}"; allowed: ${Object.keys(fields).join(', ')}`);
    qb = qb.orderBy(sql.ref(field.column), desc ? 'desc' : 'asc');
  }
  return qb.orderBy(sql.ref(fallback.column), fallback.direction);
}
