import { PassThrough, pipeline, type Transform } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { LRUCache } from 'lru-cache';
import { compileDoublestar } from '../lib/doublestar.js';
import { nowIso } from '../lib/clock.js';
import { apiError, isAppError, ociError, type AppError } from '../lib/errors.js';
import { isDigest, looksLikeDigest } from '../oci/digest.js';
import { parseManifest } from '../oci/manifest.js';
import { isTag, projectOf } from '../oci/names.js';
import type { ProjectProxyCache } from '../projects/service.js';
import type { ProxiedRepository, ProxySource } from '../registry/service.js';
import {
  RemoteRegistryError,
  type FetchedManifest,
  type RegistryAdapter,
  type RegistryEndpoint,
  type RemoteFailure,
} from '../replication/types.js';
import {
  proxyActor,
  proxyableTypes,
  type ProxyAdapters,
  type ProxyCacheOptions,
  type ProxyProjects,
  type ProxyRegistries,
  type ProxyRegistry,
  type ProxyUploads,
} from './ports.js';
import type { ProxyFetchStore } from './store.js';
import { ChunkChannel } from './channel.js';
import { BlobTee } from './tee.js';

/** A proxy cache project's settings, as the data path reads them. */
interface ProxyProject {
  id: number;
  name: string;
  registryId: number;
  freshnessMs: number;
  localOnNotFound: boolean;
  /** Harbor's proxy_speed_kb: KB/s per blob transfer from the upstream; 0 for no limit. */
  speedKb: number;
  /** Harbor's proxy_cache_filter_pattern: only matching upstream repositories are proxied. */
  filter: ((remoteRepository: string) => boolean) | null;
}

interface Upstream {
  endpoint: RegistryEndpoint;
  adapter: RegistryAdapter;
}

/** One blob being fetched (or waited for) on this instance; every request for the digest shares it. */
interface Flight {
  /** The repository it is stored into first; others link it after. */
  repository: string;
  /** The size once this instance streams it (clients may attach); null when another instance fetches it. */
  ready: Promise<number | null>;
  tee: BlobTee | null;
  /** Settles when the blob is stored (or the fetch failed). */
  done: Promise<void>;
}

const maxConfigPrefetch = 4 << 20;
/** Bytes of a blob fetch that may wait for storage to write them before the upstream (and the clients) wait. */
const storageBuffer = 1 << 20;
const pollMs = 200;

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

function failureOf(err: unknown): RemoteFailure | null {
  return err instanceof RemoteRegistryError ? err.failure : null;
}

function compileFilter(pattern: string | undefined, kind: string | undefined): ProxyProject['filter'] {
  if (!pattern) return null;
  try {
    if (kind === 'regex') {
      const re = new RegExp(pattern);
      return (name) => re.test(name);
    }
    return compileDoublestar(pattern);
  } catch {
    // Harbor: an invalid pattern matches nothing (it is refused when set, so only an old row can hold one).
    return () => false;
  }
}

/**
 * Proxy-cache projects: the /v2 data path asks this (RegistryService.proxy) for repositories
 * of projects created with a registry_id. A tag's manifest is revalidated against the upstream
 * with HEAD (outside the project's freshness window) and fetched only when its digest changed;
 * what is fetched is stored through the ordinary push path (quota, audit, events, scan on push),
 * so cached artifacts are artifacts like any other. A blob is streamed to the clients while it is
 * stored, fetched once however many ask (in this process through a shared flight, across
 * instances through proxy_fetches). When the upstream cannot be asked, a cached copy is served
 * and the answer says so.
 */
export class ProxyCache implements ProxySource, ProjectProxyCache {
  private readonly projects: LRUCache<string, { value: ProxyProject | null }>;
  private readonly upstreams: LRUCache<number, { value: Promise<Upstream | undefined> }>;
  /** When a tag was last found current at the upstream by this instance, per repository:tag. */
  private readonly validated = new LRUCache<string, number>({ max: 50_000 });
  private readonly manifestFlights = new Map<string, Promise<string>>();
  private readonly blobFlights = new Map<string, Flight>();
  private sequence = 0;

