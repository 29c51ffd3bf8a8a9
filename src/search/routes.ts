import type { FastifyInstance } from 'fastify';
import { requireAuthenticated } from '../auth/guard.js';
import { isSysadmin } from '../auth/identity.js';
import type { RoleId } from '../auth/rbac.js';
import { queryOf } from '../http/api-helpers.js';
import { addSchemas, object, ok, operation, ref, str } from '../http/schema-helpers.js';
import { apiError } from '../lib/errors.js';
import { viewerOf, visibilityOf } from '../projects/visibility.js';
import { searchSchemas } from './schemas.js';
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
  addSchemas(app, searchSchemas);

  const searchOp = operation({
    tags: ['search'],
    operationId: 'search',
    summary: 'Search projects and repositories by name',
    description: 'Public projects and repositories, and those in projects the caller is a member of (all for system administrators).',
    querystring: object({ q: str('Text to look for in project and repository names', { minLength: 1 }) }, ['q']),
    response: { 200: ok(ref('Search'), 'The projects and repositories found') },
    errors: [400, 500],
  });
  app.get('/search', { schema: searchOp }, async (req) => {
    const q = (queryOf(req).q ?? '').trim();
    if (q === '') throw apiError('BAD_REQUEST', 'q is required: the text to look for in project and repository names');
    const visibility = await visibilityOf(req.identity, members);
    return search.search(q, visibility, (rows) => viewerOf(req.identity, rows, members));
  });

  const getStatistic = operation({
    tags: ['statistic'],
    operationId: 'getStatistic',
    summary: 'Count projects and repositories',
    response: { 200: ok(ref('Statistic'), 'The counts the caller may see') },
    errors: [401, 500],
  });
  app.get('/statistics', { schema: getStatistic }, async (req) => {
    requireAuthenticated(req.identity);
    return search.statistics({ sysadmin: isSysadmin(req.identity), visibility: await visibilityOf(req.identity, members) });
  });
}
