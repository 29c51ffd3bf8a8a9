import type { FastifyInstance } from 'fastify';
import type { AccessGuard } from '../auth/guard.js';
import { displayName } from '../auth/identity.js';
import { addSchemas, empty, ok, operation, ref } from '../http/schema-helpers.js';
import { configurationSchemas } from './schemas.js';
import type { ConfigurationService } from './service.js';

/** Harbor's GET/PUT /configurations: system administrators only. */
export async function registerConfigurationRoutes(
  app: FastifyInstance,
  deps: { configurations: ConfigurationService; guard: AccessGuard },
): Promise<void> {
  const { configurations, guard } = deps;
  addSchemas(app, configurationSchemas);

  app.get(
    '/configurations',
    {
      schema: operation({
        tags: ['configure'],
        operationId: 'getConfigurations',
        summary: 'Get the system settings',
        description: 'System administrators only. Secrets are never returned.',
        response: { 200: ok(ref('ConfigurationsResponse'), 'Every setting as {value, editable}') },
        errors: [401, 403, 500],
      }),
    },
    async (req) => {
      guard.requireSystem(req.identity, 'configuration', 'read');
      return configurations.view();
    },
  );

  app.put(
    '/configurations',
    {
      schema: operation({
        tags: ['configure'],
        operationId: 'updateConfigurations',
        summary: 'Change some system settings',
        description:
          'System administrators only. Every key is checked before anything is stored: one refused key (400) changes nothing. Allowed in read-only mode, so that it can be switched off.',
        body: ref('Configurations'),
        response: { 200: empty('The settings were changed; every instance applies them within seconds') },
        errors: [400, 401, 403, 500],
      }),
    },
    async (req, reply) => {
      guard.requireSystem(req.identity, 'configuration', 'update');
      await configurations.update(req.body, { username: displayName(req.identity), clientIp: req.ip });
      return reply.code(200).send();
    },
  );
}
