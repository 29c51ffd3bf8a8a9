import type { JobQueue } from '../jobs/queue.js';
import { JobAbortError, type JobContext } from '../jobs/runner.js';
import type { Scheduler } from '../jobs/scheduler.js';
import { writeEvent } from '../events/outbox.js';
import { nowIso } from '../lib/clock.js';
import { webhookEventTypes } from '../webhooks/types.js';
import { apiError, unavailableCause } from '../lib/errors.js';
import { evaluate, ruleAppliesTo, type Plan } from './evaluate.js';
import { retentionEventPayload } from './events.js';
import { renderLog, type Outcome } from './log.js';
import { parsePolicy, type Policy } from './policy.js';
import type { ExecutionRow, RetentionStore, TaskRow } from './store.js';

/** The job that starts an execution (lists the repositories, enqueues one task each). Harbor's vendor type. */
export const retentionJobType = 'RETENTION';
/** The job of one task: one repository of one execution. */
export const retentionTaskJobType = 'RETENTION_TASK';

const scheduleName = (policyId: number) => `RETENTION:${policyId}`;

export interface ExecutionJobPayload {
  executionId?: number;
  /** A scheduled tick: the execution is created by the job. */
  policyId?: number;
  operator: string;
}

export interface TaskJobPayload {
  taskId: number;
  operator: string;
}

/** What removing goes through: the registry's own deletion path (audit, events, quota, immutability). */
export interface RetentionActions {
  /** Throws an AppError when refused (412 for an immutable tag); 'gone' when it no longer exists. */
  removeArtifact(repository: string, digest: string, actor: string): Promise<'removed' | 'gone'>;
  removeTag(repository: string, digest: string, tag: string, actor: string): Promise<'removed' | 'gone'>;
  /** Tag immutability's test for a whole project: (repository full name, tag) → protected. */
  immutableMatcher(projectId: number): Promise<(repository: string, tag: string) => boolean>;
}

export type PolicyView = Policy & { id: number };

const ended = ['Success', 'Error', 'Stopped'];

/** Harbor's tag retention: one policy per project, executions of one task per repository on the job queue. */
export class RetentionService {
  constructor(
    private readonly store: RetentionStore,
    private readonly queue: JobQueue,
    private readonly scheduler: Scheduler,
    private readonly actions: RetentionActions,
  ) {}

  parse(body: unknown): Policy {
    return parsePolicy(body);
  }

  async get(id: number): Promise<PolicyView | undefined> {
    const row = await this.store.policy(id);
    if (!row) return undefined;
    return { id: row.id, ...(JSON.parse(row.data) as Omit<Policy, 'scope'>), scope: { level: 'project', ref: row.projectId } };
  }

  async create(policy: Policy, project: { id: number; name: string }, operator: string): Promise<number> {
    const id = await this.store.createPolicy(project.id, stored(policy), nowIso(), {
      username: operator,
      operation: 'create',
      resourceType: 'retention',
      resource: `${project.name}/retentions`,
      projectId: project.id,
    });
    if (id === undefined)
      throw apiError('BAD_REQUEST', `project ${project.name} already has a retention policy; change it with PUT /retentions/{id}`);
    await this.applySchedule(id, policy, operator);
    return id;
  }

  async update(id: number, policy: Policy, project: { id: number; name: string }, operator: string): Promise<void> {
    if (policy.scope.ref !== project.id)
      throw apiError('BAD_REQUEST', `scope.ref ${policy.scope.ref} is not the project of retention policy ${id} (${project.id})`);
    await this.store.updatePolicy(id, stored(policy), nowIso(), {
      username: operator,
      operation: 'update',
      resourceType: 'retention',
      resource: `${project.name}/retentions/${id}`,
      projectId: project.id,
    });
    await this.applySchedule(id, policy, operator);
  }

  async delete(id: number, project: { id: number; name: string }, operator: string): Promise<void> {
    await this.scheduler.remove(scheduleName(id));
    await this.store.deletePolicy(id, project.id, {
      username: operator,
      operation: 'delete',
      resourceType: 'retention',
      resource: `${project.name}/retentions/${id}`,
      projectId: project.id,
    });
  }

