import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AccessGuard } from '../auth/guard.js';
import { visibilityOf } from '../projects/visibility.js';
import { displayName } from '../auth/identity.js';
import { bodyOf, pagingOf, queryOf, repositoryPathName, sendPage } from '../http/api-helpers.js';
import { addSchemas, empty, listQuery, object, ok, operation, page, pathParams, ref } from '../http/schema-helpers.js';
import { parseQuery } from '../lib/query.js';
import type { ProjectService } from '../projects/service.js';
import { toRef } from '../projects/service.js';
import type { ProjectRow } from '../projects/store.js';
import { projectName, repositoryParams, repositorySchemas } from './schemas.js';
import type { Repository, RepositoryService } from './service.js';

export interface RepositoryRouteDeps {
  repositories: RepositoryService;
  members: { projectIdsOf(userId: number): Promise<number[]> };
  projects: ProjectService;
  guard: AccessGuard;
}

type RepositoryParams = { project_name: string; repository_name: string };

/** /projects/{project_name}/repositories… and /repositories, as Harbor serves them. */
export async function registerRepositoryRoutes(app: FastifyInstance, deps: RepositoryRouteDeps): Promise<void> {
  const { repositories, projects, guard } = deps;
  addSchemas(app, repositorySchemas);
  const tags = ['repository'];

  /** The project in the path (404 if none), once the caller may take `action` on its repositories. */
  async function projectFor(req: FastifyRequest, action: string): Promise<ProjectRow> {
    const project = await projects.resolve((req.params as RepositoryParams).project_name, true);
    await guard.require(req.identity, toRef(project), 'repository', action);
    return project;
  }

  /** The repository in the path (404 if none), once the caller may take `action` on it. */
  async function repositoryFor(req: FastifyRequest, action: string): Promise<Repository> {
    const project = await projectFor(req, action);
    return repositories.resolve(repositoryPathName(project.name, (req.params as RepositoryParams).repository_name));
  }

  async function sendList(req: FastifyRequest, reply: Parameters<typeof sendPage>[1], projectIds: number[] | null) {
    const query = queryOf(req);
    const paging = pagingOf(req);
    const page = await repositories.list(projectIds, parseQuery(query.q), query.sort, paging);
    return sendPage(req, reply, paging, { items: await repositories.views(page.items), total: page.total });
  }

  const listRepositories = operation({
    tags,
    operationId: 'listRepositories',
    summary: "List a project's repositories",
    description: 'Repositories holding at least one artifact. q filters on name (name=~nginx); sort on name, creation_time, update_time.',
    params: pathParams(projectName),
    querystring: object(listQuery),
    response: { 200: page(ref('Repository'), 'One page of repositories') },
    errors: [400, 401, 403, 404, 422, 500],
  });
  app.get('/projects/:project_name/repositories', { schema: listRepositories }, async (req, reply) => {
    const project = await projectFor(req, 'list');
    return sendList(req, reply, [Number(project.id)]);
  });

  // As in Harbor, reading one repository needs the same permission as listing them.
  const getRepository = operation({
    tags,
    operationId: 'getRepository',
    summary: 'Get a repository',
    params: repositoryParams,
    response: { 200: ok(ref('Repository'), 'The repository') },
    errors: [400, 401, 403, 404, 500],
  });
  app.get('/projects/:project_name/repositories/:repository_name', { schema: getRepository }, async (req) => {
    const [view] = await repositories.views([await repositoryFor(req, 'list')]);
    return view;
  });

  const updateRepository = operation({
    tags,
    operationId: 'updateRepository',
    summary: "Change a repository's description",
    description: 'Only description is read from the body; leaving it out clears the description.',
    params: repositoryParams,
    body: ref('Repository'),
    response: { 200: empty('The description was changed') },
    errors: [400, 401, 403, 404, 500],
  });
  app.put('/projects/:project_name/repositories/:repository_name', { schema: updateRepository }, async (req, reply) => {
    const repository = await repositoryFor(req, 'update');
    await repositories.update(repository, bodyOf(req), { username: displayName(req.identity) });
    return reply.code(200).send();
  });

  const deleteRepository = operation({
    tags,
    operationId: 'deleteRepository',
    summary: 'Delete a repository',
    description: 'Deletes every artifact and tag in the repository.',
    params: repositoryParams,
    response: { 200: empty('The repository was deleted') },
    errors: [400, 401, 403, 404, 412, 500],
  });
  app.delete('/projects/:project_name/repositories/:repository_name', { schema: deleteRepository }, async (req, reply) => {
    const repository = await repositoryFor(req, 'delete');
    await repositories.delete(repository, { username: displayName(req.identity) });
    return reply.code(200).send();
  });

  // Repositories across projects, as Harbor answers it: those in the projects the caller can see.
  const listAllRepositories = operation({
    tags,
    operationId: 'listAllRepositories',
    summary: 'List repositories across projects',
    description: 'Repositories in every project the caller can see (public projects and their own); all of them for system administrators.',
    querystring: object(listQuery),
    response: { 200: page(ref('Repository'), 'One page of repositories') },
    errors: [400, 500],
  });
  app.get('/repositories', { schema: listAllRepositories }, async (req, reply) => {
    const visibility = await visibilityOf(req.identity, deps.members);
    return sendList(req, reply, visibility.kind === 'all' ? null : await projects.ids({ visibility }));
  });
}
