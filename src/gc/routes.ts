import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AccessGuard } from '../auth/guard.js';
import { displayName } from '../auth/identity.js';
import { idParam, pagingOf, sendPage } from '../http/api-helpers.js';
import { historyFilterOf, runHistoryOf, scheduleHistoryOf } from '../http/exec-history.js';
import {
  addSchemas,
  createdWithLocation,
  empty,
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
import { gcSchemas } from './schemas.js';
import { gcJobType, type GcRun, type GcService } from './service.js';

export interface GcRouteDeps {
  gc: GcService;
  guard: AccessGuard;
}

const historyOf = (run: GcRun) => runHistoryOf(run, gcJobType, '');

const tags = ['gc'];
const idParams = pathParams({ gc_id: str('Id of the garbage collection run') });

/**
 * Harbor's garbage collection API under /system/gc: history, one run, its log, stop, and the
 * schedule (POST with type Manual starts a run). System administrators, and robots given
 * garbage-collection permissions.
 */
export async function registerGcRoutes(app: FastifyInstance, deps: GcRouteDeps): Promise<void> {
  const { gc, guard } = deps;
  addSchemas(app, gcSchemas);
  const allow = (req: FastifyRequest, action: string) => guard.requireSystem(req.identity, 'garbage-collection', action);
  const runId = (req: FastifyRequest) => idParam((req.params as Record<string, string>).gc_id, 'gc_id');
  const operator = (req: FastifyRequest) => displayName(req.identity);

  const getGCHistory = operation({
    tags,
    operationId: 'getGCHistory',
    summary: 'List the garbage collection runs',
    description: 'Newest first unless sorted (sort keys: creation_time, update_time, id). q keys: job_status, job_kind (MANUAL, SCHEDULE).',
    querystring: object(listQuery),
    response: { 200: page(ref('GCHistory'), 'One page of runs') },
    errors: [400, 401, 403, 500],
  });
  app.get('/system/gc', { schema: getGCHistory }, async (req, reply) => {
    allow(req, 'list');
    const paging = pagingOf(req);
    const filter = historyFilterOf(req);
    const result = await gc.history({ offset: paging.offset, limit: paging.pageSize, ...filter });
    return sendPage(req, reply, paging, { total: result.total, items: result.items.map(historyOf) });
  });

  const getGCSchedule = operation({
    tags,
    operationId: 'getGCSchedule',
    summary: "Get the garbage collection's schedule",
    description: 'An empty answer when there is none, as Harbor answers.',
    response: { 200: ok(ref('GCHistory'), 'The schedule (empty body when none is set)') },
    errors: [401, 403, 500],
  });
  app.get('/system/gc/schedule', { schema: getGCSchedule }, async (req, reply) => {
    allow(req, 'read');
    const s = await gc.schedule();
    if (!s) return reply.code(200).send();
    return scheduleHistoryOf(s);
  });

  const scheduleDescription =
    'schedule.type Manual starts a run at once (409 while another is pending or running); None removes the schedule; ' +
    'Hourly, Daily, Weekly and Custom set it from schedule.cron (required, as in Harbor). ' +
    'parameters: delete_untagged, dry_run, workers (1-10), remove_empty_repositories. The time window comes from gc.time_window_hours.';
  const createGCSchedule = operation({
    tags,
    operationId: 'createGCSchedule',
    summary: 'Start a garbage collection now, or set or remove its schedule',
    description: scheduleDescription,
    body: ref('Schedule'),
    response: { 201: createdWithLocation('Started (Location names the run), or the schedule is set') },
    errors: [400, 401, 403, 409, 500],
  });
  app.post('/system/gc/schedule', { schema: createGCSchedule }, async (req, reply) => {
    allow(req, 'create');
    const { started } = await gc.applySchedule(req.body, operator(req));
    const location = `/api/v2.0/system/gc/${started ?? 0}`;
    return reply.code(201).header('location', location).send();
  });

  const updateGCSchedule = operation({
    tags,
    operationId: 'updateGCSchedule',
    summary: 'Change the garbage collection schedule (Manual starts a run)',
    description: scheduleDescription,
    body: ref('Schedule'),
    response: { 200: empty('Done') },
    errors: [400, 401, 403, 409, 500],
  });
  app.put('/system/gc/schedule', { schema: updateGCSchedule }, async (req, reply) => {
    allow(req, 'update');
    await gc.applySchedule(req.body, operator(req));
    return reply.code(200).send();
  });

  const getGC = operation({
    tags,
    operationId: 'getGC',
    summary: 'Get one garbage collection run',
    params: idParams,
    response: { 200: ok(ref('GCHistory'), 'The run') },
    errors: [400, 401, 403, 404, 500],
  });
  app.get('/system/gc/:gc_id', { schema: getGC }, async (req) => {
    allow(req, 'read');
    const id = runId(req);
    const run = await gc.get(id);
    if (!run) throw apiError('NOT_FOUND', `garbage collection ${id} not found`);
    return historyOf(run);
  });

  const stopGC = operation({
    tags,
    operationId: 'stopGC',
    summary: 'Stop a garbage collection run',
    description:
      'A pending run is stopped at once; a running one stops between two batches, keeping what it already removed, and ends Stopped. A run that has ended is left as it is.',
    params: idParams,
    response: { 200: empty('Stopped or stopping') },
    errors: [400, 401, 403, 404, 500],
  });
  app.put('/system/gc/:gc_id', { schema: stopGC }, async (req, reply) => {
    allow(req, 'stop');
    const id = runId(req);
    if (!(await gc.stop(id))) throw apiError('NOT_FOUND', `garbage collection ${id} not found`);
    return reply.code(200).send();
  });

  const getGCLog = operation({
    tags,
    operationId: 'getGCLog',
    summary: "Get a garbage collection run's log",
    params: idParams,
    response: { 200: { description: 'The log as text', content: { 'text/plain': { schema: { type: 'string' } } } } },
    errors: [400, 401, 403, 404, 500],
  });
  app.get('/system/gc/:gc_id/log', { schema: getGCLog }, async (req, reply) => {
    allow(req, 'read');
    const id = runId(req);
    const log = await gc.log(id);
    if (log === undefined) throw apiError('NOT_FOUND', `garbage collection ${id} log is not found`);
    if (log === null) throw apiError('NOT_FOUND', `the log of garbage collection ${id} was removed with its job (jobs are kept 30 days)`);
    return reply.type('text/plain; charset=utf-8').send(log);
  });
}
