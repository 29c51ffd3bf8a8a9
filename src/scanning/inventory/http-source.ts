/**
 * An image in another registry, read over its /v2 API: what the built-in scanner does when a
 * Harbor (or another Berth) drives it through the Pluggable Scanner API. The Authorization
 * value the scan request carries (`Bearer <jwt>` or `Basic …`) is sent unchanged. Blobs
 * stream, redirects (presigned storage URLs) are followed without the credential, and every
 * byte is checked against its digest as it passes.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import type { ImageSource } from '../types.js';

export interface HttpImageSourceOptions {
  /** The registry's base URL (`https://core.harbor.domain`); /v2/ is appended. */
  registryUrl: string;
  repository: string;
  /** The Authorization header value, used as given; absent for anonymous pulls. */
  authorization?: string;
  /** Accept any TLS certificate (the scan request's `registry.insecure`). */
  insecure?: boolean;
  /** Longest wait for a response's headers, and for the next bytes of a body. Default 60 s. */
  timeoutMs?: number;
  /** The largest manifest read (default 4 MiB, as registries limit them). */
  maxManifestBytes?: number;
}

const manifestAccept = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

const maxRedirects = 5;

/** A failure talking to the other registry; `status` is the HTTP status when there was one. */
export class RegistryFetchError extends Error {
  override name = 'RegistryFetchError';
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

function checkedDigest(digest: string): { algorithm: 'sha256' | 'sha512'; hex: string } {
  const m = /^(sha256|sha512):([a-f0-9]+)$/.exec(digest);
  if (!m || m[2].length !== (m[1] === 'sha256' ? 64 : 128)) throw new RegistryFetchError(`"${digest}" is not a digest`);
  return { algorithm: m[1] as 'sha256' | 'sha512', hex: m[2] };
}

/** Passes bytes through and fails at the end when they do not hash to the digest. */
class DigestCheck extends Transform {
  private readonly hash;
  constructor(
    private readonly digest: string,
    algorithm: 'sha256' | 'sha512',
    private readonly hex: string,
  ) {
    super();
    this.hash = createHash(algorithm);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    const got = this.hash.digest('hex');
    callback(got === this.hex ? null : new RegistryFetchError(`blob ${this.digest} arrived with different content (it hashes to ${got})`));
  }
}

export class HttpImageSource implements ImageSource {
  private readonly base: URL;
  private readonly timeoutMs: number;
  private readonly maxManifestBytes: number;

  constructor(private readonly options: HttpImageSourceOptions) {
    let base: URL;
    try {
      base = new URL(options.registryUrl);
    } catch {
      throw new RegistryFetchError(`registry URL "${options.registryUrl}" is not a URL`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new RegistryFetchError(`registry URL "${options.registryUrl}" is not http or https`);
    }
    this.base = base;
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.maxManifestBytes = options.maxManifestBytes ?? 4 * 1024 * 1024;
  }

  private url(kind: 'manifests' | 'blobs', digest: string): URL {
    const path = this.base.pathname.replace(/\/+$/, '');
    return new URL(`${this.base.origin}${path}/v2/${this.options.repository}/${kind}/${digest}`);
  }

  async manifest(digest: string): Promise<{ mediaType: string; bytes: Uint8Array }> {
    const { algorithm, hex } = checkedDigest(digest);
    const res = await this.get(this.url('manifests', digest), { accept: manifestAccept }, `manifest ${digest}`);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res) {
      size += (chunk as Buffer).length;
      if (size > this.maxManifestBytes) {
        res.destroy();
        throw new RegistryFetchError(`manifest ${digest} is larger than ${this.maxManifestBytes} bytes`);
      }
      chunks.push(chunk as Buffer);
    }
    const bytes = Buffer.concat(chunks);
    const got = createHash(algorithm).update(bytes).digest('hex');
    if (got !== hex) throw new RegistryFetchError(`manifest ${digest} arrived with different content (it hashes to ${got})`);
    const mediaType = String(res.headers['content-type'] ?? '')
      .split(';')[0]
      .trim();
    return { mediaType, bytes };
  }

  async blob(digest: string): Promise<Readable> {
    const { algorithm, hex } = checkedDigest(digest);
    const res = await this.get(this.url('blobs', digest), {}, `blob ${digest}`);
    const check = new DigestCheck(digest, algorithm, hex);
    res.on('error', (err) => check.destroy(err));
    return res.pipe(check);
  }

  /** GET with redirects followed (the credential only goes to the registry's own origin); 200 or a clear error. */
  private async get(url: URL, headers: Record<string, string>, what: string): Promise<http.IncomingMessage> {
    let current = url;
    for (let hop = 0; hop <= maxRedirects; hop++) {
      const sameOrigin = current.origin === this.base.origin;
      const res = await this.request(current, {
        ...headers,
        ...(sameOrigin && this.options.authorization && { authorization: this.options.authorization }),
      });
      const status = res.statusCode ?? 0;
      if (status === 200) {
        // A body that stops coming (no bytes for timeoutMs) ends the read with an error instead of hanging the scan.
        res.setTimeout(this.timeoutMs, () =>
          res.destroy(new RegistryFetchError(`${what}: no data from ${current.origin} for ${this.timeoutMs} ms`)),
        );
        return res;
      }
      if ([301, 302, 303, 307, 308].includes(status) && res.headers.location) {
        res.resume();
        current = new URL(res.headers.location, current);
        continue;
      }
      throw new RegistryFetchError(`${what} from ${this.base.origin}/v2/${this.options.repository}: ${await describeFailure(res)}`, status);
    }
    throw new RegistryFetchError(`${what}: more than ${maxRedirects} redirects`);
  }

  private request(url: URL, headers: Record<string, string>): Promise<http.IncomingMessage> {
    const client = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = client.request(
        url,
        {
          method: 'GET',
          headers: { 'user-agent': 'berth-scanner', ...headers },
          ...(url.protocol === 'https:' && this.options.insecure && { rejectUnauthorized: false }),
        },
        (res) => {
          req.setTimeout(0);
          resolve(res);
        },
      );
      req.setTimeout(this.timeoutMs, () => req.destroy(new RegistryFetchError(`no answer from ${url.origin} within ${this.timeoutMs} ms`)));
      req.on('error', (err) =>
        reject(err instanceof RegistryFetchError ? err : new RegistryFetchError(`cannot reach ${url.origin}: ${err.message}`)),
      );
      req.end();
    });
  }
}

/** The status and the registry's own error message (OCI error body) when it gave one. */
async function describeFailure(res: http.IncomingMessage): Promise<string> {
  const status = res.statusCode ?? 0;
  let text = '';
  for await (const chunk of res) {
    if (text.length < 4096) text += (chunk as Buffer).toString('utf8');
  }
  let message = '';
  try {
    const body = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
    message = (body.errors ?? []).map((e) => [e.code, e.message].filter(Boolean).join(': ')).join('; ');
  } catch {
    message = text.trim().slice(0, 200);
  }
  const meaning =
    status === 401
      ? 'the registry refused the credentials (401)'
      : status === 403
        ? 'the credentials may not pull this repository (403)'
        : status === 404
          ? 'not found (404)'
          : `HTTP ${status}`;
  return message ? `${meaning}: ${message}` : meaning;
}
