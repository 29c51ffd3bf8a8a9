/**
 * The `docker-hub` adapter. Docker Hub's registry is registry-1.docker.io (tokens from
 * auth.docker.io, found through the Bearer challenge like any registry's); its catalog is
 * closed, so repositories are listed through Docker Hub's own API at hub.docker.com
 * (namespaces of the signed-in account, each namespace's repositories), signed in with
 * `POST /v2/auth/token` {identifier, secret} → a bearer token, kept for 9 minutes.
 *
 * Official images live under `library/`: `nginx` is `library/nginx` in every call.
 *
 * The endpoint URL is Harbor's fixed `https://hub.docker.com`; any other URL (a loopback
 * stand-in in Berth's tests, or a mirror that serves both APIs) is used for both the Hub
 * API and /v2.
 *
 * Deleting: Docker Hub refuses DELETE on /v2 manifests, so a deletion removes the tags
 * through the Hub API (`DELETE /v2/repositories/{ns}/{repo}/tags/{tag}/`), as Harbor does;
 * by digest, every tag the Hub lists with that digest.
 */
import type http from 'node:http';
import { RemoteRegistryError, type RegistryEndpoint, type RegistryInfo, type SourceArtifact } from '../types.js';
import {
  basicInfo,
  clientFor,
  DistributionAdapter,
  listConcurrency,
  mapLimit,
  repositoryTest,
  specificNames,
  type AdapterOptions,
} from './distribution.js';
import { drain, readBody, redacted, send, statusError } from './http.js';
import { isDigest, sharedConnections } from './v2-client.js';

export const dockerHubUrl = 'https://hub.docker.com';
export const dockerHubRegistryUrl = 'https://registry-1.docker.io';

/** `nginx` → `library/nginx`; names with a namespace are kept. */
export function dockerHubName(repository: string): string {
  return repository.includes('/') ? repository : `library/${repository}`;
}

function isDockerHub(url: string): boolean {
  try {
    const host = new URL(url).hostname;
    return host === 'hub.docker.com' || host === 'docker.io' || host === 'index.docker.io' || host === 'registry-1.docker.io';
  } catch {
    return false;
  }
}

interface Page<T> {
  next?: string | null;
  results?: T[] | null;
}

const pageSize = 100;

export class DockerHubAdapter extends DistributionAdapter {
  private readonly apiBase: URL;

  constructor(endpoint: RegistryEndpoint, options: AdapterOptions = {}) {
    const hub = isDockerHub(endpoint.url);
    super(endpoint, options, clientFor(endpoint, options, hub ? dockerHubRegistryUrl : endpoint.url));
    this.apiBase = new URL(hub ? dockerHubUrl : endpoint.url.replace(/\/+$/, ''));
  }

  override info(): RegistryInfo {
    return basicInfo('docker-hub', 'Docker Hub (registry-1.docker.io, listing through hub.docker.com)', ['image'], false);
  }

  protected override remoteName(repository: string): string {
    return dockerHubName(repository);
  }

  // ---------------------------------------------------------------- the Hub API

  private get connections() {
    return this.options.connections ?? sharedConnections;
  }

  private hubUrl(path: string): URL {
    return new URL(`${this.apiBase.origin}${this.apiBase.pathname.replace(/\/+$/, '')}${path}`);
  }

  private async hubRequest(
    method: string,
    url: URL,
    signal?: AbortSignal,
    body?: unknown,
    authorization?: string,
  ): Promise<http.IncomingMessage> {
    return send(this.connections.agent(url, { insecure: this.endpoint.insecure, caCertificate: this.endpoint.caCertificate }), {
      method,
      url,
      headers: {
        accept: 'application/json',
        ...(body !== undefined && { 'content-type': 'application/json' }),
        ...(authorization && { authorization }),
      },
      body: body === undefined ? undefined : Buffer.from(JSON.stringify(body)),
      signal,
      timeoutMs: this.options.timeoutMs ?? 10_000,
      bodyTimeoutMs: 300_000,
    });
  }

  /** The Hub API token of the credential (undefined when anonymous), cached 9 minutes (they last 10). */
  private async hubToken(signal?: AbortSignal): Promise<string | undefined> {
    const c = this.endpoint.credential;
    if (!c || (!c.accessKey && !c.accessSecret)) return undefined;
    const url = this.hubUrl('/v2/auth/token');
    const key = `hub|${url.href}|${c.accessKey}|${Buffer.from(c.accessSecret).toString('base64')}`;
    const token = await this.connections.token(key, async () => {
      const what = `POST ${redacted(url)}`;
      const res = await this.hubRequest('POST', url, undefined, { identifier: c.accessKey, secret: c.accessSecret });
      if (res.statusCode === 401 || res.statusCode === 403) {
        await drain(res);
        throw new RemoteRegistryError(
          'unauthorized',
          `${what}: ${res.statusCode}: Docker Hub refused the credential of "${c.accessKey}"`,
          res.statusCode,
        );
      }
      if (res.statusCode !== 200) throw await statusError(res, what);
      const body = JSON.parse((await readBody(res, 1024 * 1024, what)).toString('utf8')) as { access_token?: string; token?: string };
      const value = body.access_token ?? body.token;
      if (!value) throw new RemoteRegistryError('failed', `${what}: the answer holds no token`);
      return { token: value, expiresAt: Date.now() + 9 * 60_000 };
    });
    return `Bearer ${token}`;
  }

