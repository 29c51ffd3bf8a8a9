import type { FastifyInstance, FastifyRequest } from 'fastify';
import { requireAuthenticated, type AccessGuard } from '../auth/guard.js';
import { displayName, isSysadmin, type Identity } from '../auth/identity.js';
import { systemPermissionPairs, type RoleId } from '../auth/rbac.js';
import { bodyOf, boolParam, created, isResourceName, pagingOf, queryOf, sendPage } from '../http/api-helpers.js';
import { apiError } from '../lib/errors.js';
import { parseQuery } from '../lib/query.js';
import { toRef, type Actor, type ProjectService, type Viewer } from './service.js';
import type { ProjectRow, Visibility } from './store.js';

/** What the projects API needs from the members feature. */
export interface ProjectMembership {
  projectIdsOf(userId: number): Promise<number[]>;
  rolesIn(userId: number, projectIds: number[]): Promise<Map<number, RoleId[]>>;
  countByRole(projectId: number): Promise<Map<RoleId, number>>;
}

export interface ProjectRouteDeps {
  projects: ProjectService;
  members: ProjectMembership;
  guard: AccessGuard;
  /** auth.project_creation_restriction */
  projectCreation: 'everyone' | 'adminonly';
  /** Called after a project is deleted (its robots are gone: remembered credentials must go too). */
  onDeleted(): void;
}

type ProjectParams = { project_name_or_id: string; meta_name?: string };

function actorOf(identity: Identity): Actor {
  return { username: displayName(identity), userId: identity.kind === 'user' ? identity.userId : null, sysadmin: isSysadmin(identity) };
}

