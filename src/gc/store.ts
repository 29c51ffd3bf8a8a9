import type { ExpressionBuilder, Transaction } from 'kysely';
import { blobLocksFor, type BlobLocks } from '../db/blob-locks.js';
import type { DialectHelpers } from '../db/dialect.js';
import type { Db } from '../db/index.js';
import type { Database, RepositoriesTable } from '../db/types.js';
import { writeAudit } from '../events/audit.js';
import { RunHistory, type RunRow } from '../jobs/run-history.js';

type Tx = Transaction<Database>;

export interface BlobRow {
  digest: string;
  size: number;
}

export interface LinkRow {
  repositoryId: number;
  digest: string;
}

export interface UntaggedArtifact {
  id: number;
  repositoryId: number;
  repository: string;
  projectId: number;
  digest: string;
}

export interface EmptyRepository {
  id: number;
  name: string;
  projectId: number;
}

export type GcRunRow = RunRow;

/** How removing links reports back, per repository, inside the removing transaction. */
export type OnUnlinked = (tx: Tx, repositoryId: number, digests: string[]) => Promise<void>;

const page = 1000;

/**
 * Garbage collection's SQL. GC judges what is garbage from the database alone: a blob is
 * in use while a repository links it or an artifact names it. Every removal re-checks its
 * condition under the blobs' exclusive locks (db/blob-locks.ts), in the removing
 * transaction, so a push that re-references a blob between the mark and the sweep wins.
 */
export class GcStore {
  readonly locks: BlobLocks;
  /** The runs, as Harbor's history lists them. */
  readonly history: RunHistory;

  constructor(
    readonly db: Db,
    private readonly dialect: DialectHelpers,
  ) {
    this.locks = blobLocksFor(db, dialect);
    this.history = new RunHistory(db, 'gc_runs');
  }

  // Untagged artifacts.

