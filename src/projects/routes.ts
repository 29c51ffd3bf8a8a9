import type { FastifyInstance, FastifyRequest } from 'fastify';
import { requireAuthenticated, type AccessGuard } from '../auth/guard.js';
import { displayName, isSysadmin, type Identity } from '../auth/identity.js';
import { systemPermissionPairs, type RoleId } from '../auth/rbac.js';
import { bodyOf, boolParam, created, isResourceName, pagingOf, queryOf, sendPage } from '../http/api-helpers.js';
import { apiError } from '../lib/errors.js';
import {
  addSchemas,
  arrayOf,
  bool,
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
  type OperationDoc,
} from '../http/schema-helpers.js';
import { parseQuery } from '../lib/query.js';
import { metadataMap, projectNameOrId, projectParams, projectSchemas, resourceNameHeader } from './schemas.js';
import { toRef, type Actor, type ProjectService } from './service.js';
import type { ProjectRow } from './store.js';
import { viewerOf as projectViewer, visibilityOf as projectVisibility } from './visibility.js';

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
  /** The project_creation_restriction setting, read per request. */
  projectCreation: () => 'everyone' | 'adminonly';
  /**
   * Called after a project is deleted: its robots are gone (remembered credentials must go
   * too) and its labels go with it.
   */
  onDeleted(projectId: number, actor: string): Promise<void>;
}

type ProjectParams = { project_name_or_id: string; meta_name?: string };

function actorOf(identity: Identity): Actor {
  return { username: displayName(identity), userId: identity.kind === 'user' ? identity.userId : null, sysadmin: isSysadmin(identity) };
}

