import type { FastifyInstance } from 'fastify';
import type { AccessGuard } from '../auth/guard.js';
import { addSchemas, ok, operation, ref } from '../http/schema-helpers.js';
import { systemSchemas } from './schemas.js';
import type { SystemService } from './service.js';

/** /ping, /health, /systeminfo and /systeminfo/volumes as Harbor serves them. */
export async function registerSystemRoutes(app: FastifyInstance, deps: { system: SystemService; guard: AccessGuard }): Promise<void> {
  const { system, guard } = deps;
  addSchemas(app, systemSchemas);

  const getPing = operation({
    tags: ['ping'],
    operationId: 'getPing',
    summary: 'Check that the API answers',
    produces: ['text/plain'],
    response: { 200: ok({ type: 'string' }, 'The text Pong') },
  });
  app.get('/ping', { schema: getPing }, async (_req, reply) => reply.type('text/plain; charset=utf-8').send('Pong'));

  const getHealth = operation({
    tags: ['health'],
    operationId: 'getHealth',
    summary: 'Check the health of every component',
    description: 'Answers 200 even when a component is unhealthy: read status.',
    response: { 200: ok(ref('OverallHealthStatus'), 'The health of Berth and of each component') },
    errors: [500],
  });
  app.get('/health', { schema: getHealth }, async () => system.health());

  const getSystemInfo = operation({
    tags: ['systeminfo'],
    operationId: 'getSystemInfo',
    summary: 'Get facts about this registry',
    response: { 200: ok(ref('GeneralInfo'), 'What the caller may know about the registry') },
    errors: [500],
  });
  app.get('/systeminfo', { schema: getSystemInfo }, async (req) => {
    const f = system.facts;
    const settings = f.settings.current();
    const open = {
      auth_mode: settings.auth_mode,
      primary_auth_mode: settings.primary_auth_mode,
      self_registration: settings.self_registration,
      harbor_version: `berth-${f.version}`,
      banner_message: settings.banner_message,
      current_time: new Date().toISOString(),
      // Harbor names the provider only while OIDC is the authentication mode.
      ...(settings.auth_mode === 'oidc_auth' ? { oidc_provider_name: settings.oidc_name } : {}),
    };
    // Anonymous callers see what a sign-in page needs; signed-in callers see the rest.
    if (req.identity.kind === 'anonymous') return open;
    const base = f.externalUrl ?? `${req.protocol}://${req.host}`;
    return {
      ...open,
      registry_url: base.replace(/^https?:\/\//, ''),
      external_url: base,
      project_creation_restriction: settings.project_creation_restriction,
      has_ca_root: false,
      registry_storage_provider_name: f.storageDriver,
      read_only: settings.read_only,
      notification_enable: settings.notification_enable,
    };
  });

  const getVolumes = operation({
    tags: ['systeminfo'],
    operationId: 'getVolumes',
    summary: 'Get the size and free space of the storage volume',
    description: 'System administrators only.',
    response: { 200: ok(ref('SystemInfo'), 'The volume holding the blob store') },
    errors: [401, 403, 404, 500],
  });
  // System administrators (and robots granted system-volumes:read): 401 anonymous, 403 the rest.
  app.get('/systeminfo/volumes', { schema: getVolumes }, async (req) => {
    guard.requireSystem(req.identity, 'system-volumes', 'read');
    return system.volumes();
  });
}
