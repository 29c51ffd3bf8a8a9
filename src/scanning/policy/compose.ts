import type { FastifyInstance } from 'fastify';
import type { AccessGuard } from '../../auth/guard.js';
import type { DialectHelpers } from '../../db/dialect.js';
import type { Db } from '../../db/index.js';
import type { JobQueue } from '../../jobs/queue.js';
import type { JobHandler } from '../../jobs/runner.js';
import type { Scheduler } from '../../jobs/scheduler.js';
import { toRef, type ProjectService } from '../../projects/service.js';
import type { RegistryService } from '../../registry/service.js';
import { registerCveExportRoutes } from '../export/routes.js';
import { CveExportService, cveExportJobType, cveExportPurgeJobType, type ExportOptions, type ExportPayload } from '../export/service.js';
import { ExportStore } from '../export/store.js';
import { registerSecurityHubRoutes } from '../securityhub/routes.js';
import { SecurityHubService } from '../securityhub/service.js';
import { SecurityHubStore } from '../securityhub/store.js';
import type { JobContext } from '../../jobs/runner.js';
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
  /** Tests shorten the CSV pieces and lifetimes. */
  exportOptions?: ExportOptions;
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
    scannableChildren: (id) => facts.scannableChildren(id),
    isSignature: (id) => facts.isSignature(id),
    isScannerSubject: deps.isScannerSubject,
  });
  deps.registry.pullPolicies.push(preventVulnerable);

  const securityHub = new SecurityHubService(new SecurityHubStore(deps.db, deps.dialect.name), deps.defaultRegistration);
  // The guard arrives with the routes (the server builds it after the features).
  let guard: AccessGuard | undefined;
  const cveExport = new CveExportService(
    new ExportStore(deps.db),
    deps.queue,
    {
      get guard() {
        if (!guard) throw new Error('CVE export used before its routes were registered');
        return guard;
      },
      async projectById(id) {
        const project = await deps.projects.byId(id);
        return project ? toRef(project) : null;
      },
    },
    deps.exportOptions,
  );
  deps.queue.declareType(cveExportJobType);

  return {
    allowlists,
    preventVulnerable,
    securityHub,
    cveExport,
    /** Job type → handler, for the runner. */
    handlers: {
      [cveExportJobType]: (ctx: JobContext) => cveExport.handle(ctx as JobContext<ExportPayload>),
      [cveExportPurgeJobType]: (ctx: JobContext) => cveExport.purge(ctx),
    } as Record<string, JobHandler>,
    /** Defines the hourly purge of old exports (once per database). */
    async start(): Promise<void> {
      await deps.scheduler.define({ name: cveExportPurgeJobType, jobType: cveExportPurgeJobType, cron: '23 * * * *' });
    },
    /** Under /api/v2.0. */
    async registerApiRoutes(api: FastifyInstance, routeDeps: { guard: AccessGuard }) {
      guard = routeDeps.guard;
      await registerPolicyRoutes(api, { allowlists, guard: routeDeps.guard });
      await registerSecurityHubRoutes(api, { securityHub, guard: routeDeps.guard });
      await registerCveExportRoutes(api, { cveExport });
    },
  };
}
