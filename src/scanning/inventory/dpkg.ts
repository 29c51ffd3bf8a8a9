/**
 * Debian and Ubuntu packages from dpkg's database: var/lib/dpkg/status, and the one-stanza
 * files distroless images keep in var/lib/dpkg/status.d/ instead.
 */
import type { Package } from '../types.js';
import type { Analyzer } from './analyzer.js';

const statusPath = 'var/lib/dpkg/status';
const statusDir = 'var/lib/dpkg/status.d/';

/**
 * Splits a control file into stanzas of field → value. Only the first line of a field is
 * kept: the fields read here (Package, Version, Source, Status, Architecture) are one line.
 */
export function parseControl(text: string): Map<string, string>[] {
  const stanzas: Map<string, string>[] = [];
  let current: Map<string, string> | null = null;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    let line = text.slice(start, end);
    start = end + 1;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line.trim() === '') {
      if (current) stanzas.push(current);
      current = null;
      continue;
    }
    // Continuation lines (multi-line Description, Conffiles) and comments carry nothing read here.
    const first = line.charCodeAt(0);
    if (first === 32 || first === 9 || first === 35) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    current ??= new Map();
    current.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  if (current) stanzas.push(current);
  return stanzas;
}

/**
 * Is the package on the system? `Status: <want> <flag> <state>`: a package selected for
 * deinstall or purge, or whose files are gone (not-installed, config-files), is not. A stanza
 * without Status (distroless status.d) is installed.
 */
export function isInstalled(status: string | undefined): boolean {
  if (status === undefined) return true;
  const [want, , state] = status.split(/\s+/);
  if (want === 'deinstall' || want === 'purge') return false;
  return state !== 'not-installed' && state !== 'config-files';
}

/** `Source: name` or `Source: name (version)`. */
export function parseSource(source: string): { name: string; version?: string } {
  const m = /^(\S+)(?:\s+\((.+)\))?$/.exec(source.trim());
  if (!m) return { name: source.trim() };
  return m[2] ? { name: m[1], version: m[2].trim() } : { name: m[1] };
}

export function dpkgPackages(text: string, path: string, layer: number): Package[] {
  const packages: Package[] = [];
  for (const stanza of parseControl(text)) {
    const name = stanza.get('Package');
    const version = stanza.get('Version');
    if (!name || !version || !isInstalled(stanza.get('Status'))) continue;
    const source = stanza.get('Source');
    const parsed = source ? parseSource(source) : { name };
    const arch = stanza.get('Architecture');
    packages.push({
      // The OS found after the walk turns this into Debian:12, Ubuntu:22.04:LTS, … (inventory/index.ts).
      ecosystem: 'Debian',
      name,
      version,
      sourceName: parsed.name,
      sourceVersion: parsed.version ?? version,
      purl: '',
      ...(arch && { arch }),
      path,
      layer,
    });
  }
  return packages;
}

export const dpkgAnalyzer: Analyzer = {
  name: 'dpkg',
  version: 1,
  maxBytes: 64 * 1024 * 1024,
  wants: (path) => path === statusPath || (path.startsWith(statusDir) && !path.endsWith('.md5sums')),
  analyze({ path, layer, bytes }) {
    return { packages: dpkgPackages(bytes.toString('utf8'), path, layer) };
  },
};
