/**
 * npm packages: the package.json of each installed package (`…/node_modules/<name>/package.json`
 * or `…/node_modules/@scope/<name>/package.json`) and package-lock.json files (lockfile v1, v2, v3).
 *
 * An image's truth is what is installed, so a lockfile only speaks for its folder when that folder
 * has no installed packages at all (see `dropLockfilesWithInstalledTree`); dev-only lockfile entries
 * are left out since an image built from a lockfile normally omits them.
 */
import semver from 'semver';
import type { Package } from '../../types.js';
import type { AnalyzedFile, Analyzer, AnalyzerResult } from '../analyzer.js';
import { baseName, dirName, purlOf } from './common.js';

const manifestSuffix = '/package.json';
const lockfileName = 'package-lock.json';

/** Is this a package's own manifest right under a node_modules folder (not a nested hint file)? */
export function isInstalledManifest(path: string): boolean {
  if (!path.endsWith(manifestSuffix)) return false;
  const packageDir = path.slice(0, -manifestSuffix.length);
  let parent = dirName(packageDir);
  if (baseName(parent).startsWith('@')) parent = dirName(parent);
  return baseName(parent) === 'node_modules';
}

function isLockfile(path: string): boolean {
  return (path === lockfileName || path.endsWith('/' + lockfileName)) && !path.includes('node_modules/');
}

function npmPackage(name: string, version: string, file: AnalyzedFile, license?: string): Package {
  const slash = name.startsWith('@') ? name.indexOf('/') : -1;
  const purl = slash > 0 ? purlOf('npm', name.slice(0, slash), name.slice(slash + 1), version) : purlOf('npm', undefined, name, version);
  return { ecosystem: 'npm', name, version, purl, path: file.path, layer: file.layer, ...(license ? { license } : {}) };
}

function licenseOf(manifest: Record<string, unknown>): string | undefined {
  const license = manifest.license;
  if (typeof license === 'string' && license !== '') return license;
  if (license && typeof license === 'object' && typeof (license as { type?: unknown }).type === 'string')
    return (license as { type: string }).type;
  // The long-deprecated `licenses: [{type}]` form.
  if (Array.isArray(manifest.licenses)) {
    const types = manifest.licenses
      .map((l: unknown) => (l && typeof l === 'object' ? (l as { type?: unknown }).type : l))
      .filter((t) => typeof t === 'string');
    if (types.length > 0) return types.length === 1 ? (types[0] as string) : `(${types.join(' OR ')})`;
  }
  return undefined;
}

function parseJson(file: AnalyzedFile): Record<string, unknown> | string {
  try {
    const value: unknown = JSON.parse(file.bytes.toString('utf8'));
    return value && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : `${file.path}: not a JSON object`;
  } catch (error) {
    return `${file.path}: unreadable JSON (${(error as Error).message})`;
  }
}

export function analyzeInstalledManifest(file: AnalyzedFile): AnalyzerResult {
  const manifest = parseJson(file);
  if (typeof manifest === 'string') return { notes: [manifest] };
  const { name, version } = manifest;
  if (typeof name !== 'string' || typeof version !== 'string' || name === '' || version === '') return {};
  return { packages: [npmPackage(name, version, file, licenseOf(manifest))] };
}

interface LockEntry {
  name?: unknown;
  version?: unknown;
  dev?: unknown;
  link?: unknown;
  dependencies?: unknown;
}

/** The installed name under a lockfile v2/v3 key (`node_modules/a/node_modules/@s/b` → `@s/b`). */
function nameFromKey(key: string): string | undefined {
  const at = key.lastIndexOf('node_modules/');
  return at < 0 ? undefined : key.slice(at + 'node_modules/'.length);
}

/** v1 writes an alias as `npm:real-name@1.2.3`. */
function unalias(name: string, version: string): [string, string] {
  if (!version.startsWith('npm:')) return [name, version];
  const spec = version.slice(4);
  const at = spec.lastIndexOf('@');
  return at > 0 ? [spec.slice(0, at), spec.slice(at + 1)] : [name, version];
}

export function analyzeLockfile(file: AnalyzedFile): AnalyzerResult {
  const lock = parseJson(file);
  if (typeof lock === 'string') return { notes: [lock] };
  const found = new Map<string, Package>();
  const add = (name: string, version: string) => {
    if (!semver.valid(version)) return; // git, file: and tarball-URL entries carry no registry version
    const key = `${name}@${version}`;
    if (!found.has(key)) found.set(key, npmPackage(name, version, file));
  };
  if (lock.packages && typeof lock.packages === 'object') {
    for (const [key, raw] of Object.entries(lock.packages as Record<string, LockEntry>)) {
      // Keys outside node_modules are workspace sources (and '' the project itself), not installed packages.
      if (!key.includes('node_modules/') || !raw || raw.link === true || raw.dev === true) continue;
      const name = typeof raw.name === 'string' ? raw.name : nameFromKey(key);
      if (name && typeof raw.version === 'string') add(name, raw.version);
    }
  } else if (lock.dependencies && typeof lock.dependencies === 'object') {
    const walk = (dependencies: Record<string, LockEntry>, depth: number) => {
      if (depth > 64) return;
      for (const [written, raw] of Object.entries(dependencies)) {
        if (!raw || typeof raw !== 'object') continue;
        if (raw.dev !== true && typeof raw.version === 'string') add(...unalias(written, raw.version));
        if (raw.dependencies && typeof raw.dependencies === 'object') walk(raw.dependencies as Record<string, LockEntry>, depth + 1);
      }
    };
    walk(lock.dependencies as Record<string, LockEntry>, 0);
  }
  return { packages: [...found.values()] };
}

export const npmAnalyzer: Analyzer = {
  name: 'npm',
  version: 1,
  maxBytes: 32 * 1024 * 1024,
  wants: (path) => isInstalledManifest(path) || isLockfile(path),
  analyze: (file) => (baseName(file.path) === lockfileName ? analyzeLockfile(file) : analyzeInstalledManifest(file)),
};

/**
 * After the walk: a lockfile's packages are dropped when its folder has an installed tree
 * (any package.json under `<folder>/node_modules/`), since then the installed packages are what
 * the image really holds and the lockfile would add dev or pruned packages that are not there.
 */
export function dropLockfilesWithInstalledTree(packages: Package[]): Package[] {
  const installedRoots = new Set<string>();
  for (const p of packages) {
    if (p.ecosystem !== 'npm' || !p.path.endsWith(manifestSuffix)) continue;
    const at = p.path.startsWith('node_modules/') ? 0 : p.path.indexOf('/node_modules/');
    if (at >= 0) installedRoots.add(p.path.slice(0, at));
  }
  if (installedRoots.size === 0) return packages;
  return packages.filter((p) => p.ecosystem !== 'npm' || baseName(p.path) !== lockfileName || !installedRoots.has(dirName(p.path)));
}
