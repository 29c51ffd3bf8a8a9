import type { SelectQueryBuilder, Transaction } from 'kysely';
import type { DialectHelpers } from '../db/dialect.js';
import { blobLocksFor, type BlobLocks } from '../db/blob-locks.js';
import { StampedReadCache } from '../db/read-cache.js';
import { preparedQuery } from '../db/prepared.js';
import type { Db } from '../db/index.js';
import { isKnownRepository, neverPushed } from '../db/repository-filters.js';
import type { Database } from '../db/types.js';
import { writeAudit, type AuditEntry } from '../events/audit.js';
import { EventTypes, writeEvent, writeEvents } from '../events/outbox.js';
import { immutableTagRefusal } from '../immutability/errors.js';
import type { TagProtection } from '../immutability/service.js';
import { ociError } from '../lib/errors.js';
import { QuotaUsage, type Holding, type QuotaWho } from '../quotas/usage.js';
import type { ArtifactDescription } from './service.js';

type Executor = Db | Transaction<Database>;

export interface RepositoryRow {
  id: number;
  project_id: number;
  name: string;
}

export interface ManifestRef {
  id: number;
  digest: string;
  media_type: string;
  project_id: number;
  repository_id: number;
}

export interface UploadRow {
  id: string;
  repository_id: number;
  digest_algorithm: string;
  size: number;
}

export interface NewManifest {
  repositoryId: number;
  digest: string;
  mediaType: string;
  artifactType: string | null;
  size: number;
  bytes: Uint8Array;
  subjectDigest: string | null;
  annotations: string | null;
  blobDigests: string[];
  /** A proxy cache's manifest: blobs it names may not be in the repository yet. */
  absentBlobs?: boolean;
  children: Array<{ id: number; digest: string; platform: string | null; annotations: string | null }>;
  tags: string[];
  description: ArtifactDescription;
  /**
   * 'tags': described as an artifact the repository already holds (its content not read
   * again); should it be gone by the time it is written, commitManifest throws ArtifactGone.
   */
  described?: 'whole' | 'tags';
  now: string;
  audit: AuditEntry;
}

/** The artifact a manifest push was to tag again was deleted in between: describe it in full and commit again. */
export class ArtifactGone extends Error {
  constructor(digest: string) {
    super(`artifact ${digest} was deleted while being tagged again`);
  }
}

export interface NamePage {
  /** A JSON array of names, ready to send. */
  json: string;
  /** The `last` value for the next page, when there is one. */
  next: string | null;
}

export interface Referrer {
  digest: string;
  media_type: string;
  artifact_type: string | null;
  annotations: string | null;
  manifest_size: number;
}

/** Thrown by deleteArtifact with onlyIfUntagged when the artifact no longer qualifies; nothing was deleted. */
export class NotUntagged extends Error {
  constructor(
    readonly artifactId: number,
    readonly reason: string,
  ) {
    super(`artifact ${artifactId} was not deleted as untagged: ${reason}`);
    this.name = 'NotUntagged';
  }
}

/** The lookups of every GET and HEAD, compiled once (db/prepared.ts). */
function lookupsOf(db: Db) {
  return {
    repositoryByName: preparedQuery(db, 1, (name: string) =>
      db.selectFrom('repositories').select(['id', 'project_id', 'name']).where('name', '=', name),
    ),
    blobSizeInRepository: preparedQuery(db, 2, (repositoryName: string, digest: string) =>
      db
        .selectFrom('repository_blobs as rb')
        .innerJoin('repositories as r', 'r.id', 'rb.repository_id')
        .innerJoin('blobs as b', 'b.digest', 'rb.digest')
        .select('b.size')
        .where('r.name', '=', repositoryName)
        .where('rb.digest', '=', digest)
        // A quarantined blob (registry/integrity.ts) is one the registry does not have.
        .where('b.quarantined_at', 'is', null),
    ),
    manifestByTag: preparedQuery(db, 2, (repositoryName: string, tag: string) =>
      db
        .selectFrom('tags as t')
        .innerJoin('repositories as r', 'r.id', 't.repository_id')
        .innerJoin('artifacts as a', 'a.id', 't.artifact_id')
        .select(['a.id', 'a.digest', 'a.media_type', 'r.project_id', 'a.repository_id'])
        .where('r.name', '=', repositoryName)
        .where('t.name', '=', tag),
    ),
    manifestByDigest: preparedQuery(db, 2, (repositoryName: string, digest: string) =>
      db
        .selectFrom('artifacts as a')
        .innerJoin('repositories as r', 'r.id', 'a.repository_id')
        .select(['a.id', 'a.digest', 'a.media_type', 'r.project_id', 'a.repository_id'])
        .where('r.name', '=', repositoryName)
        .where('a.digest', '=', digest),
    ),
  };
}

