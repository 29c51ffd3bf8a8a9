import { sql, type Kysely, type Transaction } from 'kysely';
import { applySort, type Field } from '../../db/query.js';
import type { Database } from '../../db/types.js';
import { nowIso } from '../../lib/clock.js';
import type { ExecutionStatus, TaskSpec, TaskStatus, TriggerType } from '../types.js';

export type Executor = Kysely<Database> | Transaction<Database>;

export interface ExecutionRow {
  id: number;
  policyId: number;
  trigger: TriggerType;
  status: ExecutionStatus;
  statusText: string;
  operator: string;
  jobId: number | null;
  startTime: string;
  endTime: string | null;
}

/** Task counts of an execution, as Harbor's ReplicationExecution answers them. */
export interface TaskCounts {
  total: number;
  failed: number;
  succeed: number;
  inProgress: number;
  stopped: number;
}

export interface TaskRow {
  id: number;
  executionId: number;
  /** The execution's policy. */
  policyId: number;
  status: TaskStatus;
  statusText: string;
  operation: TaskSpec['operation'];
  resourceType: TaskSpec['resourceType'];
  srcResource: string;
  dstResource: string;
  /** TaskSpec.detail, parsed. */
  detail: unknown;
  /** The whole TaskSpec the task was written with (detail parsed). */
  spec: TaskSpec;
  jobId: number | null;
  attempts: number;
  createdAt: string;
  startTime: string | null;
  endTime: string | null;
}

/** Statuses a task or execution never leaves. */
export const finalTaskStatuses: readonly TaskStatus[] = ['Succeed', 'Failed', 'Stopped'];
const openTaskStatuses: TaskStatus[] = ['Pending', 'InProgress'];

const executionSortFields: Record<string, Field> = {
  id: { column: 'id', type: 'number' },
  start_time: { column: 'start_time', type: 'time' },
  end_time: { column: 'end_time', type: 'time' },
  status: { column: 'status', type: 'string' },
  trigger: { column: 'trigger', type: 'string' },
  policy_id: { column: 'policy_id', type: 'number' },
};

const taskSortFields: Record<string, Field> = {
  id: { column: 'id', type: 'number' },
  start_time: { column: 'start_time', type: 'time' },
  end_time: { column: 'end_time', type: 'time' },
  status: { column: 'status', type: 'string' },
  resource_type: { column: 'resource_type', type: 'string' },
  operation: { column: 'operation', type: 'string' },
};

export interface ExecutionFilter {
  policyId?: number;
  status?: ExecutionStatus;
  trigger?: TriggerType;
  /** Harbor's sort, e.g. "-start_time"; newest first by default. */
  sort?: string;
}

export interface TaskFilter {
  status?: TaskStatus;
  resourceType?: string;
  sort?: string;
}

/**
 * Replication executions and tasks (017). The engine (replication/engine) writes through
 * createExecution/addTasks/setTaskJob/markTask/finishIfDone; the API reads lists and counts.
 * A final status is never changed again (a stop wins over a late task; a task done before
 * the stop keeps its result).
 */
export class ReplicationExecutionStore {
  constructor(readonly db: Kysely<Database>) {}

  // The engine's side.