  private async hubGet<T>(url: URL, signal?: AbortSignal): Promise<T | null> {
    const what = `GET ${redacted(url)}`;
    const res = await this.hubRequest('GET', url, signal, undefined, await this.hubToken(signal));
    if (res.statusCode === 404) {
      await drain(res);
      return null;
    }
    if (res.statusCode !== 200) throw await statusError(res, what);
    try {
      return JSON.parse((await readBody(res, 64 * 1024 * 1024, what)).toString('utf8')) as T;
    } catch (err) {
      if (err instanceof RemoteRegistryError) throw err;
      throw new RemoteRegistryError('failed', `${what}: the answer is not JSON`);
    }
  }

  /** Every page of a Hub list (`next` links). */
  private async hubAll<T>(path: string, signal?: AbortSignal): Promise<T[]> {
    const items: T[] = [];
    let url: URL | null = this.hubUrl(path);
    url.searchParams.set('page_size', String(pageSize));
    for (let pages = 0; url && pages < 100_000; pages++) {
      const page: Page<T> | null = await this.hubGet<Page<T>>(url, signal);
      if (!page) break;
      items.push(...(page.results ?? []));
      // `next` is absolute on Docker Hub; a relative one is read against the API's base.
      url = page.next ? new URL(page.next, this.hubUrl('/')) : null;
      if (url && url.origin !== this.apiBase.origin) url = null;
    }
    return items;
  }

  /** Namespaces to list: those the pattern names outright, else the account's (which needs a credential). */
  private async namespaces(pattern: string | undefined, signal?: AbortSignal): Promise<string[]> {
    const named = specificNames(pattern?.split('/')[0]);
    if (named) return named;
    if (!this.endpoint.credential?.accessKey) {
      throw new RemoteRegistryError(
        'failed',
        'Docker Hub lists namespaces only for a signed-in account: give the endpoint a credential, or name the namespace in the name filter (e.g. library/**)',
      );
    }
    const got = await this.hubGet<{ namespaces?: string[] }>(this.hubUrl('/v2/repositories/namespaces'), signal);
    return got?.namespaces ?? [];
  }

  protected override async catalog(signal?: AbortSignal): Promise<string[]> {
    return this.repositoriesOf(await this.namespaces(undefined, signal), signal);
  }

  private async repositoriesOf(namespaces: string[], signal?: AbortSignal): Promise<string[]> {
    const lists = await mapLimit(
      namespaces,
      listConcurrency,
      async (ns) =>
        (await this.hubAll<{ name: string; namespace?: string }>(`/v2/repositories/${encodeURIComponent(ns)}/`, signal)).map(
          (r) => `${r.namespace ?? ns}/${r.name}`,
        ),
      signal,
    );
    return lists.flat();
  }

  override async listRepositories(options: { repositoryPattern?: string; signal?: AbortSignal } = {}): Promise<string[]> {
    const pattern = options.repositoryPattern;
    const test = repositoryTest(pattern);
    const exact = specificNames(pattern);
    if (exact) return exact.map(dockerHubName).filter((name) => test(name) || test(name.replace(/^library\//, '')));
    const names = await this.repositoriesOf(await this.namespaces(pattern, options.signal), options.signal);
    return names.filter((name) => test(name));
  }

  /**
   * A repository's artifacts from the Hub API's tag list, which carries each tag's digest and
   * media type: no /v2 request per tag (Harbor's adapter lists tags there too). A tag the list
   * gives without them is resolved with a HEAD.
   */
  protected override async artifactsOf(repository: string, signal?: AbortSignal): Promise<SourceArtifact[]> {
    const name = dockerHubName(repository);
    const [ns, ...rest] = name.split('/');
    const tags = await this.hubAll<{ name: string; digest?: string | null; media_type?: string | null }>(
      `/v2/repositories/${encodeURIComponent(ns)}/${encodeURIComponent(rest.join('/'))}/tags/`,
      signal,
    );
    const byDigest = new Map<string, SourceArtifact>();
    await mapLimit(
      tags,
      listConcurrency,
      async (tag) => {
        let digest = tag.digest ?? undefined;
        let mediaType = tag.media_type ?? undefined;
        if (!digest || !mediaType) {
          const head = await this.headManifest(name, tag.name, signal);
          if (!head) return;
          digest = head.digest;
          mediaType = head.mediaType;
        }
        const known = byDigest.get(digest);
        if (known) known.tags.push(tag.name);
        else
          byDigest.set(digest, {
            repository: name,
            digest,
            mediaType,
            tags: [tag.name],
            labels: [],
            resourceType: this.resourceTypeOf(mediaType),
          });
      },
      signal,
    );
    return [...byDigest.values()];
  }

  // ---------------------------------------------------------------- deleting

  override async deleteManifest(repository: string, reference: string, signal?: AbortSignal): Promise<void> {
    const name = dockerHubName(repository);
    const [ns, ...rest] = name.split('/');
    const repo = rest.join('/');
    let tags = [reference];
    if (isDigest(reference)) {
      const all = await this.hubAll<{ name: string; digest?: string; images?: Array<{ digest?: string }> }>(
        `/v2/repositories/${encodeURIComponent(ns)}/${encodeURIComponent(repo)}/tags/`,
        signal,
      );
      tags = all.filter((t) => t.digest === reference || (t.images ?? []).some((i) => i.digest === reference)).map((t) => t.name);
    }
    const authorization = await this.hubToken(signal);
    for (const tag of tags) {
      const url = this.hubUrl(`/v2/repositories/${encodeURIComponent(ns)}/${encodeURIComponent(repo)}/tags/${encodeURIComponent(tag)}/`);
      const res = await this.hubRequest('DELETE', url, signal, undefined, authorization);
      if (res.statusCode === 404 || (res.statusCode ?? 0) < 300) {
        await drain(res);
        continue;
      }
      throw await statusError(res, `DELETE ${redacted(url)}`);
    }
  }
}
