import type { ExpressionBuilder } from 'kysely';
import type { Database, RepositoriesTable } from './types.js';

/**
 * The `updated_at` of a repository row that an upload created and no manifest push has
 * touched yet. Harbor creates a repository at its first manifest push; Berth needs the row
 * earlier (upload sessions and blob links point at it), so the row exists but is not a
 * repository yet. The first manifest push sets `updated_at`, and from then on the
 * repository stays, with or without artifacts, until it is deleted.
 */
export const neverPushed = '';

/**
 * Repositories as Harbor knows them: a manifest was pushed to it at least once (it may be
 * empty now). For queries that alias repositories as `r`.
 */
export function isKnownRepository<DB extends Database & { r: RepositoriesTable }>(eb: ExpressionBuilder<DB, 'r'>) {
  const e = eb as unknown as ExpressionBuilder<Database & { r: RepositoriesTable }, 'r'>;
  return e('r.updated_at', '<>', neverPushed);
}
