import type { Transaction } from 'kysely';
import type { Database } from '../db/types.js';
import { EventTypes, type OutboxEvent } from '../events/outbox.js';
import type { JobQueue } from '../jobs/queue.js';
import { JobAbortError, type JobContext } from '../jobs/runner.js';
import type { Scheduler } from '../jobs/scheduler.js';
import { apiError } from '../lib/errors.js';
import type { QueryTerm } from '../lib/query.js';
import { applyFilters, compileDoublestar, projectFilters, unscannedSeverity } from './filters.js';
import type { InstanceService } from './instances.js';
import { toPolicy, triggerJson, type PolicyInput } from './policy.js';
import { providerFor } from './providers/index.js';
import type { ExecutionRow, Page, Paging, PreheatStore, TaskCounts, TaskRow } from './store.js';
import {
  endedStatuses,
  preheatJobTypes,
  type Candidate,
  type Instance,
  type Policy,
  type PreheatImage,
  type PreheatJobPayload,
  type PreheatStatus,
  type PreheatTaskPayload,
  type RunStatus,
  type TriggerType,
} from './types.js';

/** The subject of the pull tokens preheat tasks hand to providers: `preheat:<instance>:<task id>`. */
const preheatSubjectPrefix = 'preheat:';
export function preheatSubject(instanceName: string, taskId: number): string {
  return `${preheatSubjectPrefix}${instanceName.replace(/:/g, '_')}:${taskId}`;
}
/** Whether a token's subject is a preheat task's (the token service accepts it without an account). */
export function isPreheatSubject(subject: string): boolean {
  return subject.startsWith(preheatSubjectPrefix);
}

export const onPushSubscriber = 'preheat.on-push';
const scheduleName = (policyId: number) => `PREHEAT:${policyId}`;

/** What preheat asks of the rest of Berth (compose.ts connects these to the features). */
export interface PreheatPorts {
  /** The project's name and full metadata (content trust, prevent_vul, severity), or undefined. */
  project(projectId: number): Promise<{ name: string; metadata: Record<string, string> } | undefined>;
  /** Harbor's severity code per digest of a repository's artifacts (scans, allowlist applied); absent: not scanned successfully. */
  severities(projectId: number, repositoryId: number, digests: string[]): Promise<Map<string, number>>;
  /** The registry URL providers pull from (server.external_url, else the listen address). */
  registryUrl(): string;
  /** `Bearer <token>` granting pull of one repository, issued to `subject`. */
  pullAuthorization(subject: string, repository: string): Promise<string>;
}

export interface PreheatOptions {
  /** How often a running preheat's progress is asked (Harbor: 10 s). */
  checkIntervalMs: number;
  /** How long a preheat may run before its task fails (Harbor: 30 min). */
  checkTimeoutMs: number;
}

const isEnded = (status: string) => (endedStatuses as string[]).includes(status);

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * P2P preheat: policies per project, executions planned by the PREHEAT job and carried out by
 * one PREHEAT_TASK job per (artifact, tag), manual, scheduled and on push (outbox).
 */
export class PreheatService {
  constructor(
    private readonly store: PreheatStore,
    private readonly instances: InstanceService,
    private readonly queue: JobQueue,
    private readonly scheduler: Scheduler,
    private readonly ports: PreheatPorts,
    private readonly options: PreheatOptions,
  ) {}

  // Policies.

  private async checkProvider(input: PolicyInput): Promise<Instance> {
    const instance = await this.instances.summaryById(input.providerId);
    if (!instance) throw apiError('BAD_REQUEST', `provider_id ${input.providerId}: there is no preheat instance with that id`);
    if (!instance.enabled)
      throw apiError('BAD_REQUEST', `provider_id ${input.providerId}: the preheat instance ${instance.name} is disabled`);
    const provider = providerFor(instance.vendor);
    const problem = input.extraAttrs && provider ? provider.checkExtraAttrs(input.extraAttrs) : null;
    if (problem) throw apiError('BAD_REQUEST', problem);
    return instance;
  }

  async policies(projectId: number, terms: QueryTerm[], sort: string | undefined, paging: Paging): Promise<Page<Policy>> {
    const page = await this.store.policies(projectId, terms, sort, paging);
    return { total: page.total, items: page.items.map(toPolicy) };
  }

