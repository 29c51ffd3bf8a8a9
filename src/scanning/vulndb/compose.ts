import type { FastifyInstance } from 'fastify';
import type { AccessGuard } from '../../auth/guard.js';
import type { Config } from '../../config/schema.js';
import type { DialectHelpers } from '../../db/dialect.js';
import type { Db } from '../../db/index.js';
import type { JobQueue } from '../../jobs/queue.js';
import type { JobHandler } from '../../jobs/runner.js';
import type { Scheduler } from '../../jobs/scheduler.js';
import { VulnMatcher } from './matcher.js';
import { registerVulnDbRoutes } from './routes.js';
import { vulnDbUpdateJob, VulnDbService } from './service.js';
import { VulnDbStore } from './store.js';

export interface VulnDbDeps {
  db: Db;
  dialect: DialectHelpers;
  queue: JobQueue;
  config: Config['scanning']['vulndb'];
  /** Where downloaded archives are kept while they are imported. */
  tempDir: string;
  /** For `scanning.vulndb.update_cron`: the server passes it; the CLI does not schedule. */
  scheduler?: Scheduler;
}

/** The vulnerability database, assembled the same way by the server and by `berth vulndb`. */
export function createVulnDb(deps: VulnDbDeps) {
  const store = new VulnDbStore(deps.db);
  const service = new VulnDbService(store, deps.queue, { url: deps.config.url, ecosystems: deps.config.ecosystems, tempDir: deps.tempDir });
  const matcher = new VulnMatcher(store);
  deps.queue.declareType(vulnDbUpdateJob);
  const handlers: Record<string, JobHandler> = { [vulnDbUpdateJob]: (ctx) => service.handle(ctx) };
  return {
    service,
    matcher,
    handlers,
    /** Defines the VULNDB_UPDATE schedule from `update_cron`, or removes it when that is empty. */
    async start(): Promise<void> {
      if (!deps.scheduler) return;
      const cron = deps.config.update_cron.trim();
      if (cron === '') await deps.scheduler.remove(vulnDbUpdateJob);
      else await deps.scheduler.define({ name: vulnDbUpdateJob, jobType: vulnDbUpdateJob, cron, payload: { operator: 'schedule' } });
    },
    registerApiRoutes: (api: FastifyInstance, routeDeps: { guard: AccessGuard }) =>
      registerVulnDbRoutes(api, { vulndb: service, guard: routeDeps.guard }),
  };
}