  constructor(
    private readonly deps: {
      projects: ProxyProjects;
      registries: ProxyRegistries;
      adapters: ProxyAdapters;
      registry: ProxyRegistry;
      uploads: ProxyUploads;
      fetches: ProxyFetchStore;
      /** A stream paced to `bytesPerSecond` (replication's token bucket), for proxy_speed_kb. */
      throttle?: (bytesPerSecond: number) => Transform;
      /** Creates a new proxy cache project's retention policy (retention feature). */
      defaultRetention?: (project: { id: number; name: string }, actor: string) => Promise<unknown>;
    },
    private readonly options: ProxyCacheOptions,
  ) {
    this.projects = new LRUCache({ max: 10_000, ttl: Math.max(1, options.projectCacheMs) });
    this.upstreams = new LRUCache({ max: 1_000, ttl: Math.max(1, options.endpointCacheMs) });
    deps.projects.onChanged(() => this.projects.clear());
    deps.registries.onUsageCheck(async (registryId) =>
      (await deps.projects.countByRegistry(registryId)) > 0
        ? `the registry ${registryId} is referenced by proxy cache project, cannot delete it`
        : null,
    );
  }

  // The projects feature's seam: a new proxy cache project's registry.

  async checkRegistry(registryId: number): Promise<void> {
    const endpoint = await this.deps.registries.endpoint(registryId);
    if (!endpoint) throw apiError('BAD_REQUEST', `failed to get the registry ${registryId}: registry ${registryId} not found`);
    if (!proxyableTypes.includes(endpoint.type) || !this.deps.adapters.isType(endpoint.type)) {
      throw apiError('BAD_REQUEST', `unsupported registry type ${endpoint.type}`);
    }
  }

  /**
   * Harbor gives a new proxy cache project a tag retention policy that keeps what was pulled in
   * the last 7 days, run daily; so does Berth (a failure to create it is logged, the project stays).
   */
  async created(project: { id: number; name: string }, actor: string): Promise<void> {
    if (!this.deps.defaultRetention) return;
    try {
      await this.deps.defaultRetention(project, actor);
    } catch (err) {
      this.options.logger.warn(
        { project: project.name, err: (err as Error).message },
        'proxy cache: creating the default retention policy failed',
      );
    }
  }

  registryView(registryId: number): Promise<unknown> {
    return this.deps.registries.view(registryId);
  }

  /** Drops what is cached about projects and endpoints (a registry endpoint changed). */
  forget(): void {
    this.projects.clear();
    this.upstreams.clear();
  }

  // The registry's seam.

  async proxied(repositoryName: string): Promise<ProxiedRepository | null> {
    const project = await this.project(projectOf(repositoryName));
    if (!project) return null;
    const remote = repositoryName.slice(project.name.length + 1);
    let redirect: string | null = null;
    // Harbor's rule for Docker Hub: an official image is asked for without its `library/`.
    if (!remote.includes('/')) {
      const upstream = await this.upstream(project.registryId).catch(() => undefined);
      if (upstream?.endpoint.type === 'docker-hub') redirect = `${project.name}/library/${remote}`;
    }
    return {
      project: project.name,
      redirect,
      manifest: (reference) => this.manifest(project, repositoryName, remote, reference),
      blob: (digest, stream) => this.blob(project, repositoryName, remote, digest, stream),
      upstreamTags: () => this.upstreamTags(project, remote),
    };
  }

