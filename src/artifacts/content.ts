import { parseManifest, type ParsedManifest } from '../oci/manifest.js';
import type { BlobStore } from '../storage/blobstore.js';
import type { ArtifactContent, Json } from './processors/processor.js';

const maxJsonBytes = 4 << 20;

async function readBounded(blobs: BlobStore, digest: string, maxBytes: number): Promise<Buffer | null> {
  const info = await blobs.stat(digest);
  if (!info || info.size > maxBytes) return null;
  const chunks: Buffer[] = [];
  for await (const chunk of await blobs.read(digest)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function parseJsonObject(bytes: Buffer | null): Json | null {
  if (!bytes) return null;
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : null;
  } catch {
    return null;
  }
}

/**
 * The readable content of one artifact, for processors: config and other blobs from the
 * blob store (bounded), child manifests from `childManifest`. Each read happens once.
 */
export function artifactContent(
  manifest: ParsedManifest,
  blobs: BlobStore,
  childManifest: (digest: string) => Promise<Uint8Array | undefined>,
): ArtifactContent {
  const memo = new Map<string, Promise<unknown>>();
  const once = <T>(key: string, load: () => Promise<T>): Promise<T> => {
    if (!memo.has(key)) memo.set(key, load());
    return memo.get(key) as Promise<T>;
  };
  const jsonBlob = (digest: string) => once(`json:${digest}`, async () => parseJsonObject(await readBounded(blobs, digest, maxJsonBytes)));
  return {
    manifest,
    config: () => (manifest.config ? jsonBlob(manifest.config.digest) : Promise.resolve(null)),
    jsonBlob,
    blob: (digest, maxBytes) => once(`blob:${digest}:${maxBytes}`, () => readBounded(blobs, digest, maxBytes)),
    child: (digest) =>
      once(`child:${digest}`, async () => {
        const bytes = await childManifest(digest);
        if (!bytes) return null;
        try {
          return parseManifest(bytes, '');
        } catch {
          return null;
        }
      }),
  };
}
