import { compileDoublestar } from '../../lib/doublestar.js';
import type { ReplicationFilter, SourceArtifact } from '../types.js';

/*
 * Harbor's replication filters (src/pkg/reg/filter): a name filter on the repository
 * (doublestar), a tag filter that keeps only the tags it matches (or, with `excludes`, the
 * tags it does not; an untagged artifact is matched as the empty string), a label filter
 * (the artifact has every label named; `excludes` keeps the others) and a resource filter
 * (image or artifact). An empty pattern matches everything, as in Harbor. Accessories are
 * matched by their subject's tags and keep their own.
 */

/**
 * A doublestar pattern as Harbor's doublestar.Match reads it (a run of stars matches the empty
 * tag of an untagged artifact); throws on a pattern that does not compile.
 */
export function patternTest(pattern: string): (value: string) => boolean {
  if (pattern === '') return () => true;
  return compileDoublestar(pattern);
}

function stringValue(filter: ReplicationFilter): string {
  return Array.isArray(filter.value) ? filter.value.join(',') : String(filter.value ?? '');
}

function labelValues(filter: ReplicationFilter): string[] {
  const values = Array.isArray(filter.value) ? filter.value : String(filter.value ?? '').split(',');
  return values.map((v) => String(v).trim()).filter((v) => v !== '');
}

/**
 * Why a filter cannot be used, or null. Policies check their filters with it before saving;
 * the engine trusts them afterwards.
 */
export function filterProblem(filter: unknown): string | null {
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) return 'a filter must be an object with type and value';
  const f = filter as Record<string, unknown>;
  const { type, value, decoration } = f;
  if (type !== 'name' && type !== 'tag' && type !== 'label' && type !== 'resource') {
    return `filter type ${JSON.stringify(type ?? null)} is not one of name, tag, label, resource`;
  }
  if (decoration !== undefined && decoration !== '' && decoration !== 'matches' && decoration !== 'excludes') {
    return `the decoration of the ${type} filter must be "matches" or "excludes", not ${JSON.stringify(decoration)}`;
  }
  if (type === 'label') {
    if (!(typeof value === 'string' || (Array.isArray(value) && value.every((v) => typeof v === 'string')))) {
      return 'the label filter takes a label name or a list of label names';
    }
    return null;
  }
  if (typeof value !== 'string') return `the ${type} filter takes a string, not ${JSON.stringify(value ?? null)}`;
  if (type === 'resource') {
    return value === 'image' || value === 'artifact' || value === ''
      ? null
      : `the resource filter is "image" or "artifact", not "${value}"`;
  }
  if (type === 'name' && decoration === 'excludes') return 'the name filter has no "excludes" decoration in Harbor';
  try {
    patternTest(value);
  } catch (err) {
    return `the ${type} filter "${value}" is not a valid doublestar pattern: ${(err as Error).message}`;
  }
  return null;
}

/** The repository name filter alone (what a source can use to list less). */
export function repositoryMatches(filters: ReplicationFilter[], repository: string): boolean {
  return filters.filter((f) => f.type === 'name').every((f) => patternTest(stringValue(f))(repository));
}

/** The name filter's pattern, for ListOptions.repositoryPattern (only when there is exactly one). */
export function repositoryPattern(filters: ReplicationFilter[]): string | undefined {
  const names = filters.filter((f) => f.type === 'name').map(stringValue);
  return names.length === 1 && names[0] !== '' ? names[0] : undefined;
}

/**
 * The artifact filters (tag, label, resource) as one function: the artifact to replicate,
 * with only the tags to replicate, or null when it is filtered out. Name filters are not
 * applied here (see repositoryMatches).
 */
export function artifactFilter(filters: ReplicationFilter[]): (artifact: SourceArtifact) => SourceArtifact | null {
  const steps = filters.map((filter): ((a: SourceArtifact) => SourceArtifact | null) => {
    const excludes = filter.decoration === 'excludes';
    switch (filter.type) {
      case 'tag': {
        const pattern = stringValue(filter);
        if (pattern === '') return (a) => a;
        const test = patternTest(pattern);
        return (a) => {
          const matching = a.accessoryOf !== undefined ? (a.parentTags ?? []) : a.tags;
          if (matching.length === 0) return test('') !== excludes ? a : null;
          const kept = matching.filter((tag) => test(tag) !== excludes);
          if (kept.length === 0) return null;
          // An accessory replicates with its own tags; an artifact with the matched ones only.
          return a.accessoryOf !== undefined ? a : { ...a, tags: kept };
        };
      }
      case 'label': {
        const wanted = labelValues(filter);
        if (wanted.length === 0) return (a) => a;
        return (a) => {
          const has = new Set(a.labels);
          const all = wanted.every((l) => has.has(l));
          return all !== excludes ? a : null;
        };
      }
      case 'resource': {
        const kind = stringValue(filter);
        // Harbor 2 calls every artifact an "artifact"; "image" keeps images (and indexes of them).
        if (kind === '' || kind === 'artifact') return (a) => a;
        return (a) => (a.resourceType === kind ? a : null);
      }
      default:
        return (a) => a;
    }
  });
  return (artifact) => {
    let current: SourceArtifact | null = artifact;
    for (const step of steps) {
      if (!current) return null;
      current = step(current);
    }
    return current;
  };
}

/** Name and artifact filters over a whole listing. */
export function applyFilters(filters: ReplicationFilter[], artifacts: SourceArtifact[]): SourceArtifact[] {
  const keep = artifactFilter(filters);
  const out: SourceArtifact[] = [];
  for (const a of artifacts) {
    if (!repositoryMatches(filters, a.repository)) continue;
    const kept = keep(a);
    if (kept) out.push(kept);
  }
  return out;
}
