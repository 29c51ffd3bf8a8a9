import { sql, type Expression, type ExpressionBuilder, type SelectQueryBuilder, type SqlBool } from 'kysely';
import type { Db } from '../db/index.js';
import type { ArtifactsTable, Database, RepositoriesTable } from '../db/types.js';
import { isTopLevelArtifact } from '../db/artifact-filters.js';
import { applyQuery, applySort, countRows, likeFragment, type Field } from '../db/query.js';
import type { Paging } from '../lib/paging.js';
import type { QueryTerm } from '../lib/query.js';
import { apiError } from '../lib/errors.js';
import { writeAudit } from '../events/audit.js';
import type { RepositoryRow } from '../registry/store.js';
import type { TagProtection } from '../immutability/service.js';

export interface ArtifactRow {
  id: number;
  repository_id: number;
  project_id: number;
  repository_name: string;
  digest: string;
  media_type: string;
  config_media_type: string | null;
  artifact_type: string | null;
  type: string;
  size: number;
  push_time: string;
  pull_time: string | null;
  extra_attrs: string | null;
  annotations: string | null;
  icon: string | null;
  accessory_of: string | null;
  accessory_type: string | null;
}

export interface TagRow {
  id: number;
  repository_id: number;
  artifact_id: number;
  name: string;
  push_time: string;
  pull_time: string | null;
}

export interface ReferenceRow {
  parent_id: number;
  child_id: number;
  child_digest: string;
  platform: string | null;
  annotations: string | null;
}

export interface AccessoryRow {
  id: number;
  digest: string;
  size: number;
  type: string;
  icon: string | null;
  push_time: string;
  subject_digest: string;
}

/** The database as the artifact queries see it, with their table aliases. */
type AliasedDb = Database & { a: ArtifactsTable; r: RepositoriesTable };
export type ListScope = { repositoryId: number } | { projectId: number; latestInRepository: boolean };

type ArtifactQuery = SelectQueryBuilder<AliasedDb, 'a' | 'r', ArtifactRow>;

/** `q` keys of the artifact list that map to a column. tags, labels and base are handled apart. */
const artifactFields: Record<string, Field> = {
  id: { column: 'a.id', type: 'number' },
  digest: { column: 'a.digest', type: 'string' },
  type: { column: 'a.type', type: 'string' },
  media_type: { column: 'a.config_media_type', type: 'string' },
  manifest_media_type: { column: 'a.media_type', type: 'string' },
  artifact_type: { column: 'a.artifact_type', type: 'string' },
  size: { column: 'a.size', type: 'number' },
  push_time: { column: 'a.push_time', type: 'time' },
  pull_time: { column: 'a.pull_time', type: 'time' },
};

const tagFields: Record<string, Field> = {
  id: { column: 'id', type: 'number' },
  name: { column: 'name', type: 'string' },
  push_time: { column: 'push_time', type: 'time' },
  pull_time: { column: 'pull_time', type: 'time' },
};

const accessoryFields: Record<string, Field> = {
  type: { column: 'accessory_type', type: 'string' },
  digest: { column: 'digest', type: 'string' },
};

export function accessoryKey(repositoryId: number, subjectDigest: string): string {
  return `${repositoryId}|${subjectDigest}`;
}

/** Every SQL statement of the artifact API. Portable Kysely only. */
export class ArtifactStore {
  constructor(private readonly db: Db) {}

  /** Tag immutability, asked inside the transaction that removes a tag. */
  tagProtection?: TagProtection;

  private artifacts(): ArtifactQuery {
    return this.db
      .selectFrom('artifacts as a')
      .innerJoin('repositories as r', 'r.id', 'a.repository_id')
      .select([
        'a.id',
        'a.repository_id',
        'r.project_id',
        'r.name as repository_name',
        'a.digest',
        'a.media_type',
        'a.config_media_type',
        'a.artifact_type',
        'a.type',
        'a.size',
        'a.push_time',
        'a.pull_time',
        'a.extra_attrs',
        'a.annotations',
        'a.icon',
        'a.accessory_of',
        'a.accessory_type',
      ]) as unknown as ArtifactQuery;
  }

  byDigest(repositoryId: number, digest: string): Promise<ArtifactRow | undefined> {
    return this.artifacts().where('a.repository_id', '=', repositoryId).where('a.digest', '=', digest).executeTakeFirst();
  }