  async policy(projectId: number, name: string): Promise<Policy> {
    const row = await this.store.policyByName(projectId, name);
    if (!row) throw apiError('NOT_FOUND', `preheat policy ${name} not found`);
    return toPolicy(row);
  }

  async createPolicy(projectId: number, input: PolicyInput): Promise<Policy> {
    await this.checkProvider(input);
    const now = new Date().toISOString();
    const id = await this.store.insertPolicy({
      project_id: projectId,
      name: input.name,
      description: input.description,
      provider_id: input.providerId,
      filters: JSON.stringify(input.filters),
      trigger: triggerJson(input.trigger),
      enabled: input.enabled ? 1 : 0,
      extra_attrs: input.extraAttrs ? JSON.stringify(input.extraAttrs) : null,
      created_at: now,
      updated_at: now,
    });
    if (id === undefined) throw apiError('CONFLICT', `preheat policy ${input.name} already exists in this project`);
    const policy = toPolicy((await this.store.policy(id))!);
    await this.applySchedule(policy);
    return policy;
  }

  async updatePolicy(projectId: number, name: string, input: PolicyInput): Promise<void> {
    const current = await this.policy(projectId, name);
    await this.checkProvider(input);
    const updated = await this.store.updatePolicy(current.id, {
      name: input.name,
      description: input.description,
      provider_id: input.providerId,
      filters: JSON.stringify(input.filters),
      trigger: triggerJson(input.trigger),
      enabled: input.enabled ? 1 : 0,
      extra_attrs: input.extraAttrs ? JSON.stringify(input.extraAttrs) : null,
      updated_at: new Date().toISOString(),
    });
    if (!updated) throw apiError('CONFLICT', `preheat policy ${input.name} already exists in this project`);
    await this.applySchedule(toPolicy((await this.store.policy(current.id))!));
  }

  /** 412 while an execution of the policy is under way (Harbor's rule). */
  async deletePolicy(projectId: number, name: string): Promise<void> {
    const policy = await this.policy(projectId, name);
    const running = await this.store.runningExecutions(policy.id);
    if (running.length > 0)
      throw apiError('PRECONDITION', `execution ${running[0]} under the policy ${policy.name} is running, stop it and retry`);
    await this.scheduler.remove(scheduleName(policy.id));
    await this.store.deletePolicy(policy.id);
  }

  private async applySchedule(policy: Policy): Promise<void> {
    if (policy.enabled && policy.trigger.type === 'scheduled' && policy.trigger.cron !== '') {
      const payload: PreheatJobPayload = { policyId: policy.id, trigger: 'scheduled' };
      await this.scheduler.define({
        name: scheduleName(policy.id),
        jobType: preheatJobTypes.execution,
        cron: policy.trigger.cron,
        payload,
        vendorId: policy.id,
      });
    } else await this.scheduler.remove(scheduleName(policy.id));
  }

  // Executions.

  /** Starts an execution now (Harbor's manual preheat); returns its id. */
  async runNow(projectId: number, name: string): Promise<number> {
    const policy = await this.policy(projectId, name);
    if (!policy.enabled) throw apiError('BAD_REQUEST', `policy ${policy.id}:${policy.name} is not enabled`);
    const instance = await this.instances.summaryById(policy.providerId);
    if (!instance) throw apiError('BAD_REQUEST', `the preheat instance ${policy.providerId} of policy ${policy.name} no longer exists`);
    if (!instance.enabled) throw apiError('BAD_REQUEST', `the preheat instance ${instance.name} of policy ${policy.name} is disabled`);
    const id = await this.store.db.transaction().execute(async (tx) => {
      const executionId = await this.store.insertExecution(tx, {
        policyId: policy.id,
        trigger: 'manual',
        status: 'Pending',
        extraAttrs: { trigger: 'manual', triggerSetting: '-' },
        now: new Date().toISOString(),
      });
      const payload: PreheatJobPayload = { executionId, trigger: 'manual' };
      await this.store.setExecutionJob(
        tx,
        executionId,
        await this.queue.enqueue(preheatJobTypes.execution, payload, { tx, maxAttempts: 2 }),
      );
      return executionId;
    });
    this.queue.notify(preheatJobTypes.execution);
    return id;
  }

