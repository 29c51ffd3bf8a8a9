import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ArtifactService } from '../../artifacts/service.js';
import type { ArtifactRow } from '../../artifacts/store.js';
import type { AccessGuard } from '../../auth/guard.js';
import { displayName } from '../../auth/identity.js';
import { repositoryPathName } from '../../http/api-helpers.js';
import { addSchemas, createdWithLocation, empty, ok, operation, pathParams, ref, str } from '../../http/schema-helpers.js';
import { apiError } from '../../lib/errors.js';
import { toRef, type ProjectService } from '../../projects/service.js';
import type { ScanType } from './ports.js';
import type { ScanResults } from './results.js';
import type { ScanAllService } from './scan-all.js';
import { scanSchemas } from './schemas.js';
import type { ScanService } from './service.js';
import type { ArtifactRef } from './targets.js';

export interface ScanRouteDeps {
  scans: ScanService;
  scanAll: ScanAllService;
  results: ScanResults;
  artifacts: ArtifactService;
  projects: ProjectService;
  guard: AccessGuard;
}

type Params = { project_name: string; repository_name: string; reference: string; report_id?: string };

const artifactParams = (more: Record<string, ReturnType<typeof str>> = {}) =>
  pathParams({
    project_name: str('The project name'),
    repository_name: str('The repository name without the project; a name with slashes is encoded twice (a/b → a%252Fb)'),
    reference: str('A tag or a digest'),
    ...more,
  });

export function artifactRefOf(row: ArtifactRow): ArtifactRef {
  return {
    id: Number(row.id),
    repositoryId: Number(row.repository_id),
    repository: row.repository_name,
    projectId: Number(row.project_id),
    digest: row.digest,
    mediaType: row.media_type,
    type: row.type,
    accessoryOf: row.accessory_of,
  };
}

/** The scan type of a scan or stop body; absent body or field: vulnerability. */
function scanTypeOf(body: unknown): ScanType {
  if (body === undefined || body === null || body === '') return 'vulnerability';
  if (typeof body !== 'object' || Array.isArray(body))
    throw apiError('BAD_REQUEST', 'the body must be {"scan_type": "vulnerability" | "sbom"}');
  const value = (body as { scan_type?: unknown }).scan_type;
  if (value === undefined || value === null || value === '') return 'vulnerability';
  if (value !== 'vulnerability' && value !== 'sbom') {
    throw apiError('BAD_REQUEST', `scan_type must be "vulnerability" or "sbom", not ${JSON.stringify(value)}`);
  }
  return value;
}

/** Report MIME types named by X-Accept-Vulnerabilities (comma-separated), in order. */
export function acceptedReportTypes(header: string | string[] | undefined): string[] | undefined {
  const text = Array.isArray(header) ? header.join(',') : header;
  if (!text) return undefined;
  // The MIME types carry "; version=1.1": split on commas only.
  const list = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  return list.length > 0 ? list : undefined;
}

/**
 * Harbor's scan API (scan, stop, scan log, the vulnerabilities addition) and scan all
 * (/system/scanAll…, /scans/…/metrics).
 */