  byTag(repositoryId: number, tag: string): Promise<ArtifactRow | undefined> {
    return this.artifacts()
      .innerJoin('tags as t', 't.artifact_id', 'a.id')
      .where('t.repository_id', '=', repositoryId)
      .where('t.name', '=', tag)
      .executeTakeFirst();
  }

  /** A page of a repository's artifacts, filtered by Harbor's `q` and sorted by `sort` (newest push first). */
  /**
   * A page of a repository's (or a whole project's) artifacts, filtered by Harbor's `q` and
   * sorted by `sort` (newest push first). `latestInRepository` keeps each repository's newest.
   */
  async list(
    scope: ListScope,
    terms: QueryTerm[],
    sort: string | undefined,
    paging: Paging,
  ): Promise<{ items: ArtifactRow[]; total: number }> {
    let q = this.artifacts();
    q = 'repositoryId' in scope ? q.where('a.repository_id', '=', scope.repositoryId) : q.where('r.project_id', '=', scope.projectId);
    if ('projectId' in scope && scope.latestInRepository) {
      q = q.where(({ eb, selectFrom }) =>
        eb(
          'a.id',
          '=',
          selectFrom('artifacts as l')
            .select('l.id')
            .whereRef('l.repository_id', '=', 'a.repository_id')
            .where('l.accessory_of', 'is', null)
            .orderBy('l.push_time', 'desc')
            .orderBy('l.id', 'desc')
            .limit(1),
        ),
      );
    }
    const columnTerms: QueryTerm[] = [];
    let everything = false;
    for (const term of terms) {
      if (term.key === 'base') everything = term.op === 'exact' && term.value === '*';
      else if (term.key === 'tags') q = this.whereTags(q, term, scope);
      else if (term.key === 'labels') q = this.whereLabels(q, term);
      else columnTerms.push(term);
    }
    if (!everything) q = q.where((eb) => isTopLevelArtifact(eb));
    q = applyQuery(q, columnTerms, artifactFields);
    const total = await countRows(q);
    const items = await applySort(q, sort, artifactFields, { column: 'a.push_time', direction: 'desc' })
      .orderBy('a.id', 'desc')
      .limit(paging.pageSize)
      .offset(paging.offset)
      .execute();
    return { items, total };
  }

  /**
   * tags=* (any tag), tags=nil (untagged), tags=~frag, tags=name, tags={a b}. A name filter
   * looks the names up first (the (repository_id, name) index) rather than testing each
   * artifact's tags in push order, which costs a walk of the whole repository.
   */
  private whereTags(q: ArtifactQuery, term: QueryTerm, scope: ListScope): ArtifactQuery {
    const anyTag = ({ exists, selectFrom }: ExpressionBuilder<AliasedDb, 'a'>) =>
      exists(selectFrom('tags as t').select('t.id').whereRef('t.artifact_id', '=', 'a.id'));
    if (term.op === 'exact' && term.value === '*') return q.where(anyTag);
    if (term.op === 'exact' && term.value === 'nil') return q.where((eb) => eb.not(anyTag(eb)));
    const named = (cond: (t: ExpressionBuilder<Database & { t: Database['tags'] }, 't'>) => Expression<SqlBool>) =>
      q.where('a.id', 'in', (eb) => {
        let sub = eb.selectFrom('tags as t').select('t.artifact_id');
        sub =
          'repositoryId' in scope
            ? sub.where('t.repository_id', '=', scope.repositoryId)
            : sub.where('t.repository_id', 'in', (r) =>
                r.selectFrom('repositories').select('id').where('project_id', '=', scope.projectId),
              );
        return sub.where((t) => cond(t as never));
      });
    if (term.op === 'exact') return named((t) => t('t.name', '=', term.value));
    if (term.op === 'fuzzy') return named(() => likeFragment('t.name', term.value, { caseSensitive: true }));
    if (term.op === 'or') return named((t) => t('t.name', 'in', term.values));
    throw apiError('BAD_REQUEST', 'invalid q: tags takes *, nil, a name, ~fragment or {a b}');
  }

