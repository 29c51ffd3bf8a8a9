import semver from 'semver';

/**
 * SemVer 2.0 order, for npm, crates.io, Go (a leading "v" is dropped; pseudo-versions are
 * pre-releases) and OSV SEMVER ranges. Versions semver cannot read ("1.2", "1.0.0.1") are
 * coerced: their numbers compared, their tail as a pre-release-like string after that.
 */
export function parseSemver(version: string): semver.SemVer | null {
  const v = version.trim().replace(/^v/, '');
  return semver.parse(v, { loose: true }) ?? coerce(v);
}

function coerce(v: string): semver.SemVer | null {
  const coerced = semver.coerce(v, { includePrerelease: true });
  return coerced;
}

export function compareSemver(a: semver.SemVer, b: semver.SemVer): number {
  return a.compare(b);
}
