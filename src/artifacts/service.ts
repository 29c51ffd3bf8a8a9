import { nowIso } from '../lib/clock.js';
import { apiError, isAppError, type AppError } from '../lib/errors.js';
import type { Paging } from '../lib/paging.js';
import type { QueryTerm } from '../lib/query.js';
import { isDigest, looksLikeDigest } from '../oci/digest.js';
import { parseManifest } from '../oci/manifest.js';
import { manifestKinds } from '../oci/mediatypes.js';
import { isTag } from '../oci/names.js';
import type { LabelView } from '../labels/service.js';
import type { RegistryService } from '../registry/service.js';
import type { RepositoryRow } from '../registry/store.js';
import type { BlobStore } from '../storage/blobstore.js';
import { artifactContent } from './content.js';
import { additionsOf, processorFor } from './processors/index.js';
import type { Addition } from './processors/processor.js';
import { accessoryKey, type ArtifactRow, type ArtifactStore, type ListScope } from './store.js';
import type { TagMatcher } from '../immutability/service.js';
import { accessoryView, artifactBase, referenceView, tagView, type AccessoryView } from './views.js';
import type { SignatureView } from '../signatures/types.js';

/** What the artifact API needs from the labels feature. */
export interface LabelLookup {
  byIds(ids: number[]): Promise<Map<number, LabelView>>;
}

export interface ViewOptions {
  withTag: boolean;
  withLabel: boolean;
  withScanOverview: boolean;
  /** Berth's `signatures` field (signed / verified / unverified and by whom); always on a single artifact's GET. */
  withSignature: boolean;
  withImmutableStatus: boolean;
  withAccessory: boolean;
  /** sbom_overview (Harbor's with_sbom_overview). */
  withSbomOverview?: boolean;
  /** X-Accept-Vulnerabilities: the report MIME types scan_overview may use, in order. */
  acceptVulnerabilities?: string[];
}

export const defaultViewOptions: ViewOptions = {
  withTag: true,
  withLabel: false,
  withScanOverview: false,
  withSignature: false,
  withImmutableStatus: false,
  withAccessory: false,
};

/** Berth's own addition (not Harbor's): an accessory's subject and the indexes that list an artifact. */
export const parentsAddition = 'parents';
/** Harbor's addition for scannable artifacts, served by the scans feature. */
export const vulnerabilitiesAddition = 'vulnerabilities';

/** What the artifact views need from scanning: per artifact, whether it is scannable and its overviews. */
export interface ScanViews {
  overviews(
    items: Array<{
      id: number;
      repositoryId: number;
      projectId: number;
      digest: string;
      mediaType: string;
      type: string;
      accessoryOf: string | null;
      childDigests: string[];
    }>,
    request: { vulnerability: boolean; sbom: boolean; acceptMimeTypes?: string[] },
  ): Promise<Map<number, { scannable: boolean; scan_overview?: Record<string, unknown>; sbom_overview?: Record<string, unknown> }>>;
}

/** What the artifact views need from the signatures feature. */
export interface SignatureViews {
  views(
    items: Array<{ projectId: number; repositoryId: number; repository: string; digest: string; mediaType: string }>,
  ): Promise<Map<string, SignatureView[]>>;
}

/** The artifact API's base path for a repository, as addition links and Locations use it. */
export function artifactPath(repositoryName: string, reference: string): string {
  const slash = repositoryName.indexOf('/');
  const project = repositoryName.slice(0, slash);
  const repo = encodeURIComponent(encodeURIComponent(repositoryName.slice(slash + 1)));
  return `/api/v2.0/projects/${project}/repositories/${repo}/artifacts/${reference}`;
}

/** Registry refusals (OCI codes) as the Harbor API reports them. */
function asApiError(err: unknown): unknown {
  if (!isAppError(err)) return err;
  const e = err as AppError;
  switch (e.code) {
    case 'NAME_UNKNOWN':
    case 'MANIFEST_UNKNOWN':
    case 'BLOB_UNKNOWN':
      return apiError('NOT_FOUND', e.message);
    case 'DENIED':
      return apiError('FORBIDDEN', e.message);
    case 'NAME_INVALID':
    case 'MANIFEST_INVALID':
    case 'DIGEST_INVALID':
    case 'MANIFEST_BLOB_UNKNOWN':
      return apiError('BAD_REQUEST', e.message);
    default:
      return err;
  }
}

async function viaRegistry<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw asApiError(err);
  }
}

/**
 * Harbor's artifact API over what the registry stores: listings with tags, labels,
 * accessories and references assembled for a whole page in a few queries.
 */
export class ArtifactService {
  constructor(
    private readonly store: ArtifactStore,
    private readonly registry: RegistryService,
    private readonly blobs: BlobStore,
    private readonly labels: LabelLookup,
  ) {}