  private async applySchedule(id: number, policy: Policy, operator: string): Promise<void> {
    const cron = policy.trigger.settings.cron;
    if (cron === '') await this.scheduler.remove(scheduleName(id));
    else {
      const payload: ExecutionJobPayload = { policyId: id, operator };
      await this.scheduler.define({ name: scheduleName(id), jobType: retentionJobType, cron, payload, vendorId: id });
    }
  }

  /** Starts an execution now; returns its id. */
  async trigger(policyId: number, dryRun: boolean, operator: string): Promise<number> {
    const policy = await this.store.policy(policyId);
    if (!policy) throw apiError('NOT_FOUND', `retention policy ${policyId} not found`);
    const id = await this.store.db.transaction().execute(async (tx) => {
      const executionId = await this.store.insertExecution(tx, { policyId, trigger: 'MANUAL', dryRun, policy: policy.data, now: nowIso() });
      const payload: ExecutionJobPayload = { executionId, operator };
      const jobId = await this.queue.enqueue(retentionJobType, payload, { tx, maxAttempts: 1 });
      await this.store.setExecutionJob(tx, executionId, jobId);
      return executionId;
    });
    this.queue.notify(retentionJobType);
    return id;
  }

  async executions(policyId: number, paging: { offset: number; limit: number }) {
    return this.store.executions(policyId, paging);
  }

  async execution(policyId: number, executionId: number): Promise<ExecutionRow> {
    const e = await this.store.execution(executionId);
    if (!e || e.policyId !== policyId) throw apiError('NOT_FOUND', `retention execution ${executionId} of policy ${policyId} not found`);
    return e;
  }

  async tasks(policyId: number, executionId: number, paging?: { offset: number; limit: number }) {
    await this.execution(policyId, executionId);
    return this.store.tasks(executionId, paging);
  }

  async task(policyId: number, executionId: number, taskId: number): Promise<TaskRow> {
    await this.execution(policyId, executionId);
    const t = await this.store.task(taskId);
    if (!t || t.executionId !== executionId) throw apiError('NOT_FOUND', `task ${taskId} of retention execution ${executionId} not found`);
    return t;
  }

  /** The task's log: the table of candidates once it ended, what the job wrote so far before. */
  async taskLog(policyId: number, executionId: number, taskId: number): Promise<string> {
    const t = await this.task(policyId, executionId, taskId);
    if (t.log !== null) return t.log;
    return t.jobId !== null ? ((await this.queue.logText(t.jobId)) ?? '') : '';
  }

  /** PATCH {"action":"stop"}: stops the execution and every task not yet ended. */
  async stop(policyId: number, executionId: number): Promise<void> {
    const e = await this.execution(policyId, executionId);
    if (ended.includes(e.status)) return;
    const now = nowIso();
    await this.store.setExecutionStatus(executionId, 'Stopped', now);
    if (e.jobId !== null) await this.queue.cancel(e.jobId);
    for (const jobId of await this.store.stopTasks(executionId, now)) await this.queue.cancel(jobId);
  }

