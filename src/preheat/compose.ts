import type { FastifyInstance } from 'fastify';
import type { AccessGuard } from '../auth/guard.js';
import type { Secrets } from '../auth/secret-box.js';
import type { TokenService } from '../auth/tokens.js';
import type { Db } from '../db/index.js';
import type { Dispatcher } from '../events/outbox.js';
import type { JobQueue } from '../jobs/queue.js';
import type { JobContext, JobRunner } from '../jobs/runner.js';
import type { Scheduler } from '../jobs/scheduler.js';
import type { ProjectService } from '../projects/service.js';
import { severityCodes, unscannedSeverity } from './filters.js';
import { InstanceService } from './instances.js';
import { registerPreheatRoutes } from './routes.js';
import { onPushSubscriber, PreheatService, type PreheatPorts } from './service.js';
import { PreheatStore } from './store.js';
import { preheatJobTypes, type PreheatJobPayload, type PreheatTaskPayload } from './types.js';

/** What preheat reads of scans (the scanning feature's services, connected in app.ts). */
export interface PreheatScans {
  /** The uuid of the project's scanner (else the default); null when there is none. */
  registrationFor(projectId: number): Promise<string | null>;
  /** Per digest: the vulnerability report status of that scanner and its findings. */
  forPolicy(
    repositoryId: number,
    digests: string[],
    registrationUuid: string,
  ): Promise<Map<string, { status: string; findings: Array<{ id: string; severity: string }> }>>;
  /** The CVE allowlist a project's artifacts are judged by. */
  allowlistFor(projectId: number, metadata: Record<string, string>): Promise<{ ids: Set<string>; expired: boolean }>;
}

export interface PreheatDeps {
  db: Db;
  queue: JobQueue;
  runner: JobRunner;
  scheduler: Scheduler;
  dispatcher: Dispatcher;
  /** Seals instance credentials; preheat registers its resealer for `berth secrets rotate`. */
  secrets: Secrets;
  projects: ProjectService;
  tokens: TokenService;
  /** server.external_url: the registry URL providers pull from, when set. */
  externalUrl: string | undefined;
  /** Scan results for the vulnerability filter; without them every artifact counts as not scanned. */
  scans?: PreheatScans;
  /** preheat.check_interval_seconds and check_timeout_minutes. */
  config: { check_interval_seconds: number; check_timeout_minutes: number };
}

/** P2P preheat assembled for the server (app.ts makes one call). */
export function createPreheat(deps: PreheatDeps) {
  const { projects, scans } = deps;
  const store = new PreheatStore(deps.db);
  const instances = new InstanceService(store, deps.secrets.box);
  deps.secrets.onRotate('preheat instances', (box) => instances.reseal(box));
  let listenUrl = '';

  const ports: PreheatPorts = {
    async project(projectId) {
      const project = await projects.byId(projectId);
      return project ? { name: project.name, metadata: await projects.metadata(project) } : undefined;
    },
    async severities(projectId, repositoryId, digests) {
      const out = new Map<string, number>();
      if (!scans) return out;
      const uuid = await scans.registrationFor(projectId);
      if (!uuid) return out;
      const results = await scans.forPolicy(repositoryId, digests, uuid);
      const project = await projects.byId(projectId);
      const allowlist = await scans.allowlistFor(projectId, project ? await projects.metadata(project) : {});
      for (const digest of digests) {
        const r = results.get(digest);
        if (!r || r.status !== 'Success') continue;
        // Harbor's GetVulnerable: the highest severity among findings not on an unexpired allowlist (None: 0).
        let highest = 0;
        for (const f of r.findings) {
          if (!allowlist.expired && allowlist.ids.has(f.id)) continue;
          highest = Math.max(highest, severityCodes[f.severity] ?? unscannedSeverity);
        }
        out.set(digest, highest);
      }
      return out;
    },
    registryUrl: () => (deps.externalUrl ?? listenUrl).replace(/\/+$/, ''),
    async pullAuthorization(subject, repository) {
      const issued = await deps.tokens.issue(subject, [{ type: 'repository', name: repository, actions: ['pull'] }]);
      return `Bearer ${issued.token}`;
    },
  };

  const preheat = new PreheatService(store, instances, deps.queue, deps.scheduler, ports, {
    checkIntervalMs: deps.config.check_interval_seconds * 1000,
    checkTimeoutMs: deps.config.check_timeout_minutes * 60_000,
  });
  deps.runner.register(preheatJobTypes.execution, (ctx: JobContext) => preheat.handleExecution(ctx as JobContext<PreheatJobPayload>));
  deps.runner.register(preheatJobTypes.task, (ctx: JobContext) => preheat.handleTask(ctx as JobContext<PreheatTaskPayload>));
  deps.dispatcher.subscribe(onPushSubscriber, preheat.onPush(), { start: 'latest' });

  return {
    instances,
    preheat,
    /** The URL the server listens on: providers pull from it when server.external_url is not set. */
    setListenUrl(url: string): void {
      listenUrl = url;
    },
    /** Routes under /api/v2.0. */
    async registerApiRoutes(api: FastifyInstance, routeDeps: { guard: AccessGuard }): Promise<void> {
      await registerPreheatRoutes(api, { instances, preheat, projects, guard: routeDeps.guard });
    },
  };
}

export type Preheat = ReturnType<typeof createPreheat>;
export { isPreheatSubject } from './service.js';
