import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { Logger } from 'pino';
import { AccessGuard } from './auth/guard.js';
import { Authenticator } from './auth/authenticator.js';
import { userIdentity, type Principals } from './auth/principals.js';
import { RegistryAccess } from './auth/registry-access.js';
import { SessionStore } from './auth/sessions.js';
import { LoginThrottle } from './auth/throttle.js';
import { TokenService } from './auth/tokens.js';
import { signingKeyFromDatabase, signingKeyFromFile } from './auth/signing-key.js';
import { openSecretBox, Secrets } from './auth/secret-box.js';
import { resolvePaths, type ResolvedPaths } from './config/load.js';
import type { Config } from './config/schema.js';
import { migrate, openDatabase, type DatabaseHandle } from './db/index.js';
import { buildHttpServer } from './server/build.js';
import { readTlsPair, watchTlsFiles, type TlsReloader } from './server/tls.js';
import { RateLimits } from './ratelimit/limits.js';
import { ProjectService } from './projects/service.js';
import { ProjectStore } from './projects/store.js';
import { RepositoryService } from './repositories/service.js';
import { RepositoryStore } from './repositories/store.js';
import { SearchService } from './search/service.js';
import { PullRecorder } from './registry/pulls.js';
import { RegistryService } from './registry/service.js';
import { ProcessorDescriber } from './artifacts/describe.js';
import { ArtifactService } from './artifacts/service.js';
import { ArtifactStore } from './artifacts/store.js';
import { RegistryStore } from './registry/store.js';
import { UploadService } from './registry/uploads.js';
import { openBlobStore } from './storage/open.js';
import type { BlobStore } from './storage/blobstore.js';
import { MemberStore } from './members/store.js';
import { MemberService } from './members/service.js';
import { AuditService } from './audit/service.js';
import { AuditStore } from './audit/store.js';
import { SystemService } from './system/service.js';
import { version } from './version.js';
import { createLogger } from './lib/logger.js';
import type { TracingSettings } from './tracing/settings.js';
import { tracedDialect } from './tracing/db.js';
import { tracedBlobStore } from './tracing/blobstore.js';
import { adminUsername, UserService } from './users/service.js';
import { UserStore } from './users/store.js';
import { RobotService } from './robots/service.js';
import { RobotStore } from './robots/store.js';
import { LabelService } from './labels/service.js';
import { LabelStore } from './labels/store.js';
import { JobQueue } from './jobs/queue.js';
import { JobRunner } from './jobs/runner.js';
import { Scheduler } from './jobs/scheduler.js';
import { Dispatcher } from './events/outbox.js';
import { createScrub } from './scrub/compose.js';
import { createGc } from './gc/compose.js';
import { createAuditPurge } from './audit/purge-compose.js';
import { setDisabledAuditEventTypes } from './events/audit.js';
import type { AuditPurgeService } from './audit/purge-service.js';
import type { AuditForwarder } from './audit/forward.js';
import { forwardFromNow, LiveAuditForwarding } from './audit/forward-live.js';
import { ImmutabilityService } from './immutability/service.js';
import { ImmutabilityStore } from './immutability/store.js';
import { createRetention } from './retention/compose.js';
import { createScanning, type Scanning } from './scanning/compose.js';
import { createPreheat, isPreheatSubject, type Preheat } from './preheat/compose.js';
import { createWebhooks, type Webhooks } from './webhooks/compose.js';
import { createReplication, type Replication } from './replication/compose.js';
import { createProxyCache } from './proxycache/compose.js';
import { createSignatures, type Signatures } from './signatures/compose.js';
import { isScannerSubject } from './scanning/scans/credential.js';
import type { Scanners } from './scanning/scanners/compose.js';
import type { VulnDbService } from './scanning/vulndb/service.js';
import type { VulnMatcher } from './scanning/vulndb/matcher.js';
import type { RetentionService } from './retention/service.js';
import type { GcService } from './gc/service.js';
import type { ScrubService } from './scrub/service.js';
import { QuotaService } from './quotas/service.js';
import { QuotaStore } from './quotas/store.js';
import { QuotaUsage } from './quotas/usage.js';
import { settingsFromConfig } from './settings/file.js';
import { Settings } from './settings/settings.js';
import { createConfigurations } from './configurations/compose.js';
import { createUserGroups, type UserGroups } from './usergroups/compose.js';
import { createLdap, type Ldap } from './ldap/compose.js';
import { createOidc, type Oidc } from './oidc/compose.js';
import type { Metrics } from './metrics/compose.js';
import { parseBasic } from './auth/authenticator.js';