/** Every SQL statement of the /v2 data path. Portable Kysely only. */
export class RegistryStore {
  constructor(
    readonly db: Db,
    private readonly dialect: DialectHelpers,
    /** Project usage, kept in the transactions that link and unlink (quotas/usage.ts). */
    readonly quota: QuotaUsage = new QuotaUsage(dialect, { warningPercent: 85 }),
    /** The database's change stamp (SQLite): GET and HEAD lookups are kept while it holds. */
    changeStamp?: () => number,
  ) {
    this.lookups = lookupsOf(db);
    this.repositories = new StampedReadCache(changeStamp);
    this.manifests = new StampedReadCache(changeStamp);
    this.blobSizes = new StampedReadCache(changeStamp);
  }

  private readonly lookups: ReturnType<typeof lookupsOf>;
  private readonly repositories: StampedReadCache<RepositoryRow>;
  private readonly manifests: StampedReadCache<ManifestRef>;
  private readonly blobSizes: StampedReadCache<{ size: number }>;

  /** Tag immutability (immutability/service.ts), asked inside every transaction that moves or removes tags. */
  tagProtection?: TagProtection;

  async findRepository(name: string): Promise<RepositoryRow | undefined> {
    return this.repositories.get(name, async () => (await this.lookups.repositoryByName(name))[0]);
  }

  /**
   * Returns the repository, creating it inside `projectId` when it is new. A new row is not
   * a repository for Harbor's API and the catalog until a manifest push sets its update time.
   */
  async ensureRepository(projectId: number, name: string, now: string): Promise<RepositoryRow> {
    await this.db
      .insertInto('repositories')
      .values({ project_id: projectId, name, description: '', created_at: now, updated_at: neverPushed })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    const repo = await this.findRepository(name);
    if (!repo) throw new Error(`repository ${name} vanished while being created`);
    return repo;
  }

  /** Size of a blob linked to a repository, or undefined when the repository does not have it. */
  async repositoryBlobSize(repositoryName: string, digest: string): Promise<number | undefined> {
    const row = await this.blobSizes.get(`${repositoryName}@${digest}`, async () => {
      const [found] = await this.lookups.blobSizeInRepository(repositoryName, digest);
      return found && { size: Number(found.size) };
    });
    return row?.size;
  }

  /** Names of repositories that hold a blob, in name order (sources for a mount without `from`). */
  async repositoriesWithBlob(digest: string, limit: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('repository_blobs as rb')
      .innerJoin('repositories as r', 'r.id', 'rb.repository_id')
      .select('r.name')
      .where('rb.digest', '=', digest)
      .orderBy('r.name')
      .limit(limit)
      .execute();
    return rows.map((r) => r.name);
  }

  /** The per-digest locks that keep references and garbage collection apart (db/blob-locks.ts). */
  private get locks(): BlobLocks {
    return blobLocksFor(this.db, this.dialect);
  }

  /**
   * Links a blob that another repository holds (a mount). False when no repository holds it
   * any more: under the blob's lock it is either still held (and GC keeps it) or gone.
   */
  async linkBlob(repositoryId: number, digest: string, size: number, now: string, who?: QuotaWho): Promise<boolean> {
    const link = () =>
      this.locks.run('shared', [digest], async (tx) => {
        const held = await tx.selectFrom('repository_blobs').select('digest').where('digest', '=', digest).limit(1).executeTakeFirst();
        if (!held) return false;
        await this.linkOrTouch(tx, repositoryId, digest, now);
        // Also when the link was there: a link released by a deletion counts again.
        await this.quota.linked(tx, repositoryId, [{ digest, size }], who);
        return true;
      });
    return this.quota.refusable(this.db, link, who);
  }

  /**
   * Inserts a repository's link to a blob, or moves an existing link's time to now: a blob
   * pushed (or mounted) again is fresh for GC's time window. True when the link is new.
   */
  private async linkOrTouch(tx: Transaction<Database>, repositoryId: number, digest: string, now: string): Promise<boolean> {
    const inserted = await tx
      .insertInto('repository_blobs')
      .values({ repository_id: repositoryId, digest, created_at: now })
      .onConflict((oc) => oc.columns(['repository_id', 'digest']).doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0) return true;
    await tx
      .updateTable('repository_blobs')
      .set({ created_at: now })
      .where('repository_id', '=', repositoryId)
      .where('digest', '=', digest)
      .where('created_at', '<', now)
      .execute();
    return false;
  }

  /** Removes a repository's link to a blob (under the blob's exclusive lock, as GC removes links). */
  async unlinkBlob(repositoryId: number, digest: string): Promise<boolean> {
    return this.locks.run('exclusive', [digest], async (tx) => {
      const result = await tx
        .deleteFrom('repository_blobs')
        .where('repository_id', '=', repositoryId)
        .where('digest', '=', digest)
        .executeTakeFirst();
      const removed = Number(result.numDeletedRows) > 0;
      if (removed) await this.quota.unlinked(tx, repositoryId, [digest]);
      return removed;
    });
  }

