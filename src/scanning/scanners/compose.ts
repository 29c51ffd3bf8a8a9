/**
 * The scanners feature assembled: registrations and their service, the built-in engine,
 * the adapter Berth serves at /scanner/api/v1 with its jobs, and the routes. The engine's
 * parts (inventory, matcher, SBOM documents) and the HTTP image source are passed in by
 * scanning/compose.ts.
 */
import type { FastifyInstance } from 'fastify';
import type { Authenticator } from '../../auth/authenticator.js';
import type { AccessGuard } from '../../auth/guard.js';
import type { Db } from '../../db/index.js';
import type { JobQueue } from '../../jobs/queue.js';
import type { JobContext, JobHandler } from '../../jobs/runner.js';
import type { Scheduler } from '../../jobs/scheduler.js';
import type { ProjectService } from '../../projects/service.js';
import { AdapterAuth } from './adapter-auth.js';
import { adapterBasePath, registerAdapterRoutes } from './adapter-routes.js';
import { adapterPruneJobType, adapterScanJobType, AdapterService, LocalAdapterClient, type ImageSourceFactory } from './adapter.js';
import { BuiltinScanner, type EngineParts } from './engine.js';
import { registerScannerRoutes } from './routes.js';
import { builtinScannerName, ScannerService } from './service.js';
import { ScannerStore } from './store.js';

export interface ScannersDeps {
  db: Db;
  queue: JobQueue;
  scheduler: Scheduler;
  authenticator: Pick<Authenticator, 'login'>;
  /** Berth's version: the built-in scanner's. */
  version: string;
  /** server.external_url, when set: the built-in registration's URL is `<external_url>/scanner`. */
  externalUrl: string | undefined;
  /** server.host/port, for the URL until the server listens (then setListenUrl). */
  listen: { host: string; port: number };
  adapter: { enabled: boolean; api_key?: string; basic_auth: boolean };
  parts: EngineParts;
  /** Part A's image source over another registry's /v2 (http-source.ts). */
  httpSource: ImageSourceFactory;
  /** Per adapter request, for remote adapters (Harbor: 5 s). */
  clientTimeoutMs?: number;
}

export function createScanners(deps: ScannersDeps) {
  const hostForUrl = (host: string) => (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host);
  let base = deps.externalUrl ?? `http://${hostForUrl(deps.listen.host)}:${deps.listen.port}`;
  const builtinUrl = () => `${base.replace(/\/+$/, '')}${adapterBasePath}`;

  const engine = new BuiltinScanner({ name: builtinScannerName, vendor: 'Berth', version: deps.version }, deps.parts);
  const adapter = new AdapterService(deps.db, deps.queue, engine, deps.httpSource);
  const store = new ScannerStore(deps.db, builtinUrl);
  const service = new ScannerService(store, new LocalAdapterClient(engine, adapter), { timeoutMs: deps.clientTimeoutMs });
  const adapterAuth = new AdapterAuth(deps.db, { apiKey: deps.adapter.api_key, basicAuth: deps.adapter.basic_auth }, deps.authenticator);

  deps.queue.declareType(adapterScanJobType);
  const handlers: Record<string, JobHandler> = {
    [adapterScanJobType]: (ctx: JobContext) => adapter.handle(ctx as JobContext<{ scanId: string }>),
    [adapterPruneJobType]: async (ctx: JobContext) => {
      await ctx.log(`removed ${await adapter.prune()} scanner adapter scan(s) older than a day`);
    },
  };

  return {
    service,
    engine,
    adapter,
    adapterAuth,
    handlers,
    /** The job type of scans other registries ask for: limit it like IMAGE_SCAN so a Harbor's scan-all cannot starve other jobs. */
    adapterScanJobType,
    /** Creates the built-in registration and the hourly prune schedule (once per database). */
    async start(): Promise<void> {
      await service.ensureBuiltin();
      await deps.scheduler.define({ name: adapterPruneJobType, jobType: adapterPruneJobType, cron: '17 * * * *' });
    },
    /** The URL the server listens on (when server.external_url is unset, the built-in registration's URL derives from it). */
    setListenUrl(url: string): void {
      // A wildcard address is not one a caller can use: loopback stands in (set server.external_url for other hosts).
      if (!deps.externalUrl) base = url.replace('//0.0.0.0:', '//127.0.0.1:').replace('//[::]:', '//[::1]:');
    },
    async registerApiRoutes(api: FastifyInstance, routeDeps: { guard: AccessGuard; projects: ProjectService }): Promise<void> {
      await registerScannerRoutes(api, {
        scanners: service,
        projects: routeDeps.projects,
        guard: routeDeps.guard,
        adapterAuth,
        adapterEnabled: deps.adapter.enabled,
        basicAuth: deps.adapter.basic_auth,
      });
    },
    async registerRootRoutes(app: FastifyInstance): Promise<void> {
      if (deps.adapter.enabled) await registerAdapterRoutes(app, { adapter, engine, auth: adapterAuth });
    },
    close(): void {
      service.close();
    },
  };
}

export type Scanners = ReturnType<typeof createScanners>;
