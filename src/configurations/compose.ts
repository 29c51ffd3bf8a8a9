import type { FastifyInstance } from 'fastify';
import type { AccessGuard } from '../auth/guard.js';
import type { Db } from '../db/index.js';
import type { Settings } from '../settings/settings.js';
import { registerConfigurationRoutes } from './routes.js';
import { ConfigurationService } from './service.js';

export interface ConfigurationDeps {
  db: Db;
  settings: Settings;
  /** Before forwarding of audit records is switched on (audit/forward-live.ts forwardFromNow). */
  forwardingSwitchedOn?: () => Promise<void>;
}

export interface Configurations {
  service: ConfigurationService;
  /** GET/PUT /configurations. */
  registerApiRoutes(api: FastifyInstance, routeDeps: { guard: AccessGuard }): Promise<void>;
}

export function createConfigurations(deps: ConfigurationDeps): Configurations {
  const service = new ConfigurationService(deps.db, deps.settings, { forwardingSwitchedOn: deps.forwardingSwitchedOn });
  return {
    service,
    registerApiRoutes: (api, routeDeps) => registerConfigurationRoutes(api, { configurations: service, guard: routeDeps.guard }),
  };
}
