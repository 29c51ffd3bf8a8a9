/**
 * `DistributionAdapter`: a `RegistryAdapter` over nothing but the v2 API (V2Client). The
 * docker-registry adapter is this class as it is; Docker Hub, GHCR and Harbor extend it
 * (their own listing, repository names, project creation) and keep its content path.
 *
 * Listing: the catalog (or, when the name pattern names repositories outright, those
 * names: a registry without a catalog can still be a source), then each repository's tags,
 * each tag resolved to its digest with a HEAD (not a GET: HEADs are cheap and Docker Hub
 * does not count them), a few repositories and tags at a time. Tags that share a digest
 * make one artifact.
 */
import { compileDoublestar } from '../../lib/doublestar.js';
import { manifestKinds } from '../../oci/mediatypes.js';
import type {
  FetchedBlob,
  FetchedManifest,
  ListOptions,
  ManifestHead,
  RegistryAdapter,
  RegistryEndpoint,
  RegistryInfo,
  SourceArtifact,
} from '../types.js';
import type { RemoteConnections } from './http.js';
import { V2Client } from './v2-client.js';

/** How many repositories, and tags of one repository, are listed at once. */
export const listConcurrency = 8;

export interface AdapterOptions {
  connections?: RemoteConnections;
  /** Idle limit while connecting and waiting for an answer (default 10 s). */
  timeoutMs?: number;
}

/** Options of the v2 client for an endpoint (its URL unless `url` says another, its TLS settings and credential). */
export function clientFor(endpoint: RegistryEndpoint, options: AdapterOptions, url = endpoint.url): V2Client {
  return new V2Client({
    url,
    tls: { insecure: endpoint.insecure, caCertificate: endpoint.caCertificate },
    username: endpoint.credential?.accessKey,
    password: endpoint.credential?.accessSecret,
    connections: options.connections,
    timeoutMs: options.timeoutMs,
  });
}

/** Runs `fn` over `items`, `limit` at a time, keeping the order of results. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>, signal?: AbortSignal): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      signal?.throwIfAborted();
      const i = next++;
      results[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

const globChars = /[*?[\]!()+@]/;

/** Expands one level of `{a,b}` groups; no nesting. */
function expandBraces(pattern: string): string[] {
  const m = /^(.*?)\{([^{}]*)\}(.*)$/.exec(pattern);
  if (!m) return [pattern];
  return m[2].split(',').flatMap((alt) => expandBraces(`${m[1]}${alt}${m[3]}`));
}

/**
 * The repository names a pattern names outright (`library/nginx`, `a/{b,c}`), or null
 * when it is a real pattern that needs the full list (as Harbor's util.IsSpecificPath).
 */
export function specificNames(pattern: string | undefined): string[] | null {
  if (!pattern || globChars.test(pattern)) return null;
  const names = expandBraces(pattern.trim()).map((n) => n.trim());
  if (names.some((n) => n === '' || /[{}]/.test(n))) return null;
  return [...new Set(names)];
}

/** A doublestar test for repository names (Harbor's doublestar, as elsewhere in Berth). */
export function repositoryTest(pattern: string | undefined): (name: string) => boolean {
  if (!pattern) return () => true;
  try {
    return compileDoublestar(pattern);
  } catch {
    // An invalid pattern is refused where policies are saved; here it matches nothing.
    return () => false;
  }
}

/** Harbor's FilterStyle list and triggers for an adapter that knows name and tag filters. */
export function basicInfo(type: string, description: string, resourceTypes: string[], copyByChunk: boolean): RegistryInfo {
  return {
    type,
    description,
    supportedResourceFilters: [
      { type: 'name', style: 'input' },
      { type: 'tag', style: 'input' },
      { type: 'resource', style: 'radio', values: resourceTypes },
    ],
    supportedTriggers: ['manual', 'scheduled'],
    supportedCopyByChunk: copyByChunk,
  };
}

export class DistributionAdapter implements RegistryAdapter {
  readonly client: V2Client;

  constructor(
    readonly endpoint: RegistryEndpoint,
    protected readonly options: AdapterOptions = {},
    client?: V2Client,
  ) {
    this.client = client ?? clientFor(endpoint, options);
  }

