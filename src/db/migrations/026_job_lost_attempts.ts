import type { Kysely } from 'kysely';

/**
 * jobs.lost_attempts: how many of a job's attempts were lost with their instance (killed,
 * host gone) rather than failed. A lost attempt is given back, up to a limit (jobs/queue.ts),
 * so a job of one attempt (GC, retention) still finishes after a kill -9.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('jobs')
    .addColumn('lost_attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}
