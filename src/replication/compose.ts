/**
 * Replication assembled (issue 16): registry endpoints (registries/), adapters (adapters/),
 * policies and their cron schedules (policies/), executions and tasks (executions/) and the
 * engine (engine/: Berth as an adapter, filters, destination naming, the copier, the
 * REPLICATION and REPLICATION_TASK jobs, the event-based outbox subscriber). app.ts calls
 * createReplication once; http/server.ts calls registerApiRoutes once.
 */
import type { FastifyInstance } from 'fastify';
import type { ArtifactService } from '../artifacts/service.js';
import type { AccessGuard } from '../auth/guard.js';
import type { Secrets } from '../auth/secret-box.js';
import type { Db } from '../db/index.js';
import type { Dispatcher } from '../events/outbox.js';
import type { JobQueue } from '../jobs/queue.js';
import type { JobRunner } from '../jobs/runner.js';
import type { Scheduler } from '../jobs/scheduler.js';
import { isAppError } from '../lib/errors.js';
import type { ProjectService } from '../projects/service.js';
import type { RegistryService } from '../registry/service.js';
import type { UploadService } from '../registry/uploads.js';
import { adapterInfos, adapterTypes, createAdapter, isAdapterType, sharedConnections } from './adapters/index.js';
import { replicationEventHandler, replicationSubscriber } from './engine/events.js';
import { ReplicationEngine } from './engine/jobs.js';
import { LocalRegistryAdapter } from './engine/local.js';
import { reapJobType, reapOrphans, reapSchedule } from './engine/reaper.js';
import type { ReplicationExecutionService } from './executions/service.js';
import { createPolicyParts, type PolicyParts } from './policies/assembly.js';
import type { ReplicationPolicyService } from './policies/service.js';
import { createRegistryEndpoints, type RegistryEndpoints } from './registries/compose.js';
import { replicationJobTypes } from './types.js';

export interface ReplicationDeps {
  db: Db;
  queue: JobQueue;
  runner: JobRunner;
  scheduler: Scheduler;
  dispatcher: Dispatcher;
  secrets: Secrets;
  registry: RegistryService;
  uploads: UploadService;
  artifacts: ArtifactService;
  projects: ProjectService;
  /** The URL Berth shows for itself as registry 0 (server.external_url), '' when unset. */
  externalUrl?: string;
  /** Blobs one replication task copies at once (default 4). */
  parallelBlobs?: number;
  /** REPLICATION_TASK jobs one instance runs at once, within jobs.concurrency (default: no limit of its own). */
  taskConcurrency?: number;
}

export interface Replication {
  registries: RegistryEndpoints;
  policies: ReplicationPolicyService;
  executions: ReplicationExecutionService;
  engine: ReplicationEngine;
  /** Berth itself as a RegistryAdapter. */
  local: LocalRegistryAdapter;
  /** Schedules that exist only once registries do (the health check). */
  start(): Promise<void>;
  /** /registries…, /replication/adapters, /replication/adapterinfos, /replication/policies…, /replication/executions… */
  registerApiRoutes(api: FastifyInstance, deps: { guard: AccessGuard }): Promise<void>;
  /** Closes the keep-alive connections to other registries. */
  close(): void;
}

export function createReplication(deps: ReplicationDeps): Replication {
  const local = new LocalRegistryAdapter({
    registry: deps.registry,
    uploads: deps.uploads,
    artifacts: deps.artifacts,
    projects: deps.projects,
  });
  const registries = createRegistryEndpoints({
    db: deps.db,
    secrets: deps.secrets,
    adapters: { types: adapterTypes, infos: adapterInfos, isType: isAdapterType, create: (endpoint) => createAdapter(endpoint) },
    runner: deps.runner,
    scheduler: deps.scheduler,
    localInfo: () => local.info(),
    localUrl: () => deps.externalUrl ?? '',
  });
  const parts: PolicyParts = createPolicyParts({
    db: deps.db,
    queue: deps.queue,
    scheduler: deps.scheduler,
    registries: registries.service,
  });
  const { policies, executions, executionStore: store } = parts;
  // The reaper's schedule exists once this Berth has planned an execution (none on a Berth that never replicates).
  let reaperScheduled = false;
  const onPlanning = async () => {
    if (reaperScheduled) return;
    reaperScheduled = true;
    await deps.scheduler.define({ name: reapSchedule, jobType: reapJobType, cron: '*/2 * * * *' });
  };
  deps.runner.register(reapJobType, async (ctx) => {
    const ended = await reapOrphans(deps.db, store);
    await ctx.log(`${ended} task(s) or execution(s) whose jobs ended without them were ended`);
    return ended;
  });
  const engine = new ReplicationEngine({
    onPlanning,
    db: deps.db,
    queue: deps.queue,
    executions: store,
    policy: (id) => policies.get(id),
    local,
    adapterFor: (id) => registries.service.adapterFor(id),
    adapterType: async (id) => (await registries.service.endpoint(id))?.type,
    eventFacts: {
      registry: (id) => registries.service.view(id),
      projectId: async (name) => {
        try {
          return Number((await deps.projects.resolve(name, true)).id);
        } catch (err) {
          if (isAppError(err) && err.code === 'NOT_FOUND') return undefined;
          throw err;
        }
      },
    },
    localArtifact: async (repository, digest) => {
      try {
        const repo = await deps.artifacts.repository(repository);
        const row = await deps.artifacts.resolve(repo, digest);
        const view = await deps.artifacts.view(row, {
          withTag: false,
          withLabel: true,
          withAccessory: false,
          withScanOverview: false,
          withSignature: false,
          withImmutableStatus: false,
        });
        return { labels: (view.labels ?? []).map((l) => l.name), resourceType: row.type === 'IMAGE' ? 'image' : 'artifact' };
      } catch (err) {
        if (isAppError(err) && err.code === 'NOT_FOUND') return undefined;
        throw err;
      }
    },
    parallelBlobs: deps.parallelBlobs ?? 4,
  });
  deps.runner.register(replicationJobTypes.execution, engine.plan);
  deps.runner.register(replicationJobTypes.task, engine.run);
  if (deps.taskConcurrency !== undefined) deps.runner.limitType(replicationJobTypes.task, deps.taskConcurrency);
  // Only events written from now on: a Berth upgraded with years of outbox history does not replay it.
  deps.dispatcher.subscribe(
    replicationSubscriber,
    replicationEventHandler({ queue: deps.queue, executions: store, eventPolicies: (tx) => policies.enabledEventPolicies(tx) }),
    { start: 'latest' },
  );
  return {
    registries,
    policies,
    executions,
    engine,
    local,
    start: () => registries.start(),
    async registerApiRoutes(api, routeDeps) {
      await registries.registerRoutes(api, routeDeps);
      await parts.registerRoutes(api, routeDeps);
    },
    close() {
      sharedConnections.close();
    },
  };
}
