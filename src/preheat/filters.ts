import { compileDoublestar as compileGlob } from '../lib/doublestar.js';
import type { Candidate, Filter } from './types.js';

/**
 * Compiles a doublestar pattern (`*` within a path segment, `**` across, `?`, `[…]`, `{a,b}`),
 * throwing on the syntax errors Go's doublestar refuses (unclosed brackets or braces, a
 * trailing escape). An empty pattern matches everything, as in Harbor's selector.
 */
export function compileDoublestar(pattern: string): (name: string) => boolean {
  if (pattern === '') return () => true;
  return compileGlob(pattern);
}

/** Harbor's severity codes (vuln.Severity.Code): what the vulnerability filter compares. */
export const severityCodes: Record<string, number> = { None: 0, Unknown: 0, Negligible: 1, Low: 2, Medium: 3, High: 4, Critical: 5 };
/** The code of an artifact without a successful scan: above every threshold, so it never passes. */
export const unscannedSeverity = 99;

/** The project's security settings that add filters (Harbor's overrideSecuritySettings). */
export function projectFilters(metadata: Record<string, string>): Filter[] {
  const out: Filter[] = [];
  if (metadata.enable_content_trust === 'true' || metadata.enable_content_trust_cosign === 'true')
    out.push({ type: 'signature', value: true });
  if (metadata.prevent_vul === 'true' && metadata.severity) {
    const word = metadata.severity.charAt(0).toUpperCase() + metadata.severity.slice(1).toLowerCase();
    out.push({ type: 'vulnerability', value: severityCodes[word] ?? unscannedSeverity });
  }
  return out;
}

/**
 * The candidates every filter keeps (Harbor's preheat filter, policy/filter.go): repository
 * and tag by doublestar pattern (the repository without its project), label (every listed
 * label present), signature (true: signed by cosign or notation), vulnerability (the scanned
 * severity's code below the value; an artifact not scanned successfully never passes).
 */
export function applyFilters(candidates: Candidate[], filters: Filter[]): Candidate[] {
  const tests: Array<(c: Candidate) => boolean> = filters.map((f) => {
    switch (f.type) {
      case 'repository': {
        const match = compileDoublestar(f.value);
        return (c) => match(c.repositoryInProject);
      }
      case 'tag': {
        const match = compileDoublestar(f.value);
        return (c) => match(c.tag);
      }
      case 'label': {
        const wanted = labelList(f.value);
        return (c) => wanted.every((l) => c.labels.includes(l));
      }
      case 'signature':
        return f.value ? (c) => c.signed : () => true;
      case 'vulnerability':
        return (c) => c.severity < f.value;
    }
  });
  return candidates.filter((c) => tests.every((t) => t(c)));
}

/** "a,b" or "{a,b}" (the portal wraps lists in braces) → ["a", "b"]. */
export function labelList(value: string): string[] {
  const inner = value.startsWith('{') && value.endsWith('}') ? value.slice(1, -1) : value;
  return inner
    .split(',')
    .map((l) => l.trim())
    .filter((l) => l !== '');
}
