import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AccessGuard, ProjectRef } from '../auth/guard.js';
import { requireAuthenticated } from '../auth/guard.js';
import { isSysadmin } from '../auth/identity.js';
import { pagingOf, queryOf, sendPage } from '../http/api-helpers.js';
import { apiError } from '../lib/errors.js';
import { parseQuery } from '../lib/query.js';
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

  app.get('/audit-logs', list(systemScope, auditLogView));
  app.get('/auditlog-exts', list(systemScope, auditLogExtView));
  app.get('/auditlog-exts/events', async (req) => {
    requireAuthenticated(req.identity);
    return auditEventTypes.map((event_type) => ({ event_type }));
  });
  app.get('/projects/:project_name/logs', list(projectScope, auditLogView));
  app.get('/projects/:project_name/auditlog-exts', list(projectScope, auditLogExtView));
}
