/**
 * The inventory of an image: reads its manifest, walks each layer once (or takes the
 * layer's cached result), merges the layers in order with whiteouts and opaque directories
 * applied, and names the OS packages' ecosystem after the OS found.
 */
import type { Readable } from 'node:stream';
import { PackageURL } from 'packageurl-js';
import type { ImageSource, Inventory, OsInfo, Package } from '../types.js';
import type { Analyzer } from './analyzer.js';
import { apkAnalyzer } from './apk.js';
import { layerCacheKey, sharedLayerCache, type LayerCache } from './cache.js';
import { dpkgAnalyzer } from './dpkg.js';
import { finishLanguagePackages, languageAnalyzers } from './languages/index.js';
import { layerHasPath, layerSkipReason, readLayer, type FileResult, type LayerResult } from './layers.js';
import { osReleaseAnalyzer, osvEcosystem, pickOs, unmatchedOsNames } from './os-release.js';
import { rpmAnalyzer } from './rpm.js';

export { LayerCache, sharedLayerCache } from './cache.js';
export type { Analyzer, AnalyzerResult } from './analyzer.js';

/** The analyzers of part A: the OS and its package databases. */
export const osAnalyzers: readonly Analyzer[] = [osReleaseAnalyzer, dpkgAnalyzer, apkAnalyzer, rpmAnalyzer];

/** A scan-breaking problem with the image itself (not a note): the caller reports it as the scan's error. */
export class InventoryError extends Error {
  override name = 'InventoryError';
}

export const manifestTypes = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
} as const;

const indexTypes = new Set<string>([manifestTypes.ociIndex, manifestTypes.dockerList]);

export interface InventoryStats {
  /** Layer descriptors in the manifest. */
  layers: number;
  /** Layers whose result came from the layer cache (not read). */
  layersFromCache: number;
  /** Layers read from the source. */
  layersRead: number;
  /** Layers not read because they are not filesystem layers. */
  layersSkipped: number;
  /** Uncompressed tar bytes and entries walked (layers read only). */
  tarBytes: number;
  entries: number;
}

export interface InventoryOptions {
  /** Defaults to the OS analyzers plus part B's language analyzers. */
  analyzers?: readonly Analyzer[];
  /** Defaults to the process-wide cache; null reads every layer. */
  cache?: LayerCache | null;
  /** Layers read at once (decompression of one runs beside another's walk). Default 2. */
  layerConcurrency?: number;
  /** Filled in with what the scan did (for the figures and logs). */
  stats?: InventoryStats;
  /** Aborts the walk (a stopped scan); the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

interface Descriptor {
  mediaType?: string;
  digest: string;
  size?: number;
  platform?: { architecture: string; os: string; variant?: string; 'os.version'?: string };
  annotations?: Record<string, string>;
}

interface ManifestDoc {
  schemaVersion?: number;
  mediaType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
  manifests?: Descriptor[];
}

async function readManifest(source: ImageSource, digest: string): Promise<{ mediaType: string; doc: ManifestDoc }> {
  const { mediaType, bytes } = await source.manifest(digest);
  let doc: ManifestDoc;
  try {
    doc = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) as ManifestDoc;
  } catch {
    throw new InventoryError(`manifest ${digest} is not JSON`);
  }
  if (typeof doc !== 'object' || doc === null) throw new InventoryError(`manifest ${digest} is not a JSON object`);
  const type = mediaType || doc.mediaType || (Array.isArray(doc.manifests) ? manifestTypes.ociIndex : manifestTypes.ociManifest);
  return { mediaType: type, doc };
}

export interface PlatformManifest {
  digest: string;
  mediaType: string;
  size: number;
  platform: { architecture: string; os: string; variant?: string } | null;
}

/**
 * The image manifests an index (or Docker manifest list) points at, with their platforms;
 * null when `digest` is not an index. Attestation manifests buildx adds (platform
 * unknown/unknown, `vnd.docker.reference.type: attestation-manifest`) and nested indexes
 * are left out: they hold no filesystem to scan.
 */
export async function platformManifests(source: ImageSource, digest: string): Promise<PlatformManifest[] | null> {
  const { mediaType, doc } = await readManifest(source, digest);
  if (!indexTypes.has(mediaType)) return null;
  const children: PlatformManifest[] = [];
  for (const child of doc.manifests ?? []) {
    if (child.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest') continue;
    const childType = child.mediaType ?? manifestTypes.ociManifest;
    if (indexTypes.has(childType)) continue;
    const p = child.platform;
    children.push({
      digest: child.digest,
      mediaType: childType,
      size: child.size ?? 0,
      platform: p ? { architecture: p.architecture, os: p.os, ...(p.variant && { variant: p.variant }) } : null,
    });
  }
  return children;
}

/** Runs `work` over the items with at most `limit` at once, keeping results in order. */
async function inOrder<T, R>(items: T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(Math.max(1, limit), items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i], i);
    }
  });
  await Promise.all(lanes);
  return results;
}