  info(): RegistryInfo {
    return basicInfo(
      'docker-registry',
      'CNCF Distribution (docker-registry) or any registry with the v2 API and a catalog',
      ['image'],
      true,
    );
  }

  /** The repository's name at the remote (Docker Hub adds `library/`). */
  protected remoteName(repository: string): string {
    return repository;
  }

  ping(signal?: AbortSignal): Promise<void> {
    return this.client.ping(signal);
  }

  async listRepositories(options: ListOptions = {}): Promise<string[]> {
    const test = repositoryTest(options.repositoryPattern);
    const names = specificNames(options.repositoryPattern) ?? (await this.catalog(options.signal));
    return names.filter((name) => test(name));
  }

  /** Every repository the credential can see (the catalog here; product APIs elsewhere). */
  protected catalog(signal?: AbortSignal): Promise<string[]> {
    return this.client.catalog(signal);
  }

  listTags(repository: string, signal?: AbortSignal): Promise<string[]> {
    return this.client.tags(this.remoteName(repository), signal);
  }

  async listArtifacts(options: ListOptions = {}): Promise<SourceArtifact[]> {
    const repositories = await this.listRepositories(options);
    const perRepository = await mapLimit(
      repositories,
      listConcurrency,
      (repository) => this.artifactsOf(repository, options.signal),
      options.signal,
    );
    return perRepository.flat();
  }

  /** A repository's tags resolved to digests; tags of one digest make one artifact. */
  protected async artifactsOf(repository: string, signal?: AbortSignal): Promise<SourceArtifact[]> {
    const tags = await this.listTags(repository, signal);
    const heads = await mapLimit(tags, listConcurrency, (tag) => this.headManifest(repository, tag, signal), signal);
    const byDigest = new Map<string, SourceArtifact>();
    tags.forEach((tag, i) => {
      const head = heads[i];
      if (!head) return; // deleted between the two calls
      const known = byDigest.get(head.digest);
      if (known) known.tags.push(tag);
      else {
        byDigest.set(head.digest, {
          repository,
          digest: head.digest,
          mediaType: head.mediaType,
          tags: [tag],
          labels: [],
          resourceType: this.resourceTypeOf(head.mediaType),
        });
      }
    });
    return [...byDigest.values()];
  }

  /** Harbor's resource type: what the v2 API says of a manifest cannot tell a chart from an image, so images and indexes are 'image'. */
  protected resourceTypeOf(mediaType: string): 'image' | 'artifact' {
    return manifestKinds[mediaType] || mediaType.includes('schema1') || mediaType.includes('manifest.v1') ? 'image' : 'artifact';
  }

  headManifest(repository: string, reference: string, signal?: AbortSignal): Promise<ManifestHead | null> {
    return this.client.headManifest(this.remoteName(repository), reference, signal);
  }

  getManifest(repository: string, reference: string, signal?: AbortSignal): Promise<FetchedManifest | null> {
    return this.client.getManifest(this.remoteName(repository), reference, signal);
  }

  putManifest(repository: string, reference: string, mediaType: string, bytes: Buffer, signal?: AbortSignal): Promise<string> {
    return this.client.putManifest(this.remoteName(repository), reference, mediaType, bytes, signal);
  }

  deleteManifest(repository: string, reference: string, signal?: AbortSignal): Promise<void> {
    return this.client.deleteManifest(this.remoteName(repository), reference, signal);
  }

  blobExists(repository: string, digest: string, signal?: AbortSignal): Promise<boolean> {
    return this.client.blobExists(this.remoteName(repository), digest, signal);
  }

  getBlob(repository: string, digest: string, signal?: AbortSignal): Promise<FetchedBlob> {
    return this.client.getBlob(this.remoteName(repository), digest, signal);
  }

  putBlob(repository: string, digest: string, blob: FetchedBlob, options?: { chunkSize?: number; signal?: AbortSignal }): Promise<void> {
    return this.client.putBlob(this.remoteName(repository), digest, blob, options);
  }

  mountBlob(repository: string, digest: string, fromRepository: string, signal?: AbortSignal): Promise<boolean> {
    return this.client.mountBlob(this.remoteName(repository), digest, this.remoteName(fromRepository), signal);
  }
}