  /** labels=id, labels=(a b) (all of them), labels={a b} (any of them). */
  private whereLabels(q: ArtifactQuery, term: QueryTerm): ArtifactQuery {
    const values = term.op === 'exact' ? [term.value] : term.op === 'or' || term.op === 'and' ? term.values : null;
    const ids = values?.map(Number);
    if (!ids || ids.some((n) => !Number.isInteger(n) || n < 1)) {
      throw apiError('BAD_REQUEST', 'invalid q: labels takes label ids: labels=1, labels=(1 2) or labels={1 2}');
    }
    const hasLabels = (labelIds: number[]) =>
      q.where(({ exists, selectFrom }) =>
        exists(
          selectFrom('artifact_labels as al')
            .select('al.label_id')
            .whereRef('al.artifact_id', '=', 'a.id')
            .where('al.label_id', 'in', labelIds),
        ),
      );
    if (term.op !== 'and') return hasLabels(ids);
    for (const id of ids) q = hasLabels([id]);
    return q;
  }

  async tagsOf(artifactIds: number[]): Promise<Map<number, TagRow[]>> {
    const out = new Map<number, TagRow[]>();
    if (artifactIds.length === 0) return out;
    const rows = await this.db
      .selectFrom('tags')
      .selectAll()
      .where('artifact_id', 'in', artifactIds)
      .orderBy('push_time', 'desc')
      .orderBy('id', 'desc')
      .execute();
    for (const row of rows) {
      const id = Number(row.artifact_id);
      out.set(id, [...(out.get(id) ?? []), row as TagRow]);
    }
    return out;
  }

  async referencesOf(artifactIds: number[]): Promise<Map<number, ReferenceRow[]>> {
    const out = new Map<number, ReferenceRow[]>();
    if (artifactIds.length === 0) return out;
    const rows = await this.db.selectFrom('artifact_references').selectAll().where('parent_id', 'in', artifactIds).execute();
    for (const row of rows) {
      const id = Number(row.parent_id);
      out.set(id, [...(out.get(id) ?? []), row]);
    }
    return out;
  }

  /** Which of the artifacts an index lists (for the `parents` addition's link). */
  async listedByIndex(artifactIds: number[]): Promise<Set<number>> {
    const out = new Set<number>();
    for (let i = 0; i < artifactIds.length; i += 500) {
      const rows = await this.db
        .selectFrom('artifact_references')
        .select('child_id')
        .distinct()
        .where('child_id', 'in', artifactIds.slice(i, i + 500))
        .execute();
      for (const row of rows) out.add(Number(row.child_id));
    }
    return out;
  }

  /** The indexes that list the artifact, by digest. */
  async indexesListing(artifactId: number): Promise<Array<{ id: number; digest: string }>> {
    const rows = await this.db
      .selectFrom('artifact_references as ar')
      .innerJoin('artifacts as a', 'a.id', 'ar.parent_id')
      .select(['a.id', 'a.digest'])
      .distinct()
      .where('ar.child_id', '=', artifactId)
      .orderBy('a.digest')
      .execute();
    return rows.map((r) => ({ id: Number(r.id), digest: r.digest }));
  }

  /** Label ids attached to each artifact, in the order they were attached. */
  async labelIdsOf(artifactIds: number[]): Promise<Map<number, number[]>> {
    const out = new Map<number, number[]>();
    if (artifactIds.length === 0) return out;
    const rows = await this.db
      .selectFrom('artifact_labels')
      .select(['artifact_id', 'label_id'])
      .where('artifact_id', 'in', artifactIds)
      .orderBy('creation_time')
      .execute();
    for (const row of rows) {
      const id = Number(row.artifact_id);
      out.set(id, [...(out.get(id) ?? []), Number(row.label_id)]);
    }
    return out;
  }

  /** Accessory rows (with the repository they are in) of artifacts in these repositories. */
  private accessories(repositoryIds: number[]) {
    return this.db
      .selectFrom('artifacts')
      .select([
        'id',
        'repository_id',
        'digest',
        'size',
        'icon',
        'push_time',
        'accessory_of as subject_digest',
        sql<string>`accessory_type`.as('type'),
      ])
      .where('repository_id', 'in', repositoryIds);
  }

  /** The accessories of each artifact, keyed by `accessoryKey(repository id, subject digest)`. */
  async accessoriesOf(subjects: Array<{ repository_id: number; digest: string }>): Promise<Map<string, AccessoryRow[]>> {
    const out = new Map<string, AccessoryRow[]>();
    if (subjects.length === 0) return out;
    const rows = await this.accessories([...new Set(subjects.map((s) => Number(s.repository_id)))])
      .where('accessory_of', 'in', [...new Set(subjects.map((s) => s.digest))])
      .orderBy('push_time', 'desc')
      .execute();
    for (const row of rows) {
      const key = accessoryKey(Number(row.repository_id), row.subject_digest!);
      out.set(key, [...(out.get(key) ?? []), row as AccessoryRow]);
    }
    return out;
  }

