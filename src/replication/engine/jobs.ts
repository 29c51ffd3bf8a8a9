import type { Kysely } from 'kysely';
import type { Database } from '../../db/types.js';
import { JobAbortError, type JobContext } from '../../jobs/runner.js';
import { isAppError } from '../../lib/errors.js';
import type { JobQueue } from '../../jobs/queue.js';
import { manifestKinds } from '../../oci/mediatypes.js';
import { writeEvent } from '../../events/outbox.js';
import { webhookEventTypes } from '../../webhooks/types.js';
import type { ReplicationExecutionStore, TaskRow } from '../executions/store.js';
import {
  RemoteRegistryError,
  replicationJobTypes,
  type RegistryAdapter,
  type ReplicationJobPayload,
  type ReplicationPolicy,
  type ReplicationTaskPayload,
  type SourceArtifact,
  type TaskSpec,
} from '../types.js';
import { Copier, CopyError, deleteAtDestination } from './copier.js';
import { DestinationError, destinationRepository, pathComponentsOf } from './destination.js';
import { replicationEventPayload, type ReplicationEventFacts } from './events-out.js';
import { applyFilters, repositoryPattern } from './filters.js';
import { throttleFor } from './throttle.js';

/** Attempts of a REPLICATION_TASK job (retried with the queue's backoff: 10 s, 20 s, 40 s, 80 s). */
export const taskMaxAttempts = 5;
/** Attempts of the REPLICATION job that plans an execution. */
export const planMaxAttempts = 3;
/** Copy by chunk: Harbor's default chunk size, 10 MiB. */
export const chunkSize = 10 * 1024 * 1024;

/** What the engine needs from the other parts of replication (wired in compose.ts). */
export interface EnginePorts {
  db: Kysely<Database>;
  queue: JobQueue;
  executions: ReplicationExecutionStore;
  policy(id: number): Promise<(ReplicationPolicy & { creator?: string }) | undefined>;
  /** What a task's REPLICATION event names besides the task (the remote registry, the local project). */
  eventFacts: ReplicationEventFacts;
  /** Berth itself. */
  local: RegistryAdapter;
  /** A registry endpoint's adapter (throws when the endpoint is gone). */
  adapterFor(registryId: number): Promise<RegistryAdapter>;
  /** The endpoint's adapter type ('harbor', 'docker-registry', …), for the destination's path rule. */
  adapterType(registryId: number): Promise<string | undefined>;
  /** A local artifact's labels and resource type (event-based runs), by repository and digest; undefined when gone. */
  localArtifact(repository: string, digest: string): Promise<{ labels: string[]; resourceType: 'image' | 'artifact' } | undefined>;
  /** Blobs one task copies at once. */
  parallelBlobs: number;
  /** Called when a planning job runs (compose.ts defines the reaper's schedule then, once). */
  onPlanning?: () => Promise<void>;
}

/** What a task does, stored as TaskSpec.detail: the policy's settings as they were when planned. */
export interface CopyDetail {
  srcRegistryId: number | null;
  destRegistryId: number | null;
  srcRepository: string;
  dstRepository: string;
  digest: string;
  tags: string[];
  override: boolean;
  speed: number;
  copyByChunk: boolean;
}

function resourceName(repository: string, digest: string, tags: string[]): string {
  return tags.length > 0 ? `${repository}:[${tags.join(',')}]` : `${repository}@${digest}`;
}

/**
 * Failures another attempt cannot cure: a refusal (credential, permission, quota, immutable
 * tag), something that is not there, a request the other side calls wrong, a naming rule,
 * content that is not what its digest says. They fail the task at once; the rest are retried.
 */