  /** Tag immutability rules, for with_immutable_status (immutability/service.ts). */
  immutability?: { matcherFor(projectId: number): Promise<TagMatcher> };

  /** Scans (scanning/scans/results.ts): scan_overview, sbom_overview and the vulnerabilities addition link. */
  scans?: ScanViews;

  /** Signatures (signatures/service.ts): each artifact's signatures and what they are worth, keyed `repositoryId|digest`. */
  signatures?: SignatureViews;

  /** The test `immutable` on tags uses: the project's rules when asked for, else every tag mutable. */
  private async immutableTest(projectId: number | undefined, wanted: boolean): Promise<TagMatcher> {
    if (!wanted || projectId === undefined || !this.immutability) return () => false;
    return this.immutability.matcherFor(projectId);
  }

  /** The repository by its full name, or 404. */
  repository(fullName: string): Promise<RepositoryRow> {
    return viaRegistry(() => this.registry.existingRepository(fullName));
  }

  /** An artifact by digest or tag, or 404 (400 for a reference that is neither). */
  async resolve(repo: RepositoryRow, reference: string): Promise<ArtifactRow> {
    let row: ArtifactRow | undefined;
    if (looksLikeDigest(reference)) {
      if (!isDigest(reference)) throw apiError('BAD_REQUEST', `"${reference}" is not a valid digest`);
      row = await this.store.byDigest(repo.id, reference);
    } else {
      if (!isTag(reference)) throw apiError('BAD_REQUEST', `"${reference}" is neither a valid tag nor a digest`);
      row = await this.store.byTag(repo.id, reference);
    }
    if (!row) throw apiError('NOT_FOUND', `artifact ${repo.name}${looksLikeDigest(reference) ? '@' : ':'}${reference} not found`);
    return row;
  }

  async list(scope: ListScope, terms: QueryTerm[], sort: string | undefined, paging: Paging, options: ViewOptions) {
    const page = await this.store.list(scope, terms, sort, paging);
    return { items: await this.views(page.items, options), total: page.total };
  }

  async view(row: ArtifactRow, options: ViewOptions) {
    return (await this.views([row], options))[0];
  }

  /** Harbor Artifact objects for rows of one repository: one query per kind of detail, not per artifact. */
  async views(rows: ArtifactRow[], options: ViewOptions) {
    const ids = rows.map((r) => Number(r.id));
    const [tags, references, labelIds, accessories, listed] = await Promise.all([
      options.withTag ? this.store.tagsOf(ids) : undefined,
      this.store.referencesOf(ids),
      options.withLabel ? this.store.labelIdsOf(ids) : undefined,
      options.withAccessory ? this.store.accessoriesOf(rows) : undefined,
      this.store.listedByIndex(ids),
    ]);
    const labels = labelIds ? await this.labels.byIds([...new Set([...labelIds.values()].flat())]) : undefined;
    const scanViews = this.scans
      ? await this.scans.overviews(
          rows.map((r) => ({
            id: Number(r.id),
            repositoryId: Number(r.repository_id),
            projectId: Number(r.project_id),
            digest: r.digest,
            mediaType: r.media_type,
            type: r.type,
            accessoryOf: r.accessory_of,
            childDigests: (references.get(Number(r.id)) ?? []).map((c) => c.child_digest),
          })),
          {
            vulnerability: options.withScanOverview,
            sbom: options.withSbomOverview ?? false,
            acceptMimeTypes: options.acceptVulnerabilities,
          },
        )
      : undefined;
    const signatures =
      options.withSignature && this.signatures
        ? await this.signatures.views(
            rows.map((r) => ({
              projectId: Number(r.project_id),
              repositoryId: Number(r.repository_id),
              repository: r.repository_name,
              digest: r.digest,
              mediaType: r.media_type,
            })),
          )
        : undefined;
    const immutable = await this.immutableTest(rows[0]?.project_id, options.withImmutableStatus && tags !== undefined);
    return rows.map((row) => {
      const id = Number(row.id);
      const ownAccessories = accessories?.get(accessoryKey(Number(row.repository_id), row.digest)) ?? [];
      const isIndex = manifestKinds[row.media_type] === 'index';
      // Berth's own `parents` addition, where there is something to say: an accessory's subject, the indexes listing an image.
      const scan = scanViews?.get(id);
      const names = [
        ...additionsOf(row.type, isIndex),
        ...(scan?.scannable ? [vulnerabilitiesAddition] : []),
        ...(row.accessory_of !== null || listed.has(id) ? [parentsAddition] : []),
      ];
      const links = Object.fromEntries(
        names.map((name) => [name, { href: `${artifactPath(row.repository_name, row.digest)}/additions/${name}`, absolute: false }]),
      );
      return {
        ...artifactBase(row, links),
        references: (references.get(id) ?? []).map(referenceView),
        ...(tags && { tags: (tags.get(id) ?? []).map((t) => tagView(t, immutable(row.repository_name, t.name))) }),
        ...(labels && { labels: (labelIds!.get(id) ?? []).map((l) => labels.get(l)).filter((l) => l !== undefined) }),
        ...(options.withAccessory && { accessories: ownAccessories.map((a) => accessoryView(a, id, row.repository_name)) }),
        ...(options.withScanOverview && { scan_overview: scan?.scan_overview ?? {} }),
        ...(options.withSbomOverview && scan?.sbom_overview && { sbom_overview: scan.sbom_overview }),
        ...(signatures && { signatures: signatures.get(`${Number(row.repository_id)}|${row.digest}`) ?? [] }),
      };
    });
  }

