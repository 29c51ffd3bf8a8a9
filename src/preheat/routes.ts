import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AccessGuard } from '../auth/guard.js';
import { bodyOf, idParam, pagingOf, queryOf, sendPage } from '../http/api-helpers.js';
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
} from '../http/schema-helpers.js';
import { apiError } from '../lib/errors.js';
import { parseQuery } from '../lib/query.js';
import { toRef, type ProjectService } from '../projects/service.js';
import { instanceView, parseInstance, type InstanceService } from './instances.js';
import { parsePolicy } from './policy.js';
import { providerList } from './providers/index.js';
import { preheatSchemas } from './schemas.js';
import type { PreheatService } from './service.js';
import type { ExecutionRow, TaskCounts, TaskRow } from './store.js';
import { preheatVendorType, type Policy } from './types.js';
import { executionMetrics } from '../lib/executions.js';

export interface PreheatRouteDeps {
  instances: InstanceService;
  preheat: PreheatService;
  projects: ProjectService;
  guard: AccessGuard;
}

const tags = ['preheat'];
const instanceParams = pathParams({ preheat_instance_name: str('Instance name') });
const projectParams = pathParams({ project_name: str('Project name') });
const policyParams = pathParams({ project_name: str('Project name'), preheat_policy_name: str('Preheat policy name') });
const executionParams = pathParams({
  project_name: str('Project name'),
  preheat_policy_name: str('Preheat policy name'),
  execution_id: int('Execution id'),
});
const taskParams = pathParams({
  project_name: str('Project name'),
  preheat_policy_name: str('Preheat policy name'),
  execution_id: int('Execution id'),
  task_id: int('Task id'),
});
const listQs = object(listQuery);
/** Harbor's answer for a time not reached yet (Go's zero time in RFC 3339). */
const notYet = '0001-01-01T00:00:00Z';

function policyView(p: Policy, providerName: string) {
  return {
    id: p.id,
    name: p.name,
    description: p.description,
    project_id: p.projectId,
    provider_id: p.providerId,
    provider_name: providerName,
    filters: JSON.stringify(p.filters),
    trigger: JSON.stringify({ type: p.trigger.type, trigger_setting: { cron: p.trigger.cron } }),
    enabled: p.enabled,
    extra_attrs: p.extraAttrs ? JSON.stringify(p.extraAttrs) : '',
    creation_time: p.creationTime,
    update_time: p.updateTime,
  };
}

function executionView(e: ExecutionRow, c: TaskCounts) {
  return {
    id: Number(e.id),
    vendor_type: preheatVendorType,
    vendor_id: Number(e.policy_id),
    status: e.status,
    status_message: e.status_message,
    metrics: executionMetrics(c),
    trigger: e.trigger,
    extra_attrs: JSON.parse(e.extra_attrs) as Record<string, unknown>,
    start_time: e.start_time,
    end_time: e.end_time ?? notYet,
  };
}

function taskView(t: TaskRow) {
  return {
    id: Number(t.id),
    execution_id: Number(t.execution_id),
    status: t.status,
    status_message: t.status_message,
    run_count: Number(t.run_count),
    extra_attrs: { artifact: `${t.repository}:${t.tag}`, digest: t.digest, kind: t.kind },
    creation_time: t.creation_time,
    update_time: t.update_time,
    start_time: t.start_time ?? notYet,
    end_time: t.end_time ?? notYet,
  };
}