  /** Untagged artifacts pushed before `cutoff` that are neither accessories nor an index's children, in id order. */
  async untaggedArtifacts(cutoff: string, afterId: number, limit = page): Promise<UntaggedArtifact[]> {
    const rows = await this.db
      .selectFrom('artifacts as a')
      .innerJoin('repositories as r', 'r.id', 'a.repository_id')
      .select(['a.id', 'a.repository_id', 'r.name', 'r.project_id', 'a.digest'])
      .where('a.id', '>', afterId)
      .where('a.push_time', '<', cutoff)
      .where('a.accessory_of', 'is', null)
      .where(({ not, exists, selectFrom }) => not(exists(selectFrom('tags as t').select('t.id').whereRef('t.artifact_id', '=', 'a.id'))))
      .where(({ not, exists, selectFrom }) =>
        not(exists(selectFrom('artifact_references as ar').select('ar.parent_id').whereRef('ar.child_id', '=', 'a.id'))),
      )
      .orderBy('a.id')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      id: Number(r.id),
      repositoryId: Number(r.repository_id),
      repository: r.name,
      projectId: Number(r.project_id),
      digest: r.digest,
    }));
  }

  /** The accessories of the artifacts (and theirs), as deleting them would take along. */
  async accessoriesOf(artifacts: Array<{ repositoryId: number; digest: string }>): Promise<number[]> {
    const found: number[] = [];
    const byRepository = new Map<number, string[]>();
    for (const a of artifacts) byRepository.set(a.repositoryId, [...(byRepository.get(a.repositoryId) ?? []), a.digest]);
    for (const [repositoryId, digests] of byRepository) {
      const seen = new Set<number>();
      for (let subjects = digests; subjects.length > 0;) {
        const next: string[] = [];
        for (let i = 0; i < subjects.length; i += 500) {
          const rows = await this.db
            .selectFrom('artifacts')
            .select(['id', 'digest'])
            .where('repository_id', '=', repositoryId)
            .where('accessory_of', 'in', subjects.slice(i, i + 500))
            .execute();
          for (const r of rows) {
            if (seen.has(Number(r.id))) continue;
            seen.add(Number(r.id));
            found.push(Number(r.id));
            next.push(r.digest);
          }
        }
        subjects = next;
      }
    }
    return found;
  }

  // Repository links.

  /**
   * Links made before `cutoff` that no artifact of their repository names, in
   * (repository, digest) order after `after`: blobs uploaded or mounted and never used, or
   * left by a deletion that kept them.
   */
  async unusedLinks(cutoff: string, after: LinkRow | null, limit = page): Promise<LinkRow[]> {
    let q = this.db
      .selectFrom('repository_blobs as rb')
      .select(['rb.repository_id', 'rb.digest'])
      .where('rb.created_at', '<', cutoff)
      // From the blob's few artifact_blobs rows to their artifacts, never the other way: a join
      // SQLite may start from the repository's artifacts (thousands, for every link).
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('artifact_blobs as ab')
              .select('ab.digest')
              .whereRef('ab.digest', '=', 'rb.digest')
              .where(({ exists: inner, selectFrom: from }) =>
                inner(
                  from('artifacts as a')
                    .select('a.id')
                    .whereRef('a.id', '=', 'ab.artifact_id')
                    .whereRef('a.repository_id', '=', 'rb.repository_id'),
                ),
              ),
          ),
        ),
      );
    if (after) {
      q = q.where((eb) =>
        eb.or([
          eb('rb.repository_id', '>', after.repositoryId),
          eb.and([eb('rb.repository_id', '=', after.repositoryId), eb('rb.digest', '>', after.digest)]),
        ]),
      );
    }
    const rows = await q.orderBy('rb.repository_id').orderBy('rb.digest').limit(limit).execute();
    return rows.map((r) => ({ repositoryId: Number(r.repository_id), digest: r.digest }));
  }

  /**
   * Removes those of the links that are still unused and older than `cutoff`, under the
   * blobs' exclusive locks, and reports them per repository to `onUnlinked` in the same
   * transaction (quota usage). Returns how many it removed.
   */
  async removeLinks(links: LinkRow[], cutoff: string, onUnlinked: OnUnlinked): Promise<number> {
    if (links.length === 0) return 0;
    const byRepository = new Map<number, string[]>();
    for (const l of links) byRepository.set(l.repositoryId, [...(byRepository.get(l.repositoryId) ?? []), l.digest]);
    return this.locks.run(
      'exclusive',
      links.map((l) => l.digest),
      async (tx) => {
        let removed = 0;
        for (const [repositoryId, digests] of [...byRepository].sort((a, b) => a[0] - b[0])) {
          const rows = await tx
            .deleteFrom('repository_blobs')
            .where('repository_id', '=', repositoryId)
            .where('digest', 'in', digests)
            .where('created_at', '<', cutoff)
            .where(({ not, exists, selectFrom }) =>
              not(
                exists(
                  selectFrom('artifact_blobs as ab')
                    .select('ab.digest')
                    .whereRef('ab.digest', '=', 'repository_blobs.digest')
                    .where(({ exists: inner, selectFrom: from }) =>
                      inner(
                        from('artifacts as a')
                          .select('a.id')
                          .whereRef('a.id', '=', 'ab.artifact_id')
                          .where('a.repository_id', '=', repositoryId),
                      ),
                    ),
                ),
              ),
            )
            .returning('digest')
            .execute();
          if (rows.length === 0) continue;
          removed += rows.length;
          await onUnlinked(
            tx,
            repositoryId,
            rows.map((r) => r.digest),
          );
        }
        return removed;
      },
    );
  }

  // Blobs.

  /** Blobs stored before `cutoff` that no repository links and no artifact names, in digest order after `after`. */
  async unusedBlobs(cutoff: string, after: string | null, limit = page): Promise<BlobRow[]> {
    let q = this.unused(this.db, cutoff).select(['b.digest', 'b.size']);
    if (after !== null) q = q.where('b.digest', '>', after);
    const rows = await q.orderBy('b.digest').limit(limit).execute();
    return rows.map((r) => ({ digest: r.digest, size: Number(r.size) }));
  }

  private unused(ex: Db | Tx, cutoff: string) {
    return ex
      .selectFrom('blobs as b')
      .where('b.created_at', '<', cutoff)
      .where(({ not, exists, selectFrom }) =>
        not(exists(selectFrom('repository_blobs as rb').select('rb.digest').whereRef('rb.digest', '=', 'b.digest'))),
      )
      .where(({ not, exists, selectFrom }) =>
        not(exists(selectFrom('artifact_blobs as ab').select('ab.digest').whereRef('ab.digest', '=', 'b.digest'))),
      );
  }

  /**
   * For a dry run: blobs stored before `cutoff` that no artifact names and that no link made
   * since `cutoff` holds (older unused links are what a real run removes first).
   */
  async collectableBlobs(cutoff: string, after: string | null, limit = page): Promise<BlobRow[]> {
    let q = this.db
      .selectFrom('blobs as b')
      .select(['b.digest', 'b.size'])
      .where('b.created_at', '<', cutoff)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('repository_blobs as rb')
              .select('rb.digest')
              .whereRef('rb.digest', '=', 'b.digest')
              .where('rb.created_at', '>=', cutoff),
          ),
        ),
      )
      .where(({ not, exists, selectFrom }) =>
        not(exists(selectFrom('artifact_blobs as ab').select('ab.digest').whereRef('ab.digest', '=', 'b.digest'))),
      );
    if (after !== null) q = q.where('b.digest', '>', after);
    const rows = await q.orderBy('b.digest').limit(limit).execute();
    return rows.map((r) => ({ digest: r.digest, size: Number(r.size) }));
  }

  /** For a dry run with delete_untagged: every artifact that names each digest, with its repository. */
  async namesOf(digests: string[]): Promise<Array<{ digest: string; artifactId: number; repositoryId: number }>> {
    const out: Array<{ digest: string; artifactId: number; repositoryId: number }> = [];
    for (let i = 0; i < digests.length; i += 500) {
      const rows = await this.db
        .selectFrom('artifact_blobs as ab')
        .innerJoin('artifacts as a', 'a.id', 'ab.artifact_id')
        .select(['ab.digest', 'ab.artifact_id', 'a.repository_id'])
        .where('ab.digest', 'in', digests.slice(i, i + 500))
        .execute();
      for (const r of rows) out.push({ digest: r.digest, artifactId: Number(r.artifact_id), repositoryId: Number(r.repository_id) });
    }
    return out;
  }

  /** For a dry run with delete_untagged: the blob digests the artifacts name. */
  async blobsNamedBy(artifactIds: number[]): Promise<string[]> {
    const out = new Set<string>();
    for (let i = 0; i < artifactIds.length; i += 500) {
      const rows = await this.db
        .selectFrom('artifact_blobs')
        .select('digest')
        .where('artifact_id', 'in', artifactIds.slice(i, i + 500))
        .execute();
      for (const r of rows) out.add(r.digest);
    }
    return [...out].sort();
  }

  /** For a dry run with delete_untagged: the links and the row of each digest. */
  async linksAndRows(digests: string[]): Promise<{
    links: Array<{ digest: string; repositoryId: number; createdAt: string }>;
    rows: Array<BlobRow & { createdAt: string }>;
  }> {
    const links: Array<{ digest: string; repositoryId: number; createdAt: string }> = [];
    const rows: Array<BlobRow & { createdAt: string }> = [];
    for (let i = 0; i < digests.length; i += 500) {
      const batch = digests.slice(i, i + 500);
      for (const r of await this.db
        .selectFrom('repository_blobs')
        .select(['digest', 'repository_id', 'created_at'])
        .where('digest', 'in', batch)
        .execute()) {
        links.push({ digest: r.digest, repositoryId: Number(r.repository_id), createdAt: r.created_at });
      }
      for (const r of await this.db.selectFrom('blobs').select(['digest', 'size', 'created_at']).where('digest', 'in', batch).execute()) {
        rows.push({ digest: r.digest, size: Number(r.size), createdAt: r.created_at });
      }
    }
    return { links, rows };
  }

  /**
   * Sweeps blobs: under their exclusive locks, deletes the rows of those still unused and
   * older than `cutoff`, then `deleteObjects` removes their objects while the locks are
   * held (on PostgreSQL before the commit, so a failure keeps the rows). Returns the swept.
   */
  async sweep(batch: BlobRow[], cutoff: string, deleteObjects: (swept: BlobRow[]) => Promise<void>): Promise<BlobRow[]> {
    if (batch.length === 0) return [];
    const digests = batch.map((b) => b.digest);
    return this.locks.run(
      'exclusive',
      digests,
      async (tx) => {
        const still = await this.unused(tx, cutoff).select(['b.digest', 'b.size']).where('b.digest', 'in', digests).execute();
        if (still.length === 0) return [];
        await tx
          .deleteFrom('blobs')
          .where(
            'digest',
            'in',
            still.map((s) => s.digest),
          )
          .execute();
        return still.map((s) => ({ digest: s.digest, size: Number(s.size) }));
      },
      { after: async (swept) => (swept.length > 0 ? deleteObjects(swept) : undefined) },
    );
  }

  /** Which of the digests have a row in `blobs`. */
  async withRows(digests: string[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (let i = 0; i < digests.length; i += 500) {
      const rows = await this.db
        .selectFrom('blobs')
        .select('digest')
        .where('digest', 'in', digests.slice(i, i + 500))
        .execute();
      for (const r of rows) found.add(r.digest);
    }
    return found;
  }

  /**
   * Deletes stored objects that have no row (published by an upload whose transaction then
   * failed), under their exclusive locks: an upload publishing one of them holds the shared
   * lock until its row is in, so a digest still without a row here is no one's. Returns the
   * deleted.
   */
  async sweepOrphans(batch: BlobRow[], deleteObjects: (orphans: BlobRow[]) => Promise<void>): Promise<BlobRow[]> {
    if (batch.length === 0) return [];
    const digests = batch.map((b) => b.digest);
    return this.locks.run(
      'exclusive',
      digests,
      async (tx) => {
        const rows = new Set((await tx.selectFrom('blobs').select('digest').where('digest', 'in', digests).execute()).map((r) => r.digest));
        return batch.filter((b) => !rows.has(b.digest));
      },
      { after: async (orphans) => (orphans.length > 0 ? deleteObjects(orphans) : undefined) },
    );
  }

  // Repositories.

  /**
   * Repositories with no artifact, no link and no upload in progress, created before
   * `cutoff`, in id order. `dryRun`: links made before `cutoff` do not count (a real run
   * removes them first, since no artifact of the repository can name them).
   */
  async emptyRepositories(cutoff: string, afterId: number, limit = page, dryRun = false): Promise<EmptyRepository[]> {
    const rows = await this.db
      .selectFrom('repositories as r')
      .where((eb) => isEmpty(eb, cutoff, dryRun))
      .select(['r.id', 'r.name', 'r.project_id'])
      .where('r.id', '>', afterId)
      .orderBy('r.id')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ id: Number(r.id), name: r.name, projectId: Number(r.project_id) }));
  }

  /**
   * Deletes a repository if it is still empty, with an audit record. Its row is locked first
   * (PostgreSQL): a push adding an upload, a link or an artifact to it locks the row too (its
   * foreign key), so either it committed first and the repository stays, or it fails.
   */
  async removeEmptyRepository(repo: EmptyRepository, cutoff: string, operator: string): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      let lock = tx.selectFrom('repositories').select('id').where('id', '=', repo.id);
      if (this.dialect.name === 'postgres') lock = lock.forUpdate();
      if (!(await lock.executeTakeFirst())) return false;
      const still = await tx
        .selectFrom('repositories as r')
        .select('r.id')
        .where('r.id', '=', repo.id)
        .where((eb) => isEmpty(eb, cutoff))
        .executeTakeFirst();
      if (!still) return false;
      await tx.deleteFrom('repositories').where('id', '=', repo.id).execute();
      await writeAudit(tx, {
        username: operator,
        operation: 'delete',
        resourceType: 'repository',
        resource: repo.name,
        projectId: repo.projectId,
      });
      return true;
    });
  }

  // Runs.

  async insertRun(
    tx: Db | Tx,
    run: { jobId: number; trigger: string; operator: string; parameters: unknown; status: string; now: string },
  ): Promise<void> {
    await tx
      .insertInto('gc_runs')
      .values({
        job_id: run.jobId,
        trigger: run.trigger,
        operator: run.operator,
        parameters: JSON.stringify(run.parameters),
        results: null,
        status: run.status,
        active: null,
        store_listed_at: null,
        created_at: run.now,
        updated_at: run.now,
      })
      .onConflict((oc) => oc.column('job_id').doNothing())
      .execute();
  }

  /**
   * Makes the run the one collecting. Undefined when it now is; otherwise the job id of the
   * run that already is (a run whose job is no longer running gives way).
   */
  async activate(jobId: number, now: string): Promise<number | undefined> {
    await this.db
      .updateTable('gc_runs')
      .set({ active: null, updated_at: now })
      .where('active', '=', 1)
      .where('job_id', '<>', jobId)
      .where(({ not, exists, selectFrom }) =>
        not(exists(selectFrom('jobs as j').select('j.id').whereRef('j.id', '=', 'gc_runs.job_id').where('j.status', '=', 'running'))),
      )
      .execute();
    try {
      await this.db.updateTable('gc_runs').set({ active: 1, status: 'Running', updated_at: now }).where('job_id', '=', jobId).execute();
      return undefined;
    } catch (err) {
      const holder = await this.db.selectFrom('gc_runs').select('job_id').where('active', '=', 1).executeTakeFirst();
      if (holder) return Number(holder.job_id);
      throw err;
    }
  }

  async recordResults(jobId: number, results: unknown, now: string): Promise<void> {
    await this.db
      .updateTable('gc_runs')
      .set({ results: JSON.stringify(results), updated_at: now })
      .where('job_id', '=', jobId)
      .execute();
  }

  /** Ends the run's turn: its last results and status. */
  async finish(jobId: number, status: string, results: unknown, now: string): Promise<void> {
    await this.db
      .updateTable('gc_runs')
      .set({ active: null, status, results: JSON.stringify(results), updated_at: now })
      .where('job_id', '=', jobId)
      .execute();
  }

  /** When a run last listed the blob store, if one ever did. */
  async lastStoreListing(): Promise<string | null> {
    const row = await this.db
      .selectFrom('gc_runs')
      .select((eb) => eb.fn.max('store_listed_at').as('at'))
      .executeTakeFirst();
    return (row?.at as string | null | undefined) ?? null;
  }

  async storeListed(jobId: number, now: string): Promise<void> {
    await this.db.updateTable('gc_runs').set({ store_listed_at: now }).where('job_id', '=', jobId).execute();
  }
}

/**
 * A repository (aliased `r`) created before `cutoff` with no artifact, no link (made since
 * `cutoff`, with `oldLinksGone`) and no upload in progress.
 */
function isEmpty(eb: ExpressionBuilder<Database & { r: RepositoriesTable }, 'r'>, cutoff: string, oldLinksGone = false) {
  let links = eb.selectFrom('repository_blobs as rb').select('rb.digest').whereRef('rb.repository_id', '=', 'r.id');
  if (oldLinksGone) links = links.where('rb.created_at', '>=', cutoff);
  return eb.and([
    eb('r.created_at', '<', cutoff),
    eb.not(eb.exists(eb.selectFrom('artifacts as a').select('a.id').whereRef('a.repository_id', '=', 'r.id'))),
    eb.not(eb.exists(links)),
    eb.not(eb.exists(eb.selectFrom('uploads as u').select('u.id').whereRef('u.repository_id', '=', 'r.id'))),
  ]);
}
