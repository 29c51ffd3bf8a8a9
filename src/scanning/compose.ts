/**
 * Scanning assembled for the server (app.ts makes one call): the vulnerability database (C),
 * scanner registrations, the built-in engine and the adapter Berth serves (D), scans and scan
 * all (E), policies (F) and SBOM accessories (G), over the image walk (A, B). Each part's own
 * compose builds it; this file only connects them.
 */
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { ArtifactService } from '../artifacts/service.js';
import type { Authenticator } from '../auth/authenticator.js';
import type { AccessGuard } from '../auth/guard.js';
import type { TokenService } from '../auth/tokens.js';
import type { Config } from '../config/schema.js';
import type { DialectHelpers } from '../db/dialect.js';
import type { Db } from '../db/index.js';
import type { Dispatcher } from '../events/outbox.js';
import type { JobQueue } from '../jobs/queue.js';
import type { JobContext, JobHandler, JobRunner } from '../jobs/runner.js';
import type { Scheduler } from '../jobs/scheduler.js';
import type { ProjectService } from '../projects/service.js';
import type { RegistryService } from '../registry/service.js';
import type { UploadService } from '../registry/uploads.js';
import { HttpImageSource } from './inventory/http-source.js';
import { LocalImageSource } from './inventory/local-source.js';
import { createPolicies } from './policy/compose.js';
import { attachSbom, removeSbom } from './sbom/accessory.js';
import { adapterScanJobType } from './scanners/adapter.js';
import { createScanners } from './scanners/compose.js';
import type { ScannerRegistration } from './scanners/registration.js';
import { autoScanHandler, autoScanSubscriber, scanOnPushHandler, scanOnPushJobType, type ScanOnPushPayload } from './scans/auto-scan.js';
import { isScannerSubject, tokenCredentials } from './scans/credential.js';
import type { RegistrationLookup, RemoteScanners, ScanEngine, ScanRegistration, SbomAccessories } from './scans/ports.js';
import { ScanResults } from './scans/results.js';
import { registerScanRoutes } from './scans/routes.js';
import { scanAllJobType, ScanAllService, type ScanAllPayload } from './scans/scan-all.js';
import { imageScanJobType, ScanService, type ImageScanPayload } from './scans/service.js';
import { ScanStore } from './scans/store.js';
import { ScanTargets } from './scans/targets.js';
import { createVulnDb } from './vulndb/compose.js';

export interface ScanningDeps {
  config: Config;
  db: Db;
  dialect: DialectHelpers;
  queue: JobQueue;
  runner: JobRunner;
  scheduler: Scheduler;
  dispatcher: Dispatcher;
  registry: RegistryService;
  uploads: UploadService;
  artifacts: ArtifactService;
  projects: ProjectService;
  authenticator: Authenticator;
  tokens: TokenService;
  version: string;
  dataDir: string;
  /** Whether /v2 requests are being answered (scan all yields to them, as GC does). */
  busy?: () => boolean;
}

function asScanRegistration(reg: ScannerRegistration): ScanRegistration {
  return {
    uuid: reg.uuid,
    name: reg.name,
    url: reg.url,
    disabled: reg.disabled,
    builtin: reg.builtin,
    useInternalAddr: reg.useInternalAddr,
  };
}