  async accessoryPage(repositoryId: number, subjectDigest: string, terms: QueryTerm[], sort: string | undefined, paging: Paging) {
    const q = applyQuery(this.accessories([repositoryId]).where('accessory_of', '=', subjectDigest), terms, accessoryFields);
    const total = await countRows(q);
    const items = (await applySort(q, sort, accessoryFields, { column: 'push_time', direction: 'desc' })
      .orderBy('id', 'desc')
      .limit(paging.pageSize)
      .offset(paging.offset)
      .execute()) as AccessoryRow[];
    return { items, total };
  }

  async tagPage(
    artifactId: number,
    terms: QueryTerm[],
    sort: string | undefined,
    paging: Paging,
  ): Promise<{ items: TagRow[]; total: number }> {
    const q = applyQuery(this.db.selectFrom('tags').selectAll().where('artifact_id', '=', artifactId), terms, tagFields);
    const total = await countRows(q);
    const items = await applySort(q, sort, tagFields, { column: 'push_time', direction: 'desc' })
      .orderBy('id', 'desc')
      .limit(paging.pageSize)
      .offset(paging.offset)
      .execute();
    return { items: items as TagRow[], total };
  }

  tagByName(repositoryId: number, name: string): Promise<TagRow | undefined> {
    return this.db
      .selectFrom('tags')
      .selectAll()
      .where('repository_id', '=', repositoryId)
      .where('name', '=', name)
      .executeTakeFirst() as Promise<TagRow | undefined>;
  }

  async manifestBytes(artifactId: number): Promise<Uint8Array | undefined> {
    return (await this.db.selectFrom('artifacts').select('manifest').where('id', '=', artifactId).executeTakeFirst())?.manifest;
  }

  async childManifestBytes(repositoryId: number, digest: string): Promise<Uint8Array | undefined> {
    return (
      await this.db
        .selectFrom('artifacts')
        .select('manifest')
        .where('repository_id', '=', repositoryId)
        .where('digest', '=', digest)
        .executeTakeFirst()
    )?.manifest;
  }

  // Changes: each with its audit record, in one transaction.

  async addTag(repo: RepositoryRow, artifact: ArtifactRow, name: string, now: string, actor: string): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx
        .insertInto('tags')
        .values({ repository_id: repo.id, artifact_id: artifact.id, name, push_time: now, pull_time: null })
        .execute();
      await writeAudit(tx, {
        username: actor,
        operation: 'create',
        resourceType: 'tag',
        resource: `${repo.name}:${name}`,
        projectId: repo.project_id,
      });
    });
  }

  async removeTag(repo: RepositoryRow, tagId: number, name: string, actor: string): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await this.tagProtection?.refuseRemoval(tx, repo.id, [name]);
      await tx.deleteFrom('tags').where('id', '=', tagId).execute();
      await writeAudit(tx, {
        username: actor,
        operation: 'delete',
        resourceType: 'tag',
        resource: `${repo.name}:${name}`,
        projectId: repo.project_id,
      });
    });
  }

  /** Attaches a label; the audit record names the label (`<repository>@<digest>:<label name>`). */
  async addLabel(repo: RepositoryRow, artifact: ArtifactRow, label: { id: number; name: string }, now: string, actor: string): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx
        .insertInto('artifact_labels')
        .values({ artifact_id: artifact.id, label_id: label.id, creation_time: now })
        .onConflict((oc) => oc.columns(['artifact_id', 'label_id']).doNothing())
        .execute();
      await writeAudit(tx, {
        username: actor,
        operation: 'create',
        resourceType: 'artifact-label',
        resource: `${repo.name}@${artifact.digest}:${label.name}`,
        projectId: repo.project_id,
      });
    });
  }

  async removeLabel(repo: RepositoryRow, artifact: ArtifactRow, label: { id: number; name: string }, actor: string): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      const result = await tx
        .deleteFrom('artifact_labels')
        .where('artifact_id', '=', artifact.id)
        .where('label_id', '=', label.id)
        .executeTakeFirst();
      if (Number(result.numDeletedRows) === 0) return false;
      await writeAudit(tx, {
        username: actor,
        operation: 'delete',
        resourceType: 'artifact-label',
        resource: `${repo.name}@${artifact.digest}:${label.name}`,
        projectId: repo.project_id,
      });
      return true;
    });
  }
}
