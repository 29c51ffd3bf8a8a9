import { createHash } from 'node:crypto';

/** A Buffer typed as fetch's BodyInit accepts (TypeScript 5.7+ typed-array generics). */
export function body(data: Buffer | Uint8Array): Uint8Array<ArrayBuffer> {
  return data as Uint8Array<ArrayBuffer>;
}

export function sha256(data: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export interface PushedBlob {
  digest: string;
  size: number;
  data: Buffer;
}

/** Pushes a blob in one POST (?digest=) and returns its descriptor fields. */
export async function pushBlob(
  base: string,
  repo: string,
  data: Buffer | string,
  headers: Record<string, string> = {},
): Promise<PushedBlob> {
  const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data);
  const digest = sha256(bytes);
  const res = await fetch(`${base}/v2/${repo}/blobs/uploads/?digest=${digest}`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/octet-stream' },
    body: body(bytes),
  });
  if (res.status !== 201) throw new Error(`blob push failed: ${res.status} ${await res.text()}`);
  return { digest, size: bytes.length, data: bytes };
}

export const types = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  index: 'application/vnd.oci.image.index.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
};

/** Pushes a config and one layer, then an OCI image manifest naming them. */
export async function pushImage(
  base: string,
  repo: string,
  reference: string,
  options: {
    layer?: string;
    extra?: Record<string, unknown>;
    platform?: { architecture: string; os: string };
    headers?: Record<string, string>;
  } = {},
) {
  const headers = options.headers ?? {};
  const configBody = JSON.stringify({
    architecture: options.platform?.architecture ?? 'amd64',
    os: options.platform?.os ?? 'linux',
    rootfs: { type: 'layers', diff_ids: [] },
  });
  const config = await pushBlob(base, repo, configBody, headers);
  const layer = await pushBlob(base, repo, options.layer ?? `layer of ${repo}:${reference} ${Math.random()}`, headers);
  const manifest = {
    schemaVersion: 2,
    mediaType: types.manifest,
    config: { mediaType: types.config, digest: config.digest, size: config.size },
    layers: [{ mediaType: types.layer, digest: layer.digest, size: layer.size }],
    ...options.extra,
  };
  const pushed = await pushManifest(base, repo, reference, manifest, types.manifest, headers);
  return { ...pushed, config, layer, manifest };
}

/**
 * PUTs a manifest document under `reference` (a tag, or null to push it by its own
 * digest) with `mediaType` as Content-Type; returns its digest, size and bytes.
 */
export async function pushManifest(
  base: string,
  repo: string,
  reference: string | null,
  manifest: Record<string, unknown>,
  mediaType: string,
  headers: Record<string, string> = {},
) {
  const bytes = Buffer.from(JSON.stringify(manifest));
  const digest = sha256(bytes);
  const res = await fetch(`${base}/v2/${repo}/manifests/${reference ?? digest}`, {
    method: 'PUT',
    headers: { ...headers, 'content-type': mediaType },
    body: body(bytes),
  });
  if (res.status !== 201) throw new Error(`manifest push failed: ${res.status} ${await res.text()}`);
  return { digest, size: bytes.length, bytes, response: res };
}