export function createScanning(deps: ScanningDeps) {
  const { config, db, queue, runner } = deps;

  const vulndb = createVulnDb({
    db,
    dialect: deps.dialect,
    queue,
    config: config.scanning.vulndb,
    tempDir: path.join(deps.dataDir, 'tmp'),
    scheduler: deps.scheduler,
  });

  let listenUrl = `http://${config.server.host === '0.0.0.0' || config.server.host === '::' ? '127.0.0.1' : config.server.host}:${config.server.port}`;
  const scanners = createScanners({
    db,
    queue,
    scheduler: deps.scheduler,
    authenticator: deps.authenticator,
    version: deps.version,
    externalUrl: config.server.external_url,
    listen: { host: config.server.host, port: config.server.port },
    adapter: config.scanning.adapter,
    parts: {
      // The analyzers and SBOM writers (and their archive, version and CycloneDX libraries) are
      // loaded by the first scan, not by every start.
      inventoryOf: async (source, digest) => (await import('./inventory/index.js')).inventoryOf(source, digest),
      platformManifests: async (source, digest) => (await import('./inventory/index.js')).platformManifests(source, digest),
      matcher: vulndb.matcher,
      sbomDocument: async (mediaType, inventory, subject, tool) =>
        (await import('./sbom/index.js')).sbomDocument(mediaType, inventory, subject, tool),
    },
    httpSource: (registryUrl, repository, authorization, options) =>
      new HttpImageSource({ registryUrl, repository, authorization, insecure: options.insecure }),
  });

  const registrations: RegistrationLookup = {
    async forProject(projectId) {
      const reg = await scanners.service.forProject(projectId);
      return reg ? asScanRegistration(reg) : null;
    },
    async byUuid(uuid) {
      const reg = await scanners.service.byUuid(uuid);
      return reg ? asScanRegistration(reg) : null;
    },
  };
  const engine: ScanEngine = {
    info: () => scanners.engine.info,
    async scan(source, artifact, capabilities, signal) {
      const out = await scanners.engine.scan(
        source,
        { repository: artifact.repository, digest: artifact.digest, tag: artifact.tag, mimeType: artifact.mime_type },
        capabilities,
        signal,
      );
      return { vulnerability: out.vulnerability, sbom: out.sbom?.[0] };
    },
  };
  const remote: RemoteScanners = {
    async scan(uuid, request) {
      const reg = await scanners.service.get(uuid);
      return (await scanners.service.clientFor(reg).scan(request)).id;
    },
    async report(uuid, id, mimeType) {
      const reg = await scanners.service.get(uuid);
      const sbomMediaType = mimeType.startsWith('application/vnd.security.sbom.report') ? ('application/spdx+json' as const) : undefined;
      const answer = await scanners.service.clientFor(reg).report(id, mimeType, { sbomMediaType });
      if (answer.status === 'pending') return answer;
      try {
        return { status: 'ready', body: JSON.parse(answer.body) as unknown };
      } catch {
        throw new Error(`the scanner's report for scan ${id} is not JSON`);
      }
    },
  };
  const sbomDeps = { registry: deps.registry, uploads: deps.uploads, artifacts: deps.artifacts };
  const sboms: SbomAccessories = {
    attach: (input) => attachSbom(sbomDeps, input),
    async remove(repository, digest) {
      await removeSbom(sbomDeps, repository, digest);
    },
  };

  const store = new ScanStore(db);
  const targets = new ScanTargets(db);
  const scans = new ScanService({
    db,
    store,
    targets,
    queue,
    registrations,
    sboms,
    engine,
    sources: (repository) => new LocalImageSource(deps.registry, repository),
    remote,
    credentials: tokenCredentials(deps.tokens, { externalUrl: config.server.external_url, internalUrl: () => listenUrl }),
    busy: deps.busy,
  });
  const results = new ScanResults(store, targets, registrations);
  const scanAll = new ScanAllService(db, store, targets, scans, queue, deps.scheduler, { busy: deps.busy });
  deps.artifacts.scans = results;

  const policies = createPolicies({
    db,
    dialect: deps.dialect,
    queue,
    scheduler: deps.scheduler,
    registry: deps.registry,
    projects: deps.projects,
    async forPolicy(repositoryId, digests, uuid) {
      const found = await results.forPolicy(repositoryId, digests, uuid);
      // F reads the findings; an overall 'None' (nothing found) is no severity to compare.
      return new Map([...found].map(([digest, r]) => [digest, { ...r, severity: r.severity === 'None' ? null : r.severity }]));
    },
    registrationFor: async (projectId) => (await scanners.service.forProject(projectId))?.uuid ?? null,
    defaultRegistration: () => scanners.service.defaultRegistration(),
    isScannerSubject,
  });

  // Jobs: scans are limited per instance so a scan-all never takes every slot.
  const handlers: Record<string, JobHandler> = {
    ...vulndb.handlers,
    ...scanners.handlers,
    ...policies.handlers,
    [imageScanJobType]: (ctx: JobContext) => scans.handle(ctx as JobContext<ImageScanPayload>),
    [scanAllJobType]: (ctx: JobContext) => scanAll.handle(ctx as JobContext<ScanAllPayload>),
    [scanOnPushJobType]: scanOnPushHandler(scans, targets) as JobHandler,
  };
  for (const [type, handle] of Object.entries(handlers)) runner.register(type, handle);
  const scanSlots = Math.min(config.scanning.concurrency, Math.max(1, runner.concurrency - 1));
  runner.limitType(imageScanJobType, scanSlots);
  // Scans another registry asks Berth's adapter for: the same bound (a Harbor's scan-all would take every slot).
  runner.limitType(adapterScanJobType, scanSlots);
  deps.dispatcher.subscribe(autoScanSubscriber, autoScanHandler(queue, targets), { start: 'latest' });

  return {
    vulndb,
    scanners,
    policies,
    scans,
    scanAll,
    results,
    /** Creates the built-in registration and the scanners' schedules (once per database). */
    async start(): Promise<void> {
      await vulndb.start();
      await scanners.start();
      await policies.start();
    },
    /** The URL the server listens on: the built-in registration's and the internal registry address derive from it. */
    setListenUrl(url: string): void {
      listenUrl = url;
      scanners.setListenUrl(url);
    },
    /** Routes under /api/v2.0. */
    async registerApiRoutes(api: FastifyInstance, routeDeps: { guard: AccessGuard }): Promise<void> {
      await vulndb.registerApiRoutes(api, routeDeps);
      await scanners.registerApiRoutes(api, { guard: routeDeps.guard, projects: deps.projects });
      await policies.registerApiRoutes(api, routeDeps);
      await registerScanRoutes(api, {
        scans,
        scanAll,
        results,
        artifacts: deps.artifacts,
        projects: deps.projects,
        guard: routeDeps.guard,
      });
    },
    /** Routes at the root: the Pluggable Scanner API Berth serves (/scanner/api/v1). */
    async registerRootRoutes(app: FastifyInstance): Promise<void> {
      await scanners.registerRootRoutes(app);
    },
    close(): void {
      scanners.close();
    },
  };
}

export type Scanning = ReturnType<typeof createScanning>;
export type { ScanOnPushPayload };
