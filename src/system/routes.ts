import type { FastifyInstance } from 'fastify';
import type { SystemService } from './service.js';

/** /ping, /health and /systeminfo as Harbor serves them. */
export async function registerSystemRoutes(app: FastifyInstance, deps: { system: SystemService }): Promise<void> {
  const { system } = deps;

  app.get('/ping', async (_req, reply) => reply.type('text/plain; charset=utf-8').send('Pong'));

  app.get('/health', async () => system.health());

  app.get('/systeminfo', async (req) => {
    const f = system.facts;
    const open = {
      auth_mode: 'db_auth',
      primary_auth_mode: false,
      self_registration: f.selfRegistration,
      harbor_version: `berth-${f.version}`,
      banner_message: '',
      current_time: new Date().toISOString(),
    };
    // Anonymous callers see what a sign-in page needs; signed-in callers see the rest.
    if (req.identity.kind === 'anonymous') return open;
    const base = f.externalUrl ?? `${req.protocol}://${req.host}`;
    return {
      ...open,
      registry_url: base.replace(/^https?:\/\//, ''),
      external_url: base,
      project_creation_restriction: f.projectCreationRestriction,
      has_ca_root: false,
      registry_storage_provider_name: f.storageDriver,
      read_only: false,
      notification_enable: false,
    };
  });
}
