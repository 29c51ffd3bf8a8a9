import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { DialectHelpers } from '../db/dialect.js';
import type { Db } from '../db/index.js';
import type { ProjectService } from '../projects/service.js';
import type { RegistryService } from '../registry/service.js';
import type { UploadService } from '../registry/uploads.js';
import { parsePolicy } from '../retention/policy.js';
import type { RetentionService } from '../retention/service.js';
import { createAdapter, isAdapterType } from '../replication/adapters/index.js';
import { Throttle } from '../replication/engine/throttle.js';
import type { ProxyRegistries } from './ports.js';
import { ProxyCache } from './service.js';
import { ProxyFetchStore } from './store.js';

export interface ProxyCacheDeps {
  db: Db;
  dialect: DialectHelpers;
  logger: Logger;
  projects: ProjectService;
  registry: RegistryService;
  uploads: UploadService;
  /** The registry endpoints (replication/registries: RegistryEndpointService). */
  registries: ProxyRegistries;
  /** Tag retention: a new proxy cache project gets Harbor's default policy. */
  retention?: RetentionService;
  /** proxy_cache.* of the configuration. */
  config: { freshness_seconds: number; fetch_lease_seconds: number };
}

/**
 * Proxy-cache projects assembled (app.ts): the ProxyCache answers the registry's ProxySource
 * seam (/v2 reads of proxy projects' repositories and the refusal of pushes into them) and the
 * projects feature's ProjectProxyCache seam (a ProjectReq's registry_id), and tells the
 * registries feature that an endpoint a proxy project uses cannot be deleted.
 */
export function createProxyCache(deps: ProxyCacheDeps): ProxyCache {
  const cache = new ProxyCache(
    {
      projects: deps.projects,
      registries: deps.registries,
      adapters: { create: (endpoint) => createAdapter(endpoint), isType: isAdapterType },
      registry: deps.registry,
      uploads: deps.uploads,
      fetches: new ProxyFetchStore(deps.db, deps.dialect),
      throttle: (bytesPerSecond) => new Throttle(bytesPerSecond).stream(),
      defaultRetention: deps.retention && ((project, actor) => deps.retention!.create(defaultRetentionPolicy(project.id), project, actor)),
    },
    {
      freshnessSeconds: deps.config.freshness_seconds,
      leaseMs: deps.config.fetch_lease_seconds * 1000,
      projectCacheMs: 5000,
      endpointCacheMs: 30_000,
      instance: `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`,
      logger: deps.logger,
    },
  );
  deps.registry.proxy = cache;
  deps.projects.proxyCache = cache;
  return cache;
}

/** Harbor's policy for a new proxy cache project: keep artifacts pulled in the last 7 days, checked daily at midnight. */
export const defaultRetentionDays = 7;

function defaultRetentionPolicy(projectId: number) {
  return parsePolicy({
    algorithm: 'or',
    rules: [
      {
        priority: 1,
        action: 'retain',
        template: 'nDaysSinceLastPull',
        params: { nDaysSinceLastPull: defaultRetentionDays },
        tag_selectors: [{ kind: 'doublestar', decoration: 'matches', pattern: '**' }],
        scope_selectors: { repository: [{ kind: 'doublestar', decoration: 'repoMatches', pattern: '**' }] },
      },
    ],
    trigger: { kind: 'Schedule', settings: { cron: '0 0 0 * * *' } },
    scope: { level: 'project', ref: projectId },
  });
}
