import { createHash, randomBytes } from 'node:crypto';
import type { RegistryAdapter, RegistryEndpoint } from '../../../src/replication/types.js';
import { blobOf } from '../../../src/replication/adapters/v2-client.js';

export const ociManifest = 'application/vnd.oci.image.manifest.v1+json';

export function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export interface TestImage {
  config: Buffer;
  layers: Buffer[];
  manifest: Buffer;
  digest: string;
  blobs: Array<{ digest: string; data: Buffer }>;
}

/** An OCI image with a config and random layers of the given sizes (a fresh one every call). */
export function makeImage(layerSizes: number[] = [1024]): TestImage {
  const layers = layerSizes.map((size) => randomBytes(size));
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: layers.map(sha256) },
      created: new Date().toISOString(),
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: ociManifest,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(l), size: l.length })),
    }),
  );
  return {
    config,
    layers,
    manifest,
    digest: sha256(manifest),
    blobs: [config, ...layers].map((data) => ({ digest: sha256(data), data })),
  };
}

/** Pushes an image through an adapter (blobs, then the manifest under `tag`). */
export async function pushThrough(
  adapter: RegistryAdapter,
  repository: string,
  tag: string,
  image: TestImage,
  chunkSize?: number,
): Promise<string> {
  await adapter.prepareRepository?.(repository);
  for (const blob of image.blobs) await adapter.putBlob(repository, blob.digest, blobOf(blob.data), { chunkSize });
  return adapter.putManifest(repository, tag, ociManifest, image.manifest);
}

export async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export function endpoint(url: string, type = 'docker-registry', credential?: { username: string; password: string }): RegistryEndpoint {
  return {
    id: 1,
    name: 'test',
    type,
    url,
    insecure: false,
    caCertificate: null,
    credential: credential ? { type: 'basic', accessKey: credential.username, accessSecret: credential.password } : null,
  };
}
