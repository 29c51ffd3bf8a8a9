import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AccessGuard } from '../../auth/guard.js';
import { displayName } from '../../auth/identity.js';
import { bodyOf, idParam, pagingOf, queryOf, sendPage } from '../../http/api-helpers.js';
import {
  addSchemas,
  createdWithLocation,
  empty,
  int,
  object,
  ok,
  operation,
  page,
  pagingQuery,
  pathParams,
  ref,
  str,
  type OperationDoc,
} from '../../http/schema-helpers.js';
import { apiError } from '../../lib/errors.js';
import type { ExecutionStatus, TaskStatus, TriggerType } from '../types.js';
import { replicationExecutionSchemas } from './schemas.js';
import type { ExecutionView, ReplicationExecutionService } from './service.js';
import type { TaskRow } from './store.js';

/** What Harbor answers for a time not reached yet (Go's zero time), a valid date-time. */
const zeroTime = '0001-01-01T00:00:00.000Z';

export interface ExecutionRouteDeps {
  executions: ReplicationExecutionService;
  guard: AccessGuard;
}

// Harbor answers its own words and takes the job service's too (its handler converts both ways).
const executionStatusWords: Record<string, ExecutionStatus> = {
  InProgress: 'InProgress',
  Running: 'InProgress',
  Succeed: 'Succeed',
  Success: 'Succeed',
  Failed: 'Failed',
  Error: 'Failed',
  Stopped: 'Stopped',
};
const taskStatusWords: Record<string, TaskStatus> = { ...executionStatusWords, Pending: 'Pending' };
const triggerWords: Record<string, TriggerType> = {
  manual: 'manual',
  MANUAL: 'manual',
  scheduled: 'scheduled',
  SCHEDULE: 'scheduled',
  event_based: 'event_based',
  EVENT: 'event_based',
};

function word<T>(words: Record<string, T>, value: string | undefined, name: string): T | undefined {
  if (value === undefined || value === '') return undefined;
  const found = Object.hasOwn(words, value) ? words[value] : undefined;
  if (found === undefined)
    throw apiError('BAD_REQUEST', `${name} must be one of ${[...new Set(Object.values(words))].join(', ')}, not "${value}"`);
  return found;
}

function executionView(e: ExecutionView) {
  return {
    id: e.id,
    policy_id: e.policyId,
    status: e.status,
    trigger: e.trigger,
    start_time: e.startTime,
    end_time: e.endTime ?? zeroTime,
    status_text: e.statusText,
    total: e.counts.total,
    failed: e.counts.failed,
    succeed: e.counts.succeed,
    in_progress: e.counts.inProgress,
    stopped: e.counts.stopped,
  };
}

function taskView(t: TaskRow) {
  return {
    id: t.id,
    execution_id: t.executionId,
    status: t.status,
    job_id: t.jobId === null ? '' : String(t.jobId),
    operation: t.operation,
    resource_type: t.resourceType,
    src_resource: t.srcResource,
    dst_resource: t.dstResource,
    start_time: t.startTime ?? zeroTime,
    end_time: t.endTime ?? zeroTime,
  };
}

const executionId = pathParams({ id: int('Replication execution id') });

