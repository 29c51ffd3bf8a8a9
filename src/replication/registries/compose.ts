/**
 * Registry endpoints assembled: store, service (its secrets registered for rotation), the
 * periodic health check (Harbor pings every registry every 5 minutes) and the routes. The
 * replication assembly (replication/compose.ts) calls this and registers the routes.
 */
import type { FastifyInstance } from 'fastify';
import type { AccessGuard } from '../../auth/guard.js';
import type { Secrets } from '../../auth/secret-box.js';
import type { Db } from '../../db/index.js';
import type { JobRunner } from '../../jobs/runner.js';
import type { Scheduler } from '../../jobs/scheduler.js';
import { registerRegistryRoutes } from './routes.js';
import { RegistryEndpointService, type AdapterCatalog, type RegistryServiceOptions } from './service.js';
import { RegistryStore } from './store.js';

/** The job that pings every registry and records its status. */
export const registryHealthJob = 'REGISTRY_HEALTH_CHECK';
/** Its schedule, defined once a registry exists (a Berth with none has nothing to check). */
export const registryHealthSchedule = 'registry.health_check';

export interface RegistryEndpointsDeps extends RegistryServiceOptions {
  db: Db;
  secrets: Secrets;
  adapters: AdapterCatalog;
  runner?: JobRunner;
  scheduler?: Scheduler;
  /** Cron of the health check (UTC); default every 5 minutes. */
  healthCheckCron?: string;
}

export interface RegistryEndpoints {
  service: RegistryEndpointService;
  /** Defines the health-check schedule when registries exist (call once at start). */
  start(): Promise<void>;
  registerRoutes(api: FastifyInstance, deps: { guard: AccessGuard }): Promise<void>;
}

export function createRegistryEndpoints(deps: RegistryEndpointsDeps): RegistryEndpoints {
  const store = new RegistryStore(deps.db);
  const service = new RegistryEndpointService(store, deps.adapters, deps.secrets, deps);
  const cron = deps.healthCheckCron ?? '*/5 * * * *';
  let scheduled = false;
  const ensureSchedule = async () => {
    if (scheduled || !deps.scheduler) return;
    scheduled = true;
    await deps.scheduler.define({ name: registryHealthSchedule, jobType: registryHealthJob, cron });
  };
  deps.runner?.register(registryHealthJob, async (ctx) => {
    const result = await service.checkHealth((line) => ctx.log(line), ctx.signal);
    await ctx.log(`checked ${result.checked} registr${result.checked === 1 ? 'y' : 'ies'}, ${result.unhealthy} unhealthy`);
    return result;
  });
  service.onCreated(() => ensureSchedule());
  return {
    service,
    async start() {
      if (await service.any()) await ensureSchedule();
    },
    registerRoutes: (api, routeDeps) => registerRegistryRoutes(api, { registries: service, guard: routeDeps.guard }),
  };
}