  /**
   * Deletes the artifact with its tags and accessories (Harbor deletes by tag too: the whole
   * artifact), then, as Harbor does, each child of an index that no tag and no other index holds.
   */
  async delete(repo: RepositoryRow, artifact: ArtifactRow, actor: string): Promise<void> {
    const children = await this.childDigests(artifact);
    try {
      await this.registry.deleteManifest(repo.name, artifact.digest, actor);
    } catch (err) {
      // An index still lists it: Harbor answers 412, as for any foreign-key refusal.
      if (isAppError(err) && err.code === 'DENIED') throw apiError('PRECONDITION', err.message);
      throw asApiError(err);
    }
    for (const child of children) await this.deleteChild(repo, child, actor);
  }

  private async childDigests(artifact: ArtifactRow): Promise<string[]> {
    const id = Number(artifact.id);
    return ((await this.store.referencesOf([id])).get(id) ?? []).map((r) => r.child_digest);
  }

  /** A child of a deleted index, with its own children; kept while tagged or listed by another index. */
  private async deleteChild(repo: RepositoryRow, digest: string, actor: string): Promise<void> {
    const child = await this.store.byDigest(repo.id, digest);
    if (!child || (await this.store.tagsOf([Number(child.id)])).size > 0) return;
    const children = await this.childDigests(child);
    try {
      await this.registry.deleteManifest(repo.name, digest, actor);
    } catch (err) {
      // DENIED: another index still lists it; MANIFEST_UNKNOWN: deleted meanwhile.
      if (isAppError(err) && (err.code === 'DENIED' || err.code === 'MANIFEST_UNKNOWN')) return;
      throw asApiError(err);
    }
    for (const grandchild of children) await this.deleteChild(repo, grandchild, actor);
  }

  /**
   * Copies an artifact, with its children and accessories, into the repository. An accessory
   * alone is refused, as Harbor does: its subject would not be there.
   */
  async copy(source: ArtifactRow, targetRepository: string, actor: string): Promise<void> {
    if (source.accessory_of) {
      throw apiError(
        'FORBIDDEN',
        `${source.repository_name}@${source.digest} is an accessory of ${source.accessory_of}; copy that artifact and its accessories come with it`,
      );
    }
    await this.refuseProxyCache(targetRepository);
    await viaRegistry(() => this.registry.copyArtifact(source.repository_name, source.digest, targetRepository, actor));
  }

  async tags(artifact: ArtifactRow, terms: QueryTerm[], sort: string | undefined, paging: Paging, withImmutableStatus: boolean) {
    const page = await this.store.tagPage(Number(artifact.id), terms, sort, paging);
    const immutable = await this.immutableTest(Number(artifact.project_id), withImmutableStatus);
    return { items: page.items.map((t) => tagView(t, immutable(artifact.repository_name, t.name))), total: page.total };
  }

  /** Harbor's refusal of a copy or a new tag in a proxy cache project (filled from its upstream only). */
  private async refuseProxyCache(repositoryName: string): Promise<void> {
    if (await this.registry.proxied(repositoryName)) {
      throw apiError('METHOD_NOT_ALLOWED', "the operation isn't supported for a proxy cache project");
    }
  }

  async createTag(repo: RepositoryRow, artifact: ArtifactRow, name: unknown, actor: string): Promise<void> {
    await this.refuseProxyCache(repo.name);
    if (typeof name !== 'string' || !isTag(name)) {
      throw apiError('BAD_REQUEST', `tag name "${String(name)}" is invalid: it must match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`);
    }
    const existing = await this.store.tagByName(repo.id, name);
    if (existing) {
      throw apiError(
        'CONFLICT',
        `tag ${name} already exists in ${repo.name}${Number(existing.artifact_id) === Number(artifact.id) ? ' on this artifact' : ''}`,
      );
    }
    await this.store.addTag(repo, artifact, name, nowIso(), actor);
  }