  /** Links into `targetId` those of `digests` that `sourceId` holds (a copy between repositories). */
  async linkBlobsFrom(sourceId: number, targetId: number, digests: string[], now: string, who?: QuotaWho): Promise<void> {
    // Under the blobs' locks, so that the source's links cannot be removed by GC mid-copy.
    const copy = () => this.locks.run('shared', digests, async (tx) => this.copyLinks(tx, sourceId, targetId, digests, now, who));
    await this.quota.refusable(this.db, copy, who);
  }

  private async copyLinks(
    tx: Transaction<Database>,
    sourceId: number,
    targetId: number,
    digests: string[],
    now: string,
    who?: QuotaWho,
  ): Promise<void> {
    const holdings: Holding[] = [];
    for (let i = 0; i < digests.length; i += 500) {
      await tx
        .insertInto('repository_blobs')
        .columns(['repository_id', 'digest', 'created_at'])
        .expression((eb) =>
          eb
            .selectFrom('repository_blobs')
            .select([eb.val(targetId).as('repository_id'), 'digest', eb.val(now).as('created_at')])
            .where('repository_id', '=', sourceId)
            .where('digest', 'in', digests.slice(i, i + 500)),
        )
        .onConflict((oc) => oc.columns(['repository_id', 'digest']).doNothing())
        .execute();
      const linked = await tx
        .selectFrom('repository_blobs as rb')
        .innerJoin('blobs as b', 'b.digest', 'rb.digest')
        .select(['b.digest', 'b.size'])
        .where('rb.repository_id', '=', targetId)
        .where('rb.digest', 'in', digests.slice(i, i + 500))
        .execute();
      holdings.push(...linked.map((r) => ({ digest: r.digest, size: Number(r.size) })));
    }
    // The target's project may already hold them all: then nothing is added and nothing checked.
    await this.quota.linked(tx, targetId, holdings, who);
  }

  async tagNamesOf(artifactId: number): Promise<string[]> {
    const rows = await this.db.selectFrom('tags').select('name').where('artifact_id', '=', artifactId).orderBy('name').execute();
    return rows.map((r) => r.name);
  }

  /** Digests of the accessories of `subjectDigest` in the repository. */
  async accessoryDigests(repositoryId: number, subjectDigest: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('artifacts')
      .select('digest')
      .where('repository_id', '=', repositoryId)
      .where('accessory_of', '=', subjectDigest)
      .execute();
    return rows.map((r) => r.digest);
  }

  /** Which of `digests` the repository holds as blobs, with their sizes. */
  async repositoryBlobSizes(repositoryId: number, digests: string[]): Promise<Map<string, number>> {
    const found = new Map<string, number>();
    for (let i = 0; i < digests.length; i += 500) {
      const rows = await this.db
        .selectFrom('repository_blobs as rb')
        .innerJoin('blobs as b', 'b.digest', 'rb.digest')
        .select(['b.digest', 'b.size'])
        .where('rb.repository_id', '=', repositoryId)
        .where('rb.digest', 'in', digests.slice(i, i + 500))
        .where('b.quarantined_at', 'is', null)
        .execute();
      for (const row of rows) found.set(row.digest, Number(row.size));
    }
    return found;
  }

  /** Which of `digests` are manifests in the repository. */
  async repositoryManifests(repositoryId: number, digests: string[]): Promise<Map<string, { id: number; size: number }>> {
    const found = new Map<string, { id: number; size: number }>();
    for (let i = 0; i < digests.length; i += 500) {
      const rows = await this.db
        .selectFrom('artifacts')
        .select(['id', 'digest', 'size'])
        .where('repository_id', '=', repositoryId)
        .where('digest', 'in', digests.slice(i, i + 500))
        .execute();
      for (const row of rows) found.set(row.digest, { id: Number(row.id), size: Number(row.size) });
    }
    return found;
  }

  async findManifestByTag(repositoryName: string, tag: string): Promise<ManifestRef | undefined> {
    return this.manifests.get(`${repositoryName}:${tag}`, async () => (await this.lookups.manifestByTag(repositoryName, tag))[0]);
  }

  async findManifestByDigest(repositoryName: string, digest: string): Promise<ManifestRef | undefined> {
    return this.manifests.get(`${repositoryName}@${digest}`, async () => (await this.lookups.manifestByDigest(repositoryName, digest))[0]);
  }

  async manifestBytes(artifactId: number): Promise<Uint8Array | undefined> {
    const row = await this.db.selectFrom('artifacts').select('manifest').where('id', '=', artifactId).executeTakeFirst();
    return row?.manifest;
  }

  async manifestBytesByDigest(repositoryId: number, digest: string): Promise<Uint8Array | undefined> {
    const row = await this.db
      .selectFrom('artifacts')
      .select('manifest')
      .where('repository_id', '=', repositoryId)
      .where('digest', '=', digest)
      .executeTakeFirst();
    return row?.manifest;
  }