  async executions(policy: Policy, terms: QueryTerm[], sort: string | undefined, paging: Paging) {
    const page = await this.store.executions(policy.id, terms, sort, paging);
    const counts = await this.store.taskCounts(page.items.map((e) => Number(e.id)));
    return { total: page.total, items: page.items.map((e) => ({ execution: e, counts: counts.get(Number(e.id))! })) };
  }

  async execution(policy: Policy, executionId: number): Promise<{ execution: ExecutionRow; counts: TaskCounts }> {
    const e = await this.store.execution(executionId);
    if (!e || Number(e.policy_id) !== policy.id)
      throw apiError('NOT_FOUND', `execution ${executionId} of preheat policy ${policy.name} not found`);
    return { execution: e, counts: (await this.store.taskCounts([executionId])).get(executionId)! };
  }

  async tasks(policy: Policy, executionId: number, terms: QueryTerm[], sort: string | undefined, paging: Paging): Promise<Page<TaskRow>> {
    await this.execution(policy, executionId);
    return this.store.tasks(executionId, terms, sort, paging);
  }

  async taskLog(policy: Policy, executionId: number, taskId: number): Promise<string> {
    await this.execution(policy, executionId);
    const task = await this.store.task(taskId);
    if (!task || Number(task.execution_id) !== executionId)
      throw apiError('NOT_FOUND', `task ${taskId} of execution ${executionId} not found`);
    if (task.job_id === null) return '';
    return (await this.queue.logText(Number(task.job_id))) ?? '';
  }

  /** Harbor's PATCH {"status": "Stopped"}: the execution and every task not yet ended stop. */
  async stop(policy: Policy, executionId: number): Promise<void> {
    const { execution } = await this.execution(policy, executionId);
    if (isEnded(execution.status)) return;
    const now = new Date().toISOString();
    await this.store.setExecutionStatus(executionId, 'Stopped', null, now);
    if (execution.job_id !== null) await this.queue.cancel(Number(execution.job_id));
    for (const jobId of await this.store.stopTasks(executionId, now)) await this.queue.cancel(jobId);
  }

  // The push subscriber.

  /**
   * On PUSH_ARTIFACT: for each enabled event-based policy of the project whose repository and
   * tag filters the push passes, a PREHEAT job (in the dispatcher's transaction: a push is
   * never lost, and never preheated twice). The job applies every filter and creates an
   * execution only when the artifact still matches, as Harbor does.
   */
  onPush() {
    return async (event: OutboxEvent, tx: Transaction<Database>): Promise<void> => {
      if (event.type !== EventTypes.artifactPushed) return;
      const push = event.payload as { project_id?: unknown; artifact_id?: unknown; repository?: unknown; tags?: unknown };
      if (typeof push?.project_id !== 'number' || typeof push.artifact_id !== 'number' || typeof push.repository !== 'string') return;
      const tags = Array.isArray(push.tags) ? push.tags.filter((t): t is string => typeof t === 'string') : [];
      if (tags.length === 0) return;
      const policies = (await this.store.enabledPolicies(push.project_id, tx))
        .map(toPolicy)
        .filter((p) => p.trigger.type === 'event_based');
      if (policies.length === 0) return;
      const artifact = await this.store.artifactProject(tx, push.artifact_id);
      if (!artifact || artifact.accessoryOf !== null || !['IMAGE', 'CNAI'].includes(artifact.type)) return;
      const slash = push.repository.indexOf('/');
      const inProject = slash >= 0 ? push.repository.slice(slash + 1) : push.repository;
      for (const policy of policies) {
        const repo = policy.filters.find((f) => f.type === 'repository');
        const tag = policy.filters.find((f) => f.type === 'tag');
        if (repo && !compileDoublestar(repo.value as string)(inProject)) continue;
        if (tag && !tags.some(compileDoublestar(tag.value as string))) continue;
        const payload: PreheatJobPayload = { policyId: policy.id, trigger: 'event_based', artifactId: push.artifact_id };
        await this.queue.enqueue(preheatJobTypes.execution, payload, { tx, maxAttempts: 2 });
      }
    };
  }

