import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AccessGuard } from '../auth/guard.js';
import { visibilityOf } from '../projects/visibility.js';
import { displayName } from '../auth/identity.js';
import { bodyOf, pagingOf, queryOf, repositoryPathName, sendPage } from '../http/api-helpers.js';
import { parseQuery } from '../lib/query.js';
import type { ProjectService } from '../projects/service.js';
import { toRef } from '../projects/service.js';
import type { ProjectRow } from '../projects/store.js';
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

  app.get('/projects/:project_name/repositories', async (req, reply) => {
    const project = await projectFor(req, 'list');
    return sendList(req, reply, [Number(project.id)]);
  });

  // As in Harbor, reading one repository needs the same permission as listing them.
  app.get('/projects/:project_name/repositories/:repository_name', async (req) => {
    const [view] = await repositories.views([await repositoryFor(req, 'list')]);
    return view;
  });

  app.put('/projects/:project_name/repositories/:repository_name', async (req, reply) => {
    const repository = await repositoryFor(req, 'update');
    await repositories.update(repository, bodyOf(req), { username: displayName(req.identity) });
    return reply.code(200).send();
  });

  app.delete('/projects/:project_name/repositories/:repository_name', async (req, reply) => {
    const repository = await repositoryFor(req, 'delete');
    await repositories.delete(repository, { username: displayName(req.identity) });
    return reply.code(200).send();
  });

  // Repositories across projects, as Harbor answers it: those in the projects the caller can see.
  app.get('/repositories', async (req, reply) => {
    const visibility = await visibilityOf(req.identity, deps.members);
    return sendList(req, reply, visibility.kind === 'all' ? null : await projects.ids({ visibility }));
  });
}
