import { apiError } from '../lib/errors.js';
import type { QueryTerm } from '../lib/query.js';

export type ListScope = { level: 'system'; rest: QueryTerm[] } | { level: 'project'; projectId: number; rest: QueryTerm[] };

const levelKeys = new Set(['Level', 'level']);
const projectKeys = new Set(['ProjectID', 'project_id']);

function exactValue(term: QueryTerm): string {
  if (term.op !== 'exact') throw apiError('BAD_REQUEST', `invalid q: ${term.key} takes one exact value (${term.key}=value)`);
  return term.value;
}

/**
 * Reads GET /robots' scope from `q`, as Harbor does: no Level lists system robots;
 * Level=project needs ProjectID (a ProjectID alone means Level=project). The other
 * terms filter within that scope.
 */
export function listScope(terms: QueryTerm[]): ListScope {
  let level: string | undefined;
  let projectRaw: string | undefined;
  const rest: QueryTerm[] = [];
  for (const term of terms) {
    if (levelKeys.has(term.key)) level = exactValue(term);
    else if (projectKeys.has(term.key)) projectRaw = exactValue(term);
    else rest.push(term);
  }
  if (level !== undefined && level !== 'system' && level !== 'project') {
    throw apiError('BAD_REQUEST', `invalid q: Level must be "system" or "project", not "${level}"`);
  }
  if (projectRaw === undefined) {
    if (level === 'project')
      throw apiError('BAD_REQUEST', 'invalid q: listing project robots needs ProjectID (q=Level=project,ProjectID=<id>)');
    return { level: 'system', rest };
  }
  if (level === 'system') throw apiError('BAD_REQUEST', 'invalid q: ProjectID applies only to Level=project');
  const projectId = Number(projectRaw);
  if (!/^\d+$/.test(projectRaw) || !Number.isSafeInteger(projectId)) {
    throw apiError('BAD_REQUEST', `invalid q: ProjectID must be an integer, not "${projectRaw}"`);
  }
  return { level: 'project', projectId, rest };
}