  // Jobs.

  /** The execution of a PREHEAT job: the manual run's row, or one the job creates (once, by its job id). */
  private async executionOf(ctx: JobContext<PreheatJobPayload>, create: boolean): Promise<ExecutionRow | undefined> {
    const p = ctx.payload ?? {};
    if (p.executionId !== undefined) return this.store.execution(p.executionId);
    const existing = await this.store.executionByJob(ctx.id);
    if (existing || !create || p.policyId === undefined) return existing;
    const trigger: TriggerType = p.trigger ?? 'scheduled';
    const policy = await this.store.policy(p.policyId);
    const cron = policy ? toPolicy(policy).trigger.cron : '';
    const id = await this.store.db.transaction().execute((tx) =>
      this.store.insertExecution(tx, {
        policyId: p.policyId!,
        trigger,
        status: 'Pending',
        extraAttrs: { trigger, triggerSetting: trigger === 'scheduled' ? cron : '-' },
        now: new Date().toISOString(),
        artifactId: p.artifactId ?? null,
        jobId: ctx.id,
      }),
    );
    return this.store.execution(id);
  }

  /** Candidates of the project (or of one pushed artifact), one per tag, with labels, signature and severity. */
  private async candidates(projectId: number, projectName: string, artifactId?: number): Promise<Candidate[]> {
    const facts = await this.store.candidates(projectId, artifactId);
    const byRepository = new Map<number, string[]>();
    for (const f of facts) byRepository.set(f.repositoryId, [...(byRepository.get(f.repositoryId) ?? []), f.digest]);
    const severities = new Map<string, number>();
    for (const [repositoryId, digests] of byRepository) {
      const found = await this.ports.severities(projectId, repositoryId, digests);
      for (const [digest, code] of found) severities.set(`${repositoryId}\u0000${digest}`, code);
    }
    const out: Candidate[] = [];
    for (const f of facts) {
      for (const tag of f.tags) {
        out.push({
          artifactId: f.artifactId,
          repositoryId: f.repositoryId,
          repository: f.repository,
          repositoryInProject: f.repository.startsWith(`${projectName}/`) ? f.repository.slice(projectName.length + 1) : f.repository,
          digest: f.digest,
          mediaType: f.mediaType,
          tag,
          labels: f.labels,
          signed: f.signed,
          severity: severities.get(`${f.repositoryId}\u0000${f.digest}`) ?? unscannedSeverity,
          kind: 'image',
        });
      }
    }
    return out;
  }

