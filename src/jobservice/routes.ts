import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AccessGuard } from '../auth/guard.js';
import { bodyOf, pagingOf, sendPage } from '../http/api-helpers.js';
import { addSchemas, arrayOf, empty, object, ok, operation, page, pagingQuery, pathParams, ref, str } from '../http/schema-helpers.js';
import { apiError } from '../lib/errors.js';
import type { JobQueue } from '../jobs/queue.js';
import type { Scheduler } from '../jobs/scheduler.js';
import { jobSchemas } from './schemas.js';

export interface JobRouteDeps {
  queue: JobQueue;
  scheduler: Scheduler;
  guard: AccessGuard;
}

/**
 * Harbor's job service dashboard (/jobservice/…) and schedule list (/schedules…), for
 * system administrators (and robots given jobservice-monitor at system level).
 */
export async function registerJobRoutes(app: FastifyInstance, deps: JobRouteDeps): Promise<void> {
  const { queue, scheduler, guard } = deps;
  addSchemas(app, jobSchemas);
  const monitor = (req: FastifyRequest) => guard.requireSystem(req.identity, 'jobservice-monitor', 'list');
  const operate = (req: FastifyRequest) => guard.requireSystem(req.identity, 'jobservice-monitor', 'stop');
  const param = (req: FastifyRequest, name: string) => (req.params as Record<string, string>)[name];

  /** A job id from the path; a malformed one names no job. */
  const jobId = (req: FastifyRequest): number => {
    const raw = param(req, 'job_id');
    const id = Number(raw);
    if (!/^\d{1,15}$/.test(raw) || id < 1) throw apiError('NOT_FOUND', `there is no job ${raw}`);
    return id;
  };
  const jobType = (req: FastifyRequest): string => {
    const type = param(req, 'job_type');
    if (type === '' || type.length > 128 || type === '*') throw apiError('BAD_REQUEST', `"${type}" is not a job type`);
    return type;
  };

  const getWorkerPools = operation({
    tags: ['jobservice'],
    operationId: 'getWorkerPools',
    summary: 'List the worker pools: one per running instance',
    response: { 200: ok(arrayOf(ref('WorkerPool')), 'Every instance that sent a heartbeat within the last minute') },
    errors: [401, 403, 500],
  });
  app.get('/jobservice/pools', { schema: getWorkerPools }, async (req) => {
    monitor(req);
    return (await queue.pools()).map((p) => ({
      pid: p.pid,
      worker_pool_id: p.id,
      start_at: p.startedAt,
      heartbeat_at: p.heartbeatAt,
      concurrency: p.concurrency,
      host: p.host,
    }));
  });

  const getWorkers = operation({
    tags: ['jobservice'],
    operationId: 'getWorkers',
    summary: "List a pool's workers and the jobs they run",
    params: pathParams({ pool_id: str('Id of the pool; all for every pool') }),
    response: { 200: ok(arrayOf(ref('Worker')), 'One worker per concurrency slot') },
    errors: [401, 403, 404, 500],
  });
  app.get('/jobservice/pools/:pool_id/workers', { schema: getWorkers }, async (req) => {
    monitor(req);
    const poolId = param(req, 'pool_id');
    const workers = await queue.workers(poolId);
    if (!workers) throw apiError('NOT_FOUND', `there is no running pool ${poolId}`);
    return workers.map((w) => ({
      id: w.id,
      pool_id: w.poolId,
      job_name: w.jobType ?? '',
      job_id: w.jobId === null ? '' : String(w.jobId),
      ...(w.startedAt !== null && { start_at: w.startedAt }),
      check_in: w.checkIn,
      ...(w.checkInAt !== null && { checkin_at: w.checkInAt }),
    }));
  });

  const stopRunningJob = operation({
    tags: ['jobservice'],
    operationId: 'stopRunningJob',
    summary: 'Stop a job',
    description:
      'A pending job is stopped at once; a running one is asked to stop (its handler is signalled) and ends as stopped. A job that has already ended is left as it is.',
    params: pathParams({ job_id: str('Id of the job') }),
    response: { 200: empty('The job is stopped or stopping') },
    errors: [401, 403, 404, 500],
  });
  app.put('/jobservice/jobs/:job_id', { schema: stopRunningJob }, async (req, reply) => {
    operate(req);
    const id = jobId(req);
    if ((await queue.cancel(id)) === undefined) throw apiError('NOT_FOUND', `there is no job ${id}`);
    return reply.code(200).send();
  });

  const actionGetJobLog = operation({
    tags: ['jobservice'],
    operationId: 'actionGetJobLog',
    summary: "Get a job's log",
    description: 'One line per entry: time, [LEVEL], message. Attempts, retries, stops and takeovers are all in it.',
    params: pathParams({ job_id: str('Id of the job') }),
    // The log is text; its errors are Harbor's JSON error body.
    response: { 200: { description: 'The log as text', content: { 'text/plain': { schema: { type: 'string' } } } } },
    errors: [401, 403, 404, 500],
  });
  app.get('/jobservice/jobs/:job_id/log', { schema: actionGetJobLog }, async (req, reply) => {
    monitor(req);
    const id = jobId(req);
    const text = await queue.logText(id);
    if (text === undefined) throw apiError('NOT_FOUND', `there is no job ${id}`);
    return reply.type('text/plain; charset=utf-8').send(text);
  });

  const listJobQueues = operation({
    tags: ['jobservice'],
    operationId: 'listJobQueues',
    summary: 'List the job queues: one per job type',
    response: { 200: ok(arrayOf(ref('JobQueue')), 'Every job type known, with its waiting jobs') },
    errors: [401, 403, 404, 500],
  });
  app.get('/jobservice/queues', { schema: listJobQueues }, async (req) => {
    monitor(req);
    return (await queue.queues()).map((q) => ({ job_type: q.jobType, count: q.count, latency: q.latencySeconds, paused: q.paused }));
  });

  const actionPendingJobs = operation({
    tags: ['jobservice'],
    operationId: 'actionPendingJobs',
    summary: "Stop, pause or resume a queue's pending jobs",
    description:
      'stop ends every pending job of the type (all: of every type) as stopped; pause holds them (running jobs finish) until resume. Pausing all holds types not seen yet too.',
    params: pathParams({ job_type: str('The job type; all for every type') }),
    body: ref('ActionRequest'),
    response: { 200: empty('Done') },
    errors: [400, 401, 403, 404, 500],
  });
  app.put('/jobservice/queues/:job_type', { schema: actionPendingJobs }, async (req, reply) => {
    operate(req);
    const type = jobType(req);
    const action = bodyOf(req).action;
    if (action === 'stop') await queue.stopPending(type);
    else if (action === 'pause' || action === 'resume') await queue.setPaused(type, action === 'pause');
    else throw apiError('BAD_REQUEST', `action must be stop, pause or resume, not ${JSON.stringify(action ?? null)}`);
    return reply.code(200).send();
  });

  const listSchedules = operation({
    tags: ['schedule'],
    operationId: 'listSchedules',
    summary: 'List the schedules',
    querystring: object(pagingQuery),
    response: { 200: page(ref('ScheduleTask'), 'One page of schedules, oldest first') },
    errors: [400, 401, 403, 404, 500],
  });
  app.get('/schedules', { schema: listSchedules }, async (req, reply) => {
    monitor(req);
    const paging = pagingOf(req);
    const result = await scheduler.list({ offset: paging.offset, limit: paging.pageSize });
    return sendPage(req, reply, paging, {
      total: result.total,
      items: result.items.map((s) => ({ id: s.id, vendor_type: s.jobType, vendor_id: s.vendorId, cron: s.cron, update_time: s.updatedAt })),
    });
  });

  const getSchedulePaused = operation({
    tags: ['schedule'],
    operationId: 'getSchedulePaused',
    summary: 'Tell whether scheduled jobs are held',
    description: "all: whether every queue is paused (Harbor's question); a job type: whether that type's queue is.",
    params: pathParams({ job_type: str('all, or a job type') }),
    response: { 200: ok(ref('SchedulerStatus'), 'Whether they are held') },
    errors: [400, 401, 403, 404, 500],
  });
  app.get('/schedules/:job_type/paused', { schema: getSchedulePaused }, async (req) => {
    monitor(req);
    return { paused: await queue.isPaused(jobType(req)) };
  });
}