  /**
   * Writes an artifact, its links and its tags in one transaction. Returns the artifact id.
   * Two pushes of the same manifest at once (on PostgreSQL, where transactions run side by
   * side) both succeed: the second insert finds the first's row and takes the update path.
   */
  async commitManifest(m: NewManifest): Promise<number> {
    const who: QuotaWho = {
      username: m.audit.username,
      resource: m.audit.resource,
      manifest: { digest: m.digest, mediaType: m.mediaType, tags: m.tags },
    };
    return this.quota.refusable(this.db, () => this.writeManifest(m, who), who);
  }

  private async writeManifest(m: NewManifest, who: QuotaWho): Promise<number> {
    // Shared locks on the blobs it names: GC cannot remove them while the artifact is written.
    return this.locks.run('shared', m.blobDigests, async (tx) => {
      await this.recheckReferences(tx, m);
      const existingId = async () => {
        const row = await tx
          .selectFrom('artifacts')
          .select('id')
          .where('repository_id', '=', m.repositoryId)
          .where('digest', '=', m.digest)
          .executeTakeFirst();
        return row === undefined ? undefined : Number(row.id);
      };
      const d = m.description;
      let artifactId = await existingId();
      if (artifactId === undefined) {
        if (m.described === 'tags') throw new ArtifactGone(m.digest);
        const inserted = await tx
          .insertInto('artifacts')
          .values({
            repository_id: m.repositoryId,
            digest: m.digest,
            media_type: m.mediaType,
            artifact_type: m.artifactType,
            size: m.size,
            manifest: m.bytes,
            subject_digest: m.subjectDigest,
            annotations: m.annotations,
            push_time: m.now,
            pull_time: null,
            type: d.type,
            config_media_type: d.configMediaType,
            extra_attrs: d.extraAttrs,
            icon: d.icon,
            accessory_of: d.accessory?.of ?? null,
            accessory_type: d.accessory?.type ?? null,
          })
          // A concurrent push of the same manifest committed first: update its row instead.
          .onConflict((oc) => oc.columns(['repository_id', 'digest']).doNothing())
          .returning('id')
          .executeTakeFirst();
        if (inserted) {
          artifactId = Number(inserted.id);
          await this.insertLinks(tx, artifactId, m);
          // The manifest is new in the repository: its bytes count once the project holds it, and so
          // do blobs it names whose links a deletion had released.
          const reclaimed = await this.quota.released(tx, m.repositoryId, m.blobDigests);
          await this.quota.linked(tx, m.repositoryId, [{ digest: m.digest, size: m.bytes.byteLength }, ...reclaimed], who);
        } else {
          artifactId = await existingId();
          if (artifactId === undefined) throw new Error(`artifact ${m.digest} vanished while being pushed`);
          await this.touchArtifact(tx, artifactId, m);
        }
      } else {
        await this.touchArtifact(tx, artifactId, m);
      }
      // Immutable tags may be written only onto this artifact (a re-push of the same digest
      // passes); accessories' tags (cosign's sha256-….sig) are not tags to Harbor.
      const immutable = d.accessory || !this.tagProtection ? undefined : await this.tagProtection.protectedTags(tx, m.repositoryId, m.tags);
      // In name order, so that two pushes tagging the same names lock their rows in the same order.
      for (const tag of [...new Set(m.tags)].sort()) {
        await this.upsertTag(tx, m.repositoryId, artifactId, tag, m.now, immutable?.tags.has(tag) ? immutable.repository : undefined);
      }
      // Setting the update time also makes a new repository known (db/repository-filters.ts).
      const repo = await tx
        .updateTable('repositories')
        .set({ updated_at: m.now })
        .where('id', '=', m.repositoryId)
        .returning(['name', 'project_id'])
        .executeTakeFirstOrThrow();
      await writeAudit(tx, m.audit);
      await writeEvent(tx, EventTypes.artifactPushed, {
        project_id: Number(repo.project_id),
        repository_id: m.repositoryId,
        repository: repo.name,
        artifact_id: artifactId,
        digest: m.digest,
        media_type: m.mediaType,
        tags: m.tags,
        operator: m.audit.username,
        occurred_at: m.now,
      });
      return artifactId;
    });
  }