export interface Berth {
  config: Config;
  paths: ResolvedPaths;
  logger: Logger;
  database: DatabaseHandle;
  http: FastifyInstance;
  projects: ProjectService;
  repositories: RepositoryService;
  registry: RegistryService;
  uploads: UploadService;
  pulls: PullRecorder;
  users: UserService;
  guard: AccessGuard;
  authenticator: Authenticator;
  labels: LabelService;
  artifacts: ArtifactService;
  /** The durable job queue, this instance's runner and scheduler, and the outbox dispatcher. */
  jobs: { queue: JobQueue; runner: JobRunner; scheduler: Scheduler; dispatcher: Dispatcher };
  /** Integrity scrub (the SCRUB job, /system/scrub). */
  scrub: ScrubService;
  /** Garbage collection (the GARBAGE_COLLECTION job, /system/gc). */
  gc: GcService;
  /** The audit log purge (the PURGE_AUDIT_LOG job, /system/purgeaudit). */
  auditPurge: AuditPurgeService;
  /** The audit records' forwarder to syslog running now (the audit_log_forward_endpoint setting), or null when off. */
  auditForwarder: AuditForwarder | null;
  /** Tag immutability rules (/projects/{p}/immutabletagrules), asked by every tag move and delete. */
  immutability: ImmutabilityService;
  /** Tag retention (/retentions; RETENTION and RETENTION_TASK jobs). */
  retention: RetentionService;
  /** Project quotas: limits, usage kept in the push transactions, /quotas. */
  quotas: QuotaService;
  /** The vulnerability database (OSV records; VULNDB_UPDATE job, /vulndb) and its matcher. */
  vulndb: { service: VulnDbService; matcher: VulnMatcher };
  /** Scanner registrations, the built-in scanner and the Pluggable Scanner API it serves (/scanners, /scanner/api/v1). */
  scanners: Scanners;
  /** Everything scanning: the parts above, scans and scan all, policies (scanning/compose.ts). */
  scanning: Scanning;
  /** P2P preheat: provider instances, project policies, executions and their jobs (preheat/compose.ts). */
  preheat: Preheat;
  /** Registry endpoints, replication policies, executions and the copy engine (replication/compose.ts). */
  replication: Replication;
  /** Webhook policies, the outbox subscriber that turns events into deliveries, the WEBHOOK jobs (webhooks/compose.ts). */
  webhooks: Webhooks;
  /** Signature policies on /v2, trusted keys and the artifacts' `signatures` field (signatures/compose.ts). */
  signatures: Signatures;
  /** The system settings of /configurations, shared by every instance through the database. */
  settings: Settings;
  /** User groups (/usergroups) and the groups users belong to. */
  userGroups: UserGroups;
  /** LDAP sign-in and /ldap/… (auth_mode ldap_auth). */
  ldap: Ldap;
  /** OIDC sign-in, onboarding and CLI secrets (auth_mode oidc_auth). */
  oidc: Oidc;
  /** The box that seals stored credentials, and the features' resealers `berth secrets rotate` runs. */
  secrets: Secrets;
  /** Prometheus metrics (config `metrics`), or null when they are off. */
  metrics: Metrics | null;
  /** Starts listening; returns the base URL. */
  listen(): Promise<string>;
  /** Lets in-flight requests finish, flushes pending writes and closes everything. */
  close(): Promise<void>;
  /** While close() runs, what it waits for (for the message of a shutdown that runs out of time). */
  readonly closing: string | null;
}

/** The job that removes upload sessions idle for longer than registry.upload_ttl_hours. */
export const purgeStaleUploadsJob = 'upload.purge_stale';
/** The job that removes expired portal sessions and finished failed-login counters, hourly. */
export const purgeAuthJob = 'auth.purge_stale';