export function isPermanent(err: unknown): boolean {
  if (err instanceof CopyError || err instanceof DestinationError) return true;
  // Berth's own refusals (a registry endpoint deleted since the plan: 404).
  if (isAppError(err)) return err.status >= 400 && err.status < 500 && err.status !== 408 && err.status !== 429;
  if (!(err instanceof RemoteRegistryError)) return false;
  if (err.failure === 'denied' || err.failure === 'not_found' || err.failure === 'unauthorized') return true;
  return (
    err.failure === 'failed' &&
    err.status !== undefined &&
    err.status >= 400 &&
    err.status < 500 &&
    err.status !== 408 &&
    err.status !== 429
  );
}

function message(err: unknown): string {
  if (err instanceof RemoteRegistryError) return `${err.message}${err.status ? ` (HTTP ${err.status})` : ''}`;
  return err instanceof Error ? err.message : String(err);
}

/** The engine's two job handlers. */
export class ReplicationEngine {
  constructor(private readonly ports: EnginePorts) {}

  private adapter(registryId: number | null): Promise<RegistryAdapter> {
    return registryId === null ? Promise.resolve(this.ports.local) : this.ports.adapterFor(registryId);
  }

  /**
   * REPLICATION: plans an execution. A scheduled run first creates its execution and hands
   * the planning to a new job (so that a retry never makes a second execution); then the
   * source is listed and filtered, and the tasks are written and enqueued in one transaction.
   * A retry after that transaction finds the tasks and does nothing more.
   */
  readonly plan = async (ctx: JobContext<ReplicationJobPayload>): Promise<unknown> => {
    const { policyId, trigger } = ctx.payload;
    const { executions, queue } = this.ports;
    await this.ports.onPlanning?.();
    if (ctx.payload.executionId === undefined) {
      const policy = await this.ports.policy(policyId);
      if (!policy) return void (await ctx.log(`replication policy ${policyId} no longer exists; nothing to do`));
      if (!policy.enabled) return void (await ctx.log(`replication policy ${policy.name} is disabled; the ${trigger} run is skipped`));
      const executionId = await this.ports.db.transaction().execute(async (tx) => {
        const id = await executions.createExecution(policyId, trigger, tx, {
          operator: 'system',
          singleActive: policy.singleActiveReplication,
        });
        const jobId = await queue.enqueue(
          replicationJobTypes.execution,
          { policyId, executionId: id, trigger },
          { tx, maxAttempts: planMaxAttempts },
        );
        await executions.setExecutionJob(id, jobId, tx);
        return id;
      });
      await ctx.log(`execution ${executionId} created for the ${trigger} run of ${policy.name}`);
      return { executionId };
    }
    const executionId = ctx.payload.executionId;
    const status = await executions.executionStatus(executionId);
    if (status !== 'InProgress') return void (await ctx.log(`execution ${executionId} is ${status ?? 'gone'}; nothing to plan`));
    if ((await executions.tasks(executionId, {}, { offset: 0, limit: 1 })).total > 0) {
      await ctx.log(`execution ${executionId} already has its tasks`);
      return { executionId };
    }
    const policy = await this.ports.policy(policyId);
    if (!policy) {
      await executions.markExecutionFailed(executionId, `the replication policy ${policyId} no longer exists`);
      return;
    }
    let specs: TaskSpec[];
    try {
      specs = await this.specsFor(policy, ctx);
    } catch (err) {
      if (err instanceof JobAbortError || ctx.signal.aborted) throw err;
      const text = message(err);
      await ctx.log(`planning failed: ${text}`, 'ERROR');
      // Naming rules and refusals fail for good; a registry that did not answer gets the job's retries.
      if (isPermanent(err) || ctx.attempt >= ctx.maxAttempts) {
        await executions.markExecutionFailed(executionId, text);
        return;
      }
      throw err;
    }
    if (await executions.isStopped(executionId)) return void (await ctx.log(`execution ${executionId} was stopped`));
    const ids = await this.ports.db.transaction().execute(async (tx) => {
      const taskIds = await executions.addTasks(executionId, specs, tx);
      for (const taskId of taskIds) {
        const jobId = await queue.enqueue(replicationJobTypes.task, { taskId } satisfies ReplicationTaskPayload, {
          tx,
          maxAttempts: taskMaxAttempts,
        });
        await executions.setTaskJob(taskId, jobId, tx);
      }
      return taskIds;
    });
    await ctx.log(`execution ${executionId}: ${ids.length} task(s) enqueued`);
    if (ids.length === 0) await executions.finishIfDone(executionId);
    return { executionId, tasks: ids.length };
  };

