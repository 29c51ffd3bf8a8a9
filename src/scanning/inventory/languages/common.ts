/** Small helpers the language analyzers share. */
import { PackageURL } from 'packageurl-js';

/** A package URL per the purl spec (packageurl-js does the per-type normalising and encoding). */
export function purlOf(type: string, namespace: string | undefined, name: string, version: string): string {
  return new PackageURL(type, namespace || undefined, name, version, undefined, undefined).toString();
}

/** The last path segment. */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** The folder part of a path without its trailing slash ('' at the top). */
export function dirName(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

/** Drops repeated packages (same name and version) keeping the first. */
export function uniqueByNameVersion<T extends { name: string; version: string }>(packages: T[]): T[] {
  const seen = new Set<string>();
  return packages.filter((p) => {
    const key = `${p.name}@${p.version}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