  /**
   * The references checked before the transaction, checked again under the blobs' locks: a
   * link GC removed or a child deleted since then fails the push (the client pushes again)
   * instead of committing an artifact whose content is gone.
   */
  private async recheckReferences(tx: Transaction<Database>, m: NewManifest): Promise<void> {
    const digests = m.absentBlobs ? [] : [...new Set(m.blobDigests)];
    for (let i = 0; i < digests.length; i += 500) {
      const batch = digests.slice(i, i + 500);
      const rows = await tx
        .selectFrom('repository_blobs')
        .select('digest')
        .where('repository_id', '=', m.repositoryId)
        .where('digest', 'in', batch)
        .execute();
      if (rows.length === batch.length) continue;
      const held = new Set(rows.map((r) => r.digest));
      const missing = batch.find((d) => !held.has(d))!;
      throw ociError('MANIFEST_BLOB_UNKNOWN', `blob ${missing} named by the manifest is no longer in the repository; push it again`, {
        detail: { digest: missing },
      });
    }
    const children = [...new Map(m.children.map((c) => [c.id, c])).values()];
    for (let i = 0; i < children.length; i += 500) {
      const batch = children.slice(i, i + 500);
      const rows = await tx
        .selectFrom('artifacts')
        .select('id')
        .where('repository_id', '=', m.repositoryId)
        .where(
          'id',
          'in',
          batch.map((c) => c.id),
        )
        .execute();
      if (rows.length === batch.length) continue;
      const found = new Set(rows.map((r) => Number(r.id)));
      const missing = batch.find((c) => !found.has(c.id))!;
      throw ociError(
        'MANIFEST_BLOB_UNKNOWN',
        `manifest ${missing.digest} named by the index is no longer in the repository; push it again`,
        {
          detail: { digest: missing.digest },
        },
      );
    }
  }

  /** A manifest pushed again: a new push time, and the accessory link it may not have had. */
  private async touchArtifact(tx: Transaction<Database>, artifactId: number, m: NewManifest): Promise<void> {
    await tx.updateTable('artifacts').set({ push_time: m.now }).where('id', '=', artifactId).execute();
    const accessory = m.description.accessory;
    if (accessory) {
      // A signature pushed again under a cosign tag becomes an accessory if it was not one yet.
      await tx
        .updateTable('artifacts')
        .set({ accessory_of: accessory.of, accessory_type: accessory.type })
        .where('id', '=', artifactId)
        .where('accessory_of', 'is', null)
        .execute();
    }
  }

  /** The blobs and index children of a new artifact. */
  private async insertLinks(tx: Transaction<Database>, artifactId: number, m: NewManifest): Promise<void> {
    // In batches of 500 rows: a 4 MiB manifest can name more blobs than one statement may bind.
    const blobDigests = [...new Set(m.blobDigests)];
    for (let i = 0; i < blobDigests.length; i += 500) {
      await tx
        .insertInto('artifact_blobs')
        .values(blobDigests.slice(i, i + 500).map((digest) => ({ artifact_id: artifactId, digest })))
        .execute();
    }
    const children = [...new Map(m.children.map((c) => [c.id, c])).values()];
    for (let i = 0; i < children.length; i += 500) {
      await tx
        .insertInto('artifact_references')
        .values(
          children.slice(i, i + 500).map((c) => ({
            parent_id: artifactId,
            child_id: c.id,
            child_digest: c.digest,
            platform: c.platform,
            annotations: c.annotations,
          })),
        )
        .execute();
    }
  }

  /** With `immutableIn` (the repository's name), the tag may only be created or left on this artifact. */
  private async upsertTag(
    tx: Executor,
    repositoryId: number,
    artifactId: number,
    name: string,
    now: string,
    immutableIn?: string,
  ): Promise<void> {
    const insert = tx
      .insertInto('tags')
      .values({ repository_id: repositoryId, artifact_id: artifactId, name, push_time: now, pull_time: null });
    if (immutableIn === undefined) {
      await insert
        .onConflict((oc) => oc.columns(['repository_id', 'name']).doUpdateSet({ artifact_id: artifactId, push_time: now }))
        .execute();
      return;
    }
    // The conflict update applies only when the tag already names this artifact, in the same
    // statement, so a concurrent move cannot slip between a read and the write.
    const written = await insert
      .onConflict((oc) => oc.columns(['repository_id', 'name']).doUpdateSet({ push_time: now }).where('tags.artifact_id', '=', artifactId))
      .returning('id')
      .executeTakeFirst();
    if (!written) throw immutableTagRefusal(immutableIn, name, 'moved');
  }

  /** Digests of the indexes in the repository that list this artifact as a child. */
  async parentIndexes(artifactId: number): Promise<string[]> {
    const rows = await this.db
      .selectFrom('artifact_references as ar')
      .innerJoin('artifacts as a', 'a.id', 'ar.parent_id')
      .select('a.digest')
      .where('ar.child_id', '=', artifactId)
      .execute();
    return rows.map((r) => r.digest);
  }

