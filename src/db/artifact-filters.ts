import type { ExpressionBuilder } from 'kysely';
import type { ArtifactsTable, Database } from './types.js';

/**
 * Artifacts that listings and counts show, as Harbor does: not an accessory, and not an
 * index's child unless it has a tag of its own. For queries that alias artifacts as `a`.
 */
export function isTopLevelArtifact<DB extends Database & { a: ArtifactsTable }>(eb: ExpressionBuilder<DB, 'a'>) {
  const e = eb as unknown as ExpressionBuilder<Database & { a: ArtifactsTable }, 'a'>;
  return e.and([
    e('a.accessory_of', 'is', null),
    e.or([
      e.not(e.exists(e.selectFrom('artifact_references as ar').select('ar.child_id').whereRef('ar.child_id', '=', 'a.id'))),
      e.exists(e.selectFrom('tags as t').select('t.id').whereRef('t.artifact_id', '=', 'a.id')),
    ]),
  ]);
}
