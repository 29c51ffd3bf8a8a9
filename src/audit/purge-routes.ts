import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AccessGuard } from '../auth/guard.js';
import { displayName } from '../auth/identity.js';
import { Schedule, ScheduleObj } from '../gc/schemas.js';
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
import { ExecHistory } from './purge-schemas.js';
import { auditPurgeJobType, maxRetentionHours, type AuditPurgeService, type PurgeRun } from './purge-service.js';

export interface AuditPurgeRouteDeps {
  purge: AuditPurgeService;
  guard: AccessGuard;
}

const historyOf = (run: PurgeRun) => runHistoryOf(run, auditPurgeJobType);

const tags = ['purge'];
const idParams = pathParams({ purge_id: str('Id of the purge run') });
/**
 * Harbor's audit log purge API under /system/purgeaudit: history, one run, its log, stop,
 * and the schedule (POST with type Manual starts a run). System administrators, and robots
 * given purge-audit permissions.
 */
export async function registerAuditPurgeRoutes(app: FastifyInstance, deps: AuditPurgeRouteDeps): Promise<void> {
  const { purge, guard } = deps;
  addSchemas(app, [ScheduleObj, Schedule, ExecHistory]);
  const allow = (req: FastifyRequest, action: string) => guard.requireSystem(req.identity, 'purge-audit', action);
  const runId = (req: FastifyRequest) => idParam((req.params as Record<string, string>).purge_id, 'purge_id');

  const getPurgeHistory = operation({
    tags,
    operationId: 'getPurgeHistory',
    summary: 'List the audit log purge runs',
    description: 'Newest first unless sorted (sort keys: creation_time, update_time, id). q keys: job_status, job_kind (MANUAL, SCHEDULE).',
    querystring: object(listQuery),
    response: { 200: page(ref('ExecHistory'), 'One page of runs') },
    errors: [400, 401, 403, 500],
  });
  app.get('/system/purgeaudit', { schema: getPurgeHistory }, async (req, reply) => {
    allow(req, 'list');
    const paging = pagingOf(req);
    const filter = historyFilterOf(req);
    const result = await purge.history({ offset: paging.offset, limit: paging.pageSize, ...filter });
    return sendPage(req, reply, paging, { total: result.total, items: result.items.map(historyOf) });
  });

  const getPurgeSchedule = operation({
    tags,
    operationId: 'getPurgeSchedule',
    summary: "Get the audit log purge's schedule",
    description: 'An empty answer when there is none, as Harbor answers.',
    response: { 200: ok(ref('ExecHistory'), 'The schedule (empty body when none is set)') },
    errors: [401, 403, 500],
  });
  app.get('/system/purgeaudit/schedule', { schema: getPurgeSchedule }, async (req, reply) => {
    allow(req, 'read');
    const s = await purge.schedule();
    if (!s) return reply.code(200).send();
    return scheduleHistoryOf(s);
  });

  const scheduleDescription =
    'schedule.type Manual starts a run at once (409 while another is pending or running); None removes the schedule; ' +
    'Hourly, Daily, Weekly and Custom set it from schedule.cron. parameters (required, as in Harbor): ' +
    `audit_retention_hour (hours, at most ${maxRetentionHours}; 0 or -1 purge nothing), include_event_types (comma separated: ` +
    'event types of /auditlog-exts/events, "other" for every type but create_artifact, delete_artifact and pull_artifact, ' +
    'or the operations create, delete, pull; empty purges nothing), dry_run (count only).';
  const createPurgeSchedule = operation({
    tags,
    operationId: 'createPurgeSchedule',
    summary: 'Start an audit log purge now, or set or remove its schedule',
    description: scheduleDescription,
    body: ref('Schedule'),
    response: { 201: createdWithLocation('Started (Location names the run), or the schedule is set') },
    errors: [400, 401, 403, 409, 500],
  });
  app.post('/system/purgeaudit/schedule', { schema: createPurgeSchedule }, async (req, reply) => {
    allow(req, 'create');
    const { started } = await purge.applySchedule(req.body, displayName(req.identity));
    return reply
      .code(201)
      .header('location', `/api/v2.0/system/purgeaudit/${started ?? 0}`)
      .send();
  });

  const updatePurgeSchedule = operation({
    tags,
    operationId: 'updatePurgeSchedule',
    summary: "Change the audit log purge's schedule (Manual starts a run)",
    description: scheduleDescription,
    body: ref('Schedule'),
    response: { 200: empty('Done') },
    errors: [400, 401, 403, 409, 500],
  });
  app.put('/system/purgeaudit/schedule', { schema: updatePurgeSchedule }, async (req, reply) => {
    allow(req, 'update');
    await purge.applySchedule(req.body, displayName(req.identity));
    return reply.code(200).send();
  });

  const getPurgeJob = operation({
    tags,
    operationId: 'getPurgeJob',
    summary: 'Get one audit log purge run',
    params: idParams,
    response: { 200: ok(ref('ExecHistory'), 'The run') },
    errors: [400, 401, 403, 404, 500],
  });
  app.get('/system/purgeaudit/:purge_id', { schema: getPurgeJob }, async (req) => {
    allow(req, 'read');
    const id = runId(req);
    const run = await purge.get(id);
    if (!run) throw apiError('NOT_FOUND', `purge job with id ${id} not found`);
    return historyOf(run);
  });

  const stopPurge = operation({
    tags,
    operationId: 'stopPurge',
    summary: 'Stop an audit log purge run',
    description:
      'A pending run is stopped at once; a running one stops between two batches of deletions, keeping what it already removed, and ends Stopped. A run that has ended is left as it is.',
    params: idParams,
    response: { 200: empty('Stopped or stopping') },
    errors: [400, 401, 403, 404, 500],
  });
  app.put('/system/purgeaudit/:purge_id', { schema: stopPurge }, async (req, reply) => {
    allow(req, 'stop');
    const id = runId(req);
    if (!(await purge.stop(id))) throw apiError('NOT_FOUND', `purge job with id ${id} not found`);
    return reply.code(200).send();
  });

  const getPurgeJobLog = operation({
    tags,
    operationId: 'getPurgeJobLog',
    summary: "Get an audit log purge run's log",
    params: idParams,
    response: { 200: { description: 'The log as text', content: { 'text/plain': { schema: { type: 'string' } } } } },
    errors: [400, 401, 403, 404, 500],
  });
  app.get('/system/purgeaudit/:purge_id/log', { schema: getPurgeJobLog }, async (req, reply) => {
    allow(req, 'read');
    const id = runId(req);
    const log = await purge.log(id);
    if (log === undefined) throw apiError('NOT_FOUND', `purge job with execution ID: ${id} taskLog is not found`);
    if (log === null) throw apiError('NOT_FOUND', `the log of purge job ${id} was removed with its job (jobs are kept 30 days)`);
    return reply.type('text/plain; charset=utf-8').send(log);
  });
}