  private async project(name: string): Promise<ProxyProject | null> {
    const cached = this.projects.get(name);
    if (cached) return cached.value;
    const row = await this.deps.projects.findByName(name);
    let value: ProxyProject | null = null;
    if (row && row.registry_id !== null && row.registry_id !== undefined) {
      const metadata = await this.deps.projects.storedMetadata(Number(row.id));
      const freshness = metadata.proxy_cache_freshness_seconds;
      value = {
        id: Number(row.id),
        name: row.name,
        registryId: Number(row.registry_id),
        freshnessMs: (freshness !== undefined && /^\d+$/.test(freshness) ? Number(freshness) : this.options.freshnessSeconds) * 1000,
        localOnNotFound: metadata.proxy_cache_local_on_not_found === 'true',
        speedKb: Math.max(0, Number(metadata.proxy_speed_kb ?? 0) || 0),
        filter: compileFilter(metadata.proxy_cache_filter_pattern, metadata.proxy_cache_filter_kind),
      };
    }
    this.projects.set(name, { value });
    return value;
  }

  private upstream(registryId: number): Promise<Upstream | undefined> {
    const cached = this.upstreams.get(registryId);
    if (cached) return cached.value;
    const value = (async () => {
      const endpoint = await this.deps.registries.endpoint(registryId);
      return endpoint && { endpoint, adapter: this.deps.adapters.create(endpoint) };
    })();
    this.upstreams.set(registryId, { value });
    value.catch(() => this.upstreams.delete(registryId));
    return value;
  }

  private async adapter(project: ProxyProject): Promise<RegistryAdapter> {
    const upstream = await this.upstream(project.registryId);
    if (!upstream)
      throw new RemoteRegistryError('failed', `the registry endpoint ${project.registryId} of project ${project.name} no longer exists`);
    return upstream.adapter;
  }

  private checkFilter(project: ProxyProject, remote: string): void {
    if (project.filter && !project.filter(remote)) {
      throw ociError('NAME_UNKNOWN', `repository "${remote}" does not match project repository filter`);
    }
  }

  /** The answer when the upstream failed and nothing is cached. */
  private unavailable(err: unknown, project: ProxyProject, what: string): AppError {
    if (isAppError(err)) return err;
    const failure = failureOf(err) ?? 'failed';
    const message = err instanceof Error ? err.message : String(err);
    if (failure === 'rate_limited')
      return ociError('TOOMANYREQUESTS', `too many requests to upstream registry: ${what} is not cached (${message})`);
    return ociError(
      'UNAVAILABLE',
      `${what} is not cached in proxy cache project ${project.name}, and its upstream registry failed (${failure}): ${message}`,
    );
  }

  private stale(project: ProxyProject, repository: string, reference: string, err: unknown): string {
    const failure = failureOf(err) ?? (isAppError(err) && err.code === 'TOOMANYREQUESTS' ? 'rate_limited' : 'failed');
    this.options.logger.warn(
      { project: project.name, repository, reference, failure, err: err instanceof Error ? err.message : String(err) },
      'proxy cache: the upstream registry failed; serving the cached copy',
    );
    return `stale; upstream=${failure}`;
  }

  // Manifests.

  private manifest(project: ProxyProject, repository: string, remote: string, reference: string): Promise<string> {
    this.checkFilter(project, remote);
    const key = `${repository}@${reference}`;
    const running = this.manifestFlights.get(key);
    if (running) return running;
    const flight = this.refreshManifest(project, repository, remote, reference).finally(() => this.manifestFlights.delete(key));
    this.manifestFlights.set(key, flight);
    return flight;
  }

