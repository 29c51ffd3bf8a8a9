import { sql } from 'kysely';
import type { Db } from '../db/index.js';
import { isKnownRepository } from '../db/repository-filters.js';
import { isTopLevelArtifact } from '../db/artifact-filters.js';
import { readCount, readCounts } from '../db/counts.js';
import { applyQuery, applySort, countRows, likeFragment, type Field } from '../db/query.js';
import type { Repository } from '../db/types.js';
import { writeAudit, type AuditEntry } from '../events/audit.js';
import type { Paging } from '../lib/paging.js';
import type { QueryTerm } from '../lib/query.js';
import type { QuotaUsage } from '../quotas/usage.js';
import type { TagProtection } from '../immutability/service.js';

/** The `q` and `sort` keys the repository lists accept (Harbor's repository columns). */
export const repositoryFields: Record<string, Field> = {
  id: { column: 'r.id', type: 'number' },
  repository_id: { column: 'r.id', type: 'number' },
  name: { column: 'r.name', type: 'string' },
  project_id: { column: 'r.project_id', type: 'number' },
  description: { column: 'r.description', type: 'string' },
  pull_count: { column: 'r.pull_count', type: 'number' },
  creation_time: { column: 'r.created_at', type: 'time' },
  update_time: { column: 'r.updated_at', type: 'time' },
};

/** Harbor's default order: newest first. */
const defaultSort = '-creation_time';

/** How many ids one `in (…)` list carries. */
const chunk = 500;

function chunks<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += chunk) out.push(items.slice(i, i + chunk));
  return out;
}

/**
 * The SQL of the repositories API. A repository row appears with its first upload, but
 * Harbor knows a repository from its first manifest push on, and keeps it when its last
 * artifact goes: every read here says so.
 */
export class RepositoryStore {
  constructor(
    private readonly db: Db,
    /** Project usage (quotas/usage.ts): a deleted repository's digests leave its project's usage. */
    private readonly quota?: Pick<QuotaUsage, 'digestsHeldBy' | 'projectUnlinked'>,
  ) {}

  /** Tag immutability: a repository holding a protected tag is not deleted (Harbor's 412). */
  tagProtection?: TagProtection;

  /** Repositories pushed to at least once, empty ones included. */
  private held() {
    return this.db.selectFrom('repositories as r').where((eb) => isKnownRepository(eb));
  }

  byName(name: string): Promise<Repository | undefined> {
    return this.held().selectAll('r').where('r.name', '=', name).executeTakeFirst();
  }

  /** A page of repositories in the given projects (null: every project), filtered by `q` and ordered by `sort`. */
  async list(
    projectIds: number[] | null,
    terms: QueryTerm[],
    sort: string | undefined,
    paging: Paging,
  ): Promise<{ items: Repository[]; total: number }> {
    let qb = applyQuery(this.held(), terms, repositoryFields);
    if (projectIds !== null) qb = projectIds.length > 0 ? qb.where('r.project_id', 'in', projectIds) : qb.where(sql<boolean>`1 = 0`);
    // Every repository: the database's kept count (db/counts.ts), not a scan.
    const total = projectIds === null && terms.length === 0 ? await readCount(this.db, 'repositories') : await countRows(qb);
    const ordered = applySort(qb.selectAll('r'), sort || defaultSort, repositoryFields, { column: 'r.id', direction: 'desc' });
    const items = await ordered.limit(paging.pageSize).offset(paging.offset).execute();
    return { items, total };
  }

  /**
   * Top-level artifacts per repository, in one grouped query per 500 repositories: not an
   * accessory, and not a child of an index unless it carries a tag of its own.
   */
  async artifactCounts(repositoryIds: number[]): Promise<Map<number, number>> {
    const out = new Map<number, number>(repositoryIds.map((id) => [id, 0]));
    for (const ids of chunks(repositoryIds)) {
      const rows = await this.db
        .selectFrom('artifacts as a')
        .select((eb) => ['a.repository_id', eb.fn.countAll<number>().as('n')])
        .where('a.repository_id', 'in', ids)
        .where((eb) => isTopLevelArtifact(eb))
        .groupBy('a.repository_id')
        .execute();
      for (const r of rows) out.set(Number(r.repository_id), Number(r.n));
    }
    return out;
  }

