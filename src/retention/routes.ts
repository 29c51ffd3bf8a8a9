import type { FastifyInstance, FastifyRequest } from 'fastify';
import { requireAuthenticated, type AccessGuard } from '../auth/guard.js';
import { displayName } from '../auth/identity.js';
import { idParam, pagingOf, sendPage } from '../http/api-helpers.js';
import { addSchemas, createdWithLocation, empty, int, object, ok, operation, page, pathParams, ref, str } from '../http/schema-helpers.js';
import { apiError } from '../lib/errors.js';
import { toRef, type ProjectService } from '../projects/service.js';
import { retentionMetadata } from './policy.js';
import { retentionSchemas } from './schemas.js';
import type { RetentionService } from './service.js';
import type { ExecutionRow, TaskRow } from './store.js';

export interface RetentionRouteDeps {
  retention: RetentionService;
  projects: ProjectService;
  guard: AccessGuard;
}

const tags = ['Retention'];
const idOnly = pathParams({ id: int('Retention policy id') });
const withExecution = pathParams({ id: int('Retention policy id'), eid: int('Retention execution id') });
const withTask = pathParams({ id: int('Retention policy id'), eid: int('Retention execution id'), tid: int('Retention task id') });
const pageQuery = object({ page: int('Page number, from 1'), page_size: int('Items per page (at most 100)') });

function executionView(e: ExecutionRow) {
  return {
    id: e.id,
    policy_id: e.policyId,
    start_time: e.startTime,
    end_time: e.endTime ?? '',
    status: e.status,
    trigger: e.trigger,
    dry_run: e.dryRun,
  };
}

const statusCodes: Record<string, number> = { Pending: 0, Running: 2 };

function taskView(t: TaskRow) {
  return {
    id: t.id,
    execution_id: t.executionId,
    repository: t.repository,
    job_id: t.jobId === null ? '' : String(t.jobId),
    status: t.status,
    status_code: statusCodes[t.status] ?? 3,
    status_revision: 0,
    start_time: t.startTime ?? '',
    end_time: t.endTime ?? '',
    total: t.total,
    retained: t.retained,
  };
}

