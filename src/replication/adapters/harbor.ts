/**
 * The `harbor` adapter: another Harbor (v2.x API), and how a Berth talks to another Berth.
 * Content goes through /v2 (the Bearer token flow, with the credential as Basic at the token
 * service); listing and preparing go through Harbor's REST API with the credential as Basic:
 * projects (`/api/v2.0/projects`, one by name when the name pattern names it), their
 * repositories, and each repository's artifacts with their tags and labels (so that label
 * filters work on a Harbor source, as in Harbor). Before a push, the destination project is
 * created when missing (409 from a racing creation is fine); a proxy-cache project is
 * refused with a clear message, since Harbor refuses pushes into one.
 */
import type http from 'node:http';
import { RemoteRegistryError, type ListOptions, type RegistryEndpoint, type RegistryInfo, type SourceArtifact } from '../types.js';
import { DistributionAdapter, listConcurrency, mapLimit, repositoryTest, specificNames, type AdapterOptions } from './distribution.js';
import { drain, nextLink, readBody, redacted, send, statusError } from './http.js';
import { sharedConnections } from './v2-client.js';

interface HarborProject {
  project_id: number;
  name: string;
  registry_id?: number | null;
}

interface HarborArtifact {
  digest: string;
  media_type?: string;
  manifest_media_type?: string;
  type?: string;
  tags?: Array<{ name: string }> | null;
  labels?: Array<{ name: string }> | null;
  accessories?: Array<{ digest: string; subject_artifact_digest?: string }> | null;
  references?: Array<{ child_digest: string }> | null;
}

const pageSize = 100;

/** Harbor's repository path parameter: the name after the project, URL-encoded twice (`a/b` → `a%252Fb`). */
export function encodeRepositoryParam(rest: string): string {
  return encodeURIComponent(encodeURIComponent(rest));
}

function splitRepository(repository: string): { project: string; rest: string } {
  const slash = repository.indexOf('/');
  if (slash < 0) throw new RemoteRegistryError('failed', `"${repository}" names no project (Harbor's repositories are <project>/<name>)`);
  return { project: repository.slice(0, slash), rest: repository.slice(slash + 1) };
}

export class HarborAdapter extends DistributionAdapter {
  private readonly apiBase: URL;
  private readonly authorization: string | undefined;
  private readonly prepared = new Map<string, Promise<void>>();

  constructor(endpoint: RegistryEndpoint, options: AdapterOptions = {}) {
    super(endpoint, options);
    this.apiBase = new URL(`${this.client.base.origin}${this.client.base.pathname.replace(/\/+$/, '')}/api/v2.0/`);
    const c = endpoint.credential;
    this.authorization =
      c && (c.accessKey || c.accessSecret) ? `Basic ${Buffer.from(`${c.accessKey}:${c.accessSecret}`).toString('base64')}` : undefined;
  }

  override info(): RegistryInfo {
    return {
      type: 'harbor',
      description: 'Harbor (v2.0 API) or Berth',
      supportedResourceFilters: [
        { type: 'name', style: 'input' },
        { type: 'tag', style: 'input' },
        { type: 'label', style: 'list', values: [] },
        { type: 'resource', style: 'radio', values: ['image', 'artifact'] },
      ],
      supportedTriggers: ['manual', 'scheduled'],
      supportedCopyByChunk: true,
    };
  }

  /** `info()` with the remote's global labels as the label filter's values (as Harbor's Info does). */
  async describe(signal?: AbortSignal): Promise<RegistryInfo> {
    const info = this.info();
    const labels = await this.labels(signal);
    info.supportedResourceFilters = info.supportedResourceFilters.map((f) => (f.type === 'label' ? { ...f, values: labels } : f));
    return info;
  }

  /** Names of the remote's global labels. */
  async labels(signal?: AbortSignal): Promise<string[]> {
    const labels = await this.getAll<{ name: string }>('labels?scope=g', signal);
    return labels.map((l) => l.name);
  }

  // ---------------------------------------------------------------- the REST API

  private apiUrl(path: string): URL {
    return new URL(path, this.apiBase);
  }

