import type { Readable } from 'node:stream';
import { LRUCache } from 'lru-cache';
import { ociError } from '../lib/errors.js';
import { nowIso } from '../lib/clock.js';
import { digestOf, isDigest, looksLikeDigest, parseDigest } from '../oci/digest.js';
import { parseManifest, type ParsedManifest } from '../oci/manifest.js';
import { isForeignLayer, mediaTypes } from '../oci/mediatypes.js';
import { isTag, projectOf, repositoryNameProblem } from '../oci/names.js';
import type { ProjectService } from '../projects/service.js';
import type { BlobStore, ByteRange } from '../storage/blobstore.js';
import { BlobIntegrity } from './integrity.js';
import { PullPolicyGate, type Puller, type PullPolicy } from './pull-policy.js';
import type { PullRecorder } from './pulls.js';
import {
  ArtifactGone,
  NotUntagged,
  type ManifestRef,
  type NamePage,
  type NewManifest,
  type RegistryStore,
  type RepositoryRow,
} from './store.js';

export interface StoredManifest {
  digest: string;
  mediaType: string;
  bytes: Uint8Array;
}

export interface PutManifestResult {
  digest: string;
  subject: string | null;
  tags: string[];
}

/** What the artifact processors say about a manifest being pushed. */
export interface ArtifactDescription {
  type: string;
  configMediaType: string | null;
  /** JSON object text, or null when there is nothing to say. */
  extraAttrs: string | null;
  icon: string | null;
  /** When the manifest is an accessory (signature, SBOM, …): whose, and of which type. */
  accessory: { of: string; type: string } | null;
}

/** The seam through which the artifacts feature describes manifests at push time. */
export interface ArtifactDescriber {
  /**
   * `stored`: the repository already holds the artifact (a manifest pushed again, under other
   * tags), so only what its tags decide is needed, not what its content says (extra_attrs).
   */
  describe(repositoryId: number, manifest: ParsedManifest, tags: string[], stored?: boolean): Promise<ArtifactDescription>;
}

/**
 * The seam through which proxy-cache projects (src/proxycache) fill a repository from their
 * upstream registry before /v2 reads it. `proxied` answers null for a repository of an
 * ordinary project from a cached lookup, so the data path pays nothing more for them.
 */
export interface ProxySource {
  proxied(repositoryName: string): Promise<ProxiedRepository | null>;
}

/** A repository of a proxy-cache project, as the /v2 routes ask it. */
export interface ProxiedRepository {
  /** The project's name (for the refusal of a push). */
  project: string;
  /**
   * Where to send the client instead (Docker Hub's official images: `hub/nginx` is
   * `hub/library/nginx`), or null.
   */
  redirect: string | null;
  /**
   * Makes the manifest (and, for a tag, its current digest) present in the repository,
   * asking the upstream when needed. Returns how it was answered, for the Berth-Proxy-Cache
   * header: `hit`, `revalidated`, `fetched`, or `stale; upstream=<failure>`.
   */
  manifest(reference: string): Promise<string>;
  /**
   * A blob the repository does not hold. With `stream`, the bytes as they arrive from the
   * upstream (stored at the same time, published only once their digest is verified); null
   * when the blob is now stored in the repository (read it as any other).
   */
  blob(digest: string, stream: boolean): Promise<{ size: number; stream: Readable } | null>;
  /** The tags the upstream has for the repository (null when it cannot be asked). */
  upstreamTags(): Promise<string[] | null>;
}

export interface PutManifestOptions {
  /**
   * The manifest comes from a proxy cache's upstream: blobs it names may be absent (they are
   * fetched when a client asks for them); their sizes are the manifest's.
   */
  absentBlobs?: boolean;
}

export interface RegistryOptions {
  maxManifestBytes: number;
  manifestCacheEntries: number;
}

/** Checks a repository name and returns it, or throws NAME_INVALID saying why. */
export function checkRepositoryName(name: string): string {
  const problem = repositoryNameProblem(name);
  if (problem) throw ociError('NAME_INVALID', problem);
  return name;
}

export function checkDigest(value: string): string {
  if (!isDigest(value)) throw ociError('DIGEST_INVALID', `"${value}" is not a sha256 or sha512 digest`);
  return value;
}

