import type { FastifyInstance } from 'fastify';
import type { AccessGuard } from '../auth/guard.js';
import type { Db } from '../db/index.js';
import type { JobQueue } from '../jobs/queue.js';
import type { JobContext } from '../jobs/runner.js';
import type { Scheduler } from '../jobs/scheduler.js';
import { registerAuditPurgeRoutes } from './purge-routes.js';
import { auditPurgeJobType, AuditPurgeService, type PurgeJobPayload } from './purge-service.js';
import { AuditPurgeStore } from './purge-store.js';

export interface AuditPurgeDeps {
  db: Db;
  queue: JobQueue;
  scheduler: Scheduler;
  /** Whether audit records are forwarded to syslog (asked at each purge): a purge then keeps those not sent yet. */
  forwarding?: boolean | (() => boolean);
}

export type AuditPurge = ReturnType<typeof createAuditPurge>;

/** The audit log purge: the PURGE_AUDIT_LOG job (register `handle` on the runner) and /system/purgeaudit. */
export function createAuditPurge(deps: AuditPurgeDeps) {
  const service = new AuditPurgeService(new AuditPurgeStore(deps.db, deps.forwarding ?? false), deps.queue, deps.scheduler);
  deps.queue.declareType(auditPurgeJobType);
  return {
    service,
    jobType: auditPurgeJobType,
    handle: (ctx: JobContext<PurgeJobPayload>) => service.handle(ctx),
    registerApiRoutes: (app: FastifyInstance, routeDeps: { guard: AccessGuard }) =>
      registerAuditPurgeRoutes(app, { purge: service, guard: routeDeps.guard }),
  };
}
