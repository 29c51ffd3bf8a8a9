import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { sha256, types } from './oci.js';

/** A blob (or manifest) as built: its bytes and the descriptor fields that name them. */
export interface BuiltBlob {
  mediaType: string;
  digest: string;
  size: number;
  data: Buffer;
}

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

export interface BuiltImage {
  platform: Platform;
  manifest: BuiltBlob;
  config: BuiltBlob;
  /** gzip-compressed tar layers, in order. */
  layers: BuiltBlob[];
  /** sha256 of each layer's uncompressed tar, as the config's rootfs.diff_ids lists them. */
  diffIds: string[];
}

function blob(mediaType: string, data: Buffer): BuiltBlob {
  return { mediaType, digest: sha256(data), size: data.length, data };
}

const descriptorOf = (b: BuiltBlob) => ({ mediaType: b.mediaType, digest: b.digest, size: b.size });

/**
 * Makes a real tar archive with the system `tar` from `files` (path → content; a path
 * ending in "/" is a directory) and returns it uncompressed and gzip-compressed.
 * Owners and times are fixed so the same files give the same bytes.
 */
export async function makeLayer(files: Record<string, string | Buffer>): Promise<{ tar: Buffer; gz: Buffer }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'berth-layer-'));
  try {
    for (const [name, content] of Object.entries(files)) {
      const full = path.join(dir, name);
      if (name.endsWith('/')) {
        await mkdir(full, { recursive: true });
      } else {
        await mkdir(path.dirname(full), { recursive: true });
        await writeFile(full, content, { mode: 0o755 });
      }
    }
    const top = [...new Set(Object.keys(files).map((name) => name.split('/')[0]))].sort();
    const result = spawnSync(
      'tar',
      ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '-C', dir, '-cf', '-', ...top],
      { maxBuffer: 64 * 1024 * 1024 },
    );
    if (result.status !== 0) throw new Error(`tar failed (${result.status}): ${result.stderr?.toString()}`);
    const tar = result.stdout;
    return { tar, gz: gzipSync(tar) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Builds an OCI image: a config JSON and gzip tar layers made from `layers` (one file map each). */
export async function buildImage(platform: Platform, layers: Record<string, string | Buffer>[]): Promise<BuiltImage> {
  const made = await Promise.all(layers.map((files) => makeLayer(files)));
  const layerBlobs = made.map((l) => blob(types.layer, l.gz));
  const diffIds = made.map((l) => sha256(l.tar));
  const created = '2024-01-01T00:00:00Z';
  const configDoc = {
    created,
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant && { variant: platform.variant }),
    config: { Env: ['PATH=/usr/local/bin:/usr/bin:/bin'], Cmd: ['/bin/sh'], Labels: { 'org.example.built-by': 'berth-e2e' } },
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: layers.map((_, i) => ({ created, created_by: `berth e2e layer ${i}` })),
  };
  const config = blob(types.config, Buffer.from(JSON.stringify(configDoc)));
  const manifestDoc = {
    schemaVersion: 2,
    mediaType: types.manifest,
    config: descriptorOf(config),
    layers: layerBlobs.map(descriptorOf),
  };
  const manifest = blob(types.manifest, Buffer.from(JSON.stringify(manifestDoc)));
  return { platform, manifest, config, layers: layerBlobs, diffIds };
}

/** An OCI image index over the images, each with its platform. */
export function buildIndex(images: BuiltImage[]): BuiltBlob {
  const doc = {
    schemaVersion: 2,
    mediaType: types.index,
    manifests: images.map((image) => ({ ...descriptorOf(image.manifest), platform: image.platform })),
  };
  return blob(types.index, Buffer.from(JSON.stringify(doc)));
}

/** Every blob an image consists of: manifest, config, layers. */
export function imageBlobs(image: BuiltImage): BuiltBlob[] {
  return [image.manifest, image.config, ...image.layers];
}

/**
 * Writes an OCI image layout: oci-layout, index.json naming each top-level descriptor by
 * its org.opencontainers.image.ref.name, and blobs/sha256/<hex> for every blob.
 */
export async function writeOciLayout(dir: string, refs: Record<string, BuiltBlob>, blobs: BuiltBlob[]): Promise<void> {
  await mkdir(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  for (const b of blobs) await writeFile(path.join(dir, 'blobs', 'sha256', b.digest.slice('sha256:'.length)), b.data);
  const index = {
    schemaVersion: 2,
    mediaType: types.index,
    manifests: Object.entries(refs).map(([name, b]) => ({
      ...descriptorOf(b),
      annotations: { 'org.opencontainers.image.ref.name': name },
    })),
  };
  await writeFile(path.join(dir, 'index.json'), JSON.stringify(index));
}

export interface ReadLayout {
  /** index.json's descriptors. */
  manifests: { mediaType: string; digest: string; size: number; annotations?: Record<string, string> }[];
  /** Every blob under blobs/sha256, by digest; each one was checked to hash to its name. */
  blobs: Map<string, Buffer>;
}

/** Reads an OCI image layout back, verifying that each blob file's content matches its name. */
export async function readOciLayout(dir: string): Promise<ReadLayout> {
  const index = JSON.parse(await readFile(path.join(dir, 'index.json'), 'utf8')) as { manifests: ReadLayout['manifests'] };
  const blobs = new Map<string, Buffer>();
  const blobDir = path.join(dir, 'blobs', 'sha256');
  for (const name of await readdir(blobDir)) {
    const data = await readFile(path.join(blobDir, name));
    const digest = sha256(data);
    if (digest !== `sha256:${name}`) throw new Error(`layout ${dir}: blob file ${name} holds content with digest ${digest}`);
    blobs.set(digest, data);
  }
  return { manifests: index.manifests, blobs };
}

/** The file names in a gzip tar layer (for checking that a layer is a real archive). */
export function listLayer(gz: Buffer): string[] {
  const result = spawnSync('tar', ['-tf', '-'], { input: gunzipSync(gz), encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`tar -t failed: ${result.stderr}`);
  return result.stdout.split('\n').filter((line) => line !== '');
}