/**
 * The OCI data path: manifests, blobs, listings. Upload sessions live in UploadService.
 * Callers have already passed the access guard; this class enforces content rules.
 */
export class RegistryService {
  private readonly manifestCache: LRUCache<string, StoredManifest>;
  private readonly integrity: BlobIntegrity;
  /** Project policies asked before a manifest is handed out on /v2 (vulnerability prevention, signatures). */
  readonly pullGate: PullPolicyGate;
  /** Set by the proxy cache (src/proxycache/compose.ts). */
  proxy: ProxySource | undefined;

  constructor(
    private readonly store: RegistryStore,
    private readonly blobs: BlobStore,
    private readonly projects: ProjectService,
    private readonly pulls: PullRecorder,
    private readonly describer: ArtifactDescriber,
    readonly options: RegistryOptions,
  ) {
    this.manifestCache = new LRUCache({ max: Math.max(1, options.manifestCacheEntries) });
    this.integrity = new BlobIntegrity(store.db);
    this.pullGate = new PullPolicyGate((projectId) => projects.storedMetadata(projectId));
    projects.onChanged((projectId) => this.pullGate.forget(projectId));
  }

  /** The repository's proxy cache, when its project is one (a cached lookup; null without the feature). */
  proxied(repositoryName: string): Promise<ProxiedRepository | null> {
    return this.proxy ? this.proxy.proxied(repositoryName) : Promise.resolve(null);
  }

  /** The manifest a tag or digest names in the repository, without reading it or recording a pull. */
  async localManifest(repositoryName: string, reference: string): Promise<{ digest: string; mediaType: string } | undefined> {
    const ref = looksLikeDigest(reference)
      ? await this.store.findManifestByDigest(repositoryName, reference)
      : await this.store.findManifestByTag(repositoryName, reference);
    return ref ? { digest: ref.digest, mediaType: ref.media_type } : undefined;
  }

  /** Where features add the policies a pull must pass. */
  get pullPolicies(): PullPolicy[] {
    return this.pullGate.policies;
  }

  private async checkPull(repositoryName: string, ref: ManifestRef, puller: Puller): Promise<void> {
    await this.pullGate.check({
      projectId: Number(ref.project_id),
      projectName: projectOf(repositoryName),
      repository: repositoryName,
      repositoryId: Number(ref.repository_id),
      artifactId: Number(ref.id),
      digest: ref.digest,
      mediaType: ref.media_type,
      identity: puller.identity,
      userAgent: puller.userAgent,
    });
  }

  /** The repository for a push, created on first use; its project must exist. */
  async repositoryForPush(name: string): Promise<RepositoryRow> {
    checkRepositoryName(name);
    const existing = await this.store.findRepository(name);
    if (existing) return existing;
    const projectName = projectOf(name);
    const project = await this.projects.findByName(projectName);
    if (!project) {
      throw ociError('NAME_UNKNOWN', `project "${projectName}" does not exist; create it before pushing to ${name}`);
    }
    return this.store.ensureRepository(Number(project.id), name, nowIso());
  }

  async existingRepository(name: string): Promise<RepositoryRow> {
    checkRepositoryName(name);
    const repo = await this.store.findRepository(name);
    if (!repo) throw ociError('NAME_UNKNOWN', `repository ${name} is not known to this registry`);
    return repo;
  }

  // Blobs.

  /**
   * Size of a blob the repository holds; manifests count too, as in distribution. A manifest
   * read through the blob endpoint passes the same pull policies as through /manifests.
   */
  async blobSize(repositoryName: string, digest: string, puller?: Puller): Promise<number> {
    checkRepositoryName(repositoryName);
    checkDigest(digest);
    const size = await this.store.repositoryBlobSize(repositoryName, digest);
    if (size !== undefined) return size;
    const ref = await this.store.findManifestByDigest(repositoryName, digest);
    if (ref) {
      if (puller) await this.checkPull(repositoryName, ref, puller);
      return (await this.loadManifest(Number(ref.id), ref.digest, ref.media_type)).bytes.byteLength;
    }
    const quarantine = await this.integrity.quarantineIn(repositoryName, digest);
    if (quarantine) {
      throw ociError(
        'BLOB_UNKNOWN',
        `blob ${digest} is quarantined: an integrity scrub found its stored content wrong or missing (${quarantine.reason ?? 'unknown'}, since ${quarantine.quarantinedAt}); push the blob again to restore it`,
      );
    }
    throw ociError('BLOB_UNKNOWN', `blob ${digest} is not in repository ${repositoryName}`);
  }

