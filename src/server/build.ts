import cookie from '@fastify/cookie';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Logger } from 'pino';
import type { Authenticator } from '../auth/authenticator.js';
import type { AccessGuard } from '../auth/guard.js';
import { displayName } from '../auth/identity.js';
import type { RegistryAccess } from '../auth/registry-access.js';
import type { Config } from '../config/schema.js';
import type { Db } from '../db/index.js';
import { registerAuditRoutes, type AuditRouteDeps } from '../audit/routes.js';
import { registerSystemRoutes } from '../system/routes.js';
import type { SystemService } from '../system/service.js';
import { registerRegistryRoutes, type RegistryRouteDeps } from '../registry/routes.js';
import type { UserService } from '../users/service.js';
import { registerUserRoutes } from '../users/routes.js';
import { registerProjectRoutes } from '../projects/routes.js';
import type { ProjectService } from '../projects/service.js';
import { registerMemberRoutes } from '../members/routes.js';
import type { MemberService } from '../members/service.js';
import { registerRobotRoutes } from '../robots/routes.js';
import type { RobotService } from '../robots/service.js';
import { registerRepositoryRoutes } from '../repositories/routes.js';
import type { RepositoryService } from '../repositories/service.js';
import { registerSearchRoutes } from '../search/routes.js';
import type { SearchService } from '../search/service.js';
import { registerLabelRoutes } from '../labels/routes.js';
import { registerArtifactRoutes } from '../artifacts/routes.js';
import { registerJobRoutes, type JobRouteDeps } from '../jobservice/routes.js';
import type { ArtifactService } from '../artifacts/service.js';
import type { LabelService } from '../labels/service.js';
import { registerScrubRoutes } from '../scrub/routes.js';
import { registerGcRoutes } from '../gc/routes.js';
import type { AuditPurge } from '../audit/purge-compose.js';
import type { GcService } from '../gc/service.js';
import { registerImmutabilityRoutes } from '../immutability/routes.js';
import type { ImmutabilityService } from '../immutability/service.js';
import { registerRetentionRoutes } from '../retention/routes.js';
import type { RetentionService } from '../retention/service.js';
import { registerQuotaRoutes } from '../quotas/routes.js';
import type { QuotaService } from '../quotas/service.js';
import type { ScrubService } from '../scrub/service.js';
import type { Scanning } from '../scanning/compose.js';
import type { Preheat } from '../preheat/compose.js';
import type { Replication } from '../replication/compose.js';
import type { Signatures } from '../signatures/compose.js';
import type { Webhooks } from '../webhooks/compose.js';
import type { Settings } from '../settings/settings.js';
import type { Configurations } from '../configurations/compose.js';
import type { UserGroups } from '../usergroups/compose.js';
import type { Ldap } from '../ldap/compose.js';
import type { Oidc } from '../oidc/compose.js';
import { registerReadOnly } from './read-only.js';
import { registerAuthRoutes } from './auth-routes.js';
import { registerAuthentication } from './authenticate.js';
import { documentationOnlySchemas, registerOpenApi } from './openapi.js';
import { defaultPortalDir, registerPortal } from './portal.js';
import { clientErrorHandler, errorHandler, noteRequestProtocol } from './errors.js';
import { frameworkErrors } from './bad-url.js';
import { registerJsonBodyParser } from './json-body.js';
import { registerLastQueryValue } from './query-params.js';
import { settleUnreadBody } from './unread-body.js';
import { applyHttp1Timeouts, registerIdleTimeout, timeoutOptions, type ServerTimeouts } from './timeouts.js';
import { tlsServerOptions, type TlsConfig, type TlsPair } from './tls.js';
import { registerRateLimits } from '../ratelimit/hook.js';
import type { RateLimits } from '../ratelimit/limits.js';
import { registerSecurityHeaders } from './security-headers.js';
import { registerRequestIdHeader, requestId } from './request-id.js';
import type { Tracer } from '@opentelemetry/api';
import { registerHttpTracing, traceIdOf } from '../tracing/http.js';
import { registerMetricsHooks, type MetricsAccess } from '../metrics/routes.js';
import type { BerthMetrics } from '../metrics/registry.js';

