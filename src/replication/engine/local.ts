import { Readable } from 'node:stream';
import type { ArtifactService } from '../../artifacts/service.js';
import type { ArtifactRow } from '../../artifacts/store.js';
import { isAppError } from '../../lib/errors.js';
import { looksLikeDigest } from '../../oci/digest.js';
import { projectOf } from '../../oci/names.js';
import type { ProjectService } from '../../projects/service.js';
import type { RegistryService } from '../../registry/service.js';
import type { UploadService } from '../../registry/uploads.js';
import {
  RemoteRegistryError,
  type FetchedBlob,
  type FetchedManifest,
  type ListOptions,
  type ManifestHead,
  type RegistryAdapter,
  type RegistryInfo,
  type SourceArtifact,
} from '../types.js';
import { patternTest } from './filters.js';

/** Who the audit log names for what replication writes into Berth (user names cannot contain ':'). */
export const replicationActor = 'system:replication';

export interface LocalRegistryDeps {
  registry: RegistryService;
  uploads: UploadService;
  artifacts: ArtifactService;
  projects: ProjectService;
  actor?: string;
}

const missing = new Set(['NAME_UNKNOWN', 'MANIFEST_UNKNOWN', 'BLOB_UNKNOWN', 'NOT_FOUND']);

function isMissing(err: unknown): boolean {
  return isAppError(err) && missing.has(err.code);
}

/** A refusal of Berth's own registry, in the shape the copier handles for every adapter. */
function asRemote(err: unknown): unknown {
  if (!isAppError(err)) return err;
  if (missing.has(err.code)) return new RemoteRegistryError('not_found', err.message, 404);
  if (err.code === 'DENIED' || err.code === 'FORBIDDEN' || err.code === 'PRECONDITION')
    return new RemoteRegistryError('denied', err.message, 403);
  return new RemoteRegistryError('failed', err.message, err.status);
}

async function local<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw asRemote(err);
  }
}

const pageSize = 100;

/**
 * Berth itself as a RegistryAdapter, in process: reads through RegistryService (a null
 * puller: replication reading is not a pull), listings with tags and labels through the
 * artifacts feature, writes through UploadService and RegistryService.putManifest (quota,
 * immutability, audit and the push event as for any push, audited as `system:replication`;
 * refused in a proxy-cache project, as /v2 refuses a push there),
 * deletions through ArtifactService (an index's untagged children go with it, as in the API).
 */
export class LocalRegistryAdapter implements RegistryAdapter {
  private readonly actor: string;

  constructor(private readonly deps: LocalRegistryDeps) {
    this.actor = deps.actor ?? replicationActor;
  }

  info(): RegistryInfo {
    return {
      type: 'harbor',
      description: 'This Berth',
      supportedResourceFilters: [
        { type: 'name', style: 'input' },
        { type: 'tag', style: 'input' },
        { type: 'label', style: 'list' },
        { type: 'resource', style: 'radio', values: ['image', 'artifact'] },
      ],
      supportedTriggers: ['manual', 'scheduled', 'event_based'],
      supportedCopyByChunk: true,
    };
  }

  async ping(): Promise<void> {}

  /**
   * Harbor refuses pushes into a proxy-cache project (its content comes from the upstream
   * only); /v2 does so in its routes, which this adapter goes around, so it asks the same seam.
   */
  private async refuseProxy(repository: string): Promise<void> {
    const proxy = await this.deps.registry.proxied(repository);
    if (proxy) throw new RemoteRegistryError('denied', `can not push artifact to a proxy project: ${proxy.project}`, 403);
  }

  async listRepositories(options: ListOptions = {}): Promise<string[]> {
    const page = await this.deps.registry.catalog(undefined, undefined);
    const names = JSON.parse(page.json) as string[];
    if (!options.repositoryPattern) return names;
    const test = patternTest(options.repositoryPattern);
    return names.filter((n) => test(n));
  }

  async listTags(repository: string): Promise<string[]> {
    return local(async () => JSON.parse((await this.deps.registry.listTags(repository, undefined, undefined)).json) as string[]);
  }

