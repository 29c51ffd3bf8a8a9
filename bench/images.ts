// Image pushes and pulls over the registry API, for the replication and proxy-cache phases:
// blobs streamed or mounted, OCI image manifests, and a pull the way docker pulls (the
// manifest, then the config and layers, a few at a time, every byte read and counted).
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { SyntheticBlob, sha256 } from './data.js';
import { pool, type Client } from './http.js';

export interface Descriptor {
  digest: string;
  size: number;
}

export const ociManifest = 'application/vnd.oci.image.manifest.v1+json';

export const manifestAccept = [
  ociManifest,
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

export const json = (value: unknown) => ({ headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(value)) });

/** POST, then PUT with the whole (small) body. */
export async function pushSmall(client: Client, repo: string, data: Buffer): Promise<Descriptor> {
  const digest = sha256(data);
  const start = await client.expect([202], 'POST', `/v2/${repo}/blobs/uploads/`);
  const put = client.url(String(start.headers.location));
  put.searchParams.set('digest', digest);
  await client.expect([201], 'PUT', put.href, { headers: { 'content-type': 'application/octet-stream' }, body: data });
  return { digest, size: data.length };
}

/** POST, one streamed PATCH of the whole blob, PUT ?digest=. */
export async function pushSynthetic(client: Client, repo: string, blob: SyntheticBlob): Promise<Descriptor> {
  const digest = blob.digest();
  const start = await client.expect([202], 'POST', `/v2/${repo}/blobs/uploads/`);
  const patch = await client.expect([202], 'PATCH', String(start.headers.location), {
    headers: { 'content-type': 'application/octet-stream', 'content-length': blob.size },
    stream: blob.chunks(),
    timeoutMs: 300_000,
  });
  const put = client.url(String(patch.headers.location));
  put.searchParams.set('digest', digest);
  await client.expect([201], 'PUT', put.href, { headers: { 'content-length': 0 }, timeoutMs: 300_000 });
  return { digest, size: blob.size };
}

/**
 * Puts a blob already in `from` into `repo` by a cross-repository mount; a registry that
 * answers 202 (no mount) gets the bytes instead.
 */
export async function mountOrPush(client: Client, repo: string, from: string, blob: Buffer): Promise<Descriptor> {
  const digest = sha256(blob);
  const res = await client.expect(
    [201, 202],
    'POST',
    `/v2/${repo}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`,
  );
  if (res.status === 201) return { digest, size: blob.length };
  await client.request('DELETE', String(res.headers.location)).catch(() => undefined);
  return pushSmall(client, repo, blob);
}

/** A small config blob unique to `seed`. */
export function configOf(seed: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [] },
      config: { Labels: { 'bench.seed': seed } },
    }),
  );
}

/**
 * A gzip stream of `bytes` random bytes: a layer no other image has, really gzip as its
 * media type says (skopeo compresses a layer whose bytes are not, which changes its digest).
 */
export function gzipLayer(bytes: number): Buffer {
  return gzipSync(randomBytes(bytes), { level: 1 });
}

export function imageManifest(config: Descriptor, layers: Descriptor[]): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: ociManifest,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      // Uncompressed tar layers: the bench's bytes are not gzip, and a client that sees a gzip
      // media type over other bytes (skopeo) compresses them on the way, which no real copy does.
      layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...l })),
    }),
  );
}

/** PUT of a manifest; its digest. */
export async function putManifest(client: Client, repo: string, reference: string, bytes: Buffer): Promise<string> {
  await client.expect([201], 'PUT', `/v2/${repo}/manifests/${reference}`, { headers: { 'content-type': ociManifest }, body: bytes });
  return sha256(bytes);
}

export interface Pulled {
  seconds: number;
  bytes: number;
  digest: string;
  /** The manifest answer's headers (e.g. a proxy cache saying how it served it). */
  headers: Record<string, string | string[] | undefined>;
}

/**
 * Pulls an image the way docker and podman do: GET the manifest by tag, then GET the config
 * and every layer, `parallel` at a time, reading and counting every byte (thrown away). Sizes
 * are checked against the manifest.
 */
export async function pullImage(client: Client, repo: string, tag: string, parallel = 3): Promise<Pulled> {
  const t0 = performance.now();
  const res = await client.expect([200], 'GET', `/v2/${repo}/manifests/${tag}`, {
    headers: { accept: manifestAccept },
    timeoutMs: 300_000,
  });
  const manifest = JSON.parse(res.body.toString('utf8')) as { config: Descriptor; layers: Descriptor[] };
  const blobs = [manifest.config, ...manifest.layers];
  let bytes = res.body.length;
  await pool(blobs.length, parallel, Date.now() + 600_000, async (i) => {
    const b = blobs[i];
    const got = await client.expect([200], 'GET', `/v2/${repo}/blobs/${b.digest}`, { discard: true, timeoutMs: 300_000 });
    if (got.bytes !== b.size) throw new Error(`GET ${repo}@${b.digest} on ${client.base}: ${got.bytes} bytes, the manifest says ${b.size}`);
    bytes += got.bytes;
  });
  return { seconds: (performance.now() - t0) / 1000, bytes, digest: sha256(res.body), headers: res.headers };
}

/** Every repository in a registry's /v2/_catalog (following Link pages). */
export async function catalog(client: Client): Promise<string[]> {
  const names: string[] = [];
  let next: string | undefined = '/v2/_catalog?n=1000';
  while (next) {
    const res = await client.expect([200], 'GET', next);
    names.push(...((JSON.parse(res.body.toString('utf8')) as { repositories: string[] | null }).repositories ?? []));
    const link = res.headers.link;
    next = typeof link === 'string' ? /<([^>]+)>/.exec(link)?.[1] : undefined;
  }
  return names;
}

/** Every tag of a repository (following Link pages). */
export async function tags(client: Client, repo: string): Promise<string[]> {
  const names: string[] = [];
  let next: string | undefined = `/v2/${repo}/tags/list?n=1000`;
  while (next) {
    const res = await client.expect([200], 'GET', next);
    names.push(...((JSON.parse(res.body.toString('utf8')) as { tags: string[] | null }).tags ?? []));
    const link = res.headers.link;
    next = typeof link === 'string' ? /<([^>]+)>/.exec(link)?.[1] : undefined;
  }
  return names;
}

/** The id at the end of a Location header (/api/v2.0/…/42 → 42). */
export function idFrom(location: unknown): number {
  const id = Number(String(location).split('/').pop());
  if (!Number.isInteger(id)) throw new Error(`no id in Location ${String(location)}`);
  return id;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
