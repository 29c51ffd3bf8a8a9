import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { DialectHelpers } from '../db/dialect.js';
import type { Db } from '../db/index.js';
import type { ProjectService } from '../projects/service.js';
import type { RegistryService } from '../registry/service.js';
import type { UploadService } from '../registry/uploads.js';
import { createAdapter, isAdapterType } from '../replication/adapters/index.js';
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