/** Harbor's /replication/executions, their tasks and the tasks' logs (system administrators, or robots with replication permissions). */
export async function registerExecutionRoutes(app: FastifyInstance, deps: ExecutionRouteDeps): Promise<void> {
  const { executions, guard } = deps;
  addSchemas(app, replicationExecutionSchemas);
  const doc = (op: Omit<OperationDoc, 'tags'>) => operation({ tags: ['replication'], ...op });
  const allow = (req: FastifyRequest, action: string) => guard.requireSystem(req.identity, 'replication', action);
  const params = (req: FastifyRequest) => req.params as Record<string, string>;

  app.get(
    '/replication/executions',
    {
      schema: doc({
        operationId: 'listReplicationExecutions',
        summary: 'List replication executions, newest first',
        description: 'Each with the counts of its tasks (one grouped query per page).',
        querystring: object({
          sort: str('Sort keys separated by commas (id, start_time, end_time, status, trigger, policy_id); "-" descending'),
          ...pagingQuery,
          policy_id: int('Only the executions of this policy'),
          status: str('InProgress, Succeed, Failed or Stopped'),
          trigger: str('manual, scheduled or event_based'),
        }),
        response: { 200: page(ref('ReplicationExecution'), 'One page of executions') },
        errors: [400, 401, 403, 500],
      }),
    },
    async (req, reply) => {
      allow(req, 'list');
      const query = queryOf(req);
      const paging = pagingOf(req);
      const filter = {
        policyId: query.policy_id === undefined || query.policy_id === '' ? undefined : idParam(query.policy_id, 'policy_id'),
        status: word(executionStatusWords, query.status, 'status'),
        trigger: word(triggerWords, query.trigger, 'trigger'),
        sort: query.sort,
      };
      const result = await executions.list(filter, { offset: paging.offset, limit: paging.pageSize });
      return sendPage(req, reply, paging, { total: result.total, items: result.items.map(executionView) });
    },
  );

  app.post(
    '/replication/executions',
    {
      schema: doc({
        operationId: 'startReplication',
        summary: 'Run a replication policy now',
        description:
          '404 when the policy does not exist, 412 when it is disabled. With single_active_replication and an execution of the policy in progress, the new execution is created Failed ("skipped") and does nothing.',
        body: ref('StartReplicationExecution'),
        response: { 201: createdWithLocation('Started; Location names the execution') },
        errors: [400, 401, 403, 404, 412, 500],
      }),
    },
    async (req, reply) => {
      allow(req, 'create');
      const body = bodyOf(req);
      const policyId = body.policy_id;
      if (typeof policyId !== 'number' || !Number.isSafeInteger(policyId) || policyId < 1) {
        throw apiError('BAD_REQUEST', `policy_id must be the id of a replication policy, not ${JSON.stringify(policyId ?? null)}`);
      }
      // Harbor's legacy scheduler called this API with ?trigger=scheduled.
      const trigger: TriggerType = queryOf(req).trigger === 'scheduled' ? 'scheduled' : 'manual';
      const id = await executions.start(policyId, displayName(req.identity), trigger);
      return reply.code(201).header('location', `/api/v2.0/replication/executions/${id}`).send();
    },
  );

  app.get(
    '/replication/executions/:id',
    {
      schema: doc({
        operationId: 'getReplicationExecution',
        summary: 'Get a replication execution',
        params: executionId,
        response: { 200: ok(ref('ReplicationExecution'), 'The execution with its task counts') },
        errors: [400, 401, 403, 404, 500],
      }),
    },
    async (req) => {
      allow(req, 'read');
      return executionView(await executions.get(idParam(params(req).id, 'id')));
    },
  );

  app.put(
    '/replication/executions/:id',
    {
      schema: doc({
        operationId: 'stopReplication',
        summary: 'Stop a replication execution',
        description:
          'The execution and every task not yet ended become Stopped; their jobs are cancelled (a running one is aborted where it runs). Tasks already ended keep their status. An execution that already ended is left as it is.',
        params: executionId,
        response: { 200: empty('Stopped (or already ended)') },
        errors: [400, 401, 403, 404, 500],
      }),
    },
    async (req, reply) => {
      allow(req, 'create');
      await executions.stop(idParam(params(req).id, 'id'));
      return reply.code(200).send();
    },
  );

  app.get(
    '/replication/executions/:id/tasks',
    {
      schema: doc({
        operationId: 'listReplicationTasks',
        summary: "List an execution's tasks",
        description: 'Newest start first (tasks not started yet last) unless sorted.',
        params: executionId,
        querystring: object({
          sort: str('Sort keys separated by commas (id, start_time, end_time, status, resource_type, operation); "-" descending'),
          ...pagingQuery,
          status: str('Pending, InProgress, Succeed, Failed or Stopped'),
          resource_type: str('image or artifact'),
        }),
        response: { 200: page(ref('ReplicationTask'), 'One page of tasks') },
        errors: [400, 401, 403, 404, 500],
      }),
    },
    async (req, reply) => {
      allow(req, 'list');
      const query = queryOf(req);
      const paging = pagingOf(req);
      const resourceType = query.resource_type || undefined;
      if (resourceType !== undefined && resourceType !== 'image' && resourceType !== 'artifact') {
        throw apiError('BAD_REQUEST', `resource_type must be image or artifact, not "${resourceType}"`);
      }
      const result = await executions.tasks(
        idParam(params(req).id, 'id'),
        { status: word(taskStatusWords, query.status, 'status'), resourceType, sort: query.sort },
        { offset: paging.offset, limit: paging.pageSize },
      );
      return sendPage(req, reply, paging, { total: result.total, items: result.items.map(taskView) });
    },
  );

  app.get(
    '/replication/executions/:id/tasks/:task_id/log',
    {
      schema: doc({
        operationId: 'getReplicationLog',
        summary: "Get a replication task's log",
        description: "The log of the task's job, every attempt (blobs skipped, mounted or copied, retries and their reasons).",
        params: pathParams({ id: int('Replication execution id'), task_id: int('Replication task id') }),
        response: { 200: { description: 'The log as text', content: { 'text/plain': { schema: { type: 'string' } } } } },
        errors: [400, 401, 403, 404, 500],
      }),
    },
    async (req, reply) => {
      allow(req, 'read');
      const p = params(req);
      const log = await executions.taskLog(idParam(p.id, 'id'), idParam(p.task_id, 'task_id'));
      return reply.type('text/plain; charset=utf-8').send(log);
    },
  );
}