  private async refreshManifest(project: ProxyProject, repository: string, remote: string, reference: string): Promise<string> {
    const byDigest = looksLikeDigest(reference);
    // A reference that can name nothing gets the registry's own 404.
    if (byDigest ? !isDigest(reference) : !isTag(reference)) return 'hit';
    const local = await this.deps.registry.localManifest(repository, reference);
    if (byDigest) {
      // Content addressed: what is cached is right for good.
      if (local) return 'hit';
      let fetched: FetchedManifest | null;
      try {
        const adapter = await this.adapter(project);
        fetched = await adapter.getManifest(remote, reference);
        if (fetched) await this.storeManifest(project, repository, remote, adapter, fetched, reference, [], 0);
      } catch (err) {
        if (failureOf(err) === 'not_found') fetched = null;
        else throw this.unavailable(err, project, `manifest ${reference}`);
      }
      if (!fetched) throw ociError('MANIFEST_UNKNOWN', `manifest ${reference} is not in repository ${remote} of the upstream registry`);
      return 'fetched';
    }
    const key = `${repository}:${reference}`;
    const checkedAt = this.validated.get(key);
    if (local && checkedAt !== undefined && Date.now() - checkedAt < project.freshnessMs) return 'hit';
    try {
      const adapter = await this.adapter(project);
      if (!local) {
        // Nothing cached under the tag: one GET, since a HEAD would only say what the GET says
        // (and Docker Hub counts the GET against its pull limit either way).
        const fetched = await adapter.getManifest(remote, reference);
        if (!fetched) throw ociError('MANIFEST_UNKNOWN', `manifest ${reference} is not in repository ${remote} of the upstream registry`);
        await this.storeManifest(project, repository, remote, adapter, fetched, fetched.digest, [reference], 0);
        this.validated.set(key, Date.now());
        return 'fetched';
      }
      // Cached: HEAD, cheap, and not counted by Docker Hub's pull limit.
      const head = await adapter.headManifest(remote, reference);
      if (!head) {
        if (local && project.localOnNotFound)
          return this.stale(project, repository, reference, new RemoteRegistryError('not_found', 'the upstream no longer has it'));
        throw ociError('MANIFEST_UNKNOWN', `manifest ${reference} is not in repository ${remote} of the upstream registry`);
      }
      if (local?.digest === head.digest) {
        this.validated.set(key, Date.now());
        return 'revalidated';
      }
      if (await this.deps.registry.localManifest(repository, head.digest)) {
        // The tag moved to a manifest already cached: only the tag changes.
        const cached = await this.deps.registry.getManifest(repository, head.digest, null);
        await this.deps.registry.putManifest(repository, head.digest, cached.bytes, cached.mediaType, proxyActor, [reference], {
          absentBlobs: true,
        });
      } else {
        const fetched = await adapter.getManifest(remote, head.digest);
        if (!fetched) throw new RemoteRegistryError('not_found', `manifest ${head.digest} vanished from the upstream`);
        await this.storeManifest(project, repository, remote, adapter, fetched, head.digest, [reference], 0);
      }
      this.validated.set(key, Date.now());
      return 'fetched';
    } catch (err) {
      // The upstream failing part-way (a child manifest, the config blob) also leaves the cached copy to serve.
      const upstreamFailed = isAppError(err)
        ? err.code === 'UNAVAILABLE' || err.code === 'TOOMANYREQUESTS'
        : failureOf(err) !== 'not_found';
      if (local && upstreamFailed) return this.stale(project, repository, reference, err);
      if (isAppError(err)) throw err;
      if (failureOf(err) === 'not_found')
        throw ociError('MANIFEST_UNKNOWN', `manifest ${reference} is not in repository ${remote} of the upstream registry`);
      throw this.unavailable(err, project, `manifest ${reference}`);
    }
  }

  /**
   * Stores a fetched manifest as a push would: an index's missing children first (manifests
   * only), an image's config blob (small; the artifact processors read it), then the manifest
   * by its digest (checked against the bytes) with its tags. Layers come when clients ask.
   */
  private async storeManifest(
    project: ProxyProject,
    repository: string,
    remote: string,
    adapter: RegistryAdapter,
    fetched: FetchedManifest,
    digest: string,
    tags: string[],
    depth: number,
  ): Promise<void> {
    const parsed = parseManifest(fetched.bytes, fetched.mediaType);
    if (depth < 3) {
      for (const child of parsed.manifests) {
        if (await this.deps.registry.localManifest(repository, child.digest)) continue;
        const childManifest = await adapter.getManifest(remote, child.digest);
        if (!childManifest)
          throw new RemoteRegistryError('not_found', `manifest ${child.digest} named by index ${digest} is not in the upstream`);
        await this.storeManifest(project, repository, remote, adapter, childManifest, child.digest, [], depth + 1);
      }
    }
    if (parsed.config && parsed.config.size <= maxConfigPrefetch && !(await this.hasBlob(repository, parsed.config.digest))) {
      await this.blob(project, repository, remote, parsed.config.digest, false);
    }
    await this.deps.registry.putManifest(repository, digest, fetched.bytes, parsed.mediaType, proxyActor, tags, { absentBlobs: true });
  }