  /**
   * Deletes an artifact with its tags and its accessories (signatures, SBOMs, and theirs),
   * in one transaction; with them, the repository's links to the blobs they referenced that
   * no remaining artifact of the repository references are released (quotas/usage.ts): still
   * served, as Distribution does until GC, but no longer counted, so the project's usage drops.
   * Releasing takes the blobs' exclusive locks (db/blob-locks.ts): a manifest push naming one
   * either commits first, and the link stays held, or comes after and takes it back. Blobs
   * uploaded but referenced by no artifact keep their links, counted, for GC to judge.
   */
  async deleteArtifact(artifactId: number, audit: AuditEntry, options: { onlyIfUntagged?: boolean } = {}): Promise<void> {
    const root = await this.db.selectFrom('artifacts').select(['repository_id', 'digest']).where('id', '=', artifactId).executeTakeFirst();
    if (!root) return;
    const before = await this.artifactTree(this.db, Number(root.repository_id), artifactId, root.digest);
    const lockable = await this.blobDigestsOf(this.db, before.ids);
    await this.locks.run('exclusive', lockable, async (tx) => {
      if (options.onlyIfUntagged) await this.requireUntagged(tx, artifactId);
      const root = await tx
        .selectFrom('artifacts as a')
        .innerJoin('repositories as r', 'r.id', 'a.repository_id')
        .select(['a.repository_id', 'a.digest', 'a.media_type', 'r.name', 'r.project_id'])
        .where('a.id', '=', artifactId)
        .executeTakeFirst();
      if (!root) return;
      const repositoryId = Number(root.repository_id);
      const tags = await tx.selectFrom('tags').select('name').where('artifact_id', '=', artifactId).orderBy('name').execute();
      await this.tagProtection?.refuseRemoval(
        tx,
        repositoryId,
        tags.map((t) => t.name),
      );
      // Its label names, for whoever filters the deletion by label (replication): gone once the event is read.
      const labels = await tx
        .selectFrom('artifact_labels as al')
        .innerJoin('labels as l', 'l.id', 'al.label_id')
        .select('l.name')
        .where('al.artifact_id', '=', artifactId)
        .orderBy('l.name')
        .execute();
      await writeAudit(tx, audit);
      await writeEvent(tx, EventTypes.artifactDeleted, {
        project_id: Number(root.project_id),
        repository_id: repositoryId,
        repository: root.name,
        artifact_id: artifactId,
        digest: root.digest,
        media_type: root.media_type,
        tags: tags.map((t) => t.name),
        labels: labels.map((l) => l.name),
        operator: audit.username,
        occurred_at: audit.time ?? new Date().toISOString(),
      });
      const { ids, digests } = await this.artifactTree(tx, repositoryId, artifactId, root.digest);
      const referenced = await this.blobDigestsOf(tx, ids);
      for (let i = 0; i < ids.length; i += 500) {
        const batch = ids.slice(i, i + 500);
        await tx.deleteFrom('tags').where('artifact_id', 'in', batch).execute();
        await tx.deleteFrom('artifact_blobs').where('artifact_id', 'in', batch).execute();
        await tx.deleteFrom('artifact_references').where('parent_id', 'in', batch).execute();
        await tx.deleteFrom('artifact_labels').where('artifact_id', 'in', batch).execute();
        await tx.deleteFrom('artifacts').where('id', 'in', batch).execute();
      }
      // Only links whose blob this transaction holds locked: an accessory pushed since the
      // locks were chosen leaves its blobs' links held, for GC.
      const locked = new Set(lockable);
      const released = await this.quota.releaseUnreferenced(
        tx,
        repositoryId,
        referenced.filter((d) => locked.has(d)),
      );
      await this.quota.unlinked(tx, repositoryId, [...digests, ...released]);
    });
  }

  /** The artifact and its accessories (and theirs), with their manifest digests. */
  private async artifactTree(ex: Executor, repositoryId: number, artifactId: number, digest: string) {
    const ids = [artifactId];
    const digests = [digest];
    for (let subjects = [digest]; subjects.length > 0;) {
      const accessories = await ex
        .selectFrom('artifacts')
        .select(['id', 'digest'])
        .where('repository_id', '=', repositoryId)
        .where('accessory_of', 'in', subjects)
        .execute();
      const fresh = accessories.filter((a) => !ids.includes(Number(a.id)));
      ids.push(...fresh.map((a) => Number(a.id)));
      digests.push(...fresh.map((a) => a.digest));
      subjects = fresh.map((a) => a.digest);
    }
    return { ids, digests };
  }

  /** The distinct blob digests the artifacts reference, sorted. */
  private async blobDigestsOf(ex: Executor, artifactIds: number[]): Promise<string[]> {
    const out = new Set<string>();
    for (let i = 0; i < artifactIds.length; i += 500) {
      const rows = await ex
        .selectFrom('artifact_blobs')
        .select('digest')
        .where('artifact_id', 'in', artifactIds.slice(i, i + 500))
        .execute();
      for (const r of rows) out.add(r.digest);
    }
    return [...out].sort();
  }

