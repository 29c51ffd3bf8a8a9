import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AccessGuard } from '../auth/guard.js';
import { displayName } from '../auth/identity.js';
import { bodyOf, created, idParam, isResourceName, pagingOf, queryOf, sendPage } from '../http/api-helpers.js';
import { toRef, type ProjectService } from '../projects/service.js';
import type { MemberService, ProjectRefLike } from './service.js';

export interface MemberRouteDeps {
  members: MemberService;
  projects: ProjectService;
  guard: AccessGuard;
}

type MemberParams = { project_name_or_id: string; mid?: string };

/** /projects/{project_name_or_id}/members…, as Harbor serves them. */
export async function registerMemberRoutes(app: FastifyInstance, deps: MemberRouteDeps): Promise<void> {
  const { members, projects, guard } = deps;

  /** The project in the path (404 if none), once the caller may take `action` on its members. */
  async function projectFor(req: FastifyRequest, action: string): Promise<ProjectRefLike> {
    const project = await projects.resolve((req.params as MemberParams).project_name_or_id, isResourceName(req));
    const ref = toRef(project);
    await guard.require(req.identity, ref, 'member', action);
    return ref;
  }

  const memberId = (req: FastifyRequest) => idParam((req.params as MemberParams).mid, 'mid');

  app.get('/projects/:project_name_or_id/members', async (req, reply) => {
    const project = await projectFor(req, 'list');
    const paging = pagingOf(req);
    const page = await members.list(project.id, queryOf(req).entityname || undefined, paging);
    return sendPage(req, reply, paging, page);
  });

  app.post('/projects/:project_name_or_id/members', async (req, reply) => {
    const project = await projectFor(req, 'create');
    const id = await members.add(project, bodyOf(req), displayName(req.identity));
    // Harbor's Location names the project as the request did (name or id).
    return created(reply, `/api/v2.0/projects/${encodeURIComponent((req.params as MemberParams).project_name_or_id)}/members/${id}`);
  });

  app.get('/projects/:project_name_or_id/members/:mid', async (req) => {
    const project = await projectFor(req, 'read');
    return members.get(project, memberId(req));
  });

  app.put('/projects/:project_name_or_id/members/:mid', async (req, reply) => {
    const project = await projectFor(req, 'update');
    await members.updateRole(project, memberId(req), bodyOf(req), displayName(req.identity));
    return reply.code(200).send();
  });

  app.delete('/projects/:project_name_or_id/members/:mid', async (req, reply) => {
    const project = await projectFor(req, 'delete');
    await members.remove(project, memberId(req), displayName(req.identity));
    return reply.code(200).send();
  });
}