  /** The execution job: creates one task per repository a rule applies to and enqueues them. */
  async handleExecution(ctx: JobContext<ExecutionJobPayload>): Promise<void> {
    const payload = ctx.payload ?? ({ operator: 'system' } as ExecutionJobPayload);
    const operator = payload.operator || 'system';
    let execution: ExecutionRow | undefined;
    if (payload.executionId !== undefined) execution = await this.store.execution(payload.executionId);
    else if (payload.policyId !== undefined) {
      execution = await this.store.executionByJob(ctx.id);
      if (!execution) {
        const policy = await this.store.policy(payload.policyId);
        if (!policy) {
          await ctx.log(`retention policy ${payload.policyId} no longer exists; nothing to do`);
          return;
        }
        const id = await this.store.db.transaction().execute(async (tx) => {
          const executionId = await this.store.insertExecution(tx, {
            policyId: policy.id,
            trigger: 'SCHEDULE',
            dryRun: false,
            policy: policy.data,
            now: nowIso(),
          });
          await this.store.setExecutionJob(tx, executionId, ctx.id);
          return executionId;
        });
        execution = await this.store.execution(id);
      }
    }
    if (!execution) throw new Error('the retention execution of this job does not exist');
    if (ended.includes(execution.status)) return;
    // A retried attempt after the tasks were enqueued: they run (or ran) already.
    if ((await this.store.tasks(execution.id, { offset: 0, limit: 1 })).total > 0) return;
    const policyRow = await this.store.policy(execution.policyId);
    if (!policyRow) {
      await this.store.setExecutionStatus(execution.id, 'Error', nowIso());
      throw new Error(`retention policy ${execution.policyId} was deleted`);
    }
    const policy = JSON.parse(execution.policy) as Omit<Policy, 'scope'>;
    const repositories = (await this.store.repositories(policyRow.projectId)).filter((r) =>
      policy.rules.some((rule) => ruleAppliesTo(rule, r.name)),
    );
    await this.store.setExecutionStatus(execution.id, 'Running', null);
    if (repositories.length === 0) {
      await ctx.log('no repository is in the scope of an enabled rule');
      await this.store.setExecutionStatus(execution.id, 'Success', nowIso());
      return;
    }
    const executionId = execution.id;
    await this.store.db.transaction().execute(async (tx) => {
      const taskIds = await this.store.insertTasks(tx, executionId, repositories);
      for (const taskId of taskIds) {
        const job: TaskJobPayload = { taskId, operator };
        await this.store.setTaskJob(tx, taskId, await this.queue.enqueue(retentionTaskJobType, job, { tx, maxAttempts: 1 }));
      }
    });
    this.queue.notify(retentionTaskJobType);
    await ctx.log(`execution ${executionId}: ${repositories.length} task(s) enqueued, one per repository`);
  }

  /** One task: decides for one repository, removes what goes (unless a dry run) and records the table. */
  async handleTask(ctx: JobContext<TaskJobPayload>): Promise<void> {
    const task = await this.store.task(ctx.payload.taskId);
    if (!task || ended.includes(task.status)) return;
    const execution = (await this.store.execution(task.executionId))!;
    const policyRow = await this.store.policy(execution.policyId);
    await this.store.startTask(task.id, nowIso());
    let status = 'Success';
    let plan: Plan = { total: 0, retained: 0, decisions: [] };
    const outcomes = new Map<number, Outcome>();
    let fullName: string | undefined;
    try {
      if (!policyRow) throw new Error(`retention policy ${execution.policyId} was deleted`);
      const policy = JSON.parse(execution.policy) as Omit<Policy, 'scope'>;
      const rules = policy.rules.map((rule, i) => ({ rule, number: i + 1 })).filter(({ rule }) => ruleAppliesTo(rule, task.repository));
      fullName = (await this.store.repositories(policyRow.projectId)).find((r) => r.id === task.repositoryId)?.fullName;
      const repository = fullName;
      if (repository === undefined) {
        await ctx.log(`repository ${task.repository} no longer exists`);
      } else {
        const usesLabels = rules.some(({ rule }) => rule.tag_selectors.some((s) => s.kind === 'label'));
        const artifacts = await this.store.artifactsOf(task.repositoryId, usesLabels);
        const immutable = await this.actions.immutableMatcher(policyRow.projectId);
        plan = evaluate(artifacts, rules, {
          actOn: policy.act_on ?? 'artifacts',
          now: Date.now(),
          immutable: (a) => new Set(a.tags.map((t) => t.name).filter((t) => immutable(repository, t))),
        });
        await ctx.log(`${plan.total} candidate(s), ${plan.retained} retained${execution.dryRun ? ' (dry run: nothing is removed)' : ''}`);
        if (!execution.dryRun) {
          await this.store.recordTaskTotal(task.id, plan.total);
          status = await this.perform(ctx, repository, plan, outcomes, ctx.payload.operator || 'system');
        }
      }
    } catch (err) {
      status = ctx.signal.aborted ? 'Stopped' : 'Error';
      await ctx.log(`failed: ${(err as Error).message}`, 'ERROR');
    }
    // This instance lost the job's lease or is shutting down: the task runs again (on another
    // instance, which owns it now) and records its own end; recording one here would race it.
    const reason: unknown = ctx.signal.aborted ? ctx.signal.reason : undefined;
    if (reason instanceof JobAbortError && reason.kind !== 'stopped') throw reason;
    // A refused removal keeps the artifact: it counts as retained.
    const kept = [...outcomes.values()].filter((o) => o.kind === 'refused').length;
    const finished = {
      status,
      // An earlier attempt that was cut short planned over the artifacts it then removed: its
      // count stands, so that total − retained still counts every removal.
      total: Math.max(plan.total, task.total),
      retained: plan.retained + kept,
      log: renderLog(plan, outcomes, execution.dryRun),
      now: nowIso(),
    };
    const event =
      policyRow &&
      fullName !== undefined &&
      retentionEventPayload({
        projectId: policyRow.projectId,
        policyId: policyRow.id,
        executionId: execution.id,
        taskId: task.id,
        trigger: execution.trigger,
        dryRun: execution.dryRun,
        status,
        repository: fullName,
        total: finished.total,
        retained: finished.retained,
        rules: (JSON.parse(execution.policy) as Omit<Policy, 'scope'>).rules,
        plan,
        outcomes,
        operator: ctx.payload.operator || 'system',
      });
    await this.store.db.transaction().execute(async (tx) => {
      await this.store.finishTask(task.id, finished, tx);
      if (event) await writeEvent(tx, webhookEventTypes.tagRetention, event);
    });
    await this.settle(task.executionId);
  }

