import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AccessGuard } from '../../auth/guard.js';
import { displayName } from '../../auth/identity.js';
import { idParam, pagingOf, queryOf, sendPage } from '../../http/api-helpers.js';
import {
  addSchemas,
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
import { parseQuery } from '../../lib/query.js';
import { replicationPolicySchemas } from './schemas.js';
import type { ReplicationPolicyService } from './service.js';

export interface PolicyRouteDeps {
  policies: ReplicationPolicyService;
  guard: AccessGuard;
}

const idOnly = pathParams({ id: int('Replication policy id') });

/** Harbor's /replication/policies (system administrators, or robots with replication-policy permissions). */
export async function registerPolicyRoutes(app: FastifyInstance, deps: PolicyRouteDeps): Promise<void> {
  const { policies, guard } = deps;
  addSchemas(app, replicationPolicySchemas);
  const doc = (op: Omit<OperationDoc, 'tags'>) => operation({ tags: ['replication'], ...op });
  const allow = (req: FastifyRequest, action: string) => guard.requireSystem(req.identity, 'replication-policy', action);
  const policyId = (req: FastifyRequest) => idParam((req.params as { id: string }).id, 'id');

  app.get(
    '/replication/policies',
    {
      schema: doc({
        operationId: 'listReplicationPolicies',
        summary: 'List replication policies',
        description:
          'Newest first unless sorted. q keys: name, description, creator, src_registry_id, dest_registry_id (0: this Berth), dest_namespace, enabled, override, replicate_deletion, id, creation_time, update_time.',
        querystring: object({ ...listQuery, name: str('Deprecated (use q=name=~…): policies whose name contains this') }),
        response: { 200: page(ref('ReplicationPolicy'), 'One page of policies') },
        errors: [400, 401, 403, 500],
      }),
    },
    async (req, reply) => {
      allow(req, 'list');
      const query = queryOf(req);
      const terms = parseQuery(query.q);
      if (query.name) terms.push({ key: 'name', op: 'fuzzy', value: query.name });
      const paging = pagingOf(req);
      const result = await policies.list(terms, query.sort, { offset: paging.offset, limit: paging.pageSize });
      return sendPage(req, reply, paging, { total: result.total, items: await policies.views(result.items) });
    },
  );

  app.post(
    '/replication/policies',
    {
      schema: doc({
        operationId: 'createReplicationPolicy',
        summary: 'Create a replication policy',
        description:
          'One side is this Berth (null or {"id":0}), the other a registry endpoint that exists. Any invalid field is a 400 naming it, and nothing is saved; a name taken is a 409. A scheduled, enabled policy gets its cron schedule.',
        body: ref('ReplicationPolicy'),
        response: { 201: createdWithLocation('Created; Location names the policy') },
        errors: [400, 401, 403, 409, 500],
      }),
    },
    async (req, reply) => {
      allow(req, 'create');
      const input = policies.parse(req.body);
      const id = await policies.create(input, displayName(req.identity));
      return reply.code(201).header('location', `/api/v2.0/replication/policies/${id}`).send();
    },
  );

  app.get(
    '/replication/policies/:id',
    {
      schema: doc({
        operationId: 'getReplicationPolicy',
        summary: 'Get a replication policy',
        params: idOnly,
        response: { 200: ok(ref('ReplicationPolicy'), 'The policy, with its registries') },
        errors: [400, 401, 403, 404, 500],
      }),
    },
    async (req) => {
      allow(req, 'read');
      return policies.view(await policies.require(policyId(req)));
    },
  );

  app.put(
    '/replication/policies/:id',
    {
      schema: doc({
        operationId: 'updateReplicationPolicy',
        summary: 'Change a replication policy',
        description: 'The whole policy, checked as on create; its schedule follows (created, changed or removed).',
        params: idOnly,
        body: ref('ReplicationPolicy'),
        response: { 200: empty('Changed') },
        errors: [400, 401, 403, 404, 409, 500],
      }),
    },
    async (req, reply) => {
      allow(req, 'update');
      const id = policyId(req);
      await policies.require(id);
      await policies.update(id, policies.parse(req.body), displayName(req.identity));
      return reply.code(200).send();
    },
  );

  app.delete(
    '/replication/policies/:id',
    {
      schema: doc({
        operationId: 'deleteReplicationPolicy',
        summary: 'Delete a replication policy',
        description: 'With its executions, tasks and schedule. 412 while one of its executions is in progress (stop it first).',
        params: idOnly,
        response: { 200: empty('Deleted') },
        errors: [400, 401, 403, 404, 412, 500],
      }),
    },
    async (req, reply) => {
      allow(req, 'delete');
      await policies.delete(policyId(req), displayName(req.identity));
      return reply.code(200).send();
    },
  );
}