  private async api(
    method: string,
    url: URL,
    signal?: AbortSignal,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<http.IncomingMessage> {
    const connections = this.options.connections ?? sharedConnections;
    return send(connections.agent(url, { insecure: this.endpoint.insecure, caCertificate: this.endpoint.caCertificate }), {
      method,
      url,
      headers: {
        accept: 'application/json',
        ...(body !== undefined && { 'content-type': 'application/json' }),
        ...(this.authorization && { authorization: this.authorization }),
        ...headers,
      },
      body: body === undefined ? undefined : Buffer.from(JSON.stringify(body)),
      signal,
      timeoutMs: this.options.timeoutMs ?? 10_000,
      bodyTimeoutMs: 300_000,
    });
  }

  private async getJson<T>(
    url: URL,
    signal?: AbortSignal,
    headers?: Record<string, string>,
  ): Promise<{ value: T; res: http.IncomingMessage } | null> {
    const what = `GET ${redacted(url)}`;
    const res = await this.api('GET', url, signal, undefined, headers);
    if (res.statusCode === 404) {
      await drain(res);
      return null;
    }
    if (res.statusCode !== 200) throw await statusError(res, what);
    const body = await readBody(res, 64 * 1024 * 1024, what);
    try {
      return { value: JSON.parse(body.toString('utf8')) as T, res };
    } catch {
      throw new RemoteRegistryError('failed', `${what}: the answer is not JSON`);
    }
  }

  /** Every page of a list (Link rel="next", else until a short page). */
  private async getAll<T>(path: string, signal?: AbortSignal): Promise<T[]> {
    const items: T[] = [];
    let url: URL | null = this.apiUrl(path);
    url.searchParams.set('page_size', String(pageSize));
    if (!url.searchParams.has('page')) url.searchParams.set('page', '1');
    for (let pages = 0; url && pages < 100_000; pages++) {
      const got: { value: T[]; res: http.IncomingMessage } | null = await this.getJson<T[]>(url, signal);
      if (!got) break;
      const page = Array.isArray(got.value) ? got.value : [];
      items.push(...page);
      const next = nextLink(got.res.headers.link, url);
      if (next) url = next;
      else if (page.length >= pageSize && got.res.headers.link === undefined) {
        url = new URL(url);
        url.searchParams.set('page', String(Number(url.searchParams.get('page') ?? '1') + 1));
      } else url = null;
    }
    return items;
  }

  private async project(name: string, signal?: AbortSignal): Promise<HarborProject | null> {
    const got = await this.getJson<HarborProject>(this.apiUrl(`projects/${encodeURIComponent(name)}`), signal, {
      'x-is-resource-name': 'true',
    });
    return got?.value ?? null;
  }

  // ---------------------------------------------------------------- listing

  /** Projects the pattern's first component names outright, else every project the credential sees. */
  private async projects(pattern: string | undefined, signal?: AbortSignal): Promise<string[]> {
    const first = pattern?.split('/')[0];
    const named = specificNames(first);
    if (named) {
      const found = await mapLimit(named, listConcurrency, (name) => this.project(name, signal), signal);
      return found.filter((p): p is HarborProject => p !== null).map((p) => p.name);
    }
    const all = await this.getAll<HarborProject>('projects', signal);
    const test = first ? repositoryTest(first) : () => true;
    return all.map((p) => p.name).filter((name) => test(name));
  }

  protected override async catalog(signal?: AbortSignal): Promise<string[]> {
    return this.repositoriesIn(await this.projects(undefined, signal), signal);
  }

  private async repositoriesIn(projects: string[], signal?: AbortSignal): Promise<string[]> {
    const lists = await mapLimit(
      projects,
      listConcurrency,
      async (project) =>
        (await this.getAll<{ name: string }>(`projects/${encodeURIComponent(project)}/repositories`, signal)).map((r) => r.name),
      signal,
    );
    return lists.flat();
  }

  override async listRepositories(options: ListOptions = {}): Promise<string[]> {
    const test = repositoryTest(options.repositoryPattern);
    const projects = await this.projects(options.repositoryPattern, options.signal);
    return (await this.repositoriesIn(projects, options.signal)).filter((name) => test(name));
  }

  /**
   * The repository's artifacts from Harbor's API: digests, tags and labels in one list, and,
   * as Harbor's own adapter lists them, each artifact's accessories (signatures, SBOMs, and
   * theirs; those of an index's children too) beside it, with the subject's labels and tags.
   */
  protected override async artifactsOf(repository: string, signal?: AbortSignal): Promise<SourceArtifact[]> {
    const { project, rest } = splitRepository(repository);
    const base = `projects/${encodeURIComponent(project)}/repositories/${encodeRepositoryParam(rest)}/artifacts`;
    const artifacts = await this.getAll<HarborArtifact>(`${base}?with_tag=true&with_label=true&with_accessory=true`, signal);
    const out: SourceArtifact[] = [];
    for (const a of artifacts) {
      const tags = (a.tags ?? []).map((t) => t.name);
      const labels = (a.labels ?? []).map((l) => l.name);
      const resourceType = (a.type ?? 'IMAGE').toUpperCase() === 'IMAGE' ? 'image' : 'artifact';
      out.push({ repository, digest: a.digest, mediaType: a.manifest_media_type ?? a.media_type ?? '', tags, labels, resourceType });
      // Accessories of the artifact, then of the index's children (read one by one with theirs).
      const pending = (a.accessories ?? []).map((acc) => ({ digest: acc.digest, subject: acc.subject_artifact_digest ?? a.digest }));
      for (const ref of a.references ?? []) {
        const child = await this.artifact(base, ref.child_digest, signal);
        for (const acc of child?.accessories ?? [])
          pending.push({ digest: acc.digest, subject: acc.subject_artifact_digest ?? ref.child_digest });
      }
      const seen = new Set<string>();
      while (pending.length > 0) {
        const { digest, subject } = pending.shift()!;
        if (seen.has(digest)) continue;
        seen.add(digest);
        const accessory = await this.artifact(base, digest, signal);
        if (!accessory) continue; // removed since the list was read
        out.push({
          repository,
          digest,
          mediaType: accessory.manifest_media_type ?? accessory.media_type ?? '',
          tags: (accessory.tags ?? []).map((t) => t.name),
          labels,
          resourceType,
          accessoryOf: subject,
          parentTags: tags,
        });
        for (const acc of accessory.accessories ?? []) pending.push({ digest: acc.digest, subject: acc.subject_artifact_digest ?? digest });
      }
    }
    return out;
  }

  private async artifact(base: string, digest: string, signal?: AbortSignal): Promise<HarborArtifact | null> {
    const got = await this.getJson<HarborArtifact>(this.apiUrl(`${base}/${digest}?with_tag=true&with_accessory=true`), signal);
    return got?.value ?? null;
  }

  // ---------------------------------------------------------------- pushing

  /** Creates the repository's project when it does not exist (once per adapter and project). */
  prepareRepository(repository: string, signal?: AbortSignal): Promise<void> {
    const { project } = splitRepository(repository);
    let pending = this.prepared.get(project);
    if (!pending) {
      pending = this.ensureProject(project, signal);
      this.prepared.set(project, pending);
      pending.catch(() => this.prepared.delete(project));
    }
    return pending;
  }

  private async ensureProject(name: string, signal?: AbortSignal): Promise<void> {
    const existing = await this.project(name, signal);
    if (existing) {
      if (existing.registry_id) {
        throw new RemoteRegistryError(
          'denied',
          `project "${name}" at ${this.client.base.origin} is a proxy cache project; it cannot be pushed to`,
        );
      }
      return;
    }
    const url = this.apiUrl('projects');
    const what = `POST ${redacted(url)} (project ${name})`;
    const res = await this.api('POST', url, signal, { project_name: name, metadata: { public: 'false' } });
    if (res.statusCode === 201 || res.statusCode === 409) {
      await drain(res);
      return;
    }
    throw await statusError(res, what);
  }
}
