import { compareApk } from './apk.js';
import { compareDpkg } from './dpkg.js';
import { compareMavenParsed, parseMaven } from './maven.js';
import { comparePep440, validPep440 } from './pep440.js';
import { compareRpm } from './rpm.js';
import { compareSemver, parseSemver } from './semver.js';

/** Compares two versions of one ecosystem; null when either cannot be read in that ecosystem's scheme. */
export type VersionOrder = (a: string, b: string) => number | null;

/** Parsed versions kept per scheme, so that a match does not parse the same range bound again. */
function cached<P>(parse: (v: string) => P | null, compare: (a: P, b: P) => number, max = 50_000): VersionOrder {
  const cache = new Map<string, P | null>();
  const get = (v: string): P | null => {
    let parsed = cache.get(v);
    if (parsed === undefined) {
      try {
        parsed = parse(v);
      } catch {
        parsed = null;
      }
      if (cache.size >= max) cache.clear();
      cache.set(v, parsed);
    }
    return parsed;
  };
  return (a, b) => {
    const x = get(a);
    const y = get(b);
    return x === null || y === null ? null : compare(x, y);
  };
}

const total =
  (compare: (a: string, b: string) => number): VersionOrder =>
  (a, b) =>
    a.trim() === '' || b.trim() === '' ? null : compare(a, b);

export const semverOrder = cached(parseSemver, compareSemver);
const mavenOrder = cached(parseMaven, compareMavenParsed);
const pep440Order = cached((v) => (validPep440(v) ? v : null), comparePep440);
const dpkgOrder = total(compareDpkg);
const apkOrder = total(compareApk);
const rpmOrder = total(compareRpm);

/** The version order of each OSV ecosystem (by its name without release) Berth can match. */
const orders: Record<string, VersionOrder> = {
  Debian: dpkgOrder,
  Ubuntu: dpkgOrder,
  Alpine: apkOrder,
  Wolfi: apkOrder,
  Chainguard: apkOrder,
  'Red Hat': rpmOrder,
  'Rocky Linux': rpmOrder,
  AlmaLinux: rpmOrder,
  SUSE: rpmOrder,
  openSUSE: rpmOrder,
  npm: semverOrder,
  Go: semverOrder,
  'crates.io': semverOrder,
  PyPI: pep440Order,
  Maven: mavenOrder,
};

/** OS ecosystems, whose records name source packages (Debian, Ubuntu) or origins (Alpine). */
export const osEcosystems = new Set([
  'Debian',
  'Ubuntu',
  'Alpine',
  'Wolfi',
  'Chainguard',
  'Red Hat',
  'Rocky Linux',
  'AlmaLinux',
  'SUSE',
  'openSUSE',
]);

export function isSupportedEcosystem(base: string): boolean {
  return base in orders;
}

/** The order for an ecosystem's ECOSYSTEM ranges, or SemVer for SEMVER ranges; null when unknown. */
export function versionOrder(ecosystemBase: string, rangeType: string): VersionOrder | null {
  if (rangeType === 'SEMVER') return semverOrder;
  if (rangeType === 'ECOSYSTEM') return orders[ecosystemBase] ?? null;
  return null;
}

export function ecosystemBase(ecosystem: string): string {
  const colon = ecosystem.indexOf(':');
  return colon < 0 ? ecosystem : ecosystem.slice(0, colon);
}

/** The name a package is stored and looked up under: PyPI names normalised per PEP 503, others as written. */
export function packageKey(ecosystemBase: string, name: string): string {
  return ecosystemBase === 'PyPI' ? name.toLowerCase().replace(/[-_.]+/g, '-') : name;
}