/** /projects…, the project metadata API and /users/current/permissions, as Harbor serves them. */
export async function registerProjectRoutes(app: FastifyInstance, deps: ProjectRouteDeps): Promise<void> {
  const { projects, members, guard } = deps;
  addSchemas(app, projectSchemas);
  const tags = ['project'];
  /** An operation on the project in the path (named or numbered, see X-Is-Resource-Name). */
  const onProject = (doc: Omit<OperationDoc, 'params' | 'headers'>, params = projectParams) =>
    operation({ ...doc, params, headers: resourceNameHeader });

  const visibilityOf = (identity: Identity) => projectVisibility(identity, members);
  const viewerOf = (identity: Identity, rows: ProjectRow[]) => projectViewer(identity, rows, members);

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
    if (deps.projectCreation() === 'adminonly') {
      throw apiError('FORBIDDEN', 'only system administrators may create projects (auth.project_creation_restriction is adminonly)');
    }
  }

  const listProjects = operation({
    tags,
    operationId: 'listProjects',
    summary: 'List projects',
    description: 'Public projects and those the caller is a member of; all of them for system administrators.',
    querystring: object({
      ...listQuery,
      name: str('Only projects whose name contains this'),
      public: bool('Only public (true) or only private (false) projects'),
      owner: str('Only projects owned by this username'),
      with_detail: bool('Include owner_name, metadata and cve_allowlist', { default: true }),
    }),
    response: { 200: page(ref('Project'), 'One page of projects') },
    errors: [400, 401, 422, 500],
  });
  app.get('/projects', { schema: listProjects }, async (req, reply) => {
    const query = queryOf(req);
    const paging = pagingOf(req);
    const terms = parseQuery(query.q);
    const isPublic = boolParam(query.public, 'public');
    const withDetail = boolParam(query.with_detail, 'with_detail') ?? true;
    if (req.identity.kind === 'anonymous' && isPublic === false) return sendPage(req, reply, paging, { items: [], total: 0 });
    const filter = {
      visibility: await visibilityOf(req.identity),
      name: query.name || undefined,
      owner: query.owner || undefined,
      public: isPublic,
    };
    const page = await projects.list(filter, terms, query.sort, paging);
    const items = await projects.views(page.items, await viewerOf(req.identity, page.items), withDetail);
    return sendPage(req, reply, paging, { items, total: page.total });
  });

  const headProject = operation({
    tags,
    operationId: 'headProject',
    summary: 'Check that a project exists',
    querystring: object({ project_name: str('Name of the project') }, ['project_name']),
    response: { 200: empty('The project exists') },
    errors: [400, 404, 500],
  });
  app.head('/projects', { schema: headProject }, async (req, reply) => {
    const name = queryOf(req).project_name;
    if (!name) throw apiError('BAD_REQUEST', 'project_name is required');
    const project = await projects.findByName(name);
    if (!project) throw apiError('NOT_FOUND', `project ${name} does not exist`);
    await guard.require(req.identity, toRef(project), 'project', 'read');
    return reply.code(200).send();
  });

  const createProject = operation({
    tags,
    operationId: 'createProject',
    summary: 'Create a project',
    description: 'The creator becomes its project admin. auth.project_creation_restriction may keep this to system administrators.',
    headers: object({
      'X-Resource-Name-In-Location': bool('true: the Location header names the project instead of giving its id', { default: false }),
    }),
    body: ref('ProjectReq'),
    response: { 201: createdWithLocation('The project was created') },
    errors: [400, 401, 403, 409, 500],
  });
  app.post('/projects', { schema: createProject }, async (req, reply) => {
    requireMayCreate(req.identity);
    const project = await projects.createFromRequest(bodyOf(req), actorOf(req.identity));
    const byName = String(req.headers['x-resource-name-in-location'] ?? '').toLowerCase() === 'true';
    return created(reply, `/api/v2.0/projects/${byName ? project.name : project.id}`);
  });

  const getProject = onProject({
    tags,
    operationId: 'getProject',
    summary: 'Get a project',
    response: { 200: ok(ref('Project'), 'The project') },
    errors: [401, 403, 404, 500],
  });
  app.get('/projects/:project_name_or_id', { schema: getProject }, async (req) => {
    const project = await projectFor(req, 'project', 'read');
    const [view] = await projects.views([project], await viewerOf(req.identity, [project]));
    return view;
  });

  const updateProject = onProject({
    tags,
    operationId: 'updateProject',
    summary: 'Change a project',
    description: 'Changes metadata (public and the other settings); the name cannot change.',
    body: ref('ProjectReq'),
    response: { 200: empty('The project was changed') },
    errors: [400, 401, 403, 404, 500],
  });
  app.put('/projects/:project_name_or_id', { schema: updateProject }, async (req, reply) => {
    const project = await projectFor(req, 'project', 'update');
    await projects.update(project, bodyOf(req), actorOf(req.identity));
    return reply.code(200).send();
  });

  const deleteProject = onProject({
    tags,
    operationId: 'deleteProject',
    summary: 'Delete a project',
    description: 'Only an empty project can be deleted: 412 while it holds repositories. Its robot accounts go with it.',
    response: { 200: empty('The project was deleted') },
    errors: [400, 401, 403, 404, 412, 500],
  });
  app.delete('/projects/:project_name_or_id', { schema: deleteProject }, async (req, reply) => {
    const project = await projectFor(req, 'project', 'delete');
    await projects.delete(project, actorOf(req.identity));
    await deps.onDeleted(Number(project.id), displayName(req.identity));
    return reply.code(200).send();
  });

  const getProjectDeletable = onProject({
    tags,
    operationId: 'getProjectDeletable',
    summary: 'Tell whether a project can be deleted',
    response: { 200: ok(ref('ProjectDeletable'), 'Whether the project can be deleted, and why not') },
    errors: [401, 403, 404, 500],
  });
  app.get('/projects/:project_name_or_id/_deletable', { schema: getProjectDeletable }, async (req) =>
    projects.deletable(await projectFor(req, 'project', 'delete')),
  );

  const getProjectSummary = onProject({
    tags,
    operationId: 'getProjectSummary',
    summary: "Get a project's summary",
    response: { 200: ok(ref('ProjectSummary'), 'Counts and quota of the project') },
    errors: [400, 401, 403, 404, 500],
  });
  app.get('/projects/:project_name_or_id/summary', { schema: getProjectSummary }, async (req) => {
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
      // Bytes of the distinct blobs (layers, configs, manifests) the project holds, each once.
      summary.quota = await projects.quota(project);
    }
    // A proxy cache project's summary names its registry endpoint, as Harbor's does.
    const registry = await projects.proxyRegistry(project);
    if (registry) summary.registry = registry;
    return summary;
  });

  const metadataTags = ['projectMetadata'];
  const metaParams = pathParams({ ...projectNameOrId, meta_name: str('The metadata key, such as auto_scan') });
  const listProjectMetadatas = {
    tags: metadataTags,
    operationId: 'listProjectMetadatas',
    summary: "Get a project's metadata",
    response: { 200: ok(metadataMap, 'Every metadata key of the project, public included') },
    errors: [400, 401, 403, 404, 500],
  };
  const addProjectMetadatas = {
    tags: metadataTags,
    operationId: 'addProjectMetadatas',
    summary: 'Add a metadata key to a project',
    description: 'The body holds one key that the project does not have yet (409 if it does; change it with PUT).',
    body: metadataMap,
    response: { 200: empty('The metadata was added') },
    errors: [400, 401, 403, 404, 409, 500],
  };
  // Harbor's swagger spells the collection with a trailing slash; clients use both. The
  // document shows the trailing-slash form only.
  for (const path of ['/projects/:project_name_or_id/metadatas', '/projects/:project_name_or_id/metadatas/']) {
    const hide = !path.endsWith('/');
    app.get(path, { schema: onProject({ ...listProjectMetadatas, hide }) }, async (req) =>
      projects.metadata(await projectFor(req, 'metadata', 'read')),
    );
    app.post(path, { schema: onProject({ ...addProjectMetadatas, hide }) }, async (req, reply) => {
      const project = await projectFor(req, 'metadata', 'create');
      await projects.addMetadata(project, bodyOf(req), actorOf(req.identity));
      return reply.code(200).send();
    });
  }

  const getProjectMetadata = onProject(
    {
      tags: metadataTags,
      operationId: 'getProjectMetadata',
      summary: 'Get one metadata key of a project',
      response: { 200: ok(metadataMap, 'The key and its value') },
      errors: [400, 401, 403, 404, 500],
    },
    metaParams,
  );
  app.get('/projects/:project_name_or_id/metadatas/:meta_name', { schema: getProjectMetadata }, async (req) => {
    const project = await projectFor(req, 'metadata', 'read');
    return projects.getMetadata(project, (req.params as ProjectParams).meta_name!);
  });

  const updateProjectMetadata = onProject(
    {
      tags: metadataTags,
      operationId: 'updateProjectMetadata',
      summary: 'Set one metadata key of a project',
      description: 'The body holds only the key named in the path, such as {"auto_scan": "true"}.',
      body: metadataMap,
      response: { 200: empty('The metadata was set') },
      errors: [400, 401, 403, 404, 409, 500],
    },
    metaParams,
  );
  app.put('/projects/:project_name_or_id/metadatas/:meta_name', { schema: updateProjectMetadata }, async (req, reply) => {
    const project = await projectFor(req, 'metadata', 'update');
    await projects.setMetadata(project, (req.params as ProjectParams).meta_name!, bodyOf(req), actorOf(req.identity));
    return reply.code(200).send();
  });

  const deleteProjectMetadata = onProject(
    {
      tags: metadataTags,
      operationId: 'deleteProjectMetadata',
      summary: 'Remove one metadata key from a project',
      description: 'Removing public makes the project private.',
      response: { 200: empty('The metadata was removed') },
      errors: [400, 401, 403, 404, 409, 500],
    },
    metaParams,
  );
  app.delete('/projects/:project_name_or_id/metadatas/:meta_name', { schema: deleteProjectMetadata }, async (req, reply) => {
    const project = await projectFor(req, 'metadata', 'delete');
    await projects.deleteMetadata(project, (req.params as ProjectParams).meta_name!, actorOf(req.identity));
    return reply.code(200).send();
  });

  /** System-level permissions: all for administrators, a robot's grants, and project list/create for users. */
  function systemPermissions(identity: Identity): Array<{ resource: string; action: string }> {
    if (isSysadmin(identity)) return systemPermissionPairs;
    if (identity.kind === 'robot') return systemPermissionPairs.filter((p) => guard.canSystem(identity, p.resource, p.action));
    const list = [{ resource: 'project', action: 'list' }];
    return deps.projectCreation() === 'everyone' ? [...list, { resource: 'project', action: 'create' }] : list;
  }

  const getCurrentUserPermissions = operation({
    tags: ['user'],
    operationId: 'getCurrentUserPermissions',
    summary: "List the caller's permissions",
    querystring: object({
      scope: str('/system (the default) or /project/{project_id}'),
      relative: bool('true: resources relative to the scope (repository rather than /project/1/repository)', { default: false }),
    }),
    response: { 200: ok(arrayOf(ref('Permission')), 'What the caller may do in the scope') },
    errors: [400, 401, 500],
  });
  app.get('/users/current/permissions', { schema: getCurrentUserPermissions }, async (req) => {
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
