import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AccessGuard } from '../auth/guard.js';
import { displayName } from '../auth/identity.js';
import { bodyOf, created, idParam, isResourceName, pagingOf, queryOf, sendPage } from '../http/api-helpers.js';
import {
  addSchemas,
  createdWithLocation,
  empty,
  object,
  ok,
  operation,
  page,
  pagingQuery,
  ref,
  str,
  type OperationDoc,
} from '../http/schema-helpers.js';
import { projectParams, resourceNameHeader } from '../projects/schemas.js';
import { toRef, type ProjectService } from '../projects/service.js';
import { memberParams, memberSchemas } from './schemas.js';
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
  addSchemas(app, memberSchemas);
  const doc = (op: Omit<OperationDoc, 'tags' | 'headers'>) => operation({ tags: ['member'], headers: resourceNameHeader, ...op });

  /** The project in the path (404 if none), once the caller may take `action` on its members. */
  async function projectFor(req: FastifyRequest, action: string): Promise<ProjectRefLike> {
    const project = await projects.resolve((req.params as MemberParams).project_name_or_id, isResourceName(req));
    const ref = toRef(project);
    await guard.require(req.identity, ref, 'member', action);
    return ref;
  }

  const memberId = (req: FastifyRequest) => idParam((req.params as MemberParams).mid, 'mid');

  const listProjectMembers = doc({
    operationId: 'listProjectMembers',
    summary: "List a project's members",
    params: projectParams,
    querystring: object({ entityname: str('Only members whose name contains this'), ...pagingQuery }),
    response: { 200: page(ref('ProjectMemberEntity'), 'One page of members') },
    errors: [400, 401, 403, 404, 500],
  });
  app.get('/projects/:project_name_or_id/members', { schema: listProjectMembers }, async (req, reply) => {
    const project = await projectFor(req, 'list');
    const paging = pagingOf(req);
    const page = await members.list(project.id, queryOf(req).entityname || undefined, paging);
    return sendPage(req, reply, paging, page);
  });

  const createProjectMember = doc({
    operationId: 'createProjectMember',
    summary: 'Add a user or a user group to a project',
    description:
      'Give exactly one of member_user (user_id or username) and member_group (id; ldap_group_dn, an LDAP group not yet known is looked up in LDAP in ldap_auth; or group_name with group_type, an OIDC group not yet known is created in oidc_auth). 404 for an unknown user or group, 409 when already a member.',
    params: projectParams,
    body: ref('ProjectMember'),
    response: { 201: createdWithLocation('The member was added') },
    errors: [400, 401, 403, 404, 409, 500],
  });
  app.post('/projects/:project_name_or_id/members', { schema: createProjectMember }, async (req, reply) => {
    const project = await projectFor(req, 'create');
    const id = await members.add(project, bodyOf(req), displayName(req.identity));
    // Harbor's Location names the project as the request did (name or id).
    return created(reply, `/api/v2.0/projects/${encodeURIComponent((req.params as MemberParams).project_name_or_id)}/members/${id}`);
  });

  const getProjectMember = doc({
    operationId: 'getProjectMember',
    summary: 'Get a member of a project',
    params: memberParams,
    response: { 200: ok(ref('ProjectMemberEntity'), 'The member') },
    errors: [400, 401, 403, 404, 500],
  });
  app.get('/projects/:project_name_or_id/members/:mid', { schema: getProjectMember }, async (req) => {
    const project = await projectFor(req, 'read');
    return members.get(project, memberId(req));
  });

  const updateProjectMember = doc({
    operationId: 'updateProjectMember',
    summary: "Change a member's role",
    params: memberParams,
    body: ref('RoleRequest'),
    response: { 200: empty('The role was changed') },
    errors: [400, 401, 403, 404, 500],
  });
  app.put('/projects/:project_name_or_id/members/:mid', { schema: updateProjectMember }, async (req, reply) => {
    const project = await projectFor(req, 'update');
    await members.updateRole(project, memberId(req), bodyOf(req), displayName(req.identity));
    return reply.code(200).send();
  });

  const deleteProjectMember = doc({
    operationId: 'deleteProjectMember',
    summary: 'Remove a member from a project',
    params: memberParams,
    response: { 200: empty('The member was removed') },
    errors: [400, 401, 403, 404, 500],
  });
  app.delete('/projects/:project_name_or_id/members/:mid', { schema: deleteProjectMember }, async (req, reply) => {
    const project = await projectFor(req, 'delete');
    await members.remove(project, memberId(req), displayName(req.identity));
    return reply.code(200).send();
  });
}