/**
 * The packages, OS and notes of one image manifest (OCI or Docker schema 2). An index is
 * refused: the caller scans each of `platformManifests(...)` instead, as Harbor does.
 */
export async function inventoryOf(source: ImageSource, manifestDigest: string, options: InventoryOptions = {}): Promise<Inventory> {
  const analyzers = options.analyzers ?? [...osAnalyzers, ...languageAnalyzers];
  const cache = options.cache === undefined ? sharedLayerCache : options.cache;
  const stats: InventoryStats = options.stats ?? {
    layers: 0,
    layersFromCache: 0,
    layersRead: 0,
    layersSkipped: 0,
    tarBytes: 0,
    entries: 0,
  };
  Object.assign(stats, { layers: 0, layersFromCache: 0, layersRead: 0, layersSkipped: 0, tarBytes: 0, entries: 0 });

  const { mediaType, doc } = await readManifest(source, manifestDigest);
  if (indexTypes.has(mediaType)) {
    throw new InventoryError(`${manifestDigest} is an image index (${mediaType}): scan each of its platform manifests instead`);
  }
  if (mediaType !== manifestTypes.ociManifest && mediaType !== manifestTypes.dockerManifest) {
    throw new InventoryError(`${manifestDigest} has media type ${mediaType}, which is not an image manifest Berth can scan`);
  }
  const descriptors = Array.isArray(doc.layers) ? doc.layers : [];
  stats.layers = descriptors.length;
  const notes: string[] = [];
  const readDigests: string[] = [];

  const layerResults = await inOrder(descriptors, options.layerConcurrency ?? 2, async (descriptor, index) => {
    options.signal?.throwIfAborted();
    const skip = layerSkipReason(descriptor.mediaType ?? '');
    if (skip) {
      stats.layersSkipped++;
      notes.push(`layer ${index} (${descriptor.digest}) was not read: ${skip}`);
      return null;
    }
    const read = async (): Promise<LayerResult> => {
      let blob: Readable | undefined;
      try {
        blob = await source.blob(descriptor.digest);
        return await readLayer(blob, analyzers, { layer: index, signal: options.signal });
      } catch (err) {
        blob?.destroy();
        if (options.signal?.aborted) throw err;
        throw new InventoryError(`layer ${index} (${descriptor.digest}) could not be read: ${(err as Error).message}`);
      }
    };
    const { result, cached } = cache
      ? await cache.get(layerCacheKey(descriptor.digest, analyzers), read)
      : { result: await read(), cached: false };
    if (cached) stats.layersFromCache++;
    else {
      stats.layersRead++;
      stats.tarBytes += result.tarBytes;
      stats.entries += result.entries;
    }
    return result;
  });

  // Merge base first: a layer's whiteouts and opaque dirs remove what lower layers put there,
  // then its own files go on top (they are never hidden by its own whiteouts).
  const merged = new Map<string, { layer: number; results: FileResult[] }>();
  layerResults.forEach((result, index) => {
    if (!result) return;
    readDigests.push(descriptors[index].digest);
    for (const dir of result.opaqueDirs) removeUnder(merged, dir, false);
    for (const path of result.whiteouts) removeUnder(merged, path, true);
    // Replaced by something no analyzer read (a file too small or not executable any more, a directory).
    for (const path of merged.keys()) {
      if (!result.files.has(path) && layerHasPath(result, path)) merged.delete(path);
    }
    for (const [path, results] of result.files) {
      if (results.length === 0) merged.delete(path);
      else merged.set(path, { layer: index, results });
    }
  });

  const found = new Map<string, OsInfo>();
  const raw: Package[] = [];
  const paths = [...merged.keys()].sort();
  for (const path of paths) {
    const { layer, results } = merged.get(path)!;
    for (const { result } of results) {
      if (result.os) found.set(path, result.os);
      // The layer index is this image's (a cached layer may sit elsewhere in another image); a path
      // the analyzer made more precise (`app.jar!inner.jar`) stays, any other is this file's (a hard link's).
      for (const pkg of result.packages ?? []) raw.push({ ...pkg, path: pkg.path?.startsWith(`${path}!`) ? pkg.path : path, layer });
      for (const note of result.notes ?? []) notes.push(note);
    }
  }
  const os = pickOs(found);
  // Part B's pass across files (a package-lock.json's entries give way to an installed node_modules tree).
  const packages = finishLanguagePackages(raw.map((pkg) => finishOsPackage(pkg, os)));
  if (os && unmatchedOsNames[os.family] && packages.some((p) => p.ecosystem.startsWith(`${unmatchedOsNames[os.family]}:`))) {
    notes.push(`OSV publishes no advisories for ${unmatchedOsNames[os.family]}: the image's OS packages are listed but not matched`);
  }
  return { os, packages, notes, layers: readDigests };
}