  /**
   * Where the client may fetch a blob directly (a presigned URL), when the blob store offers
   * that; null means serve the bytes. Manifests read through the blob endpoint are served.
   */
  async blobRedirect(repositoryName: string, digest: string): Promise<string | null> {
    if (!this.blobs.redirectUrl) return null;
    if ((await this.store.repositoryBlobSize(repositoryName, digest)) === undefined) return null;
    return this.blobs.redirectUrl(digest);
  }

  async openBlob(repositoryName: string, digest: string, range?: ByteRange, fetched = false): Promise<Readable | Uint8Array> {
    const size = await this.store.repositoryBlobSize(repositoryName, digest);
    if (size === undefined) {
      const manifest = await this.findManifestByDigest(repositoryName, digest);
      if (manifest) return range ? manifest.bytes.subarray(range.start, range.end + 1) : manifest.bytes;
      // A proxy cache's layer no client asked for yet, read in process (a scan, a replication): fetched first.
      const proxy = fetched ? null : await this.proxied(repositoryName);
      if (proxy && !proxy.redirect && (await proxy.blob(digest, false)) === null) return this.openBlob(repositoryName, digest, range, true);
      throw ociError('BLOB_UNKNOWN', `blob ${digest} is not in repository ${repositoryName}`);
    }
    try {
      return await this.blobs.read(digest, range);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw ociError('BLOB_UNKNOWN', `blob ${digest} is recorded but its content is missing from storage`);
      }
      throw err;
    }
  }

  /** Removes the blob from the repository; GC reclaims the bytes once nothing uses them. */
  async deleteBlob(repositoryName: string, digest: string): Promise<void> {
    checkDigest(digest);
    const repo = await this.existingRepository(repositoryName);
    if (!(await this.store.unlinkBlob(repo.id, digest))) {
      throw ociError('BLOB_UNKNOWN', `blob ${digest} is not in repository ${repositoryName}`);
    }
  }

  // Manifests.

  private async findManifestByDigest(repositoryName: string, digest: string): Promise<StoredManifest | undefined> {
    const ref = await this.store.findManifestByDigest(repositoryName, digest);
    return ref ? this.loadManifest(Number(ref.id), ref.digest, ref.media_type) : undefined;
  }

  private async loadManifest(id: number, digest: string, mediaType: string): Promise<StoredManifest> {
    const cached = this.manifestCache.get(digest);
    if (cached) return cached;
    const bytes = await this.store.manifestBytes(id);
    if (!bytes) throw ociError('MANIFEST_UNKNOWN', `manifest ${digest} was deleted`);
    const manifest = { digest, mediaType, bytes: Buffer.from(bytes) };
    this.manifestCache.set(digest, manifest);
    return manifest;
  }

  /**
   * Resolves a tag or digest to a stored manifest. A `puller` (GET, not HEAD) is recorded
   * as a pull. With `policyPuller` (the /v2 routes, GET and HEAD as in Harbor), the project's
   * pull policies are asked first.
   */
  async getManifest(
    repositoryName: string,
    reference: string,
    puller: string | null,
    policyPuller?: Puller,
  ): Promise<StoredManifest & { artifactId: number }> {
    checkRepositoryName(repositoryName);
    const byDigest = looksLikeDigest(reference);
    // The spec gives GET and HEAD of a manifest one failure, 404: a reference that can name
    // nothing is simply not there (PUT and DELETE still answer 400 for it).
    if (byDigest ? !isDigest(reference) : !isTag(reference)) {
      throw ociError(
        'MANIFEST_UNKNOWN',
        `manifest "${reference}" is not in repository ${repositoryName}: it is neither a valid tag nor a digest`,
      );
    }
    const ref = byDigest
      ? await this.store.findManifestByDigest(repositoryName, reference)
      : await this.store.findManifestByTag(repositoryName, reference);
    if (!ref) {
      if (!(await this.store.findRepository(repositoryName))) {
        throw ociError('NAME_UNKNOWN', `repository ${repositoryName} is not known to this registry`);
      }
      throw ociError('MANIFEST_UNKNOWN', `manifest ${reference} is not in repository ${repositoryName}`);
    }
    if (policyPuller) await this.checkPull(repositoryName, ref, policyPuller);
    const manifest = await this.loadManifest(Number(ref.id), ref.digest, ref.media_type);
    if (puller !== null) {
      this.pulls.record({
        artifactId: Number(ref.id),
        projectId: Number(ref.project_id),
        tag: byDigest ? null : reference,
        resource: byDigest ? `${repositoryName}@${reference}` : `${repositoryName}:${reference}`,
        username: puller,
      });
    }
    return { ...manifest, artifactId: Number(ref.id) };
  }

  /** Validates and stores a manifest; all or nothing. `actor` is recorded in the audit log. */
  async putManifest(
    repositoryName: string,
    reference: string,
    bytes: Uint8Array,
    contentType: string,
    actor: string,
    extraTags: string[] = [],
    options: PutManifestOptions = {},
  ): Promise<PutManifestResult> {
    checkRepositoryName(repositoryName);
    const byDigest = looksLikeDigest(reference);
    let digest: string;
    if (byDigest) {
      const parsed = parseDigest(reference);
      if (!parsed) throw ociError('DIGEST_INVALID', `"${reference}" is not a sha256 or sha512 digest`);
      digest = digestOf(bytes, parsed.algorithm);
      if (digest !== reference) {
        throw ociError('DIGEST_INVALID', `manifest digest is ${digest}, not ${reference} as the request says`);
      }
    } else {
      if (!isTag(reference))
        throw ociError('MANIFEST_INVALID', `tag "${reference}" is invalid: it must match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`);
      digest = digestOf(bytes);
    }
    for (const tag of extraTags) {
      if (!isTag(tag)) throw ociError('MANIFEST_INVALID', `tag "${tag}" is invalid: it must match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`);
    }
    if (bytes.byteLength > this.options.maxManifestBytes) {
      throw ociError('SIZE_INVALID', `manifest is ${bytes.byteLength} bytes; the limit is ${this.options.maxManifestBytes}`, {
        status: 413,
      });
    }
    const manifest = parseManifest(bytes, contentType);
    const repo = await this.repositoryForPush(repositoryName);
    const { size, blobDigests, children, stored } = await this.checkReferences(
      repo,
      manifest,
      digest,
      bytes.byteLength,
      options.absentBlobs === true,
    );

    const tags = [...new Set(byDigest ? extraTags : [reference, ...extraTags])];
    const toWrite = async (stored: boolean): Promise<NewManifest> => ({
      repositoryId: repo.id,
      digest,
      mediaType: manifest.mediaType,
      artifactType: manifest.artifactType,
      size,
      bytes,
      subjectDigest: manifest.subject?.digest ?? null,
      annotations: manifest.annotations ? JSON.stringify(manifest.annotations) : null,
      blobDigests,
      absentBlobs: options.absentBlobs === true,
      children,
      tags,
      description: await this.describer.describe(repo.id, manifest, tags, stored),
      described: stored ? 'tags' : 'whole',
      now: nowIso(),
      audit: {
        username: actor,
        operation: 'create',
        resourceType: 'artifact',
        resource: tags.length > 0 ? `${repositoryName}:${tags.join(',')}` : `${repositoryName}@${digest}`,
        projectId: repo.project_id,
      },
    });
    try {
      await this.store.commitManifest(await toWrite(stored));
    } catch (err) {
      // Deleted since it was found: described again in full, as a new artifact.
      if (!(err instanceof ArtifactGone)) throw err;
      await this.store.commitManifest(await toWrite(false));
    }
    return { digest, subject: manifest.subject?.digest ?? null, tags: byDigest ? tags : [] };
  }

  /**
   * Copies an artifact into another repository (created on first use) without moving
   * bytes: an index's children first, then the artifact with its tags, then its
   * accessories. Blob links come from the source repository.
   */
  async copyArtifact(sourceRepository: string, digest: string, targetRepository: string, actor: string): Promise<void> {
    const source = await this.existingRepository(sourceRepository);
    const target = await this.repositoryForPush(targetRepository);
    await this.copyInto(source, target, digest, actor, new Set());
  }

  private async copyInto(source: RepositoryRow, target: RepositoryRow, digest: string, actor: string, copied: Set<string>): Promise<void> {
    if (copied.has(digest)) return;
    copied.add(digest);
    const ref = await this.store.findManifestByDigest(source.name, digest);
    if (!ref) throw ociError('MANIFEST_UNKNOWN', `manifest ${digest} is not in repository ${source.name}`);
    const manifest = await this.loadManifest(Number(ref.id), ref.digest, ref.media_type);
    const parsed = parseManifest(manifest.bytes, ref.media_type);
    for (const child of parsed.manifests) await this.copyInto(source, target, child.digest, actor, copied);
    const blobDigests = [...(parsed.config ? [parsed.config.digest] : []), ...parsed.layers.map((l) => l.digest)];
    await this.store.linkBlobsFrom(source.id, target.id, blobDigests, nowIso(), { username: actor, resource: `${target.name}@${digest}` });
    const tags = await this.store.tagNamesOf(Number(ref.id));
    await this.putManifest(target.name, digest, manifest.bytes, ref.media_type, actor, tags);
    for (const accessory of await this.store.accessoryDigests(source.id, digest)) {
      await this.copyInto(source, target, accessory, actor, copied);
    }
  }

  /** Every blob and child manifest must already be in the repository, with the size the manifest says. */
  private async checkReferences(repo: RepositoryRow, manifest: ParsedManifest, digest: string, manifestSize: number, absentBlobs = false) {
    const blobDescriptors = [...(manifest.config ? [manifest.config] : []), ...manifest.layers].filter(
      (d) => !(isForeignLayer(d.mediaType) && d.urls && d.urls.length > 0),
    );
    const blobSizes = await this.store.repositoryBlobSizes(
      repo.id,
      blobDescriptors.map((d) => d.digest),
    );
    let size = manifestSize;
    const counted = new Set<string>();
    for (const d of blobDescriptors) {
      const actual = blobSizes.get(d.digest) ?? (absentBlobs ? d.size : undefined);
      if (actual === undefined) {
        throw ociError('MANIFEST_BLOB_UNKNOWN', `blob ${d.digest} named by the manifest is not in repository ${repo.name}; push it first`, {
          detail: { digest: d.digest },
        });
      }
      if (actual !== d.size) {
        throw ociError('MANIFEST_INVALID', `the manifest gives blob ${d.digest} size ${d.size}, but it is ${actual} bytes`);
      }
      if (!counted.has(d.digest)) size += actual;
      counted.add(d.digest);
    }
    // The index's children, and the manifest itself: one the repository holds is being tagged again.
    const childRows = await this.store.repositoryManifests(repo.id, [...manifest.manifests.map((d) => d.digest), digest]);
    const children = manifest.manifests.map((d) => {
      const child = childRows.get(d.digest);
      if (!child) {
        throw ociError(
          'MANIFEST_BLOB_UNKNOWN',
          `manifest ${d.digest} named by the index is not in repository ${repo.name}; push it first`,
          { detail: { digest: d.digest } },
        );
      }
      return {
        id: child.id,
        digest: d.digest,
        platform: d.platform ? JSON.stringify(d.platform) : null,
        annotations: d.annotations ? JSON.stringify(d.annotations) : null,
      };
    });
    for (const c of new Map(children.map((c) => [c.id, c])).values()) size += childRows.get(c.digest)!.size;
    return { size, blobDigests: [...counted], children, stored: childRows.has(digest) };
  }

  /**
   * DELETE by digest removes the artifact and its tags; by tag, only the tag. A manifest
   * that an index in the same repository lists is refused: delete the index first.
   */
  async deleteManifest(repositoryName: string, reference: string, actor: string): Promise<void> {
    const repo = await this.existingRepository(repositoryName);
    const audit = (resourceType: string, resource: string) => ({
      username: actor,
      operation: 'delete' as const,
      resourceType,
      resource,
      projectId: repo.project_id,
    });
    if (!looksLikeDigest(reference)) {
      if (!isTag(reference)) throw ociError('MANIFEST_INVALID', `"${reference}" is neither a valid tag nor a digest`);
      if (!(await this.store.deleteTag(repo.id, reference, audit('tag', `${repositoryName}:${reference}`)))) {
        throw ociError('MANIFEST_UNKNOWN', `tag ${reference} is not in repository ${repositoryName}`);
      }
      return;
    }
    checkDigest(reference);
    const ref = await this.store.findManifestByDigest(repositoryName, reference);
    if (!ref) throw ociError('MANIFEST_UNKNOWN', `manifest ${reference} is not in repository ${repositoryName}`);
    const parents = await this.store.parentIndexes(Number(ref.id));
    if (parents.length > 0) {
      throw ociError(
        'DENIED',
        `manifest ${reference} is part of index ${parents[0]}${parents.length > 1 ? ` and ${parents.length - 1} more` : ''} in ${repositoryName}; delete the index first`,
      );
    }
    await this.store.deleteArtifact(Number(ref.id), audit('artifact', `${repositoryName}@${reference}`));
  }

  /**
   * Garbage collection's delete_untagged: deletes the artifact (with its accessories, an audit
   * record and a DELETE_ARTIFACT event, like any delete) only if it is still untagged, not an
   * accessory and not an index's child when the deleting transaction looks. False when it no
   * longer qualifies (nothing changed).
   */
  async deleteUntaggedArtifact(
    artifact: { id: number; repository: string; digest: string; projectId: number },
    actor: string,
  ): Promise<boolean> {
    const audit = {
      username: actor,
      operation: 'delete' as const,
      resourceType: 'artifact',
      resource: `${artifact.repository}@${artifact.digest}`,
      projectId: artifact.projectId,
    };
    try {
      await this.store.deleteArtifact(artifact.id, audit, { onlyIfUntagged: true });
      return true;
    } catch (err) {
      if (err instanceof NotUntagged) return false;
      throw err;
    }
  }

  // Listings.

  /** Tag names in name order, `n` at most, after `last`. */
  async listTags(repositoryName: string, n: number | undefined, last: string | undefined): Promise<NamePage> {
    const repo = await this.existingRepository(repositoryName);
    if (n === 0) return { json: '[]', next: null };
    return this.store.listTags(repo.id, n, last);
  }

  /**
   * A proxy cache's tag list: the repository's own tags and the upstream's, merged in name
   * order and paged like listTags (Harbor merges them too). Without upstream tags, listTags.
   */
  async listTagsWith(
    repositoryName: string,
    n: number | undefined,
    last: string | undefined,
    upstream: string[] | null,
  ): Promise<NamePage> {
    if (upstream === null) return this.listTags(repositoryName, n, last);
    checkRepositoryName(repositoryName);
    const repo = await this.store.findRepository(repositoryName);
    const local = repo ? (JSON.parse((await this.store.listTags(repo.id, undefined, undefined)).json) as string[]) : [];
    if (n === 0) return { json: '[]', next: null };
    const all = [...new Set([...local, ...upstream])].sort();
    const after = last === undefined ? all : all.filter((t) => t > last);
    const page = n === undefined ? after : after.slice(0, n);
    return { json: JSON.stringify(page), next: n !== undefined && after.length > n ? page[page.length - 1] : null };
  }

  async catalog(n: number | undefined, last: string | undefined): Promise<NamePage> {
    if (n === 0) return { json: '[]', next: null };
    return this.store.listRepositories(n, last);
  }

  /** The referrers of a subject, as an OCI image index. */
  async referrers(repositoryName: string, subject: string, artifactType: string | undefined): Promise<Uint8Array> {
    checkRepositoryName(repositoryName);
    checkDigest(subject);
    const rows = await this.store.referrers(repositoryName, subject, artifactType);
    const index = {
      schemaVersion: 2,
      mediaType: mediaTypes.ociIndex,
      manifests: rows.map((r) => ({
        mediaType: r.media_type,
        digest: r.digest,
        size: Number(r.manifest_size),
        ...(r.artifact_type !== null && { artifactType: r.artifact_type }),
        ...(r.annotations !== null && { annotations: JSON.parse(r.annotations) as Record<string, string> }),
      })),
    };
    return Buffer.from(JSON.stringify(index));
  }
}
