/**
 * Which operating system an image is built on (etc/os-release and its fallbacks), and the
 * OSV ecosystem name its OS packages are matched in.
 */
import type { OsInfo } from '../types.js';
import type { Analyzer } from './analyzer.js';

/** The files read, most trusted first: os-release wins over the distribution's own release file. */
export const osReleasePaths = ['etc/os-release', 'usr/lib/os-release', 'etc/alpine-release', 'etc/debian_version'] as const;

/** Parses os-release's KEY=value lines (values optionally quoted, with shell escapes). */
export function parseOsRelease(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    let value = line.slice(eq + 1).trim();
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.endsWith(quote) && value.length >= 2) {
      value = value.slice(1, -1);
      if (quote === '"') value = value.replace(/\\(["\\$`])/g, '$1');
    }
    fields.set(line.slice(0, eq), value);
  }
  return fields;
}

function fromOsRelease(text: string): OsInfo | undefined {
  const fields = parseOsRelease(text);
  const id = fields.get('ID');
  if (!id) return undefined;
  return { family: id.toLowerCase(), version: fields.get('VERSION_ID') ?? '', name: fields.get('PRETTY_NAME') ?? null };
}

export const osReleaseAnalyzer: Analyzer = {
  name: 'os-release',
  version: 1,
  maxBytes: 64 * 1024,
  wants: (path) => (osReleasePaths as readonly string[]).includes(path),
  analyze({ path, bytes }) {
    const text = bytes.toString('utf8');
    if (path === 'etc/alpine-release') return { os: { family: 'alpine', version: text.trim(), name: null } };
    if (path === 'etc/debian_version') return { os: { family: 'debian', version: text.trim(), name: null } };
    const os = fromOsRelease(text);
    return os ? { os } : { notes: [`${path} names no operating system (no ID=)`] };
  },
};

/**
 * The image's OS from what the os-release analyzer found at each path that survived the
 * merge: the first of `osReleasePaths` present, with a Debian version taken from
 * debian_version when os-release has none (testing and sid).
 */
export function pickOs(found: Map<string, OsInfo>): OsInfo | null {
  for (const path of osReleasePaths) {
    const os = found.get(path);
    if (!os) continue;
    if (os.family === 'debian' && os.version === '') {
      const debianVersion = found.get('etc/debian_version');
      if (debianVersion) return { ...os, version: debianVersion.version };
    }
    return os;
  }
  return null;
}

/** OS families whose packages Berth lists but OSV has no advisories for. */
export const unmatchedOsNames: Record<string, string> = { fedora: 'Fedora', centos: 'CentOS', amzn: 'Amazon Linux', ol: 'Oracle Linux' };

function majorOf(version: string): string | null {
  const m = /^(\d+)/.exec(version);
  return m ? m[1] : null;
}

/** Strips a leading marketing word from PRETTY_NAME, as OSV's SUSE ecosystems name releases. */
function suseRelease(os: OsInfo, prefix: string): string | null {
  const name = os.name ?? '';
  return name.startsWith(prefix) ? name.slice(prefix.length) : name || null;
}

/**
 * OSV's ecosystem for the OS packages of this OS (ossf/osv-schema ecosystems.json):
 * `Debian:12`, `Ubuntu:22.04:LTS`, `Alpine:v3.19`, `Rocky Linux:9`, `AlmaLinux:9`,
 * `Red Hat:enterprise_linux:9` (OSV's records carry the CPE's repository too, e.g.
 * `Red Hat:enterprise_linux:9::appstream`: match on this prefix), `openSUSE:Leap 15.5`,
 * `SUSE:Linux Enterprise Server 15 SP5`, `Photon OS:5.0`, `Mageia:9`, `Wolfi`,
 * `Chainguard`. Null when OSV has no ecosystem for it; then the packages keep the bare
 * family name their analyzer gave.
 */
export function osvEcosystem(os: OsInfo): string | null {
  const version = os.version;
  switch (os.family) {
    case 'debian': {
      const major = majorOf(version);
      return major ? `Debian:${major}` : 'Debian';
    }
    case 'ubuntu': {
      const m = /^(\d\d)\.(\d\d)/.exec(version);
      if (!m) return 'Ubuntu';
      // LTS releases are the April releases of even years.
      const lts = m[2] === '04' && Number(m[1]) % 2 === 0;
      return `Ubuntu:${m[1]}.${m[2]}${lts ? ':LTS' : ''}`;
    }
    case 'alpine': {
      const m = /^(\d+)\.(\d+)/.exec(version);
      return m ? `Alpine:v${m[1]}.${m[2]}` : 'Alpine';
    }
    case 'rhel': {
      const major = majorOf(version);
      return major ? `Red Hat:enterprise_linux:${major}` : 'Red Hat';
    }
    case 'rocky': {
      const major = majorOf(version);
      return major ? `Rocky Linux:${major}` : 'Rocky Linux';
    }
    case 'almalinux': {
      const major = majorOf(version);
      return major ? `AlmaLinux:${major}` : 'AlmaLinux';
    }
    case 'opensuse-leap':
    case 'opensuse-tumbleweed':
    case 'opensuse': {
      const release = suseRelease(os, 'openSUSE ');
      return release ? `openSUSE:${release}` : 'openSUSE';
    }
    case 'sles':
    case 'sle-micro': {
      const release = suseRelease(os, 'SUSE ');
      return release ? `SUSE:${release}` : 'SUSE';
    }
    case 'photon':
      return version ? `Photon OS:${version}` : 'Photon OS';
    case 'mageia': {
      const major = majorOf(version);
      return major ? `Mageia:${major}` : 'Mageia';
    }
    // OSV publishes nothing for these; a name of their own keeps RHEL's records off their packages.
    case 'fedora':
    case 'centos':
    case 'amzn':
    case 'ol': {
      const major = majorOf(version);
      const name = unmatchedOsNames[os.family];
      return major ? `${name}:${major}` : name;
    }
    case 'wolfi':
      return 'Wolfi';
    case 'chainguard':
      return 'Chainguard';
    default:
      return null;
  }
}