export interface HttpDeps extends Omit<RegistryRouteDeps, 'access'> {
  logger: Logger;
  /** Counts the /v2 requests being answered, and when one last began or ended (background work such as GC yields to them). */
  inFlight?: { count: number; lastAt: number };
  accessLog: boolean;
  externalUrl: string | undefined;
  registryAccess: RegistryAccess;
  authenticator: Authenticator;
  guard: AccessGuard;
  users: UserService;
  projects: ProjectService;
  members: MemberService;
  robots: RobotService;
  repositories: RepositoryService;
  search: SearchService;
  labels: LabelService;
  artifacts: ArtifactService;
  db: Db;
  auth: Config['auth'];
  audit: Omit<AuditRouteDeps, 'guard'>;
  system: SystemService;
  jobs: Omit<JobRouteDeps, 'guard'>;
  scrub: ScrubService;
  quotas: QuotaService;
  gc: GcService;
  /** The audit log purge's routes: /system/purgeaudit…. */
  auditPurge?: Pick<AuditPurge, 'registerApiRoutes'>;
  immutability: ImmutabilityService;
  retention: RetentionService;
  /**
   * Scanning's routes, all registered here: /vulndb, /scanners, /projects/{p}/scanner, scans, scan all,
   * CVE allowlists, security hub, CVE export under /api/v2.0; the adapter API at /scanner/api/v1.
   */
  scanning?: Pick<Scanning, 'registerApiRoutes' | 'registerRootRoutes'>;
  /** P2P preheat's routes: /p2p/preheat/… and /projects/{p}/preheat/…. */
  preheat?: Pick<Preheat, 'registerApiRoutes'>;
  /** Replication's routes: /registries…, /replication/adapters, /replication/adapterinfos, /replication/policies…, /replication/executions…. */
  replication?: Pick<Replication, 'registerApiRoutes'>;
  /** Trusted keys: /projects/{p}/trust/keys… (Berth extension). */
  signatures?: Pick<Signatures, 'registerApiRoutes'>;
  /** Webhooks' routes: /projects/{p}/webhook/…. */
  webhooks?: Pick<Webhooks, 'registerApiRoutes'>;
  /** System settings (read-only mode, self-registration, … asked per request). */
  settings: Settings;
  /** GET/PUT /configurations. */
  configurations?: Pick<Configurations, 'registerApiRoutes'>;
  /** /usergroups…. */
  userGroups?: Pick<UserGroups, 'registerApiRoutes'>;
  /** /ldap/…. */
  ldap?: Pick<Ldap, 'registerApiRoutes'>;
  /** /system/oidc/ping, /users/{id}/cli_secret; /c/oidc/…. */
  oidc?: Pick<Oidc, 'registerApiRoutes' | 'registerRootRoutes' | 'userMeta' | 'logoutLocation'>;
  /** The built portal; web/dist of this checkout unless given. */
  portalDir?: string;
  /** Limits on slow clients (config `server.*_timeout_seconds`). */
  timeouts: ServerTimeouts;
  /** A server span per request when tracing is on (OTEL_* variables). */
  tracer?: Tracer;
  /** Prometheus metrics: every request counted; `serve` when the main port answers them (config `metrics`). */
  metrics?: { metrics: BerthMetrics; serve?: MetricsAccess };
  /** HTTPS with HTTP/2 on the same port (config `server.tls`), with the pair read at startup. */
  tls?: { config: TlsConfig; pair: TlsPair };
  /** Requests per client and per user (config `rate_limits`), when enabled. */
  rateLimits?: RateLimits;
  /** Fastify's trustProxy (config `server.trust_proxy`): which X-Forwarded-* headers to believe. */
  trustProxy?: boolean | number | string | string[];
}

export const apiPrefix = '/api/v2.0';

