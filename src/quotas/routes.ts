import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AccessGuard } from '../auth/guard.js';
import { displayName } from '../auth/identity.js';
import { bodyOf, idParam, pagingOf, queryOf, sendPage } from '../http/api-helpers.js';
import { addSchemas, empty, object, ok, operation, page, pagingQuery, ref, str } from '../http/schema-helpers.js';
import { quotaIdParams, quotaSchemas } from './schemas.js';
import type { QuotaService } from './service.js';

export interface QuotaRouteDeps {
  quotas: QuotaService;
  guard: AccessGuard;
}

function quotaId(req: FastifyRequest): number {
  return idParam((req.params as { id: string }).id, 'id');
}

/** /api/v2.0/quotas… as Harbor serves them: system administrators (and robots granted quota) only. */
export async function registerQuotaRoutes(app: FastifyInstance, deps: QuotaRouteDeps): Promise<void> {
  const { quotas, guard } = deps;
  addSchemas(app, quotaSchemas);
  const tags = ['quota'];

  const listQuotas = operation({
    tags,
    operationId: 'listQuotas',
    summary: 'List quotas',
    description: 'One quota per project, newest project first unless sorted otherwise.',
    querystring: object({
      ...pagingQuery,
      reference: str('The kind of owner: project (the only kind)'),
      reference_id: str('The id of the project'),
      sort: str(
        'creation_time, update_time, hard.storage or used.storage, "-" first for descending (hard.storage puts unlimited, -1, highest)',
      ),
    }),
    response: { 200: page(ref('Quota'), 'One page of quotas') },
    errors: [400, 401, 403, 500],
  });
  app.get('/quotas', { schema: listQuotas }, async (req, reply) => {
    guard.requireSystem(req.identity, 'quota', 'list');
    const paging = pagingOf(req);
    const query = queryOf(req);
    const result = await quotas.list({ reference: query.reference, referenceId: query.reference_id, sort: query.sort }, paging);
    return sendPage(req, reply, paging, result);
  });

  const getQuota = operation({
    tags,
    operationId: 'getQuota',
    summary: 'Get a quota',
    params: quotaIdParams,
    response: { 200: ok(ref('Quota'), 'The quota') },
    errors: [400, 401, 403, 404, 500],
  });
  app.get('/quotas/:id', { schema: getQuota }, async (req) => {
    guard.requireSystem(req.identity, 'quota', 'read');
    return quotas.get(quotaId(req));
  });

  const updateQuota = operation({
    tags,
    operationId: 'updateQuota',
    summary: 'Change the limit of a quota',
    description:
      'Body {"hard": {"storage": N}}: N bytes (at most 1024 TiB), or -1 for unlimited. A limit below the usage refuses further ' +
      'growth and deletes nothing. Pushes already admitted under the old limit finish first.',
    params: quotaIdParams,
    body: ref('QuotaUpdateReq'),
    response: { 200: empty('The limit was changed') },
    errors: [400, 401, 403, 404, 500],
  });
  app.put('/quotas/:id', { schema: updateQuota }, async (req, reply) => {
    guard.requireSystem(req.identity, 'quota', 'update');
    const id = quotaId(req);
    await quotas.update(id, bodyOf(req), { username: displayName(req.identity) });
    return reply.code(200).send();
  });
}
