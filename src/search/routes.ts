import type { FastifyInstance } from 'fastify';
import { requireAuthenticated } from '../auth/guard.js';
import { isSysadmin } from '../auth/identity.js';
import type { RoleId } from '../auth/rbac.js';
import { queryOf } from '../http/api-helpers.js';
import { apiError } from '../lib/errors.js';
import { viewerOf, visibilityOf } from '../projects/visibility.js';
import type { SearchService } from './service.js';

export interface SearchRouteDeps {
  search: SearchService;
  /** The caller's projects and roles in them (the members feature answers). */
  members: {
    projectIdsOf(userId: number): Promise<number[]>;
    rolesIn(userId: number, projectIds: number[]): Promise<Map<number, RoleId[]>>;
  };
}

/** /search and /statistics, as Harbor serves them. */
export async function registerSearchRoutes(app: FastifyInstance, deps: SearchRouteDeps): Promise<void> {
  const { search, members } = deps;

  app.get('/search', async (req) => {
    const q = (queryOf(req).q ?? '').trim();
    if (q === '') throw apiError('BAD_REQUEST', 'q is required: the text to look for in project and repository names');
    const visibility = await visibilityOf(req.identity, members);
    return search.search(q, visibility, (rows) => viewerOf(req.identity, rows, members));
  });

  app.get('/statistics', async (req) => {
    requireAuthenticated(req.identity);
    return search.statistics({ sysadmin: isSysadmin(req.identity), visibility: await visibilityOf(req.identity, members) });
  });
}
