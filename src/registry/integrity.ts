import type { Db } from '../db/index.js';

/** A stored blob as a scrub reads it. */
export interface BlobRecord {
  digest: string;
  size: number;
  /** Bumped by every heal; a quarantine applies to the generation that was read. */
  generation: number;
  quarantinedAt: string | null;
}

/** A stored manifest as a scrub reads it. */
export interface ManifestRecord {
  id: number;
  repositoryId: number;
  repository: string;
  digest: string;
  mediaType: string;
  bytes: Uint8Array;
}

export interface Quarantine {
  quarantinedAt: string;
  reason: string | null;
}

/**
 * The registry's side of integrity scrubbing: walking what is stored, and the quarantine
 * marker on `blobs`. A quarantined blob is, to /v2, a blob the registry does not have
 * (GET/HEAD answer BLOB_UNKNOWN, it is no mount source, a manifest cannot name it) while its
 * row and links stay, so that a push of the right bytes restores it everywhere at once.
 */
export class BlobIntegrity {
  constructor(private readonly db: Db) {}

  async countBlobs(): Promise<number> {
    const row = await this.db
      .selectFrom('blobs')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async countManifests(): Promise<number> {
    const row = await this.db
      .selectFrom('artifacts')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Blobs in digest order after `after`. */
  async blobPage(after: string | null, limit: number): Promise<BlobRecord[]> {
    let q = this.db.selectFrom('blobs').select(['digest', 'size', 'generation', 'quarantined_at']).orderBy('digest').limit(limit);
    if (after !== null) q = q.where('digest', '>', after);
    const rows = await q.execute();
    return rows.map((r) => ({ digest: r.digest, size: Number(r.size), generation: Number(r.generation), quarantinedAt: r.quarantined_at }));
  }

  /** Manifests (every artifact row) in id order after `afterId`, with their repository's name. */
  async manifestPage(afterId: number, limit: number): Promise<ManifestRecord[]> {
    const rows = await this.db
      .selectFrom('artifacts as a')
      .innerJoin('repositories as r', 'r.id', 'a.repository_id')
      .select(['a.id', 'a.repository_id', 'r.name', 'a.digest', 'a.media_type', 'a.manifest'])
      .where('a.id', '>', afterId)
      .orderBy('a.id')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      id: Number(r.id),
      repositoryId: Number(r.repository_id),
      repository: r.name,
      digest: r.digest,
      mediaType: r.media_type,
      bytes: r.manifest as Uint8Array,
    }));
  }

  /** The blob rows of `digests`: size and whether quarantined. */
  async blobRows(digests: string[]): Promise<Map<string, { size: number; quarantined: boolean }>> {
    const found = new Map<string, { size: number; quarantined: boolean }>();
    for (let i = 0; i < digests.length; i += 500) {
      const rows = await this.db
        .selectFrom('blobs')
        .select(['digest', 'size', 'quarantined_at'])
        .where('digest', 'in', digests.slice(i, i + 500))
        .execute();
      for (const r of rows) found.set(r.digest, { size: Number(r.size), quarantined: r.quarantined_at !== null });
    }
    return found;
  }

  /** Which of `digests` are manifests of the repository. */
  async manifestsIn(repositoryId: number, digests: string[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (let i = 0; i < digests.length; i += 500) {
      const rows = await this.db
        .selectFrom('artifacts')
        .select('digest')
        .where('repository_id', '=', repositoryId)
        .where('digest', 'in', digests.slice(i, i + 500))
        .execute();
      for (const r of rows) found.add(r.digest);
    }
    return found;
  }

  /**
   * Quarantines the blob if it is still the generation that was read (not healed, not swept
   * since). A blob already quarantined keeps its first time and reason. False when the row is
   * gone or was replaced meanwhile: then there is nothing to report.
   */
  async quarantine(digest: string, generation: number, reason: string, runId: number | null, now: string): Promise<boolean> {
    const result = await this.db
      .updateTable('blobs')
      .set((eb) => ({
        quarantined_at: eb.fn.coalesce('quarantined_at', eb.val(now)),
        quarantine_reason: eb.fn.coalesce('quarantine_reason', eb.val(reason)),
        quarantine_run_id: eb.fn.coalesce('quarantine_run_id', eb.val(runId)),
      }))
      .where('digest', '=', digest)
      .where('generation', '=', generation)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Whether the blob row still exists at this generation (report-only runs check this instead). */
  async unchanged(digest: string, generation: number): Promise<boolean> {
    const row = await this.db
      .selectFrom('blobs')
      .select('digest')
      .where('digest', '=', digest)
      .where('generation', '=', generation)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Lifts a quarantine whose object now verifies (an operator restored it); true if it did. */
  async release(digest: string, generation: number): Promise<boolean> {
    const result = await this.db
      .updateTable('blobs')
      .set({ quarantined_at: null, quarantine_reason: null, quarantine_run_id: null })
      .where('digest', '=', digest)
      .where('generation', '=', generation)
      .where('quarantined_at', 'is not', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  // The data path.

  /** The quarantine of a blob the repository holds, if it is quarantined (to say so on a 404). */
  async quarantineIn(repositoryName: string, digest: string): Promise<Quarantine | undefined> {
    const row = await this.db
      .selectFrom('repository_blobs as rb')
      .innerJoin('repositories as r', 'r.id', 'rb.repository_id')
      .innerJoin('blobs as b', 'b.digest', 'rb.digest')
      .select(['b.quarantined_at', 'b.quarantine_reason'])
      .where('r.name', '=', repositoryName)
      .where('rb.digest', '=', digest)
      .where('b.quarantined_at', 'is not', null)
      .executeTakeFirst();
    return row?.quarantined_at ? { quarantinedAt: row.quarantined_at, reason: row.quarantine_reason } : undefined;
  }

  async isQuarantined(digest: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('blobs')
      .select('digest')
      .where('digest', '=', digest)
      .where('quarantined_at', 'is not', null)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** After a re-push replaced the object with verified bytes: lifts the quarantine and starts a new generation. */
  async healed(digest: string): Promise<void> {
    await this.db
      .updateTable('blobs')
      .set((eb) => ({
        quarantined_at: null,
        quarantine_reason: null,
        quarantine_run_id: null,
        generation: eb('generation', '+', 1),
      }))
      .where('digest', '=', digest)
      .execute();
  }
}