/** Harbor's preheat API: instances and providers (system administrators), project policies, executions, tasks, logs. */
export async function registerPreheatRoutes(app: FastifyInstance, deps: PreheatRouteDeps): Promise<void> {
  const { instances, preheat, projects, guard } = deps;
  addSchemas(app, preheatSchemas);
  const params = (req: FastifyRequest) => req.params as Record<string, string>;
  const terms = (req: FastifyRequest) => parseQuery(queryOf(req).q);

  async function projectFor(req: FastifyRequest, action: string) {
    const name = params(req).project_name;
    const project = await projects.findByName(name);
    if (!project) throw apiError('NOT_FOUND', `project ${name} not found`);
    await guard.require(req.identity, toRef(project), 'preheat-policy', action);
    return project;
  }

  async function policyFor(req: FastifyRequest, action: string): Promise<Policy> {
    const project = await projectFor(req, action);
    return preheat.policy(Number(project.id), params(req).preheat_policy_name);
  }

  async function providerName(id: number): Promise<string> {
    return (await instances.summaryById(id))?.name ?? '';
  }

  // Providers and instances (system resource preheat-instance).

  app.get(
    '/p2p/preheat/providers',
    {
      schema: operation({
        tags,
        operationId: 'ListProviders',
        summary: 'List P2P providers',
        response: { 200: ok(arrayOf(ref('PreheatProviderMetadata')), 'The providers Berth has drivers for') },
        errors: [401, 403, 500],
      }),
    },
    async (req) => {
      guard.requireSystem(req.identity, 'preheat-instance', 'list');
      return providerList();
    },
  );

  app.post(
    '/p2p/preheat/instances/ping',
    {
      schema: operation({
        tags,
        operationId: 'PingInstances',
        summary: 'Ping an instance, by id or by endpoint (with its credential)',
        description: '200 when its health endpoint answers; 400 with the reason when it does not; 404 for an unknown id.',
        body: ref('PreheatInstance'),
        response: { 200: empty('It answers') },
        errors: [400, 401, 403, 404, 500],
      }),
    },
    async (req, reply) => {
      guard.requireSystem(req.identity, 'preheat-instance', 'read');
      await instances.ping(req.body);
      return reply.code(200).send();
    },
  );

  app.get(
    '/p2p/preheat/instances',
    {
      schema: operation({
        tags,
        operationId: 'ListInstances',
        summary: 'List P2P provider instances',
        querystring: listQs,
        response: { 200: page(ref('PreheatInstance'), 'One page of instances') },
        errors: [400, 401, 403, 500],
      }),
    },
    async (req, reply) => {
      guard.requireSystem(req.identity, 'preheat-instance', 'list');
      const paging = pagingOf(req);
      const result = await instances.list(terms(req), queryOf(req).sort, { offset: paging.offset, limit: paging.pageSize });
      return sendPage(req, reply, paging, { total: result.total, items: result.items.map(instanceView) });
    },
  );

  app.post(
    '/p2p/preheat/instances',
    {
      schema: operation({
        tags,
        operationId: 'CreateInstance',
        summary: 'Create a P2P provider instance',
        description: '400 for any invalid field, 409 when the name or the endpoint is taken; nothing is saved then.',
        body: ref('PreheatInstance'),
        response: { 201: createdWithLocation('Created') },
        errors: [400, 401, 403, 409, 500],
      }),
    },
    async (req, reply) => {
      guard.requireSystem(req.identity, 'preheat-instance', 'create');
      const created = await instances.create(parseInstance(req.body));
      return reply
        .code(201)
        .header('location', `/api/v2.0/p2p/preheat/instances/${encodeURIComponent(created.name)}`)
        .send();
    },
  );

  app.get(
    '/p2p/preheat/instances/:preheat_instance_name',
    {
      schema: operation({
        tags,
        operationId: 'GetInstance',
        summary: 'Get a P2P provider instance',
        params: instanceParams,
        response: { 200: ok(ref('PreheatInstance'), 'The instance') },
        errors: [401, 403, 404, 500],
      }),
    },
    async (req) => {
      guard.requireSystem(req.identity, 'preheat-instance', 'read');
      return instanceView(await instances.byName(params(req).preheat_instance_name));
    },
  );

  app.put(
    '/p2p/preheat/instances/:preheat_instance_name',
    {
      schema: operation({
        tags,
        operationId: 'UpdateInstance',
        summary: 'Update a P2P provider instance',
        description:
          'auth_info omitted or empty keeps the stored credential unless auth_mode is NONE. The vendor cannot change (400); an instance a policy uses cannot be disabled (412).',
        params: instanceParams,
        body: ref('PreheatInstance'),
        response: { 200: empty('Updated') },
        errors: [400, 401, 403, 404, 409, 412, 500],
      }),
    },
    async (req, reply) => {
      guard.requireSystem(req.identity, 'preheat-instance', 'update');
      await instances.update(params(req).preheat_instance_name, parseInstance(req.body));
      return reply.code(200).send();
    },
  );

  app.delete(
    '/p2p/preheat/instances/:preheat_instance_name',
    {
      schema: operation({
        tags,
        operationId: 'DeleteInstance',
        summary: 'Delete a P2P provider instance',
        description: '412 while a preheat policy uses it.',
        params: instanceParams,
        response: { 200: empty('Deleted') },
        errors: [401, 403, 404, 412, 500],
      }),
    },
    async (req, reply) => {
      guard.requireSystem(req.identity, 'preheat-instance', 'delete');
      await instances.delete(params(req).preheat_instance_name);
      return reply.code(200).send();
    },
  );

  // Project level.

  app.get(
    '/projects/:project_name/preheat/providers',
    {
      schema: operation({
        tags,
        operationId: 'ListProvidersUnderProject',
        summary: 'The instances a project policy may choose',
        params: projectParams,
        response: { 200: ok(arrayOf(ref('ProviderUnderProject')), 'The instances') },
        errors: [401, 403, 404, 500],
      }),
    },
    async (req) => {
      await projectFor(req, 'list');
      return (await instances.all()).map((i) => ({
        id: i.id,
        provider: `${i.vendor} ${i.name}-${i.endpoint}`,
        enabled: i.enabled,
        default: i.default,
      }));
    },
  );

  app.post(
    '/projects/:project_name/preheat/policies',
    {
      schema: operation({
        tags,
        operationId: 'CreatePolicy',
        summary: 'Create a preheat policy in a project',
        description:
          '400 for any invalid field (filters, trigger, cron, extra_attrs, an unknown or disabled provider), 409 for a taken name; nothing is saved then.',
        params: projectParams,
        body: ref('PreheatPolicy'),
        response: { 201: createdWithLocation('Created') },
        errors: [400, 401, 403, 404, 409, 500],
      }),
    },
    async (req, reply) => {
      const project = await projectFor(req, 'create');
      const policy = await preheat.createPolicy(Number(project.id), parsePolicy(req.body));
      return reply
        .code(201)
        .header('location', `/api/v2.0/projects/${encodeURIComponent(project.name)}/preheat/policies/${encodeURIComponent(policy.name)}`)
        .send();
    },
  );

  app.get(
    '/projects/:project_name/preheat/policies',
    {
      schema: operation({
        tags,
        operationId: 'ListPolicies',
        summary: "List a project's preheat policies",
        params: projectParams,
        querystring: listQs,
        response: { 200: page(ref('PreheatPolicy'), 'One page of policies') },
        errors: [400, 401, 403, 404, 500],
      }),
    },
    async (req, reply) => {
      const project = await projectFor(req, 'list');
      const paging = pagingOf(req);
      const result = await preheat.policies(Number(project.id), terms(req), queryOf(req).sort, {
        offset: paging.offset,
        limit: paging.pageSize,
      });
      const names = new Map<number, string>();
      for (const p of result.items) if (!names.has(p.providerId)) names.set(p.providerId, await providerName(p.providerId));
      return sendPage(req, reply, paging, { total: result.total, items: result.items.map((p) => policyView(p, names.get(p.providerId)!)) });
    },
  );

  app.get(
    '/projects/:project_name/preheat/policies/:preheat_policy_name',
    {
      schema: operation({
        tags,
        operationId: 'GetPolicy',
        summary: 'Get a preheat policy',
        params: policyParams,
        response: { 200: ok(ref('PreheatPolicy'), 'The policy') },
        errors: [401, 403, 404, 500],
      }),
    },
    async (req) => {
      const policy = await policyFor(req, 'read');
      return policyView(policy, await providerName(policy.providerId));
    },
  );

  app.put(
    '/projects/:project_name/preheat/policies/:preheat_policy_name',
    {
      schema: operation({
        tags,
        operationId: 'UpdatePolicy',
        summary: 'Update a preheat policy',
        params: policyParams,
        body: ref('PreheatPolicy'),
        response: { 200: empty('Updated') },
        errors: [400, 401, 403, 404, 409, 500],
      }),
    },
    async (req, reply) => {
      const project = await projectFor(req, 'update');
      await preheat.updatePolicy(Number(project.id), params(req).preheat_policy_name, parsePolicy(req.body));
      return reply.code(200).send();
    },
  );

  app.post(
    '/projects/:project_name/preheat/policies/:preheat_policy_name',
    {
      schema: operation({
        tags,
        operationId: 'ManualPreheat',
        summary: 'Run a preheat policy now',
        description:
          'Answers at once with the new execution in Location; the PREHEAT job checks the provider and finds the artifacts. 400 for a disabled policy or instance.',
        params: policyParams,
        response: { 201: createdWithLocation('Started') },
        errors: [400, 401, 403, 404, 500],
      }),
    },
    async (req, reply) => {
      const project = await projectFor(req, 'read');
      const name = params(req).preheat_policy_name;
      const id = await preheat.runNow(Number(project.id), name);
      return reply
        .code(201)
        .header(
          'location',
          `/api/v2.0/projects/${encodeURIComponent(project.name)}/preheat/policies/${encodeURIComponent(name)}/executions/${id}`,
        )
        .send();
    },
  );

  app.delete(
    '/projects/:project_name/preheat/policies/:preheat_policy_name',
    {
      schema: operation({
        tags,
        operationId: 'DeletePolicy',
        summary: 'Delete a preheat policy and its executions',
        description: '412 while one of its executions runs.',
        params: policyParams,
        response: { 200: empty('Deleted') },
        errors: [401, 403, 404, 412, 500],
      }),
    },
    async (req, reply) => {
      const project = await projectFor(req, 'delete');
      await preheat.deletePolicy(Number(project.id), params(req).preheat_policy_name);
      return reply.code(200).send();
    },
  );

  app.get(
    '/projects/:project_name/preheat/policies/:preheat_policy_name/executions',
    {
      schema: operation({
        tags,
        operationId: 'ListExecutions',
        summary: "List a policy's executions, newest first",
        params: policyParams,
        querystring: listQs,
        response: { 200: page(ref('PreheatExecution'), 'One page of executions') },
        errors: [400, 401, 403, 404, 500],
      }),
    },
    async (req, reply) => {
      const policy = await policyFor(req, 'list');
      const paging = pagingOf(req);
      const result = await preheat.executions(policy, terms(req), queryOf(req).sort, { offset: paging.offset, limit: paging.pageSize });
      return sendPage(req, reply, paging, { total: result.total, items: result.items.map((e) => executionView(e.execution, e.counts)) });
    },
  );

  app.get(
    '/projects/:project_name/preheat/policies/:preheat_policy_name/executions/:execution_id',
    {
      schema: operation({
        tags,
        operationId: 'GetExecution',
        summary: 'Get an execution',
        params: executionParams,
        response: { 200: ok(ref('PreheatExecution'), 'The execution') },
        errors: [400, 401, 403, 404, 500],
      }),
    },
    async (req) => {
      const policy = await policyFor(req, 'read');
      const e = await preheat.execution(policy, idParam(params(req).execution_id, 'execution_id'));
      return executionView(e.execution, e.counts);
    },
  );

  app.patch(
    '/projects/:project_name/preheat/policies/:preheat_policy_name/executions/:execution_id',
    {
      schema: operation({
        tags,
        operationId: 'StopExecution',
        summary: 'Stop an execution ({"status":"Stopped"})',
        params: executionParams,
        body: ref('PreheatExecution'),
        response: { 200: empty('Stopped (or already ended)') },
        errors: [400, 401, 403, 404, 500],
      }),
    },
    async (req, reply) => {
      const policy = await policyFor(req, 'update');
      const executionId = idParam(params(req).execution_id, 'execution_id');
      const status = bodyOf(req).status;
      if (status !== 'Stopped')
        throw apiError('BAD_REQUEST', `param status invalid: only {"status":"Stopped"} is accepted, not ${JSON.stringify(status ?? null)}`);
      await preheat.stop(policy, executionId);
      return reply.code(200).send();
    },
  );

  app.get(
    '/projects/:project_name/preheat/policies/:preheat_policy_name/executions/:execution_id/tasks',
    {
      schema: operation({
        tags,
        operationId: 'ListTasks',
        summary: "List an execution's tasks",
        params: executionParams,
        querystring: listQs,
        response: { 200: page(ref('PreheatTask'), 'One page of tasks') },
        errors: [400, 401, 403, 404, 500],
      }),
    },
    async (req, reply) => {
      const policy = await policyFor(req, 'list');
      const paging = pagingOf(req);
      const executionId = idParam(params(req).execution_id, 'execution_id');
      const result = await preheat.tasks(policy, executionId, terms(req), queryOf(req).sort, {
        offset: paging.offset,
        limit: paging.pageSize,
      });
      return sendPage(req, reply, paging, { total: result.total, items: result.items.map(taskView) });
    },
  );

  app.get(
    '/projects/:project_name/preheat/policies/:preheat_policy_name/executions/:execution_id/tasks/:task_id/logs',
    {
      schema: operation({
        tags,
        operationId: 'GetPreheatLog',
        summary: "A task's log",
        params: taskParams,
        response: { 200: { description: 'The log as text', content: { 'text/plain': { schema: { type: 'string' } } } } },
        errors: [400, 401, 403, 404, 500],
      }),
    },
    async (req, reply) => {
      const policy = await policyFor(req, 'read');
      const p = params(req);
      const log = await preheat.taskLog(policy, idParam(p.execution_id, 'execution_id'), idParam(p.task_id, 'task_id'));
      return reply.type('text/plain; charset=utf-8').send(log);
    },
  );
}