/** Harbor's tag retention API under /retentions (project members by role: tag-retention permissions). */
export async function registerRetentionRoutes(app: FastifyInstance, deps: RetentionRouteDeps): Promise<void> {
  const { retention, projects, guard } = deps;
  addSchemas(app, retentionSchemas);
  const operator = (req: FastifyRequest) => displayName(req.identity);
  const params = (req: FastifyRequest) => req.params as Record<string, string>;

  async function projectOf(req: FastifyRequest, projectId: number, action: string) {
    const project = await projects.byId(projectId);
    if (!project) throw apiError('BAD_REQUEST', `scope.ref: project ${projectId} not found`);
    await guard.require(req.identity, toRef(project), 'tag-retention', action);
    return { id: Number(project.id), name: project.name };
  }

  /** The policy in the path (404), after the caller's permission in its project. */
  async function policyFor(req: FastifyRequest, action: string) {
    const id = idParam(params(req).id, 'id');
    const policy = await retention.get(id);
    if (!policy) throw apiError('NOT_FOUND', `retention policy ${id} not found`);
    const project = await projects.byId(policy.scope.ref);
    if (!project) throw apiError('NOT_FOUND', `retention policy ${id} not found`);
    await guard.require(req.identity, toRef(project), 'tag-retention', action);
    return { policy, project: { id: Number(project.id), name: project.name } };
  }

  app.get(
    '/retentions/metadatas',
    {
      schema: operation({
        tags,
        operationId: 'getRentenitionMetadata',
        summary: 'Get the templates and selectors a retention rule may use',
        response: { 200: ok(ref('RetentionMetadata'), 'The metadata') },
        errors: [401, 500],
      }),
    },
    async (req) => {
      requireAuthenticated(req.identity);
      return retentionMetadata();
    },
  );

  app.post(
    '/retentions',
    {
      schema: operation({
        tags,
        operationId: 'createRetention',
        summary: "Create a project's retention policy",
        description:
          'Sets the project metadata retention_id. 400 when the project already has one, or for any invalid field (the message names it); nothing is saved then.',
        body: ref('RetentionPolicy'),
        response: { 201: createdWithLocation('Created; Location names the policy') },
        errors: [400, 401, 403, 500],
      }),
    },
    async (req, reply) => {
      const policy = retention.parse(req.body);
      const project = await projectOf(req, policy.scope.ref, 'create');
      const id = await retention.create(policy, project, operator(req));
      return reply.code(201).header('location', `/api/v2.0/retentions/${id}`).send();
    },
  );

  app.get(
    '/retentions/:id',
    {
      schema: operation({
        tags,
        operationId: 'getRetention',
        summary: 'Get a retention policy',
        params: idOnly,
        response: { 200: ok(ref('RetentionPolicy'), 'The policy') },
        errors: [400, 401, 403, 404, 500],
      }),
    },
    async (req) => (await policyFor(req, 'read')).policy,
  );

  app.put(
    '/retentions/:id',
    {
      schema: operation({
        tags,
        operationId: 'updateRetention',
        summary: 'Change a retention policy',
        params: idOnly,
        body: ref('RetentionPolicy'),
        response: { 200: empty('Changed') },
        errors: [400, 401, 403, 404, 500],
      }),
    },
    async (req, reply) => {
      const { policy, project } = await policyFor(req, 'update');
      await retention.update(policy.id, retention.parse(req.body), project, operator(req));
      return reply.code(200).send();
    },
  );

  app.delete(
    '/retentions/:id',
    {
      schema: operation({
        tags,
        operationId: 'deleteRetention',
        summary: 'Delete a retention policy',
        params: idOnly,
        response: { 200: empty('Deleted') },
        errors: [400, 401, 403, 404, 500],
      }),
    },
    async (req, reply) => {
      const { policy, project } = await policyFor(req, 'delete');
      await retention.delete(policy.id, project, operator(req));
      return reply.code(200).send();
    },
  );

  app.post(
    '/retentions/:id/executions',
    {
      schema: operation({
        tags,
        operationId: 'triggerRetentionExecution',
        summary: 'Run a retention policy now',
        description: "With dry_run true nothing is removed; the tasks' logs show what a real run would remove.",
        params: idOnly,
        body: object({ dry_run: { type: 'boolean', description: 'Only report' } }),
        response: { 201: createdWithLocation('Started; Location names the execution') },
        errors: [400, 401, 403, 404, 500],
      }),
    },
    async (req, reply) => {
      const { policy } = await policyFor(req, 'update');
      const body = (req.body ?? {}) as { dry_run?: unknown };
      if (body.dry_run !== undefined && typeof body.dry_run !== 'boolean') throw apiError('BAD_REQUEST', 'dry_run must be true or false');
      const eid = await retention.trigger(policy.id, body.dry_run === true, operator(req));
      return reply.code(201).header('location', `/api/v2.0/retentions/${policy.id}/executions/${eid}`).send();
    },
  );

  app.get(
    '/retentions/:id/executions',
    {
      schema: operation({
        tags,
        operationId: 'listRetentionExecutions',
        summary: "List a retention policy's executions, newest first",
        params: idOnly,
        querystring: pageQuery,
        response: { 200: page(ref('RetentionExecution'), 'One page of executions') },
        errors: [400, 401, 403, 404, 500],
      }),
    },
    async (req, reply) => {
      const { policy } = await policyFor(req, 'list');
      const paging = pagingOf(req);
      const result = await retention.executions(policy.id, { offset: paging.offset, limit: paging.pageSize });
      return sendPage(req, reply, paging, { total: result.total, items: result.items.map(executionView) });
    },
  );

  app.patch(
    '/retentions/:id/executions/:eid',
    {
      schema: operation({
        tags,
        operationId: 'operateRetentionExecution',
        summary: 'Stop a retention execution',
        params: withExecution,
        body: object({ action: str('stop') }),
        response: { 200: empty('Stopped (or already ended)') },
        errors: [400, 401, 403, 404, 500],
      }),
    },
    async (req, reply) => {
      const { policy } = await policyFor(req, 'update');
      const action = ((req.body ?? {}) as { action?: unknown }).action;
      if (action !== 'stop') throw apiError('BAD_REQUEST', `action must be "stop", not ${JSON.stringify(action ?? null)}`);
      await retention.stop(policy.id, idParam(params(req).eid, 'eid'));
      return reply.code(200).send();
    },
  );

  app.get(
    '/retentions/:id/executions/:eid/tasks',
    {
      schema: operation({
        tags,
        operationId: 'listRetentionTasks',
        summary: "List an execution's tasks, one per repository",
        params: withExecution,
        querystring: pageQuery,
        response: { 200: page(ref('RetentionExecutionTask'), 'One page of tasks') },
        errors: [400, 401, 403, 404, 500],
      }),
    },
    async (req, reply) => {
      const { policy } = await policyFor(req, 'list');
      const paging = pagingOf(req);
      const result = await retention.tasks(policy.id, idParam(params(req).eid, 'eid'), { offset: paging.offset, limit: paging.pageSize });
      return sendPage(req, reply, paging, { total: result.total, items: result.items.map(taskView) });
    },
  );

  app.get(
    '/retentions/:id/executions/:eid/tasks/:tid',
    {
      schema: operation({
        tags,
        operationId: 'getRetentionTaskLog',
        summary: "Get a task's log: every candidate and what became of it",
        params: withTask,
        response: { 200: { description: 'The log as text', content: { 'text/plain': { schema: { type: 'string' } } } } },
        errors: [400, 401, 403, 404, 500],
      }),
    },
    async (req, reply) => {
      const { policy } = await policyFor(req, 'read');
      const p = params(req);
      const log = await retention.taskLog(policy.id, idParam(p.eid, 'eid'), idParam(p.tid, 'tid'));
      return reply.type('text/plain; charset=utf-8').send(log);
    },
  );
}
