import type { FastifyInstance } from 'fastify';
import type { AccessGuard } from '../../auth/guard.js';
import type { Db } from '../../db/index.js';
import type { JobQueue } from '../../jobs/queue.js';
import type { Scheduler } from '../../jobs/scheduler.js';
import { registerExecutionRoutes } from '../executions/routes.js';
import { ReplicationExecutionService } from '../executions/service.js';
import { ReplicationExecutionStore } from '../executions/store.js';
import { replicationJobTypes } from '../types.js';
import { registerPolicyRoutes } from './routes.js';
import { ReplicationPolicyService, type RegistryDirectory } from './service.js';
import { ReplicationPolicyStore } from './store.js';

export interface PolicyPartsDeps {
  db: Db;
  queue: JobQueue;
  scheduler: Scheduler;
  /** The registry endpoints (replication/registries' RegistryEndpointService); the policies register their usage check with it. */
  registries: RegistryDirectory;
}

/**
 * Policies and executions assembled for replication/compose.ts: the services, the execution
 * store the engine writes through, and their routes (/replication/policies, /replication/executions).
 */
export function createPolicyParts(deps: PolicyPartsDeps) {
  const executionStore = new ReplicationExecutionStore(deps.db);
  const policies = new ReplicationPolicyService(new ReplicationPolicyStore(deps.db), deps.scheduler, deps.registries, (policyId) =>
    executionStore.settle({ policyId }),
  );
  const executions = new ReplicationExecutionService(executionStore, deps.queue, policies);
  deps.queue.declareType(replicationJobTypes.execution);
  deps.queue.declareType(replicationJobTypes.task);
  return {
    policies,
    executions,
    executionStore,
    async registerRoutes(api: FastifyInstance, options: { guard: AccessGuard }): Promise<void> {
      await registerPolicyRoutes(api, { policies, guard: options.guard });
      await registerExecutionRoutes(api, { executions, guard: options.guard });
    },
  };
}

export type PolicyParts = ReturnType<typeof createPolicyParts>;