  /** Repositories per project, for the projects given or for every project. */
  async countsByProject(projectIds: number[] | 'all'): Promise<Map<number, number>> {
    const out = new Map<number, number>(projectIds === 'all' ? [] : projectIds.map((id) => [id, 0]));
    const grouped = () =>
      this.held()
        .select((eb) => ['r.project_id', eb.fn.countAll<number>().as('n')])
        .groupBy('r.project_id');
    const batches = projectIds === 'all' ? [grouped()] : chunks(projectIds).map((ids) => grouped().where('r.project_id', 'in', ids));
    for (const qb of batches) {
      for (const r of await qb.execute()) out.set(Number(r.project_id), Number(r.n));
    }
    return out;
  }

  /**
   * Repositories whose name contains `fragment`, by name; only in `projectIds` when given
   * (a short list filters in SQL, a long one is left to the caller).
   */
  async search(
    fragment: string,
    projectIds: number[] | null,
  ): Promise<Array<Pick<Repository, 'id' | 'project_id' | 'name' | 'pull_count'>>> {
    let qb = this.held().select(['r.id', 'r.project_id', 'r.name', 'r.pull_count']).where(likeFragment('r.name', fragment));
    if (projectIds !== null) {
      if (projectIds.length === 0) return [];
      qb = qb.where('r.project_id', 'in', projectIds);
    }
    return qb.orderBy('r.name').execute();
  }

  async setDescription(id: number, description: string, audit: AuditEntry): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.updateTable('repositories').set({ description }).where('id', '=', id).execute();
      await writeAudit(tx, audit);
    });
  }

  /**
   * Deletes a repository with its artifacts, tags, labels on them, index references, blob
   * links and upload sessions, in one transaction with its audit record. The blobs stay for
   * garbage collection to judge. False when it was already gone.
   */
  async delete(id: number, audit: AuditEntry): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      const repository = await tx.selectFrom('repositories').select('project_id').where('id', '=', id).executeTakeFirst();
      if (!repository) return false;
      if (this.tagProtection) {
        const tags = await tx.selectFrom('tags').select('name').where('repository_id', '=', id).execute();
        await this.tagProtection.refuseRemoval(
          tx,
          id,
          tags.map((t) => t.name),
        );
      }
      const held = this.quota ? await this.quota.digestsHeldBy(tx, id) : [];
      const artifactIds = tx.selectFrom('artifacts').select('id').where('repository_id', '=', id);
      // An index's references to its children do not cascade from the child: remove them first.
      await tx
        .deleteFrom('artifact_references')
        .where((eb) => eb.or([eb('parent_id', 'in', artifactIds), eb('child_id', 'in', artifactIds)]))
        .execute();
      // Artifacts, tags, artifact blobs and labels, repository blobs and uploads follow by cascade.
      const result = await tx.deleteFrom('repositories').where('id', '=', id).executeTakeFirst();
      if (Number(result.numDeletedRows) === 0) return false;
      await this.quota?.projectUnlinked(tx, Number(repository.project_id), held);
      await writeAudit(tx, audit);
      return true;
    });
  }

  /** Bytes of every stored blob, each digest once. */
  storageConsumption(): Promise<number> {
    return readCount(this.db, 'blobs.size');
  }

  /** Repositories in every project and in public projects: the database's kept counts. */
  async totals(): Promise<{ all: number; public: number }> {
    const c = await readCounts(this.db, ['repositories', 'repositories.public']);
    return { all: c.repositories, public: c['repositories.public'] };
  }
}