  async listArtifacts(options: ListOptions = {}): Promise<SourceArtifact[]> {
    const out: SourceArtifact[] = [];
    for (const repository of await this.listRepositories(options)) {
      options.signal?.throwIfAborted();
      let repo;
      try {
        repo = await this.deps.artifacts.repository(repository);
      } catch (err) {
        if (isAppError(err) && err.code === 'NOT_FOUND') continue;
        throw err;
      }
      for (let page = 1; ; page++) {
        const { items } = await this.deps.artifacts.list(
          { repositoryId: Number(repo.id) },
          [],
          undefined,
          { page, pageSize, offset: (page - 1) * pageSize },
          {
            withTag: true,
            withLabel: true,
            withAccessory: true,
            withScanOverview: false,
            withSignature: false,
            withImmutableStatus: false,
          },
        );
        for (const item of items) {
          const tags = (item.tags ?? []).map((t) => t.name);
          const labels = (item.labels ?? []).map((l) => l.name);
          out.push({
            repository,
            digest: item.digest,
            mediaType: item.manifest_media_type,
            tags,
            labels,
            resourceType: item.type === 'IMAGE' ? 'image' : 'artifact',
          });
          // Accessories (and theirs) beside their subject, with the subject's labels and tags, as Harbor lists them.
          const pending = (item.accessories ?? []).map((a) => a.digest);
          const seen = new Set<string>();
          while (pending.length > 0) {
            const digest = pending.shift()!;
            if (seen.has(digest)) continue;
            seen.add(digest);
            let row: ArtifactRow;
            try {
              row = await this.deps.artifacts.resolve(repo, digest);
            } catch (err) {
              if (isMissing(err)) continue;
              throw err;
            }
            const view = await this.deps.artifacts.view(row, {
              withTag: true,
              withLabel: false,
              withAccessory: true,
              withScanOverview: false,
              withSignature: false,
              withImmutableStatus: false,
            });
            out.push({
              repository,
              digest: row.digest,
              mediaType: row.media_type,
              tags: (view.tags ?? []).map((t) => t.name),
              labels,
              resourceType: item.type === 'IMAGE' ? 'image' : 'artifact',
              accessoryOf: row.accessory_of ?? item.digest,
              parentTags: tags,
            });
            for (const a of view.accessories ?? []) pending.push(a.digest);
          }
        }
        if (items.length < pageSize) break;
      }
    }
    return out;
  }

  async headManifest(repository: string, reference: string): Promise<ManifestHead | null> {
    try {
      const m = await this.deps.registry.getManifest(repository, reference, null);
      return { digest: m.digest, mediaType: m.mediaType, size: m.bytes.byteLength };
    } catch (err) {
      if (isMissing(err)) return null;
      throw asRemote(err);
    }
  }

  async getManifest(repository: string, reference: string): Promise<FetchedManifest | null> {
    try {
      const m = await this.deps.registry.getManifest(repository, reference, null);
      return { digest: m.digest, mediaType: m.mediaType, bytes: Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength) };
    } catch (err) {
      if (isMissing(err)) return null;
      throw asRemote(err);
    }
  }

  async putManifest(repository: string, reference: string, mediaType: string, bytes: Buffer): Promise<string> {
    await this.refuseProxy(repository);
    return local(async () => (await this.deps.registry.putManifest(repository, reference, bytes, mediaType, this.actor)).digest);
  }

  async deleteManifest(repository: string, reference: string): Promise<void> {
    try {
      const repo = await this.deps.artifacts.repository(repository);
      const artifact = await this.deps.artifacts.resolve(repo, reference);
      await this.deps.artifacts.delete(repo, artifact, this.actor);
    } catch (err) {
      if (isMissing(err)) return;
      throw asRemote(err);
    }
  }

  async blobExists(repository: string, digest: string): Promise<boolean> {
    try {
      await this.deps.registry.blobSize(repository, digest);
      return true;
    } catch (err) {
      if (isMissing(err)) return false;
      throw asRemote(err);
    }
  }

  async getBlob(repository: string, digest: string): Promise<FetchedBlob> {
    return local(async () => {
      const size = await this.deps.registry.blobSize(repository, digest);
      const body = await this.deps.registry.openBlob(repository, digest);
      const stream = body instanceof Readable ? body : Readable.from([Buffer.from(body.buffer, body.byteOffset, body.byteLength)]);
      return { stream, size };
    });
  }

  /** In process there is nothing to gain from chunks: the upload session streams straight into the blob store. */
  async putBlob(repository: string, digest: string, blob: FetchedBlob): Promise<void> {
    await this.refuseProxy(repository);
    await local(() =>
      this.deps.uploads.monolithic(repository, digest, { stream: blob.stream, length: blob.size, range: null }, this.actor),
    );
  }

  async mountBlob(repository: string, digest: string, fromRepository: string): Promise<boolean> {
    await this.refuseProxy(repository);
    return local(() => this.deps.uploads.mount(repository, digest, fromRepository, this.actor));
  }

  /** Creates the repository's project when it is missing (private, as Harbor creates it for a replication); refuses a proxy-cache project's. */
  async prepareRepository(repository: string): Promise<void> {
    await this.refuseProxy(repository);
    const name = projectOf(repository);
    if (await this.deps.projects.findByName(name)) return;
    try {
      await this.deps.projects.createFromRequest(
        { project_name: name, metadata: { public: 'false' } },
        { username: this.actor, userId: null, sysadmin: true },
      );
    } catch (err) {
      // Created meanwhile by another task.
      if (isAppError(err) && err.code === 'CONFLICT') return;
      throw asRemote(err);
    }
  }
}

/** True for a tag, false for a digest. */
export function isTagReference(reference: string): boolean {
  return !looksLikeDigest(reference);
}