  /**
   * Creates an execution, InProgress. With `singleActive` (the policy's
   * single_active_replication) and another execution of the policy still InProgress, the new
   * one is written Failed with Harbor's text "Execution skipped: active replication still in
   * progress." (its caller then has nothing to do: `executionStatus` is no longer InProgress).
   */
  async createExecution(
    policyId: number,
    trigger: TriggerType,
    tx: Executor = this.db,
    options: { operator?: string; singleActive?: boolean } = {},
  ): Promise<number> {
    const now = nowIso();
    let skipped = false;
    if (options.singleActive) {
      await this.settle({ policyId }, tx);
      const running = await tx
        .selectFrom('replication_executions')
        .select('id')
        .where('policy_id', '=', policyId)
        .where('status', '=', 'InProgress')
        .limit(1)
        .executeTakeFirst();
      skipped = running !== undefined;
    }
    const row = await tx
      .insertInto('replication_executions')
      .values({
        policy_id: policyId,
        trigger,
        status: skipped ? 'Failed' : 'InProgress',
        status_text: skipped ? 'Execution skipped: active replication still in progress.' : '',
        operator: options.operator ?? '',
        job_id: null,
        start_time: now,
        end_time: skipped ? now : null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(row.id);
  }

  /** Records the REPLICATION job that plans the execution. */
  async setExecutionJob(executionId: number, jobId: number, tx: Executor = this.db): Promise<void> {
    await tx.updateTable('replication_executions').set({ job_id: jobId }).where('id', '=', executionId).execute();
  }

  /** Writes one Pending task per spec, in order; returns their ids in the same order. */
  async addTasks(executionId: number, specs: TaskSpec[], tx: Executor = this.db): Promise<number[]> {
    const ids: number[] = [];
    const now = nowIso();
    for (const spec of specs) {
      const row = await tx
        .insertInto('replication_tasks')
        .values({
          execution_id: executionId,
          status: 'Pending',
          status_text: '',
          operation: spec.operation,
          resource_type: spec.resourceType,
          src_resource: spec.srcResource,
          dst_resource: spec.dstResource,
          spec: JSON.stringify(spec.detail ?? null),
          job_id: null,
          attempts: 0,
          created_at: now,
          start_time: null,
          end_time: null,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      ids.push(Number(row.id));
    }
    return ids;
  }

  /** Records the REPLICATION_TASK job of a task. */
  async setTaskJob(taskId: number, jobId: number, tx: Executor = this.db): Promise<void> {
    await tx.updateTable('replication_tasks').set({ job_id: jobId }).where('id', '=', taskId).execute();
  }

  /** A task with its execution's policy id. */
  async task(taskId: number): Promise<TaskRow | undefined> {
    const r = await this.taskRows().where('replication_tasks.id', '=', taskId).executeTakeFirst();
    return r && toTask(r);
  }

  private taskRows() {
    return this.db
      .selectFrom('replication_tasks')
      .innerJoin('replication_executions', 'replication_executions.id', 'replication_tasks.execution_id')
      .selectAll('replication_tasks')
      .select('replication_executions.policy_id');
  }

  /** The task's status; undefined when there is no such task. */
  async taskState(taskId: number): Promise<TaskStatus | undefined> {
    const r = await this.db.selectFrom('replication_tasks').select('status').where('id', '=', taskId).executeTakeFirst();
    return r?.status as TaskStatus | undefined;
  }

  /**
   * Moves a task on: InProgress sets its start time (first attempt) and counts an attempt;
   * a final status sets its end time and `text` (why it failed, say). A task already in a
   * final status is left alone; returns whether the task changed.
   */
  async markTask(taskId: number, status: TaskStatus, at: string = nowIso(), text?: string, executor: Executor = this.db): Promise<boolean> {
    const final = finalTaskStatuses.includes(status);
    const result = await executor
      .updateTable('replication_tasks')
      .set((eb) => ({
        status,
        ...(status === 'InProgress' && {
          start_time: eb.fn.coalesce('start_time', eb.val(at)),
          attempts: eb('attempts', '+', 1),
        }),
        ...(final && { end_time: at }),
        ...(text !== undefined && { status_text: text }),
      }))
      .where('id', '=', taskId)
      .where('status', 'in', openTaskStatuses)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /**
   * Ends the execution once none of its tasks is Pending or InProgress: Failed when a task
   * failed, else Stopped when one was stopped, else Succeed (no task at all: Succeed).
   * Returns the execution's status afterwards, or null while tasks are still open. An
   * execution already ended (stopped, failed) keeps its status.
   */
  async finishIfDone(executionId: number, executor: Executor = this.db): Promise<ExecutionStatus | null> {
    const counts = (await this.counts([executionId], executor)).get(executionId) ?? emptyCounts();
    if (counts.inProgress > 0) return null;
    const status: ExecutionStatus = counts.failed > 0 ? 'Failed' : counts.stopped > 0 ? 'Stopped' : 'Succeed';
    await executor
      .updateTable('replication_executions')
      .set({ status, end_time: nowIso() })
      .where('id', '=', executionId)
      .where('status', '=', 'InProgress')
      .execute();
    const row = await executor.selectFrom('replication_executions').select('status').where('id', '=', executionId).executeTakeFirst();
    return (row?.status as ExecutionStatus | undefined) ?? null;
  }

  /**
   * Ends what a job left open: a task still Pending or InProgress whose job has ended (its last
   * attempt lost — a worker killed once too often —, stopped through /jobservice, pruned) is
   * marked Failed (Stopped for a stopped job) with the reason, and an execution whose planning
   * job ended without writing a task is marked Failed (Stopped) likewise; their executions are
   * then settled. Only InProgress executions are looked at (their status index), in `scope`.
   * The API calls it before it answers or decides on an execution, so none stays "in
   * progress" for ever.
   */
  async settle(scope: { executionIds?: number[]; policyId?: number } = {}, executor: Executor = this.db): Promise<void> {
    if (scope.executionIds?.length === 0) return;
    const ended = ['success', 'error', 'stopped'];
    let tasks = executor
      .selectFrom('replication_executions as e')
      .innerJoin('replication_tasks as t', 't.execution_id', 'e.id')
      .leftJoin('jobs as j', 'j.id', 't.job_id')
      .select(['t.id', 't.execution_id', 'j.id as job', 'j.status as job_status', 'j.last_error'])
      .where('e.status', '=', 'InProgress')
      .where('t.status', 'in', openTaskStatuses)
      .where('t.job_id', 'is not', null)
      .where((eb) => eb.or([eb('j.id', 'is', null), eb('j.status', 'in', ended)]));
    if (scope.executionIds) tasks = tasks.where('e.id', 'in', scope.executionIds);
    if (scope.policyId !== undefined) tasks = tasks.where('e.policy_id', '=', scope.policyId);
    const touched = new Set<number>();
    const now = nowIso();
    for (const t of await tasks.execute()) {
      const { status, text } = leftOpen(t.job, t.job_status, t.last_error);
      await executor
        .updateTable('replication_tasks')
        .set({ status, status_text: text, end_time: now })
        .where('id', '=', Number(t.id))
        .where('status', 'in', openTaskStatuses)
        .execute();
      touched.add(Number(t.execution_id));
    }
    let planners = executor
      .selectFrom('replication_executions as e')
      .leftJoin('jobs as j', 'j.id', 'e.job_id')
      .select(['e.id', 'j.id as job', 'j.status as job_status', 'j.last_error'])
      .where('e.status', '=', 'InProgress')
      .where('e.job_id', 'is not', null)
      .where((eb) => eb.or([eb('j.id', 'is', null), eb('j.status', 'in', ended)]))
      .where((eb) => eb.not(eb.exists(eb.selectFrom('replication_tasks as t').select('t.id').whereRef('t.execution_id', '=', 'e.id'))));
    if (scope.executionIds) planners = planners.where('e.id', 'in', scope.executionIds);
    if (scope.policyId !== undefined) planners = planners.where('e.policy_id', '=', scope.policyId);
    for (const e of await planners.execute()) {
      if (e.job_status === 'success') {
        touched.add(Number(e.id));
        continue;
      }
      const { status, text } = leftOpen(e.job, e.job_status, e.last_error);
      await executor
        .updateTable('replication_executions')
        .set({ status, status_text: `planning ${text}`, end_time: now })
        .where('id', '=', Number(e.id))
        .where('status', '=', 'InProgress')
        .execute();
    }
    for (const id of touched) await this.finishIfDone(id, executor);
  }

  /** Ends an execution that could not be planned (source unreachable, policy gone, …) with the reason. */
  async markExecutionFailed(executionId: number, text: string): Promise<void> {
    await this.db
      .updateTable('replication_executions')
      .set({ status: 'Failed', status_text: text, end_time: nowIso() })
      .where('id', '=', executionId)
      .where('status', '=', 'InProgress')
      .execute();
  }

  async executionStatus(executionId: number): Promise<ExecutionStatus | undefined> {
    const r = await this.db.selectFrom('replication_executions').select('status').where('id', '=', executionId).executeTakeFirst();
    return r?.status as ExecutionStatus | undefined;
  }

  /** True once the execution was stopped (a task or the planner should stop, marking what it holds Stopped). */
  async isStopped(executionId: number): Promise<boolean> {
    return (await this.executionStatus(executionId)) === 'Stopped';
  }

  // The API's side.

  async execution(executionId: number): Promise<ExecutionRow | undefined> {
    const r = await this.db.selectFrom('replication_executions').selectAll().where('id', '=', executionId).executeTakeFirst();
    return r && toExecution(r);
  }

  async executions(filter: ExecutionFilter, paging: { offset: number; limit: number }): Promise<{ items: ExecutionRow[]; total: number }> {
    let base = this.db.selectFrom('replication_executions');
    if (filter.policyId !== undefined) base = base.where('policy_id', '=', filter.policyId);
    if (filter.status !== undefined) base = base.where('status', '=', filter.status);
    if (filter.trigger !== undefined) base = base.where('trigger', '=', filter.trigger);
    const total = await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const rows = await applySort(base.selectAll(), filter.sort, executionSortFields, { column: 'id', direction: 'desc' })
      .limit(paging.limit)
      .offset(paging.offset)
      .execute();
    return { items: rows.map(toExecution), total: Number(total.n) };
  }

  /** Whether an execution of the policy is still InProgress. */
  async hasRunningExecution(policyId: number): Promise<boolean> {
    const r = await this.db
      .selectFrom('replication_executions')
      .select('id')
      .where('policy_id', '=', policyId)
      .where('status', '=', 'InProgress')
      .limit(1)
      .executeTakeFirst();
    return r !== undefined;
  }

  /** The task counts of the executions, in one grouped query. */
  async counts(executionIds: number[], executor: Executor = this.db): Promise<Map<number, TaskCounts>> {
    const result = new Map<number, TaskCounts>();
    if (executionIds.length === 0) return result;
    const rows = await executor
      .selectFrom('replication_tasks')
      .select(['execution_id', 'status', (eb) => eb.fn.countAll<number>().as('n')])
      .where('execution_id', 'in', executionIds)
      .groupBy(['execution_id', 'status'])
      .execute();
    for (const r of rows) {
      const id = Number(r.execution_id);
      let c = result.get(id);
      if (!c) result.set(id, (c = emptyCounts()));
      const n = Number(r.n);
      c.total += n;
      if (r.status === 'Failed') c.failed += n;
      else if (r.status === 'Succeed') c.succeed += n;
      else if (r.status === 'Stopped') c.stopped += n;
      else c.inProgress += n;
    }
    return result;
  }

  async tasks(
    executionId: number,
    filter: TaskFilter,
    paging: { offset: number; limit: number },
  ): Promise<{ items: TaskRow[]; total: number }> {
    let base = this.db.selectFrom('replication_tasks').where('execution_id', '=', executionId);
    if (filter.status !== undefined) base = base.where('status', '=', filter.status);
    if (filter.resourceType !== undefined) base = base.where('resource_type', '=', filter.resourceType);
    const total = await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const execution = await this.db
      .selectFrom('replication_executions')
      .select('policy_id')
      .where('id', '=', executionId)
      .executeTakeFirst();
    // Harbor's default: newest start first (tasks not started yet last), then newest id.
    let q = base.selectAll().select(sql<number>`${execution?.policy_id ?? 0}`.as('policy_id'));
    if (!filter.sort) q = q.orderBy(sql`start_time is null`).orderBy('start_time', 'desc');
    const rows = await applySort(q, filter.sort, taskSortFields, { column: 'id', direction: 'desc' })
      .limit(paging.limit)
      .offset(paging.offset)
      .execute();
    return { items: rows.map(toTask), total: Number(total.n) };
  }

  /**
   * Stops an execution: its status becomes Stopped (unless it already ended) and every task
   * not yet ended is marked Stopped. Returns the job ids to cancel (the planner's and the open
   * tasks'); undefined when there is no such execution.
   */
  async stop(executionId: number): Promise<{ jobIds: number[]; changed: boolean } | undefined> {
    const now = nowIso();
    return this.db.transaction().execute(async (tx) => {
      const execution = await tx.selectFrom('replication_executions').selectAll().where('id', '=', executionId).executeTakeFirst();
      if (!execution) return undefined;
      const open = await tx
        .selectFrom('replication_tasks')
        .select(['id', 'job_id'])
        .where('execution_id', '=', executionId)
        .where('status', 'in', openTaskStatuses)
        .execute();
      await tx
        .updateTable('replication_tasks')
        .set({ status: 'Stopped', end_time: now })
        .where('execution_id', '=', executionId)
        .where('status', 'in', openTaskStatuses)
        .execute();
      const ended = await tx
        .updateTable('replication_executions')
        .set({ status: 'Stopped', end_time: now })
        .where('id', '=', executionId)
        .where('status', '=', 'InProgress')
        .executeTakeFirst();
      const changed = Number(ended.numUpdatedRows) > 0 || open.length > 0;
      const jobIds = open.map((t) => (t.job_id === null ? 0 : Number(t.job_id))).filter((id) => id > 0);
      if (changed && execution.job_id !== null) jobIds.unshift(Number(execution.job_id));
      return { jobIds, changed };
    });
  }

  /** Executions of a policy still InProgress (a policy is not deleted under one). */
  async runningExecutionOf(policyId: number): Promise<number | undefined> {
    const r = await this.db
      .selectFrom('replication_executions')
      .select('id')
      .where('policy_id', '=', policyId)
      .where('status', '=', 'InProgress')
      .orderBy('id')
      .limit(1)
      .executeTakeFirst();
    return r && Number(r.id);
  }
}

/** What became of a task or execution whose job ended without saying (job undefined: pruned). */
function leftOpen(job: number | null, jobStatus: string | null, lastError: string | null): { status: 'Failed' | 'Stopped'; text: string } {
  if (job === null) return { status: 'Failed', text: 'failed: its job no longer exists' };
  if (jobStatus === 'stopped') return { status: 'Stopped', text: `stopped: its job ${job} was stopped` };
  if (jobStatus === 'error')
    return { status: 'Failed', text: `failed: its job ${job} ended with no attempt left (${lastError ?? 'no error recorded'})` };
  return { status: 'Failed', text: `failed: its job ${job} ended without recording a result` };
}

function emptyCounts(): TaskCounts {
  return { total: 0, failed: 0, succeed: 0, inProgress: 0, stopped: 0 };
}

function toExecution(r: {
  id: number;
  policy_id: number;
  trigger: string;
  status: string;
  status_text: string;
  operator: string;
  job_id: number | null;
  start_time: string;
  end_time: string | null;
}): ExecutionRow {
  return {
    id: Number(r.id),
    policyId: Number(r.policy_id),
    trigger: r.trigger as TriggerType,
    status: r.status as ExecutionStatus,
    statusText: r.status_text,
    operator: r.operator,
    jobId: r.job_id === null ? null : Number(r.job_id),
    startTime: r.start_time,
    endTime: r.end_time,
  };
}

function toTask(r: {
  id: number;
  execution_id: number;
  policy_id: number;
  status: string;
  status_text: string;
  operation: string;
  resource_type: string;
  src_resource: string;
  dst_resource: string;
  spec: string;
  job_id: number | null;
  attempts: number;
  created_at: string;
  start_time: string | null;
  end_time: string | null;
}): TaskRow {
  const detail = JSON.parse(r.spec) as unknown;
  const operation = r.operation as TaskSpec['operation'];
  const resourceType = r.resource_type as TaskSpec['resourceType'];
  return {
    id: Number(r.id),
    executionId: Number(r.execution_id),
    policyId: Number(r.policy_id),
    status: r.status as TaskStatus,
    statusText: r.status_text,
    operation,
    resourceType,
    srcResource: r.src_resource,
    dstResource: r.dst_resource,
    detail,
    spec: { operation, resourceType, srcResource: r.src_resource, dstResource: r.dst_resource, detail },
    jobId: r.job_id === null ? null : Number(r.job_id),
    attempts: Number(r.attempts),
    createdAt: r.created_at,
    startTime: r.start_time,
    endTime: r.end_time,
  };
}
