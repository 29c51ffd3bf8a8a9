import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AccessGuard } from '../../auth/guard.js';
import { bodyOf, created, pagingOf, queryOf, sendPage } from '../../http/api-helpers.js';
import {
  addSchemas,
  arrayOf,
  createdWithLocation,
  empty,
  int,
  listQuery,
  object,
  ok,
  operation,
  page,
  pathParams,
  ref,
  str,
  type OperationDoc,
} from '../../http/schema-helpers.js';
import { apiError } from '../../lib/errors.js';
import { parseQuery } from '../../lib/query.js';
import { parseCreate, parsePing, parseUpdate } from './input.js';
import { registrySchemas } from './schemas.js';
import type { RegistryEndpointService } from './service.js';

export interface RegistryRouteDeps {
  registries: RegistryEndpointService;
  guard: AccessGuard;
}

const idParams = pathParams({ id: int('Registry ID (0 is Berth itself where Harbor allows it)') });

/** A registry id in the path: a non-negative integer (0 is Berth itself, Harbor's "Local"). */
function registryId(req: FastifyRequest): number {
  const raw = (req.params as { id: string }).id;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n)) throw apiError('BAD_REQUEST', `id must be a registry id (an integer), not "${raw}"`);
  return n;
}

/** Harbor's /registries…, /replication/adapters and /replication/adapterinfos. */
export async function registerRegistryRoutes(app: FastifyInstance, deps: RegistryRouteDeps): Promise<void> {
  const { registries, guard } = deps;
  addSchemas(app, registrySchemas);
  const doc = (op: Omit<OperationDoc, 'tags'>) => operation({ tags: ['registry'], ...op });

  app.post(
    '/registries',
    {
      schema: doc({
        operationId: 'createRegistry',
        summary: 'Create a registry',
        description:
          'The registry must answer a ping with the credential first (400 "the registry is unhealthy: <why>", nothing saved). The secret is stored sealed.',
        body: ref('Registry'),
        response: { 201: createdWithLocation('Created') },
        errors: [400, 401, 403, 409, 500],
      }),
    },
    async (req, reply) => {
      guard.requireSystem(req.identity, 'registry', 'create');
      const id = await registries.create(parseCreate(bodyOf(req)));
      return created(reply, `${req.url.split('?')[0]!.replace(/\/+$/, '')}/${id}`);
    },
  );

  app.get(
    '/registries',
    {
      schema: doc({
        operationId: 'listRegistries',
        summary: 'List the registries',
        description:
          'Newest first unless sorted. q keys: name, type, url, description, status, insecure, credential_type, creation_time, update_time, id.',
        querystring: object({ ...listQuery, name: str('Deprecated, use q: name, fuzzy') }),
        response: { 200: page(ref('Registry'), 'One page of registries') },
        errors: [400, 401, 403, 500],
      }),
    },
    async (req, reply) => {
      guard.requireSystem(req.identity, 'registry', 'list');
      const query = queryOf(req);
      const paging = pagingOf(req);
      const terms = parseQuery(query.q);
      if (query.name) terms.push({ key: 'name', op: 'fuzzy', value: query.name });
      const list = await registries.list(terms, query.sort, paging);
      return sendPage(req, reply, paging, { items: list.items.map((r) => registries.toView(r)), total: list.total });
    },
  );

  app.post(
    '/registries/ping',
    {
      schema: doc({
        operationId: 'pingRegistry',
        summary: 'Check status of a registry',
        description:
          '200 when the registry answers with the credential; 400 "the registry is unhealthy: <why>" otherwise. A ping of a stored registry as stored records its status.',
        body: ref('RegistryPing'),
        response: { 200: empty('The registry is healthy') },
        errors: [400, 401, 403, 404, 500],
      }),
    },
    async (req, reply) => {
      guard.requireSystem(req.identity, 'registry', 'read');
      await registries.ping(parsePing(bodyOf(req)));
      return reply.code(200).send();
    },
  );

  app.get(
    '/registries/:id',
    {
      schema: doc({
        operationId: 'getRegistry',
        summary: 'Get the specific registry',
        params: idParams,
        response: { 200: ok(ref('Registry'), 'The registry') },
        errors: [400, 401, 403, 404, 500],
      }),
    },
    async (req) => {
      guard.requireSystem(req.identity, 'registry', 'read');
      const id = registryId(req);
      const view = await registries.view(id);
      if (!view) throw apiError('NOT_FOUND', `registry ${id} not found`);
      return view;
    },
  );

  app.put(
    '/registries/:id',
    {
      schema: doc({
        operationId: 'updateRegistry',
        summary: 'Update the registry',
        description: 'Absent fields keep their value; the result must answer a ping (400, nothing saved).',
        params: idParams,
        body: ref('RegistryUpdate'),
        response: { 200: empty('Updated') },
        errors: [400, 401, 403, 404, 409, 500],
      }),
    },
    async (req, reply) => {
      guard.requireSystem(req.identity, 'registry', 'update');
      const id = registryId(req);
      const patch = parseUpdate(bodyOf(req));
      await registries.update(id, patch);
      return reply.code(200).send();
    },
  );

  app.delete(
    '/registries/:id',
    {
      schema: doc({
        operationId: 'deleteRegistry',
        summary: 'Delete the specific registry',
        description: 'Refused (412) while a replication policy or a proxy-cache project uses it.',
        params: idParams,
        response: { 200: empty('Deleted') },
        errors: [400, 401, 403, 404, 412, 500],
      }),
    },
    async (req, reply) => {
      guard.requireSystem(req.identity, 'registry', 'delete');
      await registries.delete(registryId(req));
      return reply.code(200).send();
    },
  );

  app.get(
    '/registries/:id/info',
    {
      schema: doc({
        operationId: 'getRegistryInfo',
        summary: 'Get the registry info',
        description: 'The filters, triggers and chunked copy the registry supports; 0 is Berth itself (the only one with event_based).',
        params: idParams,
        response: { 200: ok(ref('RegistryInfo'), 'The registry info') },
        errors: [400, 401, 403, 404, 500],
      }),
    },
    async (req) => {
      guard.requireSystem(req.identity, 'registry', 'read');
      return registries.info(registryId(req));
    },
  );

  app.get(
    '/replication/adapters',
    {
      schema: doc({
        operationId: 'listRegistryProviderTypes',
        summary: 'List registry adapters',
        response: { 200: ok(arrayOf(str('An adapter type')), 'The adapter types') },
        errors: [401, 403, 500],
      }),
    },
    async (req) => {
      guard.requireSystem(req.identity, 'replication-adapter', 'list');
      return registries.adapterTypes();
    },
  );

  app.get(
    '/replication/adapterinfos',
    {
      schema: doc({
        operationId: 'listRegistryProviderInfos',
        summary: 'List all registered registry provider information',
        response: {
          200: ok(
            { type: 'object', additionalProperties: ref('RegistryProviderInfo') },
            'Adapter type → its endpoint and credential patterns',
          ),
        },
        errors: [401, 403, 500],
      }),
    },
    async (req) => {
      guard.requireSystem(req.identity, 'replication-adapter', 'list');
      return registries.adapterInfos();
    },
  );
}