  /** The tasks of one run of a policy: one per artifact (an event's artifact, or the filtered listing). */
  private async specsFor(policy: ReplicationPolicy, ctx: JobContext<ReplicationJobPayload>): Promise<TaskSpec[]> {
    const resource = ctx.payload.resource;
    const pathType = pathComponentsOf(
      policy.destRegistryId === null ? null : ((await this.ports.adapterType(policy.destRegistryId)) ?? 'harbor'),
    );
    const destination = (repository: string) =>
      destinationRepository(repository, policy.destNamespace, policy.destNamespaceReplaceCount, pathType);
    const detail = (a: { repository: string; digest: string; tags: string[] }): CopyDetail => ({
      srcRegistryId: policy.srcRegistryId,
      destRegistryId: policy.destRegistryId,
      srcRepository: a.repository,
      dstRepository: destination(a.repository),
      digest: a.digest,
      tags: a.tags,
      override: policy.override,
      speed: policy.speed,
      copyByChunk: policy.copyByChunk,
    });
    const spec = (operation: TaskSpec['operation'], a: SourceArtifact): TaskSpec => {
      const d = detail(a);
      return {
        operation,
        resourceType: a.resourceType,
        srcResource: resourceName(a.repository, a.digest, a.tags),
        dstResource: resourceName(d.dstRepository, a.digest, a.tags),
        detail: d,
      };
    };
    if (resource) {
      // A pushed artifact is read as it is now (labels, type); a deleted one is gone, so only its event speaks for it.
      const known = resource.deleted ? undefined : await this.ports.localArtifact(resource.repository, resource.digest);
      const artifact: SourceArtifact = {
        repository: resource.repository,
        digest: resource.digest,
        mediaType: resource.mediaType,
        tags: resource.tags,
        labels: known?.labels ?? resource.labels ?? [],
        resourceType: known?.resourceType ?? (manifestKinds[resource.mediaType] ? 'image' : 'artifact'),
      };
      const kept = applyFilters(policy.filters, [artifact]);
      await ctx.log(
        `${resource.deleted ? 'deletion' : 'push'} of ${resourceName(resource.repository, resource.digest, resource.tags)}: ${kept.length ? 'replicated' : 'filtered out'}`,
      );
      return kept.map((a) => spec(resource.deleted ? 'deletion' : 'copy', a));
    }
    const source = await this.adapter(policy.srcRegistryId);
    const listed = await source.listArtifacts({ repositoryPattern: repositoryPattern(policy.filters), signal: ctx.signal });
    const kept = applyFilters(policy.filters, listed);
    await ctx.log(`the source lists ${listed.length} artifact(s); ${kept.length} pass the filters`);
    return kept.map((a) => spec('copy', a));
  }

