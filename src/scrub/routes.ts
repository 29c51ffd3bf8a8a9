import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AccessGuard } from '../auth/guard.js';
import { bodyOf, idParam, pagingOf, queryOf, sendPage } from '../http/api-helpers.js';
import {
  addSchemas,
  createdWithLocation,
  empty,
  listQuery,
  object,
  ok,
  operation,
  page,
  pagingQuery,
  pathParams,
  ref,
  str,
} from '../http/schema-helpers.js';
import { parseQuery } from '../lib/query.js';
import { scrubSchemas } from './schemas.js';
import type { ScrubService } from './service.js';

export interface ScrubRouteDeps {
  scrub: ScrubService;
  guard: AccessGuard;
}

const tags = ['scrub'];
const idParams = pathParams({ scrub_id: str('Id of the scrub run') });

/**
 * Integrity scrub under /system/scrub (Berth's own: Harbor has no scrub), mirroring
 * Harbor's /system/gc: history, one run, its log, its schedule, start and stop; and the
 * findings of a run. System administrators only.
 */
export async function registerScrubRoutes(app: FastifyInstance, deps: ScrubRouteDeps): Promise<void> {
  const { scrub, guard } = deps;
  addSchemas(app, scrubSchemas);
  // No robot may be given 'scrub' (auth/rbac.ts), so this is system administrators only.
  const allow = (req: FastifyRequest, action: string) => guard.requireSystem(req.identity, 'scrub', action);
  const runId = (req: FastifyRequest) => idParam((req.params as Record<string, string>).scrub_id, 'scrub_id');

  const getScrubHistory = operation({
    tags,
    operationId: 'getScrubHistory',
    summary: 'List the integrity scrub runs',
    description: 'Newest first unless sorted. q keys: job_kind (MANUAL, SCHEDULE, CLI), job_status, creation_time, update_time, id.',
    querystring: object(listQuery),
    response: { 200: page(ref('ScrubHistory'), 'One page of runs') },
    errors: [400, 401, 403, 500],
  });
  app.get('/system/scrub', { schema: getScrubHistory }, async (req, reply) => {
    allow(req, 'list');
    const paging = pagingOf(req);
    const q = queryOf(req);
    const result = await scrub.list(parseQuery(q.q), q.sort, { offset: paging.offset, limit: paging.pageSize });
    return sendPage(req, reply, paging, result);
  });

  const getScrubSchedule = operation({
    tags,
    operationId: 'getScrubSchedule',
    summary: "Get the scrub's schedule",
    description: 'An empty answer when there is none, as Harbor answers for the GC schedule.',
    response: { 200: ok(ref('ScrubSchedule'), 'The schedule (empty body when none is set)') },
    errors: [401, 403, 500],
  });
  app.get('/system/scrub/schedule', { schema: getScrubSchedule }, async (req, reply) => {
    allow(req, 'read');
    const schedule = await scrub.schedule();
    return schedule ? schedule : reply.code(200).send();
  });

  const createScrubSchedule = operation({
    tags,
    operationId: 'createScrubSchedule',
    summary: 'Start a scrub now, or set or remove its schedule',
    description:
      'schedule.type Manual starts a run at once (201 with its Location; 409 while another is pending or running); None removes the schedule; Hourly, Daily, Weekly and Custom set it from schedule.cron.',
    body: ref('ScrubScheduleRequest'),
    response: { 201: createdWithLocation('Started (Location names the run), or the schedule is set') },
    errors: [400, 401, 403, 409, 500],
  });
  app.post('/system/scrub/schedule', { schema: createScrubSchedule }, async (req, reply) => {
    allow(req, 'create');
    const id = await scrub.kick(bodyOf(req));
    if (id !== null) reply.header('location', `/api/v2.0/system/scrub/${id}`);
    return reply.code(201).send();
  });

  const updateScrubSchedule = operation({
    tags,
    operationId: 'updateScrubSchedule',
    summary: "Change the scrub's schedule",
    description: 'The same body as POST: a periodic type sets the schedule, None removes it, Manual starts a run.',
    body: ref('ScrubScheduleRequest'),
    response: { 200: empty('Done') },
    errors: [400, 401, 403, 409, 500],
  });
  app.put('/system/scrub/schedule', { schema: updateScrubSchedule }, async (req, reply) => {
    allow(req, 'update');
    await scrub.kick(bodyOf(req));
    return reply.code(200).send();
  });

  const getScrub = operation({
    tags,
    operationId: 'getScrub',
    summary: 'Get one scrub run, with its progress and results',
    params: idParams,
    response: { 200: ok(ref('ScrubHistory'), 'The run') },
    errors: [400, 401, 403, 404, 500],
  });
  app.get('/system/scrub/:scrub_id', { schema: getScrub }, async (req) => {
    allow(req, 'read');
    return scrub.get(runId(req));
  });

  const stopScrub = operation({
    tags,
    operationId: 'stopScrub',
    summary: 'Stop a scrub run',
    description:
      'A pending run is stopped at once, a running one within moments (it ends Stopped with what it found so far); an ended run is left as it is.',
    params: idParams,
    response: { 200: empty('Stopped or stopping') },
    errors: [400, 401, 403, 404, 500],
  });
  app.put('/system/scrub/:scrub_id', { schema: stopScrub }, async (req, reply) => {
    allow(req, 'stop');
    await scrub.stop(runId(req));
    return reply.code(200).send();
  });

  const getScrubLog = operation({
    tags,
    operationId: 'getScrubLog',
    summary: "Get a scrub run's log",
    params: idParams,
    response: { 200: { description: 'The log as text, one line per entry', content: { 'text/plain': { schema: { type: 'string' } } } } },
    errors: [400, 401, 403, 404, 500],
  });
  app.get('/system/scrub/:scrub_id/log', { schema: getScrubLog }, async (req, reply) => {
    allow(req, 'read');
    const text = await scrub.log(runId(req));
    return reply.type('text/plain; charset=utf-8').send(text);
  });

  const getScrubFindings = operation({
    tags,
    operationId: 'getScrubFindings',
    summary: 'List what a scrub run found',
    description: 'In the order found; at most the first 1000 of a run are kept (its counts stay exact).',
    params: idParams,
    querystring: object(pagingQuery),
    response: { 200: page(ref('ScrubFinding'), 'One page of findings') },
    errors: [400, 401, 403, 404, 500],
  });
  app.get('/system/scrub/:scrub_id/findings', { schema: getScrubFindings }, async (req, reply) => {
    allow(req, 'read');
    const paging = pagingOf(req);
    const result = await scrub.findings(runId(req), { offset: paging.offset, limit: paging.pageSize });
    return sendPage(req, reply, paging, result);
  });
}