  async deleteTag(repo: RepositoryRow, artifact: ArtifactRow, name: string, actor: string): Promise<void> {
    const tag = await this.store.tagByName(repo.id, name);
    if (!tag || Number(tag.artifact_id) !== Number(artifact.id))
      throw apiError('NOT_FOUND', `tag ${name} is not on artifact ${artifact.digest}`);
    await this.store.removeTag(repo, Number(tag.id), name, actor);
  }

  async accessories(
    artifact: ArtifactRow,
    terms: QueryTerm[],
    sort: string | undefined,
    paging: Paging,
  ): Promise<{ items: AccessoryView[]; total: number }> {
    const page = await this.store.accessoryPage(Number(artifact.repository_id), artifact.digest, terms, sort, paging);
    return { items: page.items.map((a) => accessoryView(a, Number(artifact.id), artifact.repository_name)), total: page.total };
  }

  /** One of the artifact's additions (build_history, values.yaml, readme.md, dependencies, and Berth's own layers). */
  async addition(artifact: ArtifactRow, name: string): Promise<Addition> {
    if (name === parentsAddition) return this.parents(artifact);
    const bytes = await this.store.manifestBytes(Number(artifact.id));
    if (!bytes) throw apiError('NOT_FOUND', `artifact ${artifact.digest} was deleted`);
    const manifest = parseManifest(bytes, artifact.media_type);
    const processor = processorFor(manifest);
    if (!processor.additions.includes(name)) {
      const offered = processor.additions.length > 0 ? `; it offers ${processor.additions.join(', ')}` : '';
      throw apiError('NOT_FOUND', `an artifact of type ${artifact.type} has no addition "${name}"${offered}`);
    }
    const content = artifactContent(manifest, this.blobs, (d) => this.store.childManifestBytes(Number(artifact.repository_id), d));
    const addition = await processor.addition(name, content);
    if (!addition) throw apiError('NOT_FOUND', `addition "${name}" of ${artifact.digest} is not available`);
    return addition;
  }

  /**
   * Berth's `parents` addition: what the artifact belongs to in its repository. `subject`: for
   * an accessory, the artifact it is about (null when that is not stored); `indexes`: the
   * indexes that list it. Each by digest with its tags.
   */
  private async parents(artifact: ArtifactRow): Promise<Addition> {
    const subject =
      artifact.accessory_of === null ? undefined : await this.store.byDigest(Number(artifact.repository_id), artifact.accessory_of);
    const indexes = await this.store.indexesListing(Number(artifact.id));
    if (artifact.accessory_of === null && indexes.length === 0) {
      throw apiError(
        'NOT_FOUND',
        `artifact ${artifact.digest} is neither an accessory nor listed by an index: it has no addition "parents"`,
      );
    }
    const tags = await this.store.tagsOf([...(subject ? [Number(subject.id)] : []), ...indexes.map((i) => i.id)]);
    const named = (id: number, digest: string) => ({ digest, tags: (tags.get(id) ?? []).map((t) => t.name).sort() });
    const body = {
      subject: subject ? named(Number(subject.id), subject.digest) : null,
      indexes: indexes.map((i) => named(i.id, i.digest)),
    };
    return { contentType: 'application/json; charset=utf-8', body: JSON.stringify(body) };
  }

  async addLabel(repo: RepositoryRow, artifact: ArtifactRow, labelId: unknown, actor: string): Promise<void> {
    const id = Number(labelId);
    if (!Number.isSafeInteger(id) || id < 1) throw apiError('BAD_REQUEST', 'the body must name a label: {"id": <label id>}');
    const label = (await this.labels.byIds([id])).get(id);
    if (!label) throw apiError('NOT_FOUND', `label ${id} not found`);
    if (label.scope === 'p' && label.project_id !== Number(repo.project_id)) {
      throw apiError('BAD_REQUEST', `label ${id} belongs to another project; use a global label or one of this project's`);
    }
    const attached = (await this.store.labelIdsOf([Number(artifact.id)])).get(Number(artifact.id)) ?? [];
    if (attached.includes(id)) throw apiError('CONFLICT', `label ${id} is already on artifact ${artifact.digest}`);
    await this.store.addLabel(repo, artifact, { id, name: label.name }, nowIso(), actor);
  }

  async removeLabel(repo: RepositoryRow, artifact: ArtifactRow, labelId: number, actor: string): Promise<void> {
    // A deleted label is on no artifact any more (its links went with it): 404 below.
    const label = (await this.labels.byIds([labelId])).get(labelId);
    if (!label || !(await this.store.removeLabel(repo, artifact, { id: labelId, name: label.name }, actor))) {
      throw apiError('NOT_FOUND', `label ${labelId} is not on artifact ${artifact.digest}`);
    }
  }
}