  /**
   * REPLICATION_TASK: copies or deletes one artifact. Idempotent (the copier asks the
   * destination before each write), so a retry or another instance taking over a lost lease
   * redoes only what did not arrive. Failures are retried with the queue's backoff; the last
   * one marks the task Failed with the reason.
   */
  readonly run = async (ctx: JobContext<ReplicationTaskPayload>): Promise<unknown> => {
    const { executions } = this.ports;
    const task = await executions.task(ctx.payload.taskId);
    if (!task) return void (await ctx.log(`replication task ${ctx.payload.taskId} no longer exists`));
    if (task.status === 'Succeed' || task.status === 'Failed' || task.status === 'Stopped') {
      return void (await ctx.log(`task ${task.id} is already ${task.status}`));
    }
    if (await executions.isStopped(task.executionId)) {
      await this.end(task, 'Stopped');
      await executions.finishIfDone(task.executionId);
      return void (await ctx.log('the execution was stopped'));
    }
    await executions.markTask(task.id, 'InProgress');
    const d = task.spec.detail as CopyDetail;
    const log = (m: string, level?: 'INFO' | 'WARNING' | 'ERROR') => ctx.log(m, level);
    try {
      const dst = await this.adapter(d.destRegistryId);
      if (task.operation === 'deletion') {
        await log(`deleting ${task.dstResource} on the destination (attempt ${ctx.attempt} of ${ctx.maxAttempts})`);
        const n = await deleteAtDestination(dst, d.dstRepository, d.digest, d.tags, { signal: ctx.signal, log });
        await log(`deletion done: ${n} reference(s) deleted`);
      } else {
        const src = await this.adapter(d.srcRegistryId);
        await log(`copying ${task.srcResource} to ${task.dstResource} (attempt ${ctx.attempt} of ${ctx.maxAttempts})`);
        if (d.speed > 0) await log(`speed limited to ${d.speed} KB/s`);
        const copier = new Copier(src, dst, {
          override: d.override,
          parallelBlobs: this.ports.parallelBlobs,
          chunkSize: d.copyByChunk ? chunkSize : undefined,
          throttle: throttleFor(d.speed),
          signal: ctx.signal,
          log,
          destinationKey: d.destRegistryId === null ? 'local' : `registry:${d.destRegistryId}`,
        });
        const r = await copier.copy({ srcRepository: d.srcRepository, digest: d.digest, tags: d.tags, dstRepository: d.dstRepository });
        await log(
          `copy ${r.outcome}: ${r.manifestsPushed} manifest(s) pushed, blobs ${r.blobsCopied} copied (${r.bytesCopied} bytes), ${r.blobsSkipped} already there, ${r.blobsMounted} mounted${r.tagsKept.length ? `; tags kept (override off): ${r.tagsKept.join(', ')}` : ''}`,
        );
      }
    } catch (err) {
      if (ctx.signal.aborted) {
        const reason = ctx.signal.reason;
        if (reason instanceof JobAbortError && reason.kind === 'stopped') {
          await this.end(task, 'Stopped');
          await executions.finishIfDone(task.executionId);
        }
        throw err;
      }
      const text = message(err);
      const permanent = isPermanent(err);
      if (permanent || ctx.attempt >= ctx.maxAttempts) {
        await log(
          `failed: ${text}${permanent && ctx.attempt < ctx.maxAttempts ? ' (not retried: another attempt would meet the same answer)' : ''}`,
          'ERROR',
        );
        await this.end(task, 'Failed', text);
        await executions.finishIfDone(task.executionId);
        if (permanent) return { taskId: task.id, failed: text };
      } else {
        await log(`attempt ${ctx.attempt} failed: ${text}; retried later`, 'WARNING');
        await executions.markTask(task.id, 'Pending', undefined, text);
      }
      throw err;
    }
    await this.end(task, 'Succeed', '');
    await executions.finishIfDone(task.executionId);
    return { taskId: task.id };
  };

  /**
   * Ends a task and, when this call is what ended it, writes its REPLICATION event in the same
   * transaction (the facts are read before it: on SQLite a read through another handle would
   * wait for the transaction).
   */
  private async end(task: TaskRow, status: 'Succeed' | 'Failed' | 'Stopped', text?: string): Promise<void> {
    const { executions } = this.ports;
    const [policy, execution] = await Promise.all([this.ports.policy(task.policyId), executions.execution(task.executionId)]);
    const event = await replicationEventPayload(task, status, policy, execution, this.ports.eventFacts);
    await this.ports.db.transaction().execute(async (tx) => {
      const ended = await executions.markTask(task.id, status, undefined, text, tx);
      if (ended && event) await writeEvent(tx, webhookEventTypes.replication, event);
    });
  }
}
