import type { JobQueue } from '../../jobs/queue.js';
import { apiError } from '../../lib/errors.js';
import {
  replicationJobTypes,
  type ExecutionStatus,
  type ReplicationJobPayload,
  type ReplicationPolicy,
  type TaskStatus,
  type TriggerType,
} from '../types.js';
import type { ExecutionFilter, ExecutionRow, ReplicationExecutionStore, TaskCounts, TaskFilter, TaskRow } from './store.js';

/** Attempts of the REPLICATION job that plans an execution (listing a remote source may fail for a moment). */
export const planMaxAttempts = 3;

/** What executions need from the policies. */
export interface PolicyLookup {
  get(id: number): Promise<ReplicationPolicy | undefined>;
}

export type ExecutionView = ExecutionRow & { counts: TaskCounts };

/**
 * Harbor's /replication/executions: start a policy now, list and read executions with their
 * task counts, stop one (its planning job and every open task's job are cancelled through
 * the queue, its open tasks marked Stopped), list an execution's tasks and read a task's log
 * (the log of its REPLICATION_TASK job).
 */
export class ReplicationExecutionService {
  constructor(
    readonly store: ReplicationExecutionStore,
    private readonly queue: JobQueue,
    private readonly policies: PolicyLookup,
  ) {}

  /**
   * Starts an execution of the policy: the execution row and its REPLICATION job in one
   * transaction. 404 for no such policy, 412 for a disabled one (Harbor's). With
   * single_active_replication and another execution running, the new one is written Failed
   * (skipped) and nothing is enqueued. Returns the execution id.
   */
  async start(policyId: number, operator: string, trigger: TriggerType = 'manual'): Promise<number> {
    const policy = await this.policies.get(policyId);
    if (!policy) throw apiError('NOT_FOUND', `replication policy ${policyId} not found`);
    if (!policy.enabled) throw apiError('PRECONDITION', `the policy ${policyId} is disabled`);
    const id = await this.store.db.transaction().execute(async (tx) => {
      const executionId = await this.store.createExecution(policyId, trigger, tx, {
        operator,
        singleActive: policy.singleActiveReplication,
      });
      const status = await tx.selectFrom('replication_executions').select('status').where('id', '=', executionId).executeTakeFirstOrThrow();
      if (status.status !== 'InProgress') return executionId;
      const payload: ReplicationJobPayload = { policyId, executionId, trigger };
      const jobId = await this.queue.enqueue(replicationJobTypes.execution, payload, { tx, maxAttempts: planMaxAttempts });
      await this.store.setExecutionJob(executionId, jobId, tx);
      return executionId;
    });
    this.queue.notify(replicationJobTypes.execution);
    return id;
  }

  async list(filter: ExecutionFilter, paging: { offset: number; limit: number }): Promise<{ items: ExecutionView[]; total: number }> {
    await this.store.settle(filter.policyId === undefined ? {} : { policyId: filter.policyId });
    const page = await this.store.executions(filter, paging);
    const counts = await this.store.counts(page.items.map((e) => e.id));
    return { total: page.total, items: page.items.map((e) => ({ ...e, counts: counts.get(e.id) ?? noTasks() })) };
  }

  async get(id: number): Promise<ExecutionView> {
    await this.store.settle({ executionIds: [id] });
    const e = await this.store.execution(id);
    if (!e) throw apiError('NOT_FOUND', `replication execution ${id} not found`);
    const counts = (await this.store.counts([id])).get(id) ?? noTasks();
    return { ...e, counts };
  }

  /** Ends what the jobs of the policy's executions left open (before the policy is deleted, say). */
  async settlePolicy(policyId: number): Promise<void> {
    await this.store.settle({ policyId });
  }

  /** Stops the execution (nothing to do when it already ended). */
  async stop(id: number): Promise<void> {
    const result = await this.store.stop(id);
    if (!result) throw apiError('NOT_FOUND', `replication execution ${id} not found`);
    for (const jobId of result.jobIds) await this.queue.cancel(jobId);
  }

  async tasks(
    executionId: number,
    filter: TaskFilter,
    paging: { offset: number; limit: number },
  ): Promise<{ items: TaskRow[]; total: number }> {
    await this.get(executionId);
    return this.store.tasks(executionId, filter, paging);
  }

  /** The task's log: its job's lines (every attempt), '' before the job wrote any. */
  async taskLog(executionId: number, taskId: number): Promise<string> {
    await this.get(executionId);
    const task = await this.store.task(taskId);
    if (!task) throw apiError('NOT_FOUND', `replication task ${taskId} not found`);
    if (task.executionId !== executionId) throw apiError('NOT_FOUND', `execution ${executionId} contains no task with ID ${taskId}`);
    if (task.jobId === null) return '';
    const log = await this.queue.logText(task.jobId);
    if (log === undefined) return `the log of this task's job ${task.jobId} is no longer kept (the job queue prunes finished jobs)\n`;
    return log;
  }
}

function noTasks(): TaskCounts {
  return { total: 0, failed: 0, succeed: 0, inProgress: 0, stopped: 0 };
}

export const executionStatuses: ExecutionStatus[] = ['InProgress', 'Succeed', 'Failed', 'Stopped'];
export const taskStatuses: TaskStatus[] = ['Pending', 'InProgress', 'Succeed', 'Failed', 'Stopped'];