/** Seams for tests: faults injected around real parts. */
export interface BerthSeams {
  /** Wraps the blob store the configuration opens (a disk that fills up, a slow publish). */
  wrapBlobStore?: (store: BlobStore) => BlobStore;
  /** Tracing's settings (main.ts reads them from the OTEL_* variables); absent or null, tracing is off. */
  tracing?: TracingSettings | null;
}

/** The composition root: config → db → storage → services → http. */
export async function createBerth(config: Config, logger: Logger = createLogger(config), seams: BerthSeams = {}): Promise<Berth> {
  const paths = resolvePaths(config);
  // server.tls: the certificate and key are checked before anything else opens.
  const tlsPair = config.server.tls ? await readTlsPair(config.server.tls) : undefined;
  // The system settings' file values, checked before anything opens: a bad one stops the start.
  const fileSettings = settingsFromConfig(config);
  // Tracing: off, nothing is wrapped and no span is made; the SDK is loaded only when it is on.
  const tracing = seams.tracing ? await (await import('./tracing/provider.js')).startTracing(seams.tracing, { version }) : null;
  const database = openDatabase(config, {
    onError: (err) => logger.warn({ err }, 'an idle database connection failed'),
    wrapDialect: tracing ? (dialect, system) => tracedDialect(dialect, tracing.tracer, system) : undefined,
  });
  const applied = await migrate(database);
  if (applied.length > 0) logger.info({ migrations: applied }, 'database migrated');
  // Stored credentials (registry endpoints, preheat instances) are sealed with this box.
  const secrets = new Secrets(await openSecretBox(database.db, config.secrets));
  // System settings (/configurations): the database's values over the configuration file's.
  const settings = new Settings(database.db, secrets.box, fileSettings, { logger });
  await settings.load();
  // Audit records to syslog: its cursor starts at the newest record, before anything writes more.
  // The forwarder follows the settings (audit_log_forward_endpoint, skip_audit_log_database) on every instance.
  const auditDeps = { db: database.db, dialect: database.dialect };
  const auditForwarding = new LiveAuditForwarding(auditDeps, { pollIntervalMs: config.jobs.poll_interval_ms, logger });
  await auditForwarding.prepare(settings.current());
  settings.onChange((next) => void auditForwarding.apply(next));
  // Audit records of the disabled event types are not written (events/audit.ts holds the filter).
  setDisabledAuditEventTypes(settings.current().disabled_audit_log_event_types);
  settings.onChange((next) => setDisabledAuditEventTypes(next.disabled_audit_log_event_types));

  const store = await openBlobStore(config.storage, { root: paths.storageRoot, warn: (message) => logger.warn(message) });
  const opened = tracing ? tracedBlobStore(store, tracing.tracer, config.storage.driver) : store;
  // Metrics (config `metrics`): off, nothing is counted and nothing is wrapped.
  // prom-client is loaded only when they are on.
  const metrics = config.metrics.enabled
    ? (await import('./metrics/compose.js')).createMetrics(config.metrics, { pool: database.poolStats })
    : null;
  const seamed = seams.wrapBlobStore ? seams.wrapBlobStore(opened) : opened;
  const blobs = metrics ? metrics.instrument(seamed) : seamed;
  // Reported, not fatal: /health keeps saying so until the store answers.
  blobs.check().catch((err) => logger.warn({ err }, 'the blob store is not reachable'));

  // Usage is kept by every transaction that links or unlinks (registry, repositories, GC).
  const quotaUsage = new QuotaUsage(database.dialect, {
    warningPercent: config.quota.warning_percent,
    enforced: () => settings.current().quota_per_project_enable,
  });
  const quotas = new QuotaService(database.db, new QuotaStore(database.db, quotaUsage), quotaUsage);
  // Projects count repositories, and repositories look up public projects, each through the other's service.
  const projects: ProjectService = new ProjectService(
    new ProjectStore(database.db, database.changeStamp),
    { countsByProject: (ids) => repositories.countsByProject(ids) },
    quotas,
    { storageLimit: () => settings.current().storage_per_project },
  );
  const immutability = new ImmutabilityService(new ImmutabilityStore(database.db), { postgres: database.dialect.name === 'postgres' });
  const repositories: RepositoryService = new RepositoryService(
    Object.assign(new RepositoryStore(database.db, quotaUsage), { tagProtection: immutability }),
    {
      publicProjectIds: () => projects.ids({ visibility: { kind: 'all' }, public: true }),
    },
  );

  const registryStore = new RegistryStore(database.db, database.dialect, quotaUsage, database.changeStamp);
  registryStore.tagProtection = immutability;
  const pulls = new PullRecorder(registryStore, {
    intervalMs: 5000,
    auditPulls: config.log.audit_pulls,
    onError: (err) => logger.warn({ err }, 'recording pulls failed'),
    skipsPullTime: (username) => settings.current().scanner_skip_update_pulltime && isScannerSubject(username),
  });
  const describer = new ProcessorDescriber(
    blobs,
    (repositoryId, digest) => registryStore.manifestBytesByDigest(repositoryId, digest),
    (err) => logger.warn({ err }, 'reading an artifact for its description failed'),
  );
  const registry = new RegistryService(registryStore, blobs, projects, pulls, describer, {
    maxManifestBytes: config.registry.max_manifest_bytes,
    manifestCacheEntries: config.registry.manifest_cache_entries,
  });
  const uploads = new UploadService(registryStore, blobs, registry);

  const users = new UserService(new UserStore(database.db), { endSessions: (userId, keep) => sessions.endForUser(userId, keep) });
  const generatedPassword = await users.ensureAdmin(config.auth.admin_password);
  if (generatedPassword) {
    // Printed once, on the start that creates the account; never stored in clear.
    process.stdout.write(
      `\nBerth created the system administrator "admin" with password: ${generatedPassword}\nChange it after signing in; set BERTH_ADMIN_PASSWORD to choose it yourself.\n\n`,
    );
  }
  // `library` is admin's, as in Harbor: created (or, from an older Berth, given its owner) once admin exists.
  const adminUser = await users.byUsername(adminUsername);
  if (adminUser) await projects.ensureDefaultProject(Number(adminUser.id));
  const userGroups: UserGroups = createUserGroups({
    db: database.db,
    ldapGroupByDn: (dn) => ldap.groupByDn(dn),
    settings,
  });
  const ldap = createLdap({ settings, users, groups: userGroups, logger });
  const members = new MemberService(new MemberStore(database.db), users, userGroups.service);
  const guard = new AccessGuard(members);
  const projectRef = (name: string) => projects.refByName(name);
  const registryAccess = new RegistryAccess(guard, { projectRef });
  const projectRefById = async (id: number) => {
    const project = await projects.byId(id);
    return project ? { id: Number(project.id), name: project.name, public: project.public === 1 } : null;
  };
  const robots = new RobotService(
    new RobotStore(database.db),
    guard,
    { byName: projectRef, byId: projectRefById },
    {
      // Getters: robot_name_prefix and robot_token_duration apply from the next request on.
      get prefix() {
        return settings.current().robot_name_prefix;
      },
      get defaultDurationDays() {
        return settings.current().robot_token_duration;
      },
      onCredentialsChanged: () => authenticator.invalidate(),
      projectsAdministeredBy: (userId) => members.projectsAdministeredBy(userId),
    },
  );
  const labels = new LabelService(new LabelStore(database.db), guard, { byId: projectRefById });
  const artifacts = new ArtifactService(
    Object.assign(new ArtifactStore(database.db), { tagProtection: immutability }),
    registry,
    blobs,
    labels,
  );
  artifacts.immutability = immutability;
  const principals: Principals = {
    get robotPrefix() {
      return settings.current().robot_name_prefix;
    },
    async userByPassword(username, password) {
      // LDAP and OIDC modes: everyone but the local admin signs in through the provider (Harbor's rule).
      const mode = settings.current().auth_mode;
      if (mode === 'ldap_auth' && username !== adminUsername) return ldap.verifyPassword(username, password);
      if (mode === 'oidc_auth' && username !== adminUsername) return oidc.verifyCliSecret(username, password);
      const user = await users.verifyPassword(username, password);
      return user ? userIdentity(user, 'basic') : null;
    },
    async userById(id) {
      const user = await users.byId(id);
      return user ? userIdentity(user, 'basic') : null;
    },
    robotBySecret: (name, secret) => robots.authenticate(name, secret),
    async tokenSubject(name) {
      // A scan's pull token (scanning/scans/credential.ts) is issued to the scan, not to an account.
      if (isScannerSubject(name)) return { createdAt: 0 };
      // A preheat task's pull token (preheat/service.ts) is issued to the task, likewise.
      if (isPreheatSubject(name)) return { createdAt: 0 };
      if (name.startsWith(settings.current().robot_name_prefix)) return robots.activeSince(name);
      const user = await users.byUsername(name);
      return user ? { createdAt: Date.parse(user.creation_time) } : null;
    },
  };
  // A configured key file wins; otherwise the key lives in the database, shared by every instance.
  const signingKey = config.auth.token_key_file
    ? await signingKeyFromFile(paths.tokenKeyFile)
    : await signingKeyFromDatabase(database.db, paths.tokenKeyFile);
  const tokens = await TokenService.open({ pem: signingKey, lifetimeSeconds: () => settings.current().token_expiration * 60 });
  const sessions = new SessionStore(database.db, () => settings.current().session_timeout * 60_000);
  const loginThrottle = new LoginThrottle(database.db);
  const authenticator = new Authenticator(principals, tokens, sessions, loginThrottle);
  const oidc = createOidc({
    db: database.db,
    settings,
    users,
    groups: userGroups,
    sessions,
    box: secrets.box,
    externalUrl: config.server.external_url,
    secureCookies: config.server.tls !== undefined || (config.server.external_url?.startsWith('https:') ?? false),
    logger,
    onCredentialsChanged: () => authenticator.invalidate(),
  });
  const configurations = createConfigurations({ db: database.db, settings, forwardingSwitchedOn: () => forwardFromNow(auditDeps) });

  // Jobs, schedules and events live in the database: any instance may run, fire or deliver them.
  const jobQueue = new JobQueue(database.db, database.dialect);
  const runner = new JobRunner(jobQueue, {
    concurrency: config.jobs.concurrency,
    pollIntervalMs: config.jobs.poll_interval_ms,
    leaseMs: config.jobs.lease_seconds * 1000,
    stopTimeoutMs: config.server.shutdown_grace_seconds * 1000,
    logger,
    tracer: tracing?.tracer,
  });
  metrics?.watchRunner(runner);
  const scheduler = new Scheduler(database.db, jobQueue, { pollIntervalMs: config.jobs.poll_interval_ms, logger });
  const dispatcher = new Dispatcher(database.db, database.dialect, { pollIntervalMs: config.jobs.poll_interval_ms, logger });
  const scrub = createScrub({ db: database.db, blobs, queue: jobQueue, scheduler, workers: config.scrub.workers });
  runner.register(scrub.jobType, scrub.service.handle);
  // Registry requests being answered, and when one last began or ended: GC yields to them.
  const inFlight = { count: 0, lastAt: 0 };
  const gc = createGc({
    db: database.db,
    dialect: database.dialect,
    blobs,
    queue: jobQueue,
    scheduler,
    registry,
    onUnlinked: (tx, repositoryId, digests) => quotaUsage.unlinked(tx, repositoryId, digests),
    timeWindowHours: config.gc.time_window_hours,
    busy: () => inFlight.count > 0 || Date.now() - inFlight.lastAt < 250,
  });
  runner.register(gc.jobType, gc.handle);
  const auditPurge = createAuditPurge({
    db: database.db,
    queue: jobQueue,
    scheduler,
    forwarding: () => settings.current().audit_log_forward_endpoint.trim() !== '',
  });
  runner.register(auditPurge.jobType, auditPurge.handle);
  const retention = createRetention({
    db: database.db,
    queue: jobQueue,
    scheduler,
    artifacts,
    immutableMatcher: (projectId) => immutability.matcherFor(projectId),
  });
  for (const [type, handle] of Object.entries(retention.handlers)) runner.register(type, handle);
  // Scanning: vulnerability database, scanners, scans, scan all, policies, SBOMs (one assembly).
  const scanning = createScanning({
    config,
    db: database.db,
    dialect: database.dialect,
    queue: jobQueue,
    runner,
    scheduler,
    dispatcher,
    registry,
    uploads,
    artifacts,
    projects,
    authenticator,
    tokens,
    version,
    dataDir: paths.dataDir,
    busy: () => inFlight.count > 0 || Date.now() - inFlight.lastAt < 250,
  });
  await scanning.start();
  const { vulndb, scanners } = scanning;
  // P2P preheat: instances, policies, the PREHEAT jobs and the on-push subscriber; severities from scans.
  const preheat = createPreheat({
    db: database.db,
    queue: jobQueue,
    runner,
    scheduler,
    dispatcher,
    secrets,
    projects,
    tokens,
    externalUrl: config.server.external_url,
    config: config.preheat,
    scans: {
      registrationFor: async (projectId) => (await scanners.service.forProject(projectId))?.uuid ?? null,
      forPolicy: (repositoryId, digests, uuid) => scanning.results.forPolicy(repositoryId, digests, uuid),
      allowlistFor: (projectId, metadata) => scanning.policies.allowlists.effective(projectId, metadata),
    },
  });
  // Replication: registry endpoints, policies, executions, the engine's jobs and its outbox subscriber.
  const replication = createReplication({
    db: database.db,
    queue: jobQueue,
    runner,
    scheduler,
    dispatcher,
    secrets,
    registry,
    uploads,
    artifacts,
    projects,
    externalUrl: config.server.external_url,
    parallelBlobs: config.replication.parallel_blobs,
  });
  await replication.start();
  // Webhooks: policies, the outbox subscriber that renders deliveries, the WEBHOOK jobs that send them.
  const webhooks = createWebhooks({
    db: database.db,
    queue: jobQueue,
    runner,
    scheduler,
    dispatcher,
    projects,
    config: config.webhooks,
    enabled: () => settings.current().notification_enable,
    externalUrl: config.server.external_url,
  });
  await webhooks.start();
  // Proxy-cache projects: /v2 reads of their repositories fill from the upstream (registry.proxy), pushes refused.
  createProxyCache({
    db: database.db,
    dialect: database.dialect,
    logger,
    projects,
    registry,
    uploads,
    registries: replication.registries.service,
    retention: retention.service,
    config: config.proxy_cache,
  });
  // Content trust (cosign, Notation) on /v2, verified against the project's trusted keys.
  const signatures = createSignatures({ db: database.db, blobs, registry, projects, artifacts, isScannerSubject });

  const system = new SystemService(
    {
      version,
      externalUrl: config.server.external_url,
      storageDriver: config.storage.driver,
      settings,
    },
    {
      core: async () => undefined,
      database: async () => {
        await sql`select 1`.execute(database.db);
      },
      storage: () => blobs.check(),
    },
    () => blobs.capacity(),
  );
  metrics?.watchDatabase({
    db: database.db,
    queue: jobQueue,
    version,
    systemInfo: () => ({ authMode: settings.current().auth_mode, selfRegistration: settings.current().self_registration }),
    health: () => system.health(),
  });
  const http = await buildHttpServer({
    logger,
    tracer: tracing?.tracer,
    metrics: metrics
      ? {
          metrics: metrics.metrics,
          serve: metrics.mainPort(async (authorization) => {
            const basic = parseBasic(authorization);
            if (!basic) return false;
            const identity = await authenticator.login(basic.username, basic.password);
            return identity.kind === 'user' && identity.sysadmin;
          }),
        }
      : undefined,
    inFlight,
    accessLog: config.log.access,
    tls: config.server.tls && tlsPair ? { config: config.server.tls, pair: tlsPair } : undefined,
    trustProxy: config.server.trust_proxy,
    rateLimits: config.rate_limits.enabled
      ? new RateLimits(config.rate_limits, {
          db: database.db,
          shared: database.dialect.name === 'postgres' || config.server.workers > 1,
          logger,
        })
      : undefined,
    timeouts: {
      headersMs: config.server.headers_timeout_seconds * 1000,
      idleMs: config.server.idle_timeout_seconds * 1000,
      requestMs: config.server.request_timeout_seconds * 1000,
      keepAliveMs: config.server.keep_alive_timeout_seconds * 1000,
    },
    externalUrl: config.server.external_url,
    registry,
    uploads,
    registryAccess,
    authenticator,
    guard,
    users,
    robots,
    labels,
    artifacts,
    projects,
    members,
    db: database.db,
    repositories,
    search: new SearchService(projects, repositories),
    auth: config.auth,
    system,
    audit: {
      audit: new AuditService(new AuditStore(database.db)),
      projectRef,
      projectsAdministeredBy: (userId) => members.projectsAdministeredBy(userId),
    },
    jobs: { queue: jobQueue, scheduler },
    auditPurge,
    scrub: scrub.service,
    quotas,
    gc: gc.service,
    immutability,
    retention: retention.service,
    scanning,
    preheat,
    replication,
    webhooks,
    signatures,
    settings,
    configurations,
    userGroups,
    ldap,
    oidc,
  });

  // Stale upload sessions are purged by a scheduled job: one instance per tick, whichever claims it.
  const ttlMs = config.registry.upload_ttl_hours * 3600_000;
  runner.register(purgeStaleUploadsJob, async (ctx) => {
    const removed = await uploads.purgeStale(new Date(Date.now() - ttlMs).toISOString());
    await ctx.log(`removed ${removed} stale upload session(s) on ${runner.poolId}`);
    return removed;
  });
  await scheduler.define({ name: purgeStaleUploadsJob, jobType: purgeStaleUploadsJob, cron: config.registry.upload_purge_cron });
  // Expired portal sessions and failed-login counters whose window is over, likewise.
  runner.register(purgeAuthJob, async (ctx) => {
    await sessions.purgeExpired();
    await ctx.log(`removed ${await loginThrottle.purgeStale()} stale failed-login counter(s)`);
  });
  await scheduler.define({ name: purgeAuthJob, jobType: purgeAuthJob, cron: '41 * * * *' });
  pulls.start();

  let closed = false;
  let closing: string | null = null;
  let tlsReloader: TlsReloader | undefined;
  return {
    config,
    paths,
    logger,
    database,
    http,
    projects,
    repositories,
    registry,
    uploads,
    pulls,
    users,
    guard,
    authenticator,
    labels,
    artifacts,
    jobs: { queue: jobQueue, runner, scheduler, dispatcher },
    auditPurge: auditPurge.service,
    get auditForwarder() {
      return auditForwarding.current();
    },
    scrub: scrub.service,
    quotas,
    gc: gc.service,
    immutability,
    retention: retention.service,
    vulndb: { service: vulndb.service, matcher: vulndb.matcher },
    scanners,
    scanning,
    preheat,
    replication,
    webhooks,
    signatures,
    settings,
    userGroups,
    ldap,
    oidc,
    secrets,
    metrics,
    async listen() {
      // Subscribers that start at the latest event must see every event from here on.
      await dispatcher.prepare();
      const url = await http.listen({ host: config.server.host, port: config.server.port });
      // A renewed certificate is served from the next handshake on, without a restart.
      if (config.server.tls && tlsPair) tlsReloader = watchTlsFiles(http.server as never, config.server.tls, tlsPair, logger);
      scanning.setListenUrl(url);
      await metrics?.listen(config.server.host, (err) => logger.warn({ err }, 'collecting metrics failed'));
      preheat.setListenUrl(url);
      webhooks.setListenUrl(url);
      await runner.start();
      scheduler.start();
      dispatcher.start();
      auditForwarding.start();
      settings.start();
      return url;
    },
    get closing() {
      return closing;
    },
    async close() {
      if (closed) return;
      closed = true;
      tlsReloader?.close();
      closing = 'in-flight requests';
      await http.close();
      closing = 'the metrics listener';
      await metrics?.close();
      settings.stop();
      // Running jobs get the grace period too; the rest go back to the queue for another instance.
      closing = 'running jobs';
      await runner.stop();
      closing = 'the scheduler';
      await scheduler.stop();
      closing = 'the event dispatcher';
      await dispatcher.stop();
      closing = 'audit log forwarding';
      await auditForwarding.stop();
      scanning.close();
      replication.close();
      webhooks.close();
      closing = 'recording pulls';
      await pulls.stop();
      closing = 'the database';
      await database.close();
      // The spans still buffered are sent before the process ends.
      closing = 'the last spans';
      await tracing?.shutdown().catch((err: unknown) => logger.warn({ err }, 'sending the last spans failed'));
      closing = null;
      logger.flush();
    },
  };
}