  /**
   * For GC's delete_untagged, in the deleting transaction: the artifact is still there,
   * untagged, not an accessory and not an index's child. Its row is locked first (PostgreSQL),
   * so a push tagging it (which locks the row too, for its foreign key) either committed
   * before and is seen here, or waits and then fails instead of losing its tag to the
   * cascade. Throws NotUntagged, and the transaction changes nothing, when it no longer qualifies.
   */
  private async requireUntagged(tx: Transaction<Database>, artifactId: number): Promise<void> {
    let row = tx.selectFrom('artifacts').select(['id', 'accessory_of']).where('id', '=', artifactId);
    if (this.dialect.name === 'postgres') row = row.forUpdate();
    const artifact = await row.executeTakeFirst();
    if (!artifact) throw new NotUntagged(artifactId, 'it was deleted meanwhile');
    if (artifact.accessory_of !== null) throw new NotUntagged(artifactId, 'it is an accessory');
    const tag = await tx.selectFrom('tags').select('id').where('artifact_id', '=', artifactId).limit(1).executeTakeFirst();
    if (tag) throw new NotUntagged(artifactId, 'it was tagged meanwhile');
    const parent = await tx
      .selectFrom('artifact_references')
      .select('parent_id')
      .where('child_id', '=', artifactId)
      .limit(1)
      .executeTakeFirst();
    if (parent) throw new NotUntagged(artifactId, 'an index lists it');
  }

