import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import type { ImageSource } from '../../../src/scanning/types.js';

export type Entry =
  | { path: string; content: string | Buffer; mode?: number }
  | { path: string; symlink: string }
  | { path: string; hardlink: string }
  | { path: string; dir: true };

/** A tar archive of the entries, in the given order (tar-stream: symlinks and odd names allowed). */
export async function tarOf(entries: Entry[]): Promise<Buffer> {
  const archive = pack();
  const chunks: Buffer[] = [];
  archive.on('data', (c: unknown) => void chunks.push(c as Buffer));
  const ended = new Promise<void>((resolve, reject) => {
    archive.on('end', resolve);
    archive.on('error', reject);
  });
  for (const e of entries) {
    if ('symlink' in e) archive.entry({ name: e.path, type: 'symlink', linkname: e.symlink });
    else if ('hardlink' in e) archive.entry({ name: e.path, type: 'link', linkname: e.hardlink });
    else if ('dir' in e) archive.entry({ name: e.path, type: 'directory' });
    else archive.entry({ name: e.path, mode: e.mode ?? 0o644 }, e.content);
  }
  archive.finalize();
  await ended;
  return Buffer.concat(chunks);
}

export function sha256(data: Uint8Array): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** zstd-compresses with the system zstd (the reference encoder). */
export function zstd(data: Buffer): Buffer {
  const result = spawnSync('zstd', ['-q', '-c', '-3'], { input: data, maxBuffer: 1 << 30 });
  if (result.status !== 0) throw new Error(`zstd failed: ${result.stderr}`);
  return result.stdout;
}

export type Compression = 'gzip' | 'zstd' | 'none';

export const layerMediaTypes: Record<Compression, string> = {
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  none: 'application/vnd.oci.image.layer.v1.tar',
};

export function compress(tar: Buffer, compression: Compression): Buffer {
  return compression === 'gzip' ? gzipSync(tar) : compression === 'zstd' ? zstd(tar) : tar;
}

export interface BuiltLayer {
  mediaType: string;
  data: Buffer;
}

/** An image held in memory: blobs by digest and manifests by digest (an ImageSource over real bytes). */
export class MemoryImage implements ImageSource {
  readonly blobs = new Map<string, Buffer>();
  readonly manifests = new Map<string, { mediaType: string; bytes: Buffer }>();
  /** How many times each blob was opened (the cache test counts reads). */
  readonly opened = new Map<string, number>();

  addBlob(data: Buffer): string {
    const digest = sha256(data);
    this.blobs.set(digest, data);
    return digest;
  }

  /** Adds an OCI image manifest over the layers; returns its digest. */
  addImage(layers: BuiltLayer[], extraLayers: { mediaType: string; digest: string; size: number }[] = []): string {
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
    const doc = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: this.addBlob(config), size: config.length },
      layers: [...layers.map((l) => ({ mediaType: l.mediaType, digest: this.addBlob(l.data), size: l.data.length })), ...extraLayers],
    };
    return this.addManifest(doc.mediaType, doc);
  }

  addManifest(mediaType: string, doc: unknown): string {
    const bytes = Buffer.from(JSON.stringify(doc));
    const digest = sha256(bytes);
    this.manifests.set(digest, { mediaType, bytes });
    return digest;
  }

  async manifest(digest: string) {
    const m = this.manifests.get(digest);
    if (!m) throw new Error(`no manifest ${digest}`);
    return m;
  }

  async blob(digest: string): Promise<Readable> {
    const data = this.blobs.get(digest);
    if (!data) throw new Error(`no blob ${digest}`);
    this.opened.set(digest, (this.opened.get(digest) ?? 0) + 1);
    // Small chunks, so that files cross chunk boundaries as they do over the network; the first
    // one a single byte, shorter than any compression's magic number.
    const chunks: Buffer[] = data.length > 0 ? [data.subarray(0, 1)] : [];
    for (let i = 1; i < data.length; i += 7919) chunks.push(data.subarray(i, i + 7919));
    return Readable.from(chunks, { objectMode: false });
  }
}

/** A layer built from entries with the given compression. */
export async function layerOf(entries: Entry[], compression: Compression = 'gzip'): Promise<BuiltLayer> {
  return { mediaType: layerMediaTypes[compression], data: compress(await tarOf(entries), compression) };
}
