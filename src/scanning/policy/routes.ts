import type { FastifyInstance } from 'fastify';
import type { AccessGuard } from '../../auth/guard.js';
import { requireAuthenticated } from '../../auth/guard.js';
import { bodyOf } from '../../http/api-helpers.js';
import { empty, ok, operation, ref } from '../../http/schema-helpers.js';
import type { AllowlistService } from './allowlists.js';

export interface PolicyRouteDeps {
  allowlists: AllowlistService;
  guard: AccessGuard;
}

/** /system/CVEAllowlist, as Harbor serves it (the project lists ride on /projects). */
export async function registerPolicyRoutes(app: FastifyInstance, deps: PolicyRouteDeps): Promise<void> {
  const { allowlists, guard } = deps;
  const doc = (op: Parameters<typeof operation>[0]) => operation(op);

  const getSystemCVEAllowlist = doc({
    tags: ['SystemCVEAllowlist'],
    operationId: 'getSystemCVEAllowlist',
    summary: 'Get the system CVE allowlist',
    description: 'Any signed-in caller may read it. A list never set is empty, with id 0.',
    response: { 200: ok(ref('CVEAllowlist'), 'The system CVE allowlist') },
    errors: [401, 500],
  });
  app.get('/system/CVEAllowlist', { schema: getSystemCVEAllowlist }, async (req) => {
    requireAuthenticated(req.identity);
    return allowlists.system();
  });

  const putSystemCVEAllowlist = doc({
    tags: ['SystemCVEAllowlist'],
    operationId: 'putSystemCVEAllowlist',
    summary: 'Replace the system CVE allowlist',
    description:
      'System administrators only. The items replace the whole list; expires_at (seconds since the epoch) ends it, null or absent never. ' +
      'Projects use this list unless their metadata reuse_sys_cve_allowlist is "false".',
    body: ref('CVEAllowlist'),
    response: { 200: empty('The list was replaced') },
    errors: [400, 401, 403, 500],
  });
  app.put('/system/CVEAllowlist', { schema: putSystemCVEAllowlist }, async (req, reply) => {
    guard.requireSystem(req.identity, 'configuration', 'update');
    await allowlists.setSystem(bodyOf(req));
    return reply.code(200).send();
  });
}