/** /projects…, the project metadata API and /users/current/permissions, as Harbor serves them. */
export async function registerProjectRoutes(app: FastifyInstance, deps: ProjectRouteDeps): Promise<void> {
  const { projects, members, guard } = deps;

  /** Public projects, the caller's own, or all of them (system administrators, robots covering every project). */
  async function visibilityOf(identity: Identity): Promise<Visibility> {
    if (isSysadmin(identity)) return { kind: 'all' };
    if (identity.kind === 'user') return { kind: 'some', includePublic: true, ids: await members.projectIdsOf(identity.userId), names: [] };
    if (identity.kind === 'robot') {
      const scopes = identity.permissions.filter((p) => p.kind === 'project');
      if (scopes.some((p) => p.namespace === '*')) return { kind: 'all' };
      return { kind: 'some', includePublic: true, ids: [], names: scopes.map((p) => p.namespace) };
    }
    return { kind: 'some', includePublic: true, ids: [], names: [] };
  }

  async function viewerOf(identity: Identity, rows: ProjectRow[]): Promise<Viewer> {
    const roles = identity.kind === 'user' ? await members.rolesIn(identity.userId, rows.map((r) => Number(r.id))) : new Map();
    return { sysadmin: isSysadmin(identity), roles };
  }

  /** The project in the path (404 if none), once the caller may take `action` on `resource` in it. */
  async function projectFor(req: FastifyRequest, resource: string, action: string): Promise<ProjectRow> {
    const project = await projects.resolve((req.params as ProjectParams).project_name_or_id, isResourceName(req));
    await guard.require(req.identity, toRef(project), resource, action);
    return project;
  }

  function requireMayCreate(identity: Identity): void {
    requireAuthenticated(identity);
    if (isSysadmin(identity)) return;
    if (identity.kind === 'robot') {
      if (guard.canSystem(identity, 'project', 'create')) return;
      throw apiError('FORBIDDEN', 'only system-level robot accounts with project:create may create projects');
    }
    if (deps.projectCreation === 'adminonly') {
      throw apiError('FORBIDDEN', 'only system administrators may create projects (auth.project_creation_restriction is adminonly)');
    }
  }

  app.get('/projects', async (req, reply) => {
    const query = queryOf(req);
    const paging = pagingOf(req);
    const terms = parseQuery(query.q);
    const isPublic = boolParam(query.public, 'public');
    const withDetail = boolParam(query.with_detail, 'with_detail') ?? true;
    if (req.identity.kind === 'anonymous' && isPublic === false) return sendPage(req, reply, paging, { items: [], total: 0 });
    const filter = { visibility: await visibilityOf(req.identity), name: query.name || undefined, owner: query.owner || undefined, public: isPublic };
    const page = await projects.list(filter, terms, query.sort, paging);
    const items = await projects.views(page.items, await viewerOf(req.identity, page.items), withDetail);
    return sendPage(req, reply, paging, { items, total: page.total });
  });

  app.head('/projects', async (req, reply) => {
    const name = queryOf(req).project_name;
    if (!name) throw apiError('BAD_REQUEST', 'project_name is required');
    const project = await projects.findByName(name);
    if (!project) throw apiError('NOT_FOUND', `project ${name} does not exist`);
    await guard.require(req.identity, toRef(project), 'project', 'read');
    return reply.code(200).send();
  });

  app.post('/projects', async (req, reply) => {
    requireMayCreate(req.identity);
    const project = await projects.createFromRequest(bodyOf(req), actorOf(req.identity));
    const byName = String(req.headers['x-resource-name-in-location'] ?? '').toLowerCase() === 'true';
    return created(reply, `/api/v2.0/projects/${byName ? project.name : project.id}`);
  });

  app.get('/projects/:project_name_or_id', async (req) => {
    const project = await projectFor(req, 'project', 'read');
    const [view] = await projects.views([project], await viewerOf(req.identity, [project]));
    return view;
  });

  app.put('/projects/:project_name_or_id', async (req, reply) => {
    const project = await projectFor(req, 'project', 'update');
    await projects.update(project, bodyOf(req), actorOf(req.identity));
    return reply.code(200).send();
  });

  app.delete('/projects/:project_name_or_id', async (req, reply) => {
    const project = await projectFor(req, 'project', 'delete');
    await projects.delete(project, actorOf(req.identity));
    deps.onDeleted();
    return reply.code(200).send();
  });

  app.get('/projects/:project_name_or_id/_deletable', async (req) => projects.deletable(await projectFor(req, 'project', 'delete')));

  app.get('/projects/:project_name_or_id/summary', async (req) => {
    const project = await projectFor(req, 'project', 'read');
    const ref = toRef(project);
    const summary: Record<string, unknown> = { repo_count: await projects.repositoryCount(project) };
    // As in Harbor, member counts and quota appear only to callers who may read them.
    if (await guard.can(req.identity, ref, 'member', 'list')) {
      const counts = await members.countByRole(ref.id);
      summary.project_admin_count = counts.get(1) ?? 0;
      summary.maintainer_count = counts.get(4) ?? 0;
      summary.developer_count = counts.get(2) ?? 0;
      summary.guest_count = counts.get(3) ?? 0;
      summary.limited_guest_count = counts.get(5) ?? 0;
    }
    if (await guard.can(req.identity, ref, 'quota', 'read')) {
      // Usage is counted once quotas are (a later feature); until then it is 0.
      summary.quota = { hard: { storage: Number(project.storage_limit) }, used: { storage: 0 } };
    }
    return summary;
  });

  // Harbor's swagger spells the collection with a trailing slash; clients use both.
  for (const path of ['/projects/:project_name_or_id/metadatas', '/projects/:project_name_or_id/metadatas/']) {
    app.get(path, async (req) => projects.metadata(await projectFor(req, 'metadata', 'read')));
    app.post(path, async (req, reply) => {
      const project = await projectFor(req, 'metadata', 'create');
      await projects.addMetadata(project, bodyOf(req), actorOf(req.identity));
      return reply.code(200).send();
    });
  }

  app.get('/projects/:project_name_or_id/metadatas/:meta_name', async (req) => {
    const project = await projectFor(req, 'metadata', 'read');
    return projects.getMetadata(project, (req.params as ProjectParams).meta_name!);
  });

  app.put('/projects/:project_name_or_id/metadatas/:meta_name', async (req, reply) => {
    const project = await projectFor(req, 'metadata', 'update');
    await projects.setMetadata(project, (req.params as ProjectParams).meta_name!, bodyOf(req), actorOf(req.identity));
    return reply.code(200).send();
  });

  app.delete('/projects/:project_name_or_id/metadatas/:meta_name', async (req, reply) => {
    const project = await projectFor(req, 'metadata', 'delete');
    await projects.deleteMetadata(project, (req.params as ProjectParams).meta_name!, actorOf(req.identity));
    return reply.code(200).send();
  });

  /** System-level permissions: all for administrators, a robot's grants, and project list/create for users. */
  function systemPermissions(identity: Identity): Array<{ resource: string; action: string }> {
    if (isSysadmin(identity)) return systemPermissionPairs;
    if (identity.kind === 'robot') return systemPermissionPairs.filter((p) => guard.canSystem(identity, p.resource, p.action));
    const list = [{ resource: 'project', action: 'list' }];
    return deps.projectCreation === 'everyone' ? [...list, { resource: 'project', action: 'create' }] : list;
  }

  app.get('/users/current/permissions', async (req) => {
    requireAuthenticated(req.identity);
    const query = queryOf(req);
    const relative = boolParam(query.relative, 'relative') ?? false;
    const scope = (query.scope ?? '').replace(/\/+$/, '');
    if (scope === '' || scope === '/system') {
      return systemPermissions(req.identity).map((p) => ({ resource: relative ? p.resource : `/system/${p.resource}`, action: p.action }));
    }
    const match = /^\/project\/(\d+)$/.exec(scope);
    if (!match) throw apiError('BAD_REQUEST', `scope must be /system or /project/{project_id}, not "${scope}"`);
    const project = await projects.byId(Number(match[1]));
    if (!project) return [];
    const permissions = await guard.projectPermissions(req.identity, toRef(project));
    return permissions.map((p) => ({ resource: relative ? p.resource : `${scope}/${p.resource}`, action: p.action }));
  });
}
