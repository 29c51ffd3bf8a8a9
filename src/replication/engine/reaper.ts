import type { Kysely } from 'kysely';
import type { Database } from '../../db/types.js';
import type { ReplicationExecutionStore } from '../executions/store.js';

/** The job that ends tasks and executions whose jobs ended without them (a last attempt lost). */
export const reapJobType = 'REPLICATION_REAP';
/** Its schedule, defined by the first execution planned on an instance (a Berth that never replicates has none). */
export const reapSchedule = 'replication.reap';

const openTaskStatuses = ['Pending', 'InProgress'];
const endedJobStatuses = ['success', 'error', 'stopped'];

/**
 * A task's job normally marks the task before it ends. When the instance running its last
 * attempt dies, the queue ends the job (`error`, "no attempt left") without running it
 * again, and the task would stay open for good, its execution InProgress. This finds such
 * tasks — open, their job ended — and marks them Failed (Stopped for a stopped job) with the
 * job's last error, then lets the execution finish; likewise an execution still InProgress
 * with no task whose planning job ended. Returns how many it ended.
 */
export async function reapOrphans(db: Kysely<Database>, executions: ReplicationExecutionStore): Promise<number> {
  const tasks = await db
    .selectFrom('replication_tasks as t')
    .innerJoin('jobs as j', 'j.id', 't.job_id')
    .select(['t.id', 't.execution_id', 'j.id as job_id', 'j.status as job_status', 'j.last_error'])
    .where('t.status', 'in', openTaskStatuses)
    .where('j.status', 'in', endedJobStatuses)
    .orderBy('t.id')
    .limit(500)
    .execute();
  let ended = 0;
  const touched = new Set<number>();
  for (const t of tasks) {
    const stopped = t.job_status === 'stopped';
    const text = `its job ${t.job_id} ended (${t.job_status}) without finishing the task${t.last_error ? `: ${t.last_error}` : ''}`;
    if (await executions.markTask(Number(t.id), stopped ? 'Stopped' : 'Failed', undefined, text)) ended++;
    touched.add(Number(t.execution_id));
  }
  for (const id of touched) await executions.finishIfDone(id);
  const plans = await db
    .selectFrom('replication_executions as e')
    .innerJoin('jobs as j', 'j.id', 'e.job_id')
    .select(['e.id', 'j.id as job_id', 'j.status as job_status', 'j.last_error'])
    .where('e.status', '=', 'InProgress')
    .where('j.status', 'in', ['error', 'stopped'])
    .where((eb) => eb.not(eb.exists(eb.selectFrom('replication_tasks as t').select('t.id').whereRef('t.execution_id', '=', 'e.id'))))
    .orderBy('e.id')
    .limit(500)
    .execute();
  for (const e of plans) {
    await executions.markExecutionFailed(
      Number(e.id),
      `its planning job ${e.job_id} ended (${e.job_status}) before writing its tasks${e.last_error ? `: ${e.last_error}` : ''}`,
    );
    ended++;
  }
  return ended;
}