  private async perform(
    ctx: JobContext<TaskJobPayload>,
    repository: string,
    plan: Plan,
    outcomes: Map<number, Outcome>,
    actor: string,
  ): Promise<string> {
    let failed = false;
    // Indexes first: a tagged child can go only once no index lists it.
    const order = [...plan.decisions].sort((a, b) =>
      b.artifact.parents.length === a.artifact.parents.length ? 0 : a.artifact.parents.length - b.artifact.parents.length,
    );
    for (const d of order) {
      if (!d.remove && d.removeTags.length === 0) continue;
      if (ctx.signal.aborted) return 'Stopped';
      try {
        if (d.remove) {
          const r = await whileUnavailable(ctx.signal, () => this.actions.removeArtifact(repository, d.artifact.digest, actor));
          outcomes.set(d.artifact.id, { kind: r });
        } else {
          for (const tag of d.removeTags)
            await whileUnavailable(ctx.signal, () => this.actions.removeTag(repository, d.artifact.digest, tag, actor));
          outcomes.set(d.artifact.id, { kind: 'removed' });
        }
      } catch (err) {
        const message = (err as Error).message;
        // 412: tag immutability (or an index listing it) refused; the artifact stays, as retained.
        const refused = (err as { status?: number }).status === 412;
        if (!refused) failed = true;
        outcomes.set(d.artifact.id, { kind: refused ? 'refused' : 'failed', message });
        await ctx.log(`${repository}@${d.artifact.digest}: ${message}`, refused ? 'WARNING' : 'ERROR');
      }
    }
    return failed ? 'Error' : 'Success';
  }

  /** Ends the execution once every task has ended. */
  private async settle(executionId: number): Promise<void> {
    const { items } = await this.store.tasks(executionId);
    if (items.some((t) => !ended.includes(t.status))) return;
    const status = items.some((t) => t.status === 'Error') ? 'Error' : items.some((t) => t.status === 'Stopped') ? 'Stopped' : 'Success';
    await this.store.setExecutionStatus(executionId, status, nowIso());
  }
}

/** How long a removal is tried again while the database or the blob storage cannot answer. */
const unavailableRetryMs = 120_000;

/**
 * Runs a removal, again after a pause while it fails because the database or the blob storage
 * cannot answer now (PostgreSQL restarting cuts the sessions under a run), so that a short
 * outage neither fails the task nor keeps an artifact the policy removes. Removals are
 * idempotent: one that committed before its answer was lost is 'gone' the next time.
 */
async function whileUnavailable<T>(signal: AbortSignal, removal: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + unavailableRetryMs;
  for (let waitMs = 250; ; waitMs = Math.min(waitMs * 2, 5000)) {
    try {
      return await removal();
    } catch (err) {
      if (unavailableCause(err) === null || signal.aborted || Date.now() + waitMs > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }
}

function stored(policy: Policy): string {
  const { scope: _scope, ...rest } = policy;
  return JSON.stringify(rest);
}
