/**
 * A client of another registry's Distribution/OCI v2 API (/v2/), as the adapters use it.
 *
 * Authentication follows what the registry asks for: a 401 with `WWW-Authenticate: Bearer
 * realm=…,service=…,scope=…` sends the client to the token endpoint (with the credential as
 * Basic, anonymous without one) for exactly the scopes named, and the request is made
 * again with the token; tokens are cached per scope until shortly before they expire, and
 * later requests send them straight away. A `Basic` challenge gets the credential as Basic.
 * A request whose body is a stream cannot be sent twice, so before one the client makes
 * sure it knows the challenge and holds the token.
 *
 * Bodies of blobs stream both ways; manifests (small) are read whole, bounded. Every failure
 * is a `RemoteRegistryError` whose `failure` says why (see http.ts `failureOf`).
 */
import { createHash } from 'node:crypto';
import type http from 'node:http';
import { Readable } from 'node:stream';
import { mediaTypes, bareMediaType } from '../../oci/mediatypes.js';
import { RemoteRegistryError, type FetchedBlob, type FetchedManifest, type ManifestHead } from '../types.js';
import {
  drain,
  nextLink,
  parseChallenge,
  readBody,
  redacted,
  RemoteConnections,
  send,
  statusError,
  type Challenge,
  type TlsSettings,
  type TokenEntry,
} from './http.js';

/** Every manifest type Berth knows, in the order registries should prefer them. */
export const manifestAccept = [
  mediaTypes.ociIndex,
  mediaTypes.ociManifest,
  mediaTypes.dockerManifestList,
  mediaTypes.dockerManifest,
  mediaTypes.dockerSchema1Signed,
  mediaTypes.dockerSchema1,
].join(', ');

/** Connections shared by every client that is not given its own (agents, tokens, challenges). */
export const sharedConnections = new RemoteConnections();

export interface V2ClientOptions {
  /** The registry's base URL; /v2/ is appended (a path prefix is kept). */
  url: string;
  tls?: TlsSettings;
  /** Sent as Basic to a Basic challenge and to the token endpoint; anonymous when absent. */
  username?: string;
  password?: string;
  connections?: RemoteConnections;
  /** Idle limit while connecting and waiting for an answer (default 10 s). */
  timeoutMs?: number;
  /** Idle limit while a blob streams either way (default 5 min; there is no whole-body limit). */
  idleTimeoutMs?: number;
  /** Largest manifest read (default 4 MiB). */
  maxManifestBytes?: number;
}

interface ExchangeOptions {
  /** Scopes the request needs, e.g. `repository:library/nginx:pull`. */
  scopes: string[];
  headers?: Record<string, string>;
  body?: Buffer | Readable;
  signal?: AbortSignal;
  /** Follow 30x to another place (reads only), without the credential when the origin changes. */
  followRedirects?: boolean;
}

const maxRedirects = 5;
const digestPattern = /^(sha256|sha512):([a-f0-9]+)$/;

export function isDigest(reference: string): boolean {
  return digestPattern.test(reference);
}

