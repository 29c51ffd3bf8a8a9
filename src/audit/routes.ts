import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AccessGuard, ProjectRef } from '../auth/guard.js';
import { requireAuthenticated } from '../auth/guard.js';
import { isSysadmin } from '../auth/identity.js';
import { pagingOf, queryOf, sendPage } from '../http/api-helpers.js';
import { apiError } from '../lib/errors.js';
import { addSchemas, arrayOf, listQuery, object, ok, operation, page, ref } from '../http/schema-helpers.js';
import { parseQuery } from '../lib/query.js';
import { auditSchemas, projectNameParams } from './schemas.js';
import { auditEventTypes, auditLogExtView, auditLogView, type AuditService } from './service.js';
import type { AuditRow, AuditScope } from './store.js';

export interface AuditRouteDeps {
  audit: AuditService;
  guard: AccessGuard;
  projectRef(name: string): Promise<ProjectRef | null>;
  /** Projects in which a user is Project Admin. */
  projectsAdministeredBy(userId: number): Promise<number[]>;
}

/** /audit-logs, /auditlog-exts and the per-project logs. */
export async function registerAuditRoutes(app: FastifyInstance, deps: AuditRouteDeps): Promise<void> {
  const { audit, guard } = deps;

  async function systemScope(req: FastifyRequest): Promise<AuditScope> {
    requireAuthenticated(req.identity);
    if (isSysadmin(req.identity) || guard.canSystem(req.identity, 'audit-log', 'list')) return { all: true };
    if (req.identity.kind === 'user') return { projectIds: await deps.projectsAdministeredBy(req.identity.userId) };
    return { projectIds: [] };
  }

  async function projectScope(req: FastifyRequest): Promise<AuditScope> {
    const name = (req.params as { project_name: string }).project_name;
    const project = await deps.projectRef(name);
    if (!project) throw apiError('NOT_FOUND', `project ${name} does not exist`);
    await guard.require(req.identity, project, 'log', 'list');
    return { projectIds: [project.id] };
  }

  function list(scopeOf: (req: FastifyRequest) => Promise<AuditScope>, view: (row: AuditRow) => unknown) {
    return async (req: FastifyRequest, reply: FastifyReply) => {
      const scope = await scopeOf(req);
      const paging = pagingOf(req);
      const query = queryOf(req);
      const page = await audit.list(scope, parseQuery(query.q), query.sort, paging);
      return sendPage(req, reply, paging, { items: page.items.map(view), total: page.total });
    };
  }

  addSchemas(app, auditSchemas);
  const systemWide = 'All records for system administrators; otherwise those of the projects the caller administers.';
  const querystring = object(listQuery);

  const listAuditLogs = operation({
    tags: ['auditlog'],
    operationId: 'listAuditLogs',
    summary: 'List audit log records',
    description: systemWide,
    querystring,
    response: { 200: page(ref('AuditLog'), 'One page of records, newest first unless sorted otherwise') },
    errors: [400, 401, 500],
  });
  app.get('/audit-logs', { schema: listAuditLogs }, list(systemScope, auditLogView));

  const listAuditLogExts = operation({
    tags: ['auditlog'],
    operationId: 'listAuditLogExts',
    summary: 'List audit log records, with their results',
    description: systemWide,
    querystring,
    response: { 200: page(ref('AuditLogExt'), 'One page of records') },
    errors: [400, 401, 500],
  });
  app.get('/auditlog-exts', { schema: listAuditLogExts }, list(systemScope, auditLogExtView));

  const listAuditLogEventTypes = operation({
    tags: ['auditlog'],
    operationId: 'listAuditLogEventTypes',
    summary: 'List the kinds of events the audit log records',
    response: { 200: ok(arrayOf(ref('AuditLogEventType')), 'Every event type') },
    errors: [401, 403, 500],
  });
  app.get('/auditlog-exts/events', { schema: listAuditLogEventTypes }, async (req) => {
    requireAuthenticated(req.identity);
    return auditEventTypes.map((event_type) => ({ event_type }));
  });

  const getLogs = operation({
    tags: ['project'],
    operationId: 'getLogs',
    summary: "List a project's audit log records",
    params: projectNameParams,
    querystring,
    response: { 200: page(ref('AuditLog'), 'One page of records') },
    errors: [400, 401, 403, 404, 500],
  });
  app.get('/projects/:project_name/logs', { schema: getLogs }, list(projectScope, auditLogView));

  const getLogExts = operation({
    tags: ['project'],
    operationId: 'getLogExts',
    summary: "List a project's audit log records, with their results",
    params: projectNameParams,
    querystring,
    response: { 200: page(ref('AuditLogExt'), 'One page of records') },
    errors: [400, 401, 403, 404, 500],
  });
  app.get('/projects/:project_name/auditlog-exts', { schema: getLogExts }, list(projectScope, auditLogExtView));
}
