import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AccessGuard } from '../auth/guard.js';
import { displayName } from '../auth/identity.js';
import { bodyOf, created, idParam, isResourceName, pagingOf, queryOf, sendPage } from '../http/api-helpers.js';
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
  ref,
  str,
  type OperationDoc,
} from '../http/schema-helpers.js';
import { apiError } from '../lib/errors.js';
import { parseQuery } from '../lib/query.js';
import { projectParams, resourceNameHeader } from '../projects/schemas.js';
import { toRef, type ProjectService } from '../projects/service.js';
import { notifyTypes, payloadFormats } from './policy.js';
import { executionParams, policyParams, taskParams, webhookSchemas } from './schemas.js';
import { policyView, type WebhookService } from './service.js';
import { allWebhookEventTypes } from './types.js';

export interface WebhookRouteDeps {
  webhooks: WebhookService;
  projects: ProjectService;
  guard: AccessGuard;
  /** Reads the job log of a task's WEBHOOK job. */
  jobLog(jobId: number): Promise<string | undefined>;
}

type Params = { project_name_or_id: string; webhook_policy_id?: string; execution_id?: string; task_id?: string };

/** Harbor's /projects/{project_name_or_id}/webhook/… API, and Berth's test send. */
export async function registerWebhookRoutes(app: FastifyInstance, deps: WebhookRouteDeps): Promise<void> {
  const { webhooks, projects, guard } = deps;
  addSchemas(app, webhookSchemas);
  const doc = (op: Omit<OperationDoc, 'tags' | 'headers'>) => operation({ tags: ['webhook'], headers: resourceNameHeader, ...op });
  const params = (req: FastifyRequest) => req.params as Params;
  const terms = (req: FastifyRequest) => parseQuery(queryOf(req).q);
  const base = '/projects/:project_name_or_id/webhook';

  /** The project in the path (404 if none), once the caller may take `action` on its notification policies. */
  async function projectFor(req: FastifyRequest, action: string) {
    const project = toRef(await projects.resolve(params(req).project_name_or_id, isResourceName(req)));
    await guard.require(req.identity, project, 'notification-policy', action);
    return project;
  }
  const policyId = (req: FastifyRequest) => idParam(params(req).webhook_policy_id, 'webhook_policy_id');
  const executionId = (req: FastifyRequest) => idParam(params(req).execution_id, 'execution_id');

  app.get(
    `${base}/policies`,
    {
      schema: doc({
        operationId: 'ListWebhookPoliciesOfProject',
        summary: "List a project's webhook policies",
        description: 'Newest first unless sort says otherwise; q keys: name, description, creator, enabled, creation_time, update_time.',
        params: projectParams,
        querystring: object(listQuery),
        response: { 200: page(ref('WebhookPolicy'), 'One page of policies') },
        errors: [400, 401, 403, 404, 500],
      }),
    },
    async (req, reply) => {
      const project = await projectFor(req, 'list');
      const paging = pagingOf(req);
      const result = await webhooks.policies(project.id, terms(req), queryOf(req).sort, { offset: paging.offset, limit: paging.pageSize });
      return sendPage(req, reply, paging, { total: result.total, items: result.items.map(policyView) });
    },
  );

  app.post(
    `${base}/policies`,
    {
      schema: doc({
        operationId: 'CreateWebhookPolicyOfProject',
        summary: 'Create a webhook policy',
        description:
          "400 for an empty or unknown event type, no target, a target's bad address, type or format (Harbor's messages), a missing name; 409 for a taken name. Nothing is saved then.",
        params: projectParams,
        body: ref('WebhookPolicy'),
        response: { 201: createdWithLocation('Created') },
        errors: [400, 401, 403, 404, 409, 500],
      }),
    },
    async (req, reply) => {
      const project = await projectFor(req, 'create');
      const id = await webhooks.createPolicy(project.id, bodyOf(req), displayName(req.identity));
      const path = req.url.split('?')[0]!.replace(/\/+$/, '');
      return created(reply, `${path}/${id}`);
    },
  );

  app.post(
    `${base}/policies/test`,
    {
      schema: doc({
        operationId: 'TestWebhookPolicyOfProject',
        summary: 'Send a test event to the targets of a policy body (Berth extension; Harbor 1.x had it)',
        description:
          'Renders an artifact push for every target and sends it now (the configured timeout). 200 when every target answered 2xx; 400 naming each target that did not, and why. Nothing is stored.',
        params: projectParams,
        body: ref('WebhookPolicy'),
        response: { 200: empty('Every target answered 2xx') },
        errors: [400, 401, 403, 404, 500],
      }),
    },
    async (req, reply) => {
      const project = await projectFor(req, 'create');
      await webhooks.testSend(project, bodyOf(req), displayName(req.identity));
      return reply.code(200).send();
    },
  );

  app.get(
    `${base}/policies/:webhook_policy_id`,
    {
      schema: doc({
        operationId: 'GetWebhookPolicyOfProject',
        summary: 'Get a webhook policy',
        params: policyParams,
        response: { 200: ok(ref('WebhookPolicy'), 'The policy') },
        errors: [400, 401, 403, 404, 500],
      }),
    },
    async (req) => {
      const project = await projectFor(req, 'read');
      return policyView(await webhooks.policy(project.id, policyId(req)));
    },
  );

  app.put(
    `${base}/policies/:webhook_policy_id`,
    {
      schema: doc({
        operationId: 'UpdateWebhookPolicyOfProject',
        summary: 'Update a webhook policy (the whole policy; enabled switches it on or off)',
        params: policyParams,
        body: ref('WebhookPolicy'),
        response: { 200: empty('Updated') },
        errors: [400, 401, 403, 404, 409, 500],
      }),
    },
    async (req, reply) => {
      const project = await projectFor(req, 'update');
      await webhooks.updatePolicy(project.id, policyId(req), bodyOf(req));
      return reply.code(200).send();
    },
  );

  app.delete(
    `${base}/policies/:webhook_policy_id`,
    {
      schema: doc({
        operationId: 'DeleteWebhookPolicyOfProject',
        summary: 'Delete a webhook policy, its executions and its pending deliveries',
        params: policyParams,
        response: { 200: empty('Deleted') },
        errors: [400, 401, 403, 404, 500],
      }),
    },
    async (req, reply) => {
      const project = await projectFor(req, 'delete');
      await webhooks.deletePolicy(project.id, policyId(req));
      return reply.code(200).send();
    },
  );

  app.get(
    `${base}/policies/:webhook_policy_id/executions`,
    {
      schema: doc({
        operationId: 'ListExecutionsOfWebhookPolicy',
        summary: "A policy's executions (one per event), newest first",
        params: policyParams,
        querystring: object(listQuery),
        response: { 200: page(ref('WebhookExecution'), 'One page of executions') },
        errors: [400, 401, 403, 404, 500],
      }),
    },
    async (req, reply) => {
      const project = await projectFor(req, 'read');
      const paging = pagingOf(req);
      const result = await webhooks.executions(project.id, policyId(req), terms(req), queryOf(req).sort, {
        offset: paging.offset,
        limit: paging.pageSize,
      });
      return sendPage(req, reply, paging, result);
    },
  );

  app.get(
    `${base}/policies/:webhook_policy_id/executions/:execution_id/tasks`,
    {
      schema: doc({
        operationId: 'ListTasksOfWebhookExecution',
        summary: "An execution's tasks (one per target)",
        params: executionParams,
        querystring: object(listQuery),
        response: { 200: page(ref('WebhookTask'), 'One page of tasks') },
        errors: [400, 401, 403, 404, 500],
      }),
    },
    async (req, reply) => {
      const project = await projectFor(req, 'read');
      const paging = pagingOf(req);
      const result = await webhooks.tasks(project.id, policyId(req), executionId(req), terms(req), queryOf(req).sort, {
        offset: paging.offset,
        limit: paging.pageSize,
      });
      return sendPage(req, reply, paging, result);
    },
  );

  app.get(
    `${base}/policies/:webhook_policy_id/executions/:execution_id/tasks/:task_id/log`,
    {
      schema: doc({
        operationId: 'GetLogsOfWebhookTask',
        summary: "A task's log: one line per attempt and its outcome",
        params: taskParams,
        response: { 200: { description: 'The log as text', content: { 'text/plain': { schema: { type: 'string' } } } } },
        errors: [400, 401, 403, 404, 500],
      }),
    },
    async (req, reply) => {
      const project = await projectFor(req, 'read');
      const task = await webhooks.task(project.id, policyId(req), executionId(req), idParam(params(req).task_id, 'task_id'));
      const log = task.job_id === null ? undefined : await deps.jobLog(Number(task.job_id));
      return reply.type('text/plain; charset=utf-8').send(log ?? (task.status_message ? `${task.status_message}\n` : ''));
    },
  );

  app.get(
    `${base}/lasttrigger`,
    {
      schema: doc({
        operationId: 'LastTrigger',
        summary: 'Per policy and event type: when it last made a delivery (deprecated in Harbor)',
        params: projectParams,
        response: { 200: ok(arrayOf(ref('WebhookLastTrigger')), 'One entry per (policy, event type)') },
        errors: [400, 401, 403, 404, 500],
      }),
    },
    async (req) => {
      const project = await projectFor(req, 'read');
      return webhooks.lastTriggers(project.id);
    },
  );

  app.get(
    `${base}/jobs`,
    {
      schema: operation({
        tags: ['webhookjob'],
        headers: resourceNameHeader,
        operationId: 'ListWebhookJobs',
        summary: "A policy's deliveries as Harbor's deprecated webhook jobs",
        params: projectParams,
        querystring: object({
          ...listQuery,
          policy_id: int('The policy (required)'),
          status: str('Task statuses to list (repeat the parameter or separate by commas)'),
        }),
        response: { 200: page(ref('WebhookJob'), 'One page of jobs') },
        errors: [400, 401, 403, 404, 500],
      }),
    },
    async (req, reply) => {
      const project = await projectFor(req, 'list');
      const query = req.query as Record<string, string | string[] | undefined>;
      const rawPolicy = query.policy_id;
      if (rawPolicy === undefined || rawPolicy === '') throw apiError('BAD_REQUEST', 'policy_id in query is required');
      const id = idParam(Array.isArray(rawPolicy) ? rawPolicy[0] : rawPolicy, 'policy_id');
      const rawStatus = query.status;
      const statuses = (Array.isArray(rawStatus) ? rawStatus : rawStatus ? [rawStatus] : []).flatMap((s) =>
        s
          .split(',')
          .map((x) => x.trim())
          .filter((x) => x !== ''),
      );
      const paging = pagingOf(req);
      const result = await webhooks.webhookJobs(project.id, id, statuses, terms(req), queryOf(req).sort, {
        offset: paging.offset,
        limit: paging.pageSize,
      });
      return sendPage(req, reply, paging, result);
    },
  );

  app.get(
    `${base}/events`,
    {
      schema: doc({
        operationId: 'GetSupportedEventTypes',
        summary: 'Event types, notify types and payload formats a policy may choose',
        params: projectParams,
        response: { 200: ok(ref('SupportedWebhookEventTypes'), 'What a policy may choose') },
        errors: [401, 403, 404, 500],
      }),
    },
    async (req) => {
      await projectFor(req, 'read');
      return {
        event_type: [...allWebhookEventTypes],
        notify_type: [...notifyTypes],
        payload_formats: [{ notify_type: 'http', formats: [...payloadFormats] }],
      };
    },
  );
}