  /** PREHEAT: checks the provider, finds the artifacts the filters keep, writes one task each and enqueues them. */
  async handleExecution(ctx: JobContext<PreheatJobPayload>): Promise<void> {
    const p = ctx.payload ?? {};
    const policyId = p.policyId;
    // A scheduled tick or a push for a policy since deleted or disabled: nothing to do, no execution.
    if (policyId !== undefined && p.executionId === undefined) {
      const row = await this.store.policy(policyId);
      // Its project was deleted (policies go with it): the schedule it left goes now.
      if (!row && p.trigger === 'scheduled') await this.scheduler.remove(scheduleName(policyId));
      if (!row || row.enabled !== 1)
        return void (await ctx.log(`preheat policy ${policyId} no longer exists or is disabled; nothing to do`));
    }
    let execution = await this.executionOf(ctx, p.trigger !== 'event_based');
    if (execution && isEnded(execution.status)) return;
    // A retried attempt after the tasks were written: they run (or ran) already.
    if (execution && (await this.store.hasTasks(Number(execution.id)))) return;
    const policyRow = await this.store.policy(execution ? Number(execution.policy_id) : policyId!);
    const fail = async (message: string) => {
      await ctx.log(message, 'ERROR');
      if (!execution) execution = await this.executionOf(ctx, true);
      if (execution) await this.store.setExecutionStatus(Number(execution.id), 'Error', message, new Date().toISOString());
    };
    if (!policyRow) return fail(`preheat policy ${execution?.policy_id ?? policyId} was deleted`);
    const policy = toPolicy(policyRow);
    const project = await this.ports.project(policy.projectId);
    if (!project) return fail(`the project of preheat policy ${policy.name} no longer exists`);
    const instance = await this.instances.open(policy.providerId);
    if (!instance) return fail(`the preheat instance ${policy.providerId} of policy ${policy.name} no longer exists`);
    if (!instance.enabled) return fail(`the preheat instance ${instance.name} is disabled`);

    // Harbor's filters, with the project's security settings added (content trust: signed only; prevent_vul: below its severity).
    const filters = [...policy.filters, ...projectFilters(project.metadata)];
    const candidates = await this.candidates(policy.projectId, project.name, p.trigger === 'event_based' ? p.artifactId : undefined);
    const matched = applyFilters(candidates, filters);
    await ctx.log(`policy ${policy.name}: ${candidates.length} candidate(s) (artifact and tag), ${matched.length} kept by the filters`);
    if (p.trigger === 'event_based' && !execution) {
      if (matched.length === 0) return void (await ctx.log('the pushed artifact does not match the policy; no execution'));
      execution = await this.executionOf(ctx, true);
    }
    if (!execution) throw new Error('the preheat execution of this job does not exist');
    const executionId = Number(execution.id);
    const attrs = { ...(JSON.parse(execution.extra_attrs) as Record<string, unknown>), totalCount: matched.length };

    // Harbor checks the provider's health before it starts any task.
    try {
      await this.instances.checkHealth(instance);
    } catch (err) {
      await this.store.setExecutionAttrs(this.store.db, executionId, attrs);
      return fail(
        `preheat provider instance ${instance.vendor}-${instance.name}:${instance.endpoint} is not healthy: ${(err as Error).message}`,
      );
    }
    if (matched.length === 0) {
      await this.store.setExecutionAttrs(this.store.db, executionId, attrs);
      await this.store.setExecutionStatus(executionId, 'Success', 'no artifacts to preheat', new Date().toISOString());
      return;
    }
    await this.store.db.transaction().execute(async (tx) => {
      await this.store.setExecutionAttrs(tx, executionId, attrs);
      const now = new Date().toISOString();
      for (const c of matched) {
        const taskId = await this.store.insertTask(tx, {
          executionId,
          repository: c.repository,
          tag: c.tag,
          digest: c.digest,
          kind: c.kind,
          now,
        });
        const payload: PreheatTaskPayload = { taskId };
        // A second attempt only for a lost worker: it resumes the provider's preheat (provider_task_id), never starts another.
        await this.store.setTaskJob(tx, taskId, await this.queue.enqueue(preheatJobTypes.task, payload, { tx, maxAttempts: 2 }));
      }
    });
    await this.store.setExecutionStatus(executionId, 'Running', null, null);
    this.queue.notify(preheatJobTypes.task);
    await ctx.log(`execution ${executionId}: ${matched.length} task(s) enqueued, one per artifact and tag`);
  }

  /** PREHEAT_TASK: sends one artifact under one tag to the provider and follows it until it ends. */
  async handleTask(ctx: JobContext<PreheatTaskPayload>): Promise<void> {
    const task = await this.store.task(ctx.payload.taskId);
    if (!task || isEnded(task.status)) return;
    const taskId = Number(task.id);
    const executionId = Number(task.execution_id);
    const execution = await this.store.execution(executionId);
    if (!execution || execution.status === 'Stopped') {
      await this.store.finishTask(taskId, 'Stopped', 'the execution was stopped', new Date().toISOString());
      return this.settle(executionId);
    }
    if (!(await this.store.startTask(taskId, new Date().toISOString()))) return;
    let outcome: { status: RunStatus; message: string };
    try {
      outcome = await this.preheat(ctx, task, execution);
    } catch (err) {
      const reason = ctx.signal.reason;
      // Lost lease or shutdown: the job goes back to the queue; the next attempt resumes the provider's preheat.
      if (reason instanceof JobAbortError && reason.kind !== 'stopped') throw err;
      const message = (err as Error).message;
      outcome = ctx.signal.aborted ? { status: 'Stopped', message: 'the execution was stopped' } : { status: 'Error', message };
      if (!ctx.signal.aborted) await ctx.log(`preheat job running error: ${message}`, 'ERROR');
    }
    await this.store.finishTask(taskId, outcome.status, outcome.message, new Date().toISOString());
    await this.settle(executionId);
  }