/** Assembles the HTTP server from every feature's routes. */
export async function buildHttpServer(deps: HttpDeps): Promise<FastifyInstance> {
  const served = deps.tls !== undefined || (deps.externalUrl?.startsWith('https:') ?? false);
  const app = Fastify({
    ...(deps.tls && tlsServerOptions(deps.tls.config, deps.tls.pair)),
    trustProxy: deps.trustProxy ?? false,
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Fastify's two lines per request are replaced by one access line (log.access).
    logController: new LogController({ disableRequestLogging: true }),
    // The request's id (in its log lines and X-Request-Id): the caller's X-Request-ID when sound.
    genReqId: requestId,
    requestIdHeader: false,
    exposeHeadRoutes: false,
    // Large blobs stream for as long as they need at any steady speed; silent clients are cut off.
    ...timeoutOptions(deps.timeouts),
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    // Harbor API paths carry sha512 digests and long nested repository names.
    routerOptions: { ignoreDuplicateSlashes: true, maxParamLength: 1024 },
    clientErrorHandler,
    frameworkErrors: frameworkErrors(deps.externalUrl),
    schemaController: documentationOnlySchemas,
  } as FastifyServerOptions) as unknown as FastifyInstance;
  if (deps.tls) applyHttp1Timeouts(app.server as object, deps.timeouts);
  app.setErrorHandler(errorHandler(deps.externalUrl));
  registerJsonBodyParser(app);
  registerLastQueryValue(app);
  registerIdleTimeout(app, deps.timeouts.idleMs);
  if (deps.tracer) registerHttpTracing(app, deps.tracer);
  registerRequestIdHeader(app);
  app.addHook('onRequest', (req, reply, done) => {
    noteRequestProtocol(req.raw);
    const inFlight = deps.inFlight;
    if (inFlight && req.url.startsWith('/v2')) {
      inFlight.count += 1;
      inFlight.lastAt = Date.now();
      reply.raw.once('close', () => {
        inFlight.count -= 1;
        inFlight.lastAt = Date.now();
      });
    }
    done();
  });
  if (deps.metrics) registerMetricsHooks(app, deps.metrics.metrics, deps.metrics.serve);
  // Every answer, success or error, leaves its connection ready for the next request.
  app.addHook('onSend', async (req, reply, payload) => {
    settleUnreadBody(req.raw, reply.raw);
    return payload;
  });
  app.addHook('onSend', async (req, reply, payload) => {
    if (req.url.startsWith('/v2')) reply.header('docker-distribution-api-version', 'registry/2.0');
    return payload;
  });
  if (deps.accessLog) {
    app.addHook('onResponse', async (req, reply) => {
      req.log.info(
        {
          method: req.method,
          url: req.url,
          status: reply.statusCode,
          ms: Math.round(reply.elapsedTime),
          user: displayName(req.identity),
          ...(deps.tracer ? { trace_id: traceIdOf(req) } : {}),
        },
        'request',
      );
    });
  }
  await registerSecurityHeaders(app, { tls: served });
  await app.register(cookie);
  if (deps.rateLimits) registerRateLimits(app, deps.rateLimits);
  registerAuthentication(app, deps.authenticator);
  registerReadOnly(app, deps.settings);
  await registerOpenApi(app, { prefix: apiPrefix });

  await registerRegistryRoutes(app, { ...deps, access: deps.registryAccess });
  await registerAuthRoutes(app, {
    authenticator: deps.authenticator,
    registryAccess: deps.registryAccess,
    db: deps.db,
    secureCookies: served,
    sessionTimeoutMinutes: () => deps.settings.current().session_timeout,
    oidcLogoutLocation: deps.oidc
      ? (userId, requestBaseUrl) => deps.oidc!.logoutLocation(userId, `${(deps.externalUrl ?? requestBaseUrl).replace(/\/+$/, '')}/sign-in`)
      : undefined,
  });
  await app.register(
    async (api) => {
      await registerUserRoutes(api, {
        users: deps.users,
        guard: deps.guard,
        authenticator: deps.authenticator,
        selfRegistration: () => deps.settings.current().self_registration,
        authMode: () => deps.settings.current().auth_mode,
        oidcMeta: deps.oidc ? (userId) => deps.oidc!.userMeta(userId) : undefined,
      });
      await registerAuditRoutes(api, { ...deps.audit, guard: deps.guard });
      await registerSystemRoutes(api, { system: deps.system, guard: deps.guard });
      await registerProjectRoutes(api, {
        projects: deps.projects,
        members: deps.members,
        guard: deps.guard,
        projectCreation: () => deps.settings.current().project_creation_restriction,
        onDeleted: async (projectId, actor) => {
          deps.authenticator.invalidate();
          await deps.labels.deleteForProject(projectId, actor);
        },
      });
      await registerMemberRoutes(api, { members: deps.members, projects: deps.projects, guard: deps.guard });
      await registerRobotRoutes(api, { robots: deps.robots });
      await registerRepositoryRoutes(api, {
        repositories: deps.repositories,
        members: deps.members,
        projects: deps.projects,
        guard: deps.guard,
      });
      await registerSearchRoutes(api, { search: deps.search, members: deps.members });
      await registerLabelRoutes(api, { labels: deps.labels });
      await registerArtifactRoutes(api, { artifacts: deps.artifacts, projects: deps.projects, guard: deps.guard });
      await registerJobRoutes(api, { ...deps.jobs, guard: deps.guard });
      await registerScrubRoutes(api, { scrub: deps.scrub, guard: deps.guard });
      await registerGcRoutes(api, { gc: deps.gc, guard: deps.guard });
      if (deps.auditPurge) await deps.auditPurge.registerApiRoutes(api, { guard: deps.guard });
      await registerImmutabilityRoutes(api, { immutability: deps.immutability, projects: deps.projects, guard: deps.guard });
      await registerRetentionRoutes(api, { retention: deps.retention, projects: deps.projects, guard: deps.guard });
      await registerQuotaRoutes(api, { quotas: deps.quotas, guard: deps.guard });
      if (deps.scanning) await deps.scanning.registerApiRoutes(api, { guard: deps.guard });
      if (deps.preheat) await deps.preheat.registerApiRoutes(api, { guard: deps.guard });
      if (deps.replication) await deps.replication.registerApiRoutes(api, { guard: deps.guard });
      if (deps.signatures) await deps.signatures.registerApiRoutes(api, { guard: deps.guard });
      if (deps.webhooks) await deps.webhooks.registerApiRoutes(api, { guard: deps.guard });
      if (deps.configurations) await deps.configurations.registerApiRoutes(api, { guard: deps.guard });
      if (deps.userGroups) await deps.userGroups.registerApiRoutes(api, { guard: deps.guard });
      if (deps.ldap) await deps.ldap.registerApiRoutes(api, { guard: deps.guard });
      if (deps.oidc) await deps.oidc.registerApiRoutes(api, { guard: deps.guard });
    },
    { prefix: apiPrefix },
  );
  if (deps.scanning) await deps.scanning.registerRootRoutes(app);
  if (deps.oidc) await deps.oidc.registerRootRoutes(app);
  const portalRoute = await registerPortal(app, deps.portalDir ?? defaultPortalDir);
  app.setNotFoundHandler((req, reply) => {
    if (portalRoute(req, reply)) return;
    reply.code(404).send({ errors: [{ code: 'NOT_FOUND', message: `nothing at ${req.method} ${req.url}` }] });
  });
  return app;
}