  private async hasBlob(repository: string, digest: string): Promise<boolean> {
    try {
      await this.deps.registry.blobSize(repository, digest);
      return true;
    } catch (err) {
      if (isAppError(err) && err.code === 'BLOB_UNKNOWN') return false;
      throw err;
    }
  }

  private async upstreamTags(project: ProxyProject, remote: string): Promise<string[] | null> {
    this.checkFilter(project, remote);
    try {
      return await (await this.adapter(project)).listTags(remote);
    } catch (err) {
      this.options.logger.warn(
        { project: project.name, repository: remote, err: (err as Error).message },
        'proxy cache: listing the upstream tags failed; answering the cached ones',
      );
      return null;
    }
  }

  // Blobs.

  private async blob(
    project: ProxyProject,
    repository: string,
    remote: string,
    digest: string,
    stream: boolean,
  ): Promise<{ size: number; stream: PassThrough } | null> {
    this.checkFilter(project, remote);
    // Another repository of the project (the same upstream) may hold it: a link, no transfer.
    const source = await this.deps.uploads.mountSource(digest, async (name) => name !== repository && projectOf(name) === project.name);
    if (source && (await this.deps.uploads.mount(repository, digest, source, proxyActor))) return null;
    // Per project: another project's upstream is another source, whose content this one's clients may not see.
    const flight = this.blobFlights.get(`${project.id}:${digest}`) ?? this.startFlight(project, repository, remote, digest);
    const size = await flight.ready;
    if (size !== null && stream && flight.tee) {
      const client = flight.tee.attach();
      if (client) {
        if (flight.repository !== repository) {
          flight.done.then(
            () => this.link(repository, digest, flight.repository),
            () => undefined,
          );
        }
        return { size, stream: client };
      }
    }
    await flight.done;
    if (flight.repository !== repository && !(await this.link(repository, digest, flight.repository))) {
      throw ociError('BLOB_UNKNOWN', `blob ${digest} was fetched from the upstream but is no longer stored; ask again`);
    }
    return null;
  }

  /** Links a blob another repository holds into this one (or finds it already linked). */
  private async link(repository: string, digest: string, from: string): Promise<boolean> {
    try {
      return await this.deps.uploads.mount(repository, digest, from, proxyActor);
    } catch (err) {
      this.options.logger.warn({ repository, digest, from, err: (err as Error).message }, 'proxy cache: linking a fetched blob failed');
      return false;
    }
  }