  async deleteTag(repositoryId: number, name: string, audit: AuditEntry): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      const result = await tx.deleteFrom('tags').where('repository_id', '=', repositoryId).where('name', '=', name).executeTakeFirst();
      const deleted = Number(result.numDeletedRows) > 0;
      // A refusal rolls the delete back.
      if (deleted) await this.tagProtection?.refuseRemoval(tx, repositoryId, [name]);
      if (deleted) await writeAudit(tx, audit);
      return deleted;
    });
  }

  private tagNames(repositoryId: number, last: string | undefined) {
    let q = this.db.selectFrom('tags').select('name').where('repository_id', '=', repositoryId);
    if (last !== undefined) q = q.where('name', '>', last);
    return q;
  }

  /** Repositories as Harbor's catalog lists them: every one pushed to, empty ones too. */
  private repositoryNames(last: string | undefined) {
    let q = this.db
      .selectFrom('repositories as r')
      .select('r.name')
      .where((eb) => isKnownRepository(eb));
    if (last !== undefined) q = q.where('r.name', '>', last);
    return q;
  }

  /** Tag names after `last`, in name order, at most `limit`: as a JSON array text and where the next page starts. */
  async listTags(repositoryId: number, limit: number | undefined, last: string | undefined): Promise<NamePage> {
    return this.namePage(() => this.tagNames(repositoryId, last), limit);
  }

  /** Repository names (pushed to at least once) after `last`, likewise. */
  async listRepositories(limit: number | undefined, last: string | undefined): Promise<NamePage> {
    return this.namePage(() => this.repositoryNames(last), limit);
  }

  private async namePage(names: () => SelectQueryBuilder<Database, any, { name: string }>, limit: number | undefined): Promise<NamePage> {
    // Ordered by name in the subquery, as the index on (repository, name) or on name reads them.
    const shown = limit === undefined ? names().orderBy('name') : names().orderBy('name').limit(limit);
    const row = await this.db
      .selectFrom(shown.as('page'))
      .select(this.dialect.jsonArrayText('page.name', { presorted: true }).as('names'))
      .executeTakeFirstOrThrow();
    if (limit === undefined) return { json: row.names, next: null };
    // The last name shown, and whether any name follows it.
    const edge = await names()
      .orderBy('name')
      .limit(2)
      .offset(limit - 1)
      .execute();
    return { json: row.names, next: edge.length === 2 ? edge[0].name : null };
  }

  async referrers(repositoryName: string, subjectDigest: string, artifactType: string | undefined): Promise<Referrer[]> {
    let q = this.db
      .selectFrom('artifacts as a')
      .innerJoin('repositories as r', 'r.id', 'a.repository_id')
      .select((eb) => [
        'a.digest',
        'a.media_type',
        'a.artifact_type',
        'a.annotations',
        eb.fn<number>('length', ['a.manifest']).as('manifest_size'),
      ])
      .where('r.name', '=', repositoryName)
      .where('a.subject_digest', '=', subjectDigest)
      .orderBy('a.id');
    if (artifactType !== undefined) q = q.where('a.artifact_type', '=', artifactType);
    return q.execute();
  }

  // Upload sessions.

  async insertUpload(id: string, repositoryId: number, algorithm: string, now: string): Promise<void> {
    await this.db
      .insertInto('uploads')
      .values({ id, repository_id: repositoryId, digest_algorithm: algorithm, size: 0, created_at: now, updated_at: now })
      .execute();
  }

  findUpload(id: string, repositoryName: string): Promise<UploadRow | undefined> {
    return this.db
      .selectFrom('uploads as u')
      .innerJoin('repositories as r', 'r.id', 'u.repository_id')
      .select(['u.id', 'u.repository_id', 'u.digest_algorithm', 'u.size'])
      .where('u.id', '=', id)
      .where('r.name', '=', repositoryName)
      .executeTakeFirst();
  }

  /** Moves an upload's size forward; false when another request moved it first. */
  async advanceUpload(id: string, from: number, to: number, now: string): Promise<boolean> {
    const result = await this.db
      .updateTable('uploads')
      .set({ size: to, updated_at: now })
      .where('id', '=', id)
      .where('size', '=', from)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async deleteUpload(id: string): Promise<void> {
    await this.db.deleteFrom('uploads').where('id', '=', id).execute();
  }

  /**
   * Publishes an upload's blob into a repository and ends the session, in one transaction.
   * `publish` puts the object in place under the blob's shared lock, before the rows: GC
   * sweeping the same digest either finished first (the object is published anew) or waits
   * and then finds the new link.
   */
  async completeUpload(
    id: string,
    repositoryId: number,
    digest: string,
    size: number,
    now: string,
    publish: () => Promise<void> = async () => undefined,
    who?: QuotaWho,
  ): Promise<void> {
    const complete = () =>
      this.locks.run(
        'shared',
        [digest],
        async (tx) => {
          await tx
            .insertInto('blobs')
            .values({ digest, size, created_at: now })
            .onConflict((oc) => oc.column('digest').doNothing())
            .execute();
          await this.linkOrTouch(tx, repositoryId, digest, now);
          // Also when the link was there: a link released by a deletion counts again.
          await this.quota.linked(tx, repositoryId, [{ digest, size }], who);
          await tx.deleteFrom('uploads').where('id', '=', id).execute();
        },
        { before: publish },
      );
    await this.quota.refusable(this.db, complete, who);
  }

  async staleUploads(before: string): Promise<string[]> {
    const rows = await this.db.selectFrom('uploads').select('id').where('updated_at', '<', before).execute();
    return rows.map((r) => r.id);
  }

  /** Applies a batch of pulls: one pull_time per artifact and tag, and a pull count per repository. */
  async recordPulls(
    pulls: Array<{ artifactId: number; tag: string | null; operator?: string; time: string; count: number }>,
    audits: AuditEntry[],
  ): Promise<void> {
    if (pulls.length === 0 && audits.length === 0) return;
    await this.db.transaction().execute(async (tx) => {
      const perRepository = new Map<number, number>();
      const pulled: Array<(typeof pulls)[number] & { repositoryId: number; digest: string }> = [];
      // Rows in id order, so that two instances flushing at once lock them in the same order;
      // an artifact's latest pull last, so that its time is the one that stays.
      const ordered = [...pulls].sort((a, b) => a.artifactId - b.artifactId || (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
      for (const p of ordered) {
        const artifact = await tx
          .updateTable('artifacts')
          .set({ pull_time: p.time })
          .where('id', '=', p.artifactId)
          .returning(['repository_id', 'digest'])
          .executeTakeFirst();
        if (!artifact) continue;
        pulled.push({ ...p, repositoryId: Number(artifact.repository_id), digest: artifact.digest });
        if (p.tag !== null) {
          await tx
            .updateTable('tags')
            .set({ pull_time: p.time })
            .where('artifact_id', '=', p.artifactId)
            .where('name', '=', p.tag)
            .execute();
        }
        const repo = Number(artifact.repository_id);
        perRepository.set(repo, (perRepository.get(repo) ?? 0) + p.count);
      }
      const repositories = new Map<number, { name: string; project_id: number }>();
      for (const [repositoryId, count] of [...perRepository].sort((a, b) => a[0] - b[0])) {
        const repo = await tx
          .updateTable('repositories')
          .set((eb) => ({ pull_count: eb('pull_count', '+', count) }))
          .where('id', '=', repositoryId)
          .returning(['name', 'project_id'])
          .executeTakeFirst();
        if (repo) repositories.set(repositoryId, repo);
      }
      // The audit records after the rows, as every other writer has them: an audit insert
      // adds to its connection's row_counts stripe (migration 025), and a transaction that
      // took that row before an artifact, tag or repository row could deadlock with a push
      // or delete that holds the artifact's rows and then writes its own audit record.
      await writeAudit(tx, audits);
      await writeEvents(
        tx,
        pulled.map((p) => ({
          type: EventTypes.artifactPulled,
          payload: {
            project_id: Number(repositories.get(p.repositoryId)?.project_id),
            repository_id: p.repositoryId,
            repository: repositories.get(p.repositoryId)?.name,
            artifact_id: p.artifactId,
            digest: p.digest,
            tag: p.tag,
            count: p.count,
            operator: p.operator ?? '',
            occurred_at: p.time,
          },
        })),
      );
    });
  }
}
