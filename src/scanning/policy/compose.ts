import type { FastifyInstance } from 'fastify';
import type { AccessGuard } from '../../auth/guard.js';
import type { DialectHelpers } from '../../db/dialect.js';
import type { Db } from '../../db/index.js';
import type { JobQueue } from '../../jobs/queue.js';
import type { JobHandler } from '../../jobs/runner.js';
import type { Scheduler } from '../../jobs/scheduler.js';
import type { ProjectService } from '../../projects/service.js';
import type { RegistryService } from '../../registry/service.js';
import { AllowlistStore } from './allowlist-store.js';
import { AllowlistService } from './allowlists.js';
import { ArtifactFacts } from './artifact-facts.js';
import { PreventVulnerablePolicy, type PreventVulnerableDeps } from './prevent-vulnerable.js';
import { registerPolicyRoutes } from './routes.js';

export interface PolicyDeps {
  db: Db;
  dialect: DialectHelpers;
  queue: JobQueue;
  scheduler: Scheduler;
  registry: RegistryService;
  projects: ProjectService;
  /** E's ScanResults.forPolicy. */
  forPolicy: PreventVulnerableDeps['forPolicy'];
  /** The uuid of the project's scanner (else the default); null when none. */
  registrationFor(projectId: number): Promise<string | null>;
  /** The uuid of the system's default scanner; null when none (the security hub reads its reports). */
  defaultRegistration(): Promise<string | null>;
  /** E's isScannerSubject: a scanner's own pull credential. */
  isScannerSubject(subject: string): boolean;
}

/**
 * Scanning policies (part F): CVE allowlists, the prevent-vulnerable pull gate, the security
 * hub and CVE export. Plugs itself into the registry's pull policies and the projects'
 * allowlist seam; the caller registers `handlers` on the runner and `registerApiRoutes`
 * under /api/v2.0.
 */
export function createPolicies(deps: PolicyDeps) {
  const allowlists = new AllowlistService(new AllowlistStore(deps.db));
  deps.projects.allowlists = allowlists;
  const facts = new ArtifactFacts(deps.db);
  const preventVulnerable = new PreventVulnerablePolicy({
    forPolicy: deps.forPolicy,
    registrationFor: deps.registrationFor,
    allowlistFor: (projectId, metadata) => allowlists.effective(projectId, metadata),
    scannable: (id) => facts.scannable(id),
    isSignature: (id) => facts.isSignature(id),
    isScannerSubject: deps.isScannerSubject,
  });
  deps.registry.pullPolicies.push(preventVulnerable);

  return {
    allowlists,
    preventVulnerable,
    handlers: {} as Record<string, JobHandler>,
    async registerApiRoutes(api: FastifyInstance, routeDeps: { guard: AccessGuard }) {
      await registerPolicyRoutes(api, { allowlists, guard: routeDeps.guard });
    },
  };
}