function digestOf(bytes: Buffer, algorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

export class V2Client {
  readonly base: URL;
  private readonly basePath: string;
  private readonly tls: TlsSettings;
  private readonly connections: RemoteConnections;
  private readonly timeoutMs: number;
  private readonly idleTimeoutMs: number;
  private readonly maxManifestBytes: number;
  private readonly account: string;
  private readonly basic: string | undefined;
  private readonly challengeKey: string;

  constructor(private readonly options: V2ClientOptions) {
    let base: URL;
    try {
      base = new URL(options.url);
    } catch {
      throw new RemoteRegistryError('failed', `"${options.url}" is not a URL`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new RemoteRegistryError('failed', `"${options.url}" is not an http or https URL`);
    }
    this.base = base;
    this.basePath = base.pathname.replace(/\/+$/, '');
    this.tls = options.tls ?? { insecure: false, caCertificate: null };
    this.connections = options.connections ?? sharedConnections;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 300_000;
    this.maxManifestBytes = options.maxManifestBytes ?? 4 * 1024 * 1024;
    const hasCredential = Boolean(options.username || options.password);
    this.account = hasCredential ? (options.username ?? '') : '';
    this.basic = hasCredential
      ? `Basic ${Buffer.from(`${options.username ?? ''}:${options.password ?? ''}`).toString('base64')}`
      : undefined;
    const credentialId = this.basic ? createHash('sha256').update(this.basic).digest('hex').slice(0, 16) : 'anonymous';
    this.challengeKey = `${base.origin}${this.basePath}|${credentialId}`;
  }

  get hasCredential(): boolean {
    return this.basic !== undefined;
  }

  /** A URL under /v2/ of this registry. */
  url(path: string): URL {
    return new URL(`${this.base.origin}${this.basePath}/v2/${path}`);
  }

  // ---------------------------------------------------------------- authentication

  private get challenge(): Challenge | 'none' | undefined {
    return this.connections.challenges.get(this.challengeKey);
  }

  private set challenge(value: Challenge | 'none') {
    this.connections.challenges.set(this.challengeKey, value);
  }

  private tokenKey(challenge: Challenge, scopes: string[]): string {
    return `${challenge.realm}|${challenge.service ?? ''}|${this.challengeKey}|${[...scopes].sort().join(' ')}`;
  }

  /** Asks the token endpoint of a Bearer challenge for a token carrying `scopes`. */
  private async fetchToken(challenge: Challenge, scopes: string[], signal?: AbortSignal): Promise<TokenEntry> {
    if (!challenge.realm) throw new RemoteRegistryError('failed', `${redacted(this.base)} asks for a Bearer token but names no realm`);
    let url: URL;
    try {
      url = new URL(challenge.realm);
    } catch {
      throw new RemoteRegistryError('failed', `the token realm "${challenge.realm}" is not a URL`);
    }
    if (challenge.service) url.searchParams.set('service', challenge.service);
    for (const scope of scopes) url.searchParams.append('scope', scope);
    if (this.account) url.searchParams.set('account', this.account);
    const what = `token from ${redacted(url)}`;
    const res = await send(this.connections.agent(url, this.tls), {
      method: 'GET',
      url,
      headers: { accept: 'application/json', ...(this.basic && { authorization: this.basic }) },
      signal,
      timeoutMs: this.timeoutMs,
      bodyTimeoutMs: this.idleTimeoutMs,
    });
    if (res.statusCode !== 200) {
      const err = await statusError(res, what);
      if (err.status === 401 || err.status === 403) {
        throw new RemoteRegistryError(
          'unauthorized',
          `${what}: ${err.status}: the token service refused ${this.account ? `the credential of "${this.account}"` : 'anonymous access'}`,
          err.status,
        );
      }
      throw err;
    }
    const body = await readBody(res, 1024 * 1024, what);
    let parsed: { token?: string; access_token?: string; expires_in?: number };
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      throw new RemoteRegistryError('failed', `${what}: the answer is not JSON`);
    }
    const token = parsed.token || parsed.access_token;
    if (!token) throw new RemoteRegistryError('failed', `${what}: the answer holds no token`);
    // The spec's default lifetime is 60 s; keep a margin so that a token never expires in flight.
    const lifetime = Math.max(Number(parsed.expires_in) || 60, 10) * 1000;
    return { token, expiresAt: Date.now() + Math.max(lifetime - 30_000, lifetime / 2) };
  }

  private async authorization(
    challenge: Challenge | 'none' | undefined,
    scopes: string[],
    signal?: AbortSignal,
  ): Promise<string | undefined> {
    if (challenge === undefined || challenge === 'none') return undefined;
    if (challenge.scheme === 'basic') return this.basic;
    const key = this.tokenKey(challenge, scopes);
    // Not the caller's signal: the fetch is shared by every request waiting for this scope.
    const token = await this.connections.token(key, () => this.fetchToken(challenge, scopes));
    return `Bearer ${token}`;
  }

  /** Learns the registry's challenge (one GET /v2/) when it is not known yet. */
  private async learnChallenge(signal?: AbortSignal): Promise<Challenge | 'none'> {
    const known = this.challenge;
    if (known !== undefined) return known;
    const url = this.url('');
    const res = await send(this.connections.agent(url, this.tls), {
      method: 'GET',
      url,
      signal,
      timeoutMs: this.timeoutMs,
      bodyTimeoutMs: this.idleTimeoutMs,
    });
    await drain(res);
    const challenge = res.statusCode === 401 ? parseChallenge(res.headers['www-authenticate']) : null;
    this.challenge = challenge ?? 'none';
    return this.challenge!;
  }

  /**
   * One request with authentication: the known challenge's credential first; on a 401 the
   * challenge it carries is learned (its scopes used when it names them) and a replayable
   * request is made once more. Resolves with any answer but a 401 the client could not get past.
   */
  async exchange(method: string, target: URL, options: ExchangeOptions): Promise<http.IncomingMessage> {
    const streamed = options.body !== undefined && !Buffer.isBuffer(options.body);
    let challenge = streamed ? await this.learnChallenge(options.signal) : this.challenge;
    let scopes = options.scopes;
    let url = target;
    let sameOrigin = true;
    for (let attempt = 0, hops = 0; ;) {
      const authorization = sameOrigin ? await this.authorization(challenge, scopes) : undefined;
      const res = await send(this.connections.agent(url, this.tls), {
        method,
        url,
        headers: { ...options.headers, ...(authorization && { authorization }) },
        body: options.body,
        signal: options.signal,
        timeoutMs: this.timeoutMs,
        bodyTimeoutMs: this.idleTimeoutMs,
      });
      const status = res.statusCode ?? 0;
      if (status === 401 && sameOrigin && !streamed && attempt === 0) {
        const asked = parseChallenge(res.headers['www-authenticate']);
        if (asked && (asked.scheme === 'bearer' || this.basic)) {
          await drain(res);
          attempt++;
          if (challenge !== undefined && challenge !== 'none' && challenge.scheme === 'bearer') {
            this.connections.dropToken(this.tokenKey(challenge, scopes));
          }
          if (asked.scheme === 'bearer' && asked.scopes.length > 0) scopes = mergeScopes(scopes, asked.scopes);
          this.challenge = asked;
          challenge = asked;
          continue;
        }
      }
      if (options.followRedirects && [301, 302, 303, 307, 308].includes(status) && res.headers.location && hops < maxRedirects) {
        await drain(res);
        hops++;
        url = new URL(res.headers.location, url);
        sameOrigin = url.origin === this.base.origin;
        continue;
      }
      return res;
    }
  }

  /** Throws the mapped RemoteRegistryError unless the answer has one of the `ok` statuses. */
  private async expect(res: http.IncomingMessage, ok: number[], what: string): Promise<void> {
    if (ok.includes(res.statusCode ?? 0)) return;
    throw await statusError(res, what);
  }

  // ---------------------------------------------------------------- base and listings

  /**
   * Checks that /v2/ answers and, with a credential, that the registry accepts it (a token
   * for no particular scope, or the Basic credential). Without a credential, a registry that
   * wants one is still healthy (anonymous access is decided per repository), as in Harbor.
   */
  async ping(signal?: AbortSignal): Promise<void> {
    const url = this.url('');
    const what = `GET ${redacted(url)}`;
    const res = await send(this.connections.agent(url, this.tls), {
      method: 'GET',
      url,
      signal,
      timeoutMs: this.timeoutMs,
      bodyTimeoutMs: this.idleTimeoutMs,
    });
    const status = res.statusCode ?? 0;
    if (status === 200) {
      await drain(res);
      this.challenge = 'none';
      return;
    }
    if (status !== 401) {
      const err = await statusError(res, what);
      if (status === 404) throw new RemoteRegistryError('failed', `${what}: 404: this is not a registry (no /v2/ API here)`, 404);
      throw err;
    }
    await drain(res);
    const challenge = parseChallenge(res.headers['www-authenticate']);
    if (!challenge) throw new RemoteRegistryError('unauthorized', `${what}: 401 without a challenge Berth can answer`, 401);
    this.challenge = challenge;
    if (!this.basic) return;
    const authorization = await this.authorization(challenge, []);
    const again = await send(this.connections.agent(url, this.tls), {
      method: 'GET',
      url,
      headers: { authorization: authorization! },
      signal,
      timeoutMs: this.timeoutMs,
      bodyTimeoutMs: this.idleTimeoutMs,
    });
    if (again.statusCode === 200) {
      await drain(again);
      return;
    }
    const err = await statusError(again, what);
    if (err.status === 401) {
      throw new RemoteRegistryError('unauthorized', `${what}: 401: the registry refused the credential of "${this.account}"`, 401);
    }
    throw err;
  }

  /** Every repository of /v2/_catalog, page after page (Link headers). */
  async catalog(signal?: AbortSignal, pageSize = 1000): Promise<string[]> {
    const names: string[] = [];
    let url: URL | null = this.url(`_catalog?n=${pageSize}`);
    const seen = new Set<string>();
    while (url) {
      if (seen.has(url.href)) break;
      seen.add(url.href);
      const what = `GET ${redacted(url)}`;
      const res = await this.exchange('GET', url, { scopes: ['registry:catalog:*'], signal, headers: { accept: 'application/json' } });
      await this.expect(res, [200], what);
      const body = await readBody(res, 64 * 1024 * 1024, what);
      const page = parseJson<{ repositories?: string[] | null }>(body, what);
      names.push(...(page.repositories ?? []));
      url = nextLink(res.headers.link, url);
    }
    return names;
  }

  /** Every tag of a repository, page after page; [] when the repository does not exist. */
  async tags(repository: string, signal?: AbortSignal, pageSize = 1000): Promise<string[]> {
    const tags: string[] = [];
    let url: URL | null = this.url(`${repository}/tags/list?n=${pageSize}`);
    const seen = new Set<string>();
    while (url) {
      if (seen.has(url.href)) break;
      seen.add(url.href);
      const what = `GET ${redacted(url)}`;
      const res = await this.exchange('GET', url, { scopes: [pullScope(repository)], signal, headers: { accept: 'application/json' } });
      if (res.statusCode === 404) {
        await drain(res);
        return tags;
      }
      await this.expect(res, [200], what);
      const body = await readBody(res, 64 * 1024 * 1024, what);
      const page = parseJson<{ tags?: string[] | null }>(body, what);
      tags.push(...(page.tags ?? []));
      url = nextLink(res.headers.link, url);
    }
    return tags;
  }

  // ---------------------------------------------------------------- manifests

  async headManifest(repository: string, reference: string, signal?: AbortSignal): Promise<ManifestHead | null> {
    const url = this.url(`${repository}/manifests/${reference}`);
    const what = `HEAD ${redacted(url)}`;
    const res = await this.exchange('HEAD', url, { scopes: [pullScope(repository)], signal, headers: { accept: manifestAccept } });
    await drain(res);
    if (res.statusCode === 404) return null;
    if (res.statusCode !== 200) throw await statusError(res, what);
    const digest = headerValue(res.headers['docker-content-digest']);
    const mediaType = bareMediaType(headerValue(res.headers['content-type']));
    const size = Number(res.headers['content-length'] ?? -1);
    if (digest && isDigest(digest)) return { digest, mediaType, size };
    // A registry that does not say the digest on HEAD: the manifest itself tells it.
    const manifest = await this.getManifest(repository, reference, signal);
    return manifest && { digest: manifest.digest, mediaType: manifest.mediaType, size: manifest.bytes.length };
  }

  async getManifest(repository: string, reference: string, signal?: AbortSignal): Promise<FetchedManifest | null> {
    const url = this.url(`${repository}/manifests/${reference}`);
    const what = `GET ${redacted(url)}`;
    const res = await this.exchange('GET', url, { scopes: [pullScope(repository)], signal, headers: { accept: manifestAccept } });
    if (res.statusCode === 404) {
      await drain(res);
      return null;
    }
    await this.expect(res, [200], what);
    const bytes = await readBody(res, this.maxManifestBytes, what);
    let mediaType = bareMediaType(headerValue(res.headers['content-type']));
    if (!mediaType || mediaType === 'application/json' || mediaType === 'text/plain') {
      mediaType = mediaTypeInside(bytes) ?? mediaType;
    }
    const m = digestPattern.exec(reference);
    if (m) {
      const got = digestOf(bytes, m[1]);
      if (got !== reference)
        throw new RemoteRegistryError('failed', `${what}: the manifest arrived with different content (it hashes to ${got})`);
      return { digest: reference, mediaType, bytes };
    }
    return { digest: digestOf(bytes), mediaType, bytes };
  }

  /** PUT of a manifest under a tag or digest; the digest the registry gives it. */
  async putManifest(repository: string, reference: string, mediaType: string, bytes: Buffer, signal?: AbortSignal): Promise<string> {
    const url = this.url(`${repository}/manifests/${reference}`);
    const what = `PUT ${redacted(url)}`;
    const res = await this.exchange('PUT', url, {
      scopes: [pushScope(repository)],
      signal,
      body: bytes,
      headers: { 'content-type': mediaType },
    });
    await this.expect(res, [200, 201, 202], what);
    await drain(res);
    const digest = headerValue(res.headers['docker-content-digest']);
    return digest && isDigest(digest) ? digest : digestOf(bytes);
  }

  /** DELETE by digest (a tag is resolved first); a manifest already gone is not an error. */
  async deleteManifest(repository: string, reference: string, signal?: AbortSignal): Promise<void> {
    let digest = reference;
    if (!isDigest(reference)) {
      const head = await this.headManifest(repository, reference, signal);
      if (!head) return;
      digest = head.digest;
    }
    const url = this.url(`${repository}/manifests/${digest}`);
    const what = `DELETE ${redacted(url)}`;
    const res = await this.exchange('DELETE', url, { scopes: [`repository:${repository}:delete`], signal });
    if (res.statusCode === 404) {
      await drain(res);
      return;
    }
    await this.expect(res, [200, 202, 204], what);
    await drain(res);
  }

  // ---------------------------------------------------------------- blobs

  async blobExists(repository: string, digest: string, signal?: AbortSignal): Promise<boolean> {
    const url = this.url(`${repository}/blobs/${digest}`);
    const what = `HEAD ${redacted(url)}`;
    const res = await this.exchange('HEAD', url, { scopes: [pullScope(repository)], signal, followRedirects: true });
    await drain(res);
    if (res.statusCode === 200) return true;
    if (res.statusCode === 404) return false;
    throw await statusError(res, what);
  }

  /** The blob's bytes as a stream (redirects to storage followed); size -1 when the registry does not say. */
  async getBlob(repository: string, digest: string, signal?: AbortSignal): Promise<FetchedBlob> {
    const url = this.url(`${repository}/blobs/${digest}`);
    const what = `GET ${redacted(url)}`;
    const res = await this.exchange('GET', url, { scopes: [pullScope(repository)], signal, followRedirects: true });
    await this.expect(res, [200], what);
    const idle = () => {
      // Bytes waiting unread: the consumer is the slow side (a throttled copy), not the network.
      if (res.readableLength > 0 || (res.socket?.readableLength ?? 0) > 0) res.setTimeout(this.idleTimeoutMs);
      else res.destroy(new RemoteRegistryError('unreachable', `${what}: no data for ${this.idleTimeoutMs / 1000} s`));
    };
    res.setTimeout(this.idleTimeoutMs, idle);
    const length = res.headers['content-length'];
    return { stream: res, size: length === undefined ? -1 : Number(length) };
  }

  /** POST …/blobs/uploads/: the upload session's URL. */
  private async startUpload(repository: string, signal?: AbortSignal): Promise<URL> {
    const url = this.url(`${repository}/blobs/uploads/`);
    const what = `POST ${redacted(url)}`;
    const res = await this.exchange('POST', url, { scopes: [pushScope(repository)], signal });
    await this.expect(res, [202], what);
    await drain(res);
    return this.location(res, url, what);
  }

  private location(res: http.IncomingMessage, from: URL, what: string): URL {
    const location = headerValue(res.headers.location);
    if (!location) throw new RemoteRegistryError('failed', `${what}: ${res.statusCode} without a Location`);
    return new URL(location, from);
  }

  /**
   * Uploads a blob from a stream: one streamed PUT (POST then PUT ?digest=), or with
   * `chunkSize` PATCHes of that many bytes (one chunk held at a time) and a closing PUT.
   */
  async putBlob(
    repository: string,
    digest: string,
    blob: FetchedBlob,
    options: { chunkSize?: number; signal?: AbortSignal } = {},
  ): Promise<void> {
    const { signal } = options;
    let location = await this.startUpload(repository, signal);
    if (options.chunkSize && options.chunkSize > 0) {
      location = await this.patchChunks(repository, location, blob.stream, options.chunkSize, signal);
      await this.finishUpload(repository, location, digest, undefined, -1, signal);
      return;
    }
    await this.finishUpload(repository, location, digest, blob.stream, blob.size, signal);
  }

  private async patchChunks(repository: string, start: URL, stream: Readable, chunkSize: number, signal?: AbortSignal): Promise<URL> {
    let location = start;
    let offset = 0;
    let pending: Buffer[] = [];
    let pendingSize = 0;
    const flush = async (size: number) => {
      const all = pending.length === 1 ? pending[0] : Buffer.concat(pending, pendingSize);
      const chunk = all.subarray(0, size);
      const rest = all.subarray(size);
      pending = rest.length > 0 ? [rest] : [];
      pendingSize = rest.length;
      const what = `PATCH ${redacted(location)}`;
      const res = await this.exchange('PATCH', location, {
        scopes: [pushScope(repository)],
        signal,
        body: Buffer.from(chunk),
        headers: {
          'content-type': 'application/octet-stream',
          'content-range': `${offset}-${offset + chunk.length - 1}`,
        },
      });
      await this.expect(res, [202, 204], what);
      await drain(res);
      offset += chunk.length;
      location = headerValue(res.headers.location) ? this.location(res, location, what) : location;
    };
    try {
      for await (const data of stream) {
        const buf = data as Buffer;
        pending.push(buf);
        pendingSize += buf.length;
        while (pendingSize >= chunkSize) await flush(chunkSize);
      }
    } catch (err) {
      stream.destroy();
      throw err;
    }
    if (pendingSize > 0) await flush(pendingSize);
    return location;
  }

  private async finishUpload(
    repository: string,
    location: URL,
    digest: string,
    body: Readable | undefined,
    size: number,
    signal?: AbortSignal,
  ): Promise<void> {
    const url = new URL(location);
    url.searchParams.set('digest', digest);
    const what = `PUT ${redacted(url)}`;
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
    if (body && size >= 0) headers['content-length'] = String(size);
    const res = await this.exchange('PUT', url, { scopes: [pushScope(repository)], signal, body, headers });
    await this.expect(res, [201, 204], what);
    await drain(res);
  }

  /** POST ?mount=&from=: true when mounted (201); false when the registry opened an upload instead (cancelled). */
  async mountBlob(repository: string, digest: string, fromRepository: string, signal?: AbortSignal): Promise<boolean> {
    const url = this.url(`${repository}/blobs/uploads/`);
    url.searchParams.set('mount', digest);
    url.searchParams.set('from', fromRepository);
    const what = `POST ${redacted(url)} (mount ${digest} from ${fromRepository})`;
    const res = await this.exchange('POST', url, { scopes: [pushScope(repository), pullScope(fromRepository)], signal });
    if (res.statusCode === 201) {
      await drain(res);
      return true;
    }
    if (res.statusCode === 202) {
      await drain(res);
      const location = headerValue(res.headers.location);
      if (location) {
        // The session the registry opened instead is not needed: the caller uploads through a new one.
        const cancel = await this.exchange('DELETE', new URL(location, url), { scopes: [pushScope(repository)], signal }).catch(() => null);
        if (cancel) await drain(cancel);
      }
      return false;
    }
    throw await statusError(res, what);
  }
}

export function pullScope(repository: string): string {
  return `repository:${repository}:pull`;
}

export function pushScope(repository: string): string {
  return `repository:${repository}:pull,push`;
}

function mergeScopes(ours: string[], asked: string[]): string[] {
  return [...new Set([...asked, ...ours.filter((s) => !asked.some((a) => sameResource(a, s)))])];
}

function sameResource(a: string, b: string): boolean {
  return a.slice(0, a.lastIndexOf(':')) === b.slice(0, b.lastIndexOf(':'));
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function parseJson<T>(body: Buffer, what: string): T {
  try {
    return JSON.parse(body.toString('utf8')) as T;
  } catch {
    throw new RemoteRegistryError('failed', `${what}: the answer is not JSON`);
  }
}

/** The mediaType a manifest names itself (for registries that answer application/json). */
function mediaTypeInside(bytes: Buffer): string | undefined {
  try {
    const parsed = JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown; schemaVersion?: unknown; manifests?: unknown };
    if (typeof parsed.mediaType === 'string') return parsed.mediaType;
    if (parsed.schemaVersion === 2) return Array.isArray(parsed.manifests) ? mediaTypes.ociIndex : mediaTypes.ociManifest;
  } catch {
    // not JSON
  }
  return undefined;
}

/** A FetchedBlob over bytes in memory (small blobs, tests). */
export function blobOf(bytes: Buffer): FetchedBlob {
  return { stream: Readable.from([bytes]), size: bytes.length };
}