export async function registerScanRoutes(app: FastifyInstance, deps: ScanRouteDeps): Promise<void> {
  const { scans, scanAll, results, artifacts, projects, guard } = deps;
  addSchemas(app, scanSchemas);
  const base = '/projects/:project_name/repositories/:repository_name/artifacts/:reference';
  const operator = (req: FastifyRequest) => displayName(req.identity);

  async function artifactFor(req: FastifyRequest, resource: string, action: string): Promise<ArtifactRef> {
    const params = req.params as Params;
    const project = await projects.findByName(params.project_name);
    if (!project) throw apiError('NOT_FOUND', `project ${params.project_name} not found`);
    await guard.require(req.identity, toRef(project), resource, action);
    const repo = await artifacts.repository(repositoryPathName(params.project_name, params.repository_name));
    return artifactRefOf(await artifacts.resolve(repo, params.reference));
  }

  const scanArtifact = operation({
    tags: ['scan'],
    operationId: 'scanArtifact',
    summary: 'Scan an artifact',
    description:
      "Starts a vulnerability scan (or, with scan_type sbom, an SBOM generation) by the project's scanner, as a job. " +
      'An index is scanned through its images. 400 for an artifact the scanner cannot scan (charts, accessories, …), ' +
      '409 while a scan of it is under way, 412 when the project has no usable scanner.',
    params: artifactParams(),
    body: ref('ScanType'),
    response: { 202: empty('The scan is queued') },
    errors: [400, 401, 403, 404, 409, 412, 500],
  });
  app.post(`${base}/scan`, { schema: scanArtifact }, async (req, reply) => {
    const scanType = scanTypeOf(req.body);
    const artifact = await artifactFor(req, scanType === 'sbom' ? 'sbom' : 'scan', 'create');
    const reference = (req.params as Params).reference;
    await scans.scan(artifact, { scanType, operator: operator(req), ...(!reference.includes(':') && { tag: reference }) });
    return reply.code(202).send();
  });

  const stopScanArtifact = operation({
    tags: ['scan'],
    operationId: 'stopScanArtifact',
    summary: "Stop an artifact's scan",
    description:
      'A queued scan ends at once, a running one at its next step; both end Stopped. 400 when no scan of the artifact is under way.',
    params: artifactParams(),
    body: ref('ScanType'),
    response: { 202: empty('Stopped or stopping') },
    errors: [400, 401, 403, 404, 500],
  });
  app.post(`${base}/scan/stop`, { schema: stopScanArtifact }, async (req, reply) => {
    const scanType = scanTypeOf(req.body);
    const artifact = await artifactFor(req, scanType === 'sbom' ? 'sbom' : 'scan', 'stop');
    await scans.stop(artifact, scanType);
    return reply.code(202).send();
  });

  const getReportLog = operation({
    tags: ['scan'],
    operationId: 'getReportLog',
    summary: 'Get the log of a scan',
    params: artifactParams({ report_id: str('The report id (scan_overview report_id)') }),
    response: { 200: { description: 'The log as text', content: { 'text/plain': { schema: { type: 'string' } } } } },
    errors: [400, 401, 403, 404, 500],
  });
  app.get(`${base}/scan/:report_id/log`, { schema: getReportLog }, async (req, reply) => {
    const artifact = await artifactFor(req, 'scan', 'read');
    const text = await scans.log(artifact, (req.params as Params).report_id!);
    return reply.type('text/plain; charset=utf-8').send(text);
  });

  const getVulnerabilitiesAddition = operation({
    tags: ['artifact'],
    operationId: 'getVulnerabilitiesAddition',
    summary: "Get an artifact's vulnerability report",
    description:
      '{"<report MIME type>": report} for the first type of X-Accept-Vulnerabilities with a finished report of the project\'s scanner ' +
      "(default: application/vnd.security.vulnerability.report; version=1.1, then the legacy Harbor type); an index: its images' findings together. {} when not scanned.",
    params: artifactParams(),
    headers: { type: 'object', properties: { 'x-accept-vulnerabilities': str('Report MIME types, comma-separated, in preference order') } },
    response: { 200: ok({ type: 'object', additionalProperties: true }, 'The report by MIME type') },
    errors: [400, 401, 403, 404, 500],
  });
  app.get(`${base}/additions/vulnerabilities`, { schema: getVulnerabilitiesAddition }, async (req, reply) => {
    const artifact = await artifactFor(req, 'artifact-addition', 'read');
    const body = await results.vulnerabilities(artifact, acceptedReportTypes(req.headers['x-accept-vulnerabilities']));
    return reply.type('application/json; charset=utf-8').send(JSON.stringify(body));
  });

  // Scan all.
  const allow = (req: FastifyRequest, action: string) => guard.requireSystem(req.identity, 'scan-all', action);

  const getScanAllSchedule = operation({
    tags: ['scanAll'],
    operationId: 'getScanAllSchedule',
    summary: "Get scan all's schedule",
    description: '{} when there is no schedule.',
    response: { 200: ok(ref('Schedule'), 'The schedule') },
    errors: [401, 403, 412, 500],
  });
  app.get('/system/scanAll/schedule', { schema: getScanAllSchedule }, async (req) => {
    allow(req, 'read');
    const s = await scanAll.schedule();
    if (!s) return {};
    return {
      id: s.id,
      creation_time: s.createdAt,
      update_time: s.updatedAt,
      schedule: { type: s.type, cron: s.cron, ...(s.nextRunAt && { next_scheduled_time: s.nextRunAt }) },
    };
  });

  const scheduleDescription =
    'schedule.type Manual starts a scan of every image now (POST only; 409 while a run is going); None removes the schedule; ' +
    'Hourly, Daily, Weekly and Custom set it from schedule.cron (six fields, seconds first, or five). A POST when a schedule exists is refused with 412, as Harbor does.';
  const createScanAllSchedule = operation({
    tags: ['scanAll'],
    operationId: 'createScanAllSchedule',
    summary: 'Scan all now, or set its schedule',
    description: scheduleDescription,
    body: ref('Schedule'),
    response: { 201: createdWithLocation('Started, or the schedule is set') },
    errors: [400, 401, 403, 409, 412, 500],
  });
  app.post('/system/scanAll/schedule', { schema: createScanAllSchedule }, async (req, reply) => {
    allow(req, 'create');
    await scanAll.applySchedule(req.body, operator(req), 'create');
    return reply.code(201).header('location', '/api/v2.0/system/scanAll/schedule').send();
  });

  const updateScanAllSchedule = operation({
    tags: ['scanAll'],
    operationId: 'updateScanAllSchedule',
    summary: "Change scan all's schedule",
    description: scheduleDescription,
    body: ref('Schedule'),
    response: { 200: empty('Done') },
    errors: [400, 401, 403, 412, 500],
  });
  app.put('/system/scanAll/schedule', { schema: updateScanAllSchedule }, async (req, reply) => {
    allow(req, 'update');
    await scanAll.applySchedule(req.body, operator(req), 'update');
    return reply.code(200).send();
  });

  const stopScanAll = operation({
    tags: ['scanAll'],
    operationId: 'stopScanAll',
    summary: 'Stop the scan-all run',
    description: 'Scans not started end Stopped, running ones are asked to stop. 400 when there has been no run.',
    response: { 202: empty('Stopping') },
    errors: [400, 401, 403, 500],
  });
  app.post('/system/scanAll/stop', { schema: stopScanAll }, async (req, reply) => {
    allow(req, 'stop');
    await scanAll.stop();
    return reply.code(202).send();
  });

  const getLatestScanAllMetrics = operation({
    tags: ['scanAll'],
    operationId: 'getLatestScanAllMetrics',
    summary: 'Progress of the newest scan-all run',
    description: '{} before the first run.',
    response: { 200: ok(ref('Stats'), 'Its progress') },
    errors: [401, 403, 412, 500],
  });
  app.get('/scans/all/metrics', { schema: getLatestScanAllMetrics }, async (req) => {
    allow(req, 'read');
    return scanAll.metrics();
  });

  const getLatestScheduledScanAllMetrics = operation({
    tags: ['scanAll'],
    operationId: 'getLatestScheduledScanAllMetrics',
    summary: 'Progress of the newest scheduled scan-all run',
    description: 'Deprecated in Harbor; kept for its clients. {} before the first scheduled run.',
    response: { 200: ok(ref('Stats'), 'Its progress') },
    errors: [401, 403, 412, 500],
  });
  app.get('/scans/schedule/metrics', { schema: getLatestScheduledScanAllMetrics }, async (req) => {
    allow(req, 'read');
    return scanAll.metrics('Schedule');
  });
}
