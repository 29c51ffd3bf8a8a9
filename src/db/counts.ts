import { sql, type SelectQueryBuilder } from 'kysely';
import type { Db } from './index.js';

/** The counts the database keeps as rows change (migration 025_counts). */
export type CountName = 'projects' | 'projects.public' | 'repositories' | 'repositories.public' | 'blobs.size' | 'audit_logs';

/**
 * Whole-table counts read in constant time: the sum of a count's stripes, which triggers
 * keep in the same transaction as every change to the counted rows.
 */
export async function readCounts<N extends CountName>(db: Db, names: readonly N[]): Promise<Record<N, number>> {
  const rows = await db
    .selectFrom('row_counts')
    .select((eb) => ['name', eb.fn.sum<number>('n').as('n')])
    .where('name', 'in', names as readonly string[])
    .groupBy('name')
    .execute();
  const out = Object.fromEntries(names.map((n) => [n, 0])) as Record<N, number>;
  for (const r of rows) out[r.name as N] = Number(r.n);
  return out;
}

export async function readCount(db: Db, name: CountName): Promise<number> {
  return (await readCounts(db, [name]))[name];
}

/**
 * How many rows a filtered query selects, counting no further than `cap` (Harbor's
 * X-Total-Count for filtered listings of tables that grow without bound: see
 * docs/COMPATIBILITY.md). A count of `cap` means "at least".
 */
export async function cappedCount<DB, TB extends keyof DB, O>(db: Db, qb: SelectQueryBuilder<DB, TB, O>, cap: number): Promise<number> {
  const limited = qb.clearSelect().select(sql.lit(1).as('one')).limit(cap) as unknown as SelectQueryBuilder<any, any, any>;
  const row = await db
    .selectFrom(limited.as('capped'))
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