/** Removes `path` itself (a whiteout) and everything under it; '' with self=false is the whole tree. */
function removeUnder(merged: Map<string, unknown>, path: string, self: boolean): void {
  if (path === '') {
    merged.clear();
    return;
  }
  const prefix = `${path}/`;
  for (const key of merged.keys()) {
    if ((self && key === path) || key.startsWith(prefix)) merged.delete(key);
  }
}

type PackageKind = 'deb' | 'apk' | 'rpm';

/** The placeholder ecosystem each OS analyzer gives, and the OS families its packages belong to. */
const osPackageKinds: Record<string, { kind: PackageKind; families: Set<string> }> = {
  Debian: { kind: 'deb', families: new Set(['debian', 'ubuntu']) },
  Alpine: { kind: 'apk', families: new Set(['alpine', 'wolfi', 'chainguard']) },
  'Red Hat': {
    kind: 'rpm',
    families: new Set([
      'rhel',
      'rocky',
      'almalinux',
      'centos',
      'fedora',
      'ol',
      'amzn',
      'opensuse-leap',
      'opensuse-tumbleweed',
      'opensuse',
      'sles',
      'sle-micro',
      'photon',
      'mageia',
    ]),
  },
};

const purlNamespaces: Record<string, string> = {
  rhel: 'redhat',
  'opensuse-leap': 'opensuse',
  'opensuse-tumbleweed': 'opensuse',
  sles: 'suse',
  'sle-micro': 'suse',
};

/** An OS package with its ecosystem named after the image's OS and its purl (purl spec: deb, apk, rpm). */
function finishOsPackage(pkg: Package, os: OsInfo | null): Package {
  const known = pkg.purl === '' ? osPackageKinds[pkg.ecosystem] : undefined;
  if (!known) return pkg;
  const fits = os !== null && known.families.has(os.family);
  const ecosystem = (fits && osvEcosystem(os)) || pkg.ecosystem;
  const defaultNamespace = known.kind === 'deb' ? 'debian' : known.kind === 'apk' ? 'alpine' : 'redhat';
  const namespace = fits ? (purlNamespaces[os.family] ?? os.family) : defaultNamespace;
  const qualifiers: Record<string, string> = {};
  if (pkg.arch) qualifiers.arch = pkg.arch;
  let version = pkg.version;
  if (known.kind === 'rpm') {
    // rpm purls carry the epoch as a qualifier, not in the version.
    const colon = version.indexOf(':');
    if (colon > 0) {
      qualifiers.epoch = version.slice(0, colon);
      version = version.slice(colon + 1);
    }
  }
  if (fits && os.version) qualifiers.distro = `${os.family}-${os.version}`;
  const purl = new PackageURL(known.kind, namespace, pkg.name, version, qualifiers, undefined).toString();
  return { ...pkg, ecosystem, purl };
}
