import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import pino, { type Logger } from 'pino';
import { AccessGuard } from './auth/guard.js';
import { Authenticator } from './auth/authenticator.js';
import type { Principals } from './auth/principals.js';
import { RegistryAccess } from './auth/registry-access.js';
import { SessionStore } from './auth/sessions.js';
import { LoginThrottle } from './auth/throttle.js';
import { TokenService } from './auth/tokens.js';
import { signingKeyFromDatabase, signingKeyFromFile } from './auth/signing-key.js';
import { resolvePaths, type ResolvedPaths } from './config/load.js';
import type { Config } from './config/schema.js';
import { migrate, openSqlite, type DatabaseHandle } from './db/index.js';
import { buildHttpServer } from './http/server.js';
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
import { FilesystemBlobStore } from './storage/filesystem.js';
import { MemberStore } from './members/store.js';
import { MemberService } from './members/service.js';
import { AuditService } from './audit/service.js';
import { AuditStore } from './audit/store.js';
import { SystemService } from './system/service.js';
import { version } from './version.js';
import { UserService } from './users/service.js';
import { UserStore } from './users/store.js';
import { RobotService } from './robots/service.js';
import { RobotStore } from './robots/store.js';
import { LabelService } from './labels/service.js';
import { LabelStore } from './labels/store.js';

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
  /** Starts listening; returns the base URL. */
  listen(): Promise<string>;
  /** Lets in-flight requests finish, flushes pending writes and closes everything. */
  close(): Promise<void>;
}

export function createLogger(config: Config): Logger {
  return pino({ level: config.log.level, base: undefined }, pino.destination({ sync: false }));
}

/** The composition root: config → db → storage → services → http. */
export async function createBerth(config: Config, logger: Logger = createLogger(config)): Promise<Berth> {
  const paths = resolvePaths(config);
  const database = openSqlite(paths.sqliteFile!);
  const applied = await migrate(database);
  if (applied.length > 0) logger.info({ migrations: applied }, 'database migrated');

  const blobs = new FilesystemBlobStore(paths.storageRoot);
  await blobs.init();

  // Projects count repositories, and repositories look up public projects, each through the other's service.
  const projects: ProjectService = new ProjectService(new ProjectStore(database.db), { countsByProject: (ids) => repositories.countsByProject(ids) });
  const repositories: RepositoryService = new RepositoryService(new RepositoryStore(database.db), {
    publicProjectIds: () => projects.ids({ visibility: { kind: 'all' }, public: true }),
  });
  await projects.ensureDefaultProject();

  const registryStore = new RegistryStore(database.db, database.dialect);
  const pulls = new PullRecorder(registryStore, {
    intervalMs: 5000,
    auditPulls: config.log.audit_pulls,
    onError: (err) => logger.warn({ err }, 'recording pulls failed'),
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

  const users = new UserService(new UserStore(database.db));
  const generatedPassword = await users.ensureAdmin(config.auth.admin_password);
  if (generatedPassword) {
    // Printed once, on the start that creates the account; never stored in clear.
    process.stdout.write(`\nBerth created the system administrator "admin" with password: ${generatedPassword}\nChange it after signing in; set BERTH_ADMIN_PASSWORD to choose it yourself.\n\n`);
  }
  const members = new MemberService(new MemberStore(database.db), users);
  const guard = new AccessGuard(members);
  const projectRef = async (name: string) => {
    const project = await projects.findByName(name);
    return project ? { id: Number(project.id), name: project.name, public: project.public === 1 } : null;
  };
  const registryAccess = new RegistryAccess(guard, { projectRef });
  const projectRefById = async (id: number) => {
    const project = await projects.byId(id);
    return project ? { id: Number(project.id), name: project.name, public: project.public === 1 } : null;
  };
  const robots = new RobotService(new RobotStore(database.db), guard, { byName: projectRef, byId: projectRefById }, {
    prefix: config.auth.robot_name_prefix,
    defaultDurationDays: config.auth.robot_token_duration_days,
    onCredentialsChanged: () => authenticator.invalidate(),
  });
  const labels = new LabelService(new LabelStore(database.db), guard, { byId: projectRefById });
  const artifacts = new ArtifactService(new ArtifactStore(database.db), registry, blobs, labels);
  const principals: Principals = {
    robotPrefix: config.auth.robot_name_prefix,
    async userByPassword(username, password) {
      const user = await users.verifyPassword(username, password);
      return user ? { kind: 'user', userId: Number(user.id), username: user.username, sysadmin: user.sysadmin === 1, via: 'basic' } : null;
    },
    async userById(id) {
      const user = await users.byId(id);
      return user ? { kind: 'user', userId: Number(user.id), username: user.username, sysadmin: user.sysadmin === 1, via: 'basic' } : null;
    },
    robotBySecret: (name, secret) => robots.authenticate(name, secret),
  };
  // A configured key file wins; otherwise the key lives in the database, shared by every instance.
  const signingKey = config.auth.token_key_file
    ? await signingKeyFromFile(paths.tokenKeyFile)
    : await signingKeyFromDatabase(database.db, paths.tokenKeyFile);
  const tokens = await TokenService.open({ pem: signingKey, lifetimeSeconds: config.auth.token_lifetime_minutes * 60 });
  const sessions = new SessionStore(database.db, config.auth.session_timeout_minutes * 60_000);
  const authenticator = new Authenticator(principals, tokens, sessions, new LoginThrottle());

  const http = await buildHttpServer({
    logger,
    accessLog: config.log.access,
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
    system: new SystemService(
      {
        version,
        externalUrl: config.server.external_url,
        storageDriver: config.storage.driver,
        selfRegistration: config.auth.self_registration,
        projectCreationRestriction: config.auth.project_creation_restriction,
      },
      {
        core: async () => undefined,
        database: async () => {
          await sql`select 1`.execute(database.db);
        },
        storage: async () => {
          await access(paths.storageRoot, constants.W_OK);
        },
      },
      paths.storageRoot,
    ),
    audit: {
      audit: new AuditService(new AuditStore(database.db)),
      projectRef,
      projectsAdministeredBy: (userId) => members.projectsAdministeredBy(userId),
    },
  });

  const ttlMs = config.registry.upload_ttl_hours * 3600_000;
  const purge = () =>
    uploads
      .purgeStale(new Date(Date.now() - ttlMs).toISOString())
      .then((n) => n > 0 && logger.info({ removed: n }, 'removed stale upload sessions'))
      .catch((err) => logger.warn({ err }, 'purging stale uploads failed'));
  const purgeTimer = setInterval(purge, Math.min(ttlMs, 3600_000));
  purgeTimer.unref();
  pulls.start();

  let closed = false;
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
    async listen() {
      return http.listen({ host: config.server.host, port: config.server.port });
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(purgeTimer);
      await http.close();
      await pulls.stop();
      await database.close();
      logger.flush();
    },
  };
}