  /** Starts the one fetch of `digest` on this instance (registered before anything is awaited). */
  private startFlight(project: ProxyProject, repository: string, remote: string, digest: string): Flight {
    const ready = deferred<number | null>();
    const done = deferred<void>();
    const flight: Flight = { repository, ready: ready.promise, tee: null, done: done.promise };
    const key = `${project.id}:${digest}`;
    this.blobFlights.set(key, flight);
    const owner = `${this.options.instance}/${++this.sequence}`;
    const fetches = this.deps.fetches;
    let claimed = false;
    let heartbeat: NodeJS.Timeout | undefined;
    const run = async () => {
      // Across instances: one fetch per digest; the others wait for it, then link what it stored.
      let heldBy: string | undefined;
      for (;;) {
        if (await fetches.claim(digest, owner, repository, this.options.leaseMs, nowIso())) {
          claimed = true;
          if (heldBy !== undefined && (await this.link(repository, digest, heldBy))) {
            ready.resolve(null);
            return;
          }
          break;
        }
        const holder = await fetches.holder(digest);
        // What another instance stores for this project is linked; another project's fetch is only waited out.
        if (holder) heldBy = projectOf(holder.repository) === project.name ? holder.repository : undefined;
        ready.resolve(null);
        await sleep(pollMs);
      }
      // A request that found the blob missing just before an earlier fetch stored it.
      if (await this.hasBlob(repository, digest)) {
        ready.resolve(null);
        return;
      }
      heartbeat = setInterval(
        () => {
          fetches
            .extend(digest, owner, this.options.leaseMs)
            .catch((err) => this.options.logger.warn({ err, digest }, 'proxy cache: extending a fetch lease failed'));
        },
        Math.max(1000, Math.floor(this.options.leaseMs / 3)),
      );
      heartbeat.unref();
      let fetched;
      try {
        fetched = await (await this.adapter(project)).getBlob(remote, digest);
      } catch (err) {
        if (failureOf(err) === 'not_found')
          throw ociError('BLOB_UNKNOWN', `blob ${digest} is not in repository ${remote} of the upstream registry`);
        throw this.unavailable(err, project, `blob ${digest}`);
      }
      if (project.speedKb > 0 && this.deps.throttle) {
        // Harbor's proxy_speed_kb: each transfer from the upstream at most that many KB/s.
        const paced = this.deps.throttle(project.speedKb * 1024);
        pipeline(fetched.stream, paced, () => undefined);
        fetched = { stream: paced, size: fetched.size };
      }
      // What storage has not written yet, bounded: beyond it the upstream waits (backpressure).
      const storage = new ChunkChannel(storageBuffer);
      if (fetched.size < 0) {
        // No length to promise clients: stored first (hashed by the upload service), then served from storage.
        const stored = this.deps.uploads.monolithic(repository, digest, { stream: storage, length: null, range: null }, proxyActor);
        stored.catch(() => undefined);
        ready.resolve(null);
        try {
          for await (const chunk of fetched.stream) {
            if (storage.destroyed) break;
            if (!storage.write(chunk as Buffer)) await storage.room();
          }
        } catch (err) {
          storage.destroy(err as Error);
          throw this.unavailable(err, project, `blob ${digest}`);
        }
        storage.end();
        await stored;
        return;
      }
      const tee = new BlobTee(digest, fetched.size, fetched.stream);
      // Hashed once, by the tee: storage publishes what it was given only on the tee's verdict.
      const stored = this.deps.uploads.storeVerified(
        repository,
        digest,
        { stream: storage, length: fetched.size, range: null },
        tee.verified,
        proxyActor,
      );
      stored.catch(() => undefined);
      flight.tee = tee;
      ready.resolve(fetched.size);
      const problem = await tee.run(storage, stored);
      try {
        await stored;
      } catch (err) {
        if (problem) throw ociError('UNAVAILABLE', `blob ${digest} from the upstream registry was refused: ${problem}`);
        throw err;
      }
    };
    // The flight ends once its claim is released: whoever waited for it then finds the blob stored and the fetch over.
    const finish = async (err: unknown) => {
      if (heartbeat) clearInterval(heartbeat);
      if (claimed)
        await fetches
          .release(digest, owner)
          .catch((e) => this.options.logger.warn({ err: e, digest }, 'proxy cache: releasing a fetch lease failed'));
      if (this.blobFlights.get(key) === flight) this.blobFlights.delete(key);
      if (err === undefined) {
        done.resolve();
        return;
      }
      ready.reject(err);
      done.reject(err);
      if (!isAppError(err) || err.status >= 500) {
        this.options.logger.warn(
          { project: project.name, repository, digest, err: (err as Error).message },
          'proxy cache: fetching a blob failed',
        );
      }
    };
    run().then(
      () => finish(undefined),
      (err) => finish(err ?? new Error('the blob fetch failed')),
    );
    return flight;
  }
}