  private async preheat(
    ctx: JobContext<PreheatTaskPayload>,
    task: TaskRow,
    execution: ExecutionRow,
  ): Promise<{ status: RunStatus; message: string }> {
    const policyRow = await this.store.policy(Number(execution.policy_id));
    if (!policyRow) throw new Error(`preheat policy ${execution.policy_id} was deleted`);
    const policy = toPolicy(policyRow);
    const instance = await this.instances.open(policy.providerId);
    if (!instance) throw new Error(`the preheat instance ${policy.providerId} no longer exists`);
    await ctx.log(
      `Preheating image '${task.repository}:${task.tag}@${task.digest}' to the target preheat provider: ${instance.vendor} ${instance.name}:${instance.endpoint}`,
    );
    if (!instance.enabled) throw new Error(`the preheat instance ${instance.name} is disabled`);
    const driver = this.instances.driver(instance);
    try {
      try {
        await driver.health();
      } catch (err) {
        throw new Error(`unhealthy target preheat provider ${instance.vendor} ${instance.name}: ${(err as Error).message}`);
      }
      await ctx.log('Check health of preheat provider instance: Healthy');
      let status: PreheatStatus;
      if (task.provider_task_id !== null) {
        await ctx.log(`Resuming the provider's preheat ${task.provider_task_id} (an earlier attempt started it)`);
        status = await driver.progress(task.provider_task_id);
      } else {
        const image = await this.imageOf(task, instance, policy);
        status = await driver.preheat(image);
        await this.store.setProviderTaskId(Number(task.id), status.taskId, new Date().toISOString());
        await ctx.log(`Sending preheat request is successfully done (provider task ${status.taskId})`);
      }
      const deadline = Date.now() + this.options.checkTimeoutMs;
      while (status.status === 'Pending' || status.status === 'Running') {
        if (Date.now() >= deadline) throw new Error(`status check timeout: ${Math.round(this.options.checkTimeoutMs / 1000)} s`);
        await sleep(this.options.checkIntervalMs, ctx.signal);
        if (ctx.signal.aborted) throw ctx.signal.reason instanceof Error ? ctx.signal.reason : new Error('aborted');
        status = await driver.progress(status.taskId);
        await ctx.log(`Check preheat progress: task [${status.taskId}] is ${status.status.toLowerCase()}`);
      }
      if (status.status === 'Fail') throw new Error(`preheat failed: ${status.error ?? 'the provider gave no reason'}`);
      if (status.message) await ctx.log(`Preheat job finished, message from provider:\n${status.message}`);
      await ctx.log('Preheating is completed');
      return { status: 'Success', message: '' };
    } finally {
      driver.close();
    }
  }

  private async imageOf(task: TaskRow, instance: Instance, policy: Policy): Promise<PreheatImage> {
    const registry = this.ports.registryUrl();
    const facts = await this.store.manifestOf(task.repository, task.digest);
    const authorization = await this.ports.pullAuthorization(preheatSubject(instance.name, Number(task.id)), task.repository);
    return {
      type: 'image',
      url: `${registry}/v2/${task.repository}/manifests/${task.tag}`,
      headers: { Authorization: authorization },
      repository: task.repository,
      tag: task.tag,
      digest: task.digest,
      mediaType: facts?.mediaType ?? 'application/vnd.oci.image.manifest.v1+json',
      children: facts?.children ?? [],
      extraAttrs: policy.extraAttrs,
    };
  }

  /** Ends the execution once every task has ended: Error if any failed, else Stopped if any stopped, else Success. */
  private async settle(executionId: number): Promise<void> {
    const counts = (await this.store.taskCounts([executionId])).get(executionId)!;
    if (counts.Pending + counts.Running > 0) return;
    const status: RunStatus = counts.Error > 0 ? 'Error' : counts.Stopped > 0 ? 'Stopped' : 'Success';
    const message = counts.Error > 0 ? `${counts.Error} of ${counts.total} task(s) failed` : '';
    await this.store.setExecutionStatus(executionId, status, message, new Date().toISOString());
  }
}
