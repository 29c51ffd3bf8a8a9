import { ecosystemBase, isSupportedEcosystem, packageKey } from './versions/index.js';
import type { OsvSeverity } from './severity.js';

/** What is kept of an OSV record for reports (vuln_advisories.data). */
export interface StoredAdvisory {
  aliases: string[];
  /** OSV `upstream`: the vulnerabilities this record derives from (Debian, Ubuntu and Alpine records name the CVE here). */
  upstream?: string[];
  summary?: string;
  details?: string;
  /** CVSS vectors and Ubuntu priorities (OSV `severity`). */
  severity?: OsvSeverity[];
  /** The advisory's own severity words (GHSA database_specific.severity). */
  words?: string[];
  cwe?: string[];
  refs?: string[];
}

export interface StoredRange {
  type: string;
  events: Array<{ introduced?: string; fixed?: string; last_affected?: string; limit?: string }>;
}

/** What is kept of one affected entry for matching (vuln_affected.data). */
export interface StoredAffected {
  ranges?: StoredRange[];
  versions?: string[];
  severity?: OsvSeverity[];
  words?: string[];
}

export interface AffectedRow {
  ecosystem: string;
  package: string;
  ecosystemFull: string;
  data: StoredAffected;
}

export interface ParsedRecord {
  id: string;
  modified: string;
  withdrawn: boolean;
  advisory: StoredAdvisory;
  /** The affected packages of supported ecosystems; none means the record concerns nothing Berth matches. */
  affected: AffectedRow[];
}

export class InvalidRecordError extends Error {}

const maxDetails = 2000;
const maxReferences = 20;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x !== '') : []);

function severities(v: unknown): OsvSeverity[] {
  if (!Array.isArray(v)) return [];
  return v
    .filter((s): s is OsvSeverity => isObject(s) && typeof s.type === 'string' && typeof s.score === 'string')
    .map(({ type, score }) => ({ type, score }));
}

function trim(text: unknown, max: number): string | undefined {
  if (typeof text !== 'string' || text.trim() === '') return undefined;
  const t = text.trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

function words(...values: unknown[]): string[] {
  return values.filter((v): v is string => typeof v === 'string' && v !== '');
}

const eventKeys = ['introduced', 'fixed', 'last_affected', 'limit'] as const;

function ranges(v: unknown): StoredRange[] {
  if (!Array.isArray(v)) return [];
  const out: StoredRange[] = [];
  for (const r of v) {
    // GIT ranges name commits, which cannot be compared with installed versions: versions[] stands for them.
    if (!isObject(r) || (r.type !== 'ECOSYSTEM' && r.type !== 'SEMVER') || !Array.isArray(r.events)) continue;
    const events: StoredRange['events'] = [];
    for (const e of r.events) {
      if (!isObject(e)) continue;
      const key = eventKeys.find((k) => typeof e[k] === 'string');
      if (key) events.push({ [key]: e[key] as string });
    }
    if (events.length > 0) out.push({ type: r.type, events });
  }
  return out;
}

/** Reads one OSV record (parsed JSON); throws InvalidRecordError when it is not one. */
export function parseRecord(json: unknown): ParsedRecord {
  if (!isObject(json)) throw new InvalidRecordError('not a JSON object');
  const { id, modified } = json;
  if (typeof id !== 'string' || id === '' || id.length > 255) throw new InvalidRecordError('no id');
  if (typeof modified !== 'string' || modified === '' || modified.length > 40) throw new InvalidRecordError(`${id}: no modified time`);
  if (json.affected !== undefined && !Array.isArray(json.affected)) throw new InvalidRecordError(`${id}: affected is not a list`);
  const dbSpecific = isObject(json.database_specific) ? json.database_specific : {};
  const severity = severities(json.severity);
  const advisory: StoredAdvisory = {
    aliases: strings(json.aliases).filter((a) => a !== id),
    ...(trim(json.summary, 500) && { summary: trim(json.summary, 500) }),
    ...(trim(json.details, maxDetails) && { details: trim(json.details, maxDetails) }),
    ...(severity.length > 0 && { severity }),
  };
  const upstream = strings(json.upstream).filter((a) => a !== id);
  if (upstream.length > 0) advisory.upstream = upstream;
  const recordWords = words(dbSpecific.severity);
  if (recordWords.length > 0) advisory.words = recordWords;
  const cwe = strings(dbSpecific.cwe_ids);
  if (cwe.length > 0) advisory.cwe = cwe;
  const refs = Array.isArray(json.references)
    ? [
        ...new Set(
          json.references
            .filter(isObject)
            .map((r) => r.url)
            .filter((u): u is string => typeof u === 'string'),
        ),
      ].slice(0, maxReferences)
    : [];
  if (refs.length > 0) advisory.refs = refs;

  const affected: AffectedRow[] = [];
  for (const a of (json.affected as unknown[] | undefined) ?? []) {
    if (!isObject(a) || !isObject(a.package)) continue;
    const ecosystemFull = a.package.ecosystem;
    const name = a.package.name;
    if (typeof ecosystemFull !== 'string' || typeof name !== 'string' || name === '' || name.length > 512) continue;
    const base = ecosystemBase(ecosystemFull);
    if (!isSupportedEcosystem(base)) continue;
    const data: StoredAffected = {};
    const r = ranges(a.ranges);
    if (r.length > 0) data.ranges = r;
    const versions = strings(a.versions);
    if (versions.length > 0) data.versions = versions;
    if (!data.ranges && !data.versions) continue;
    const s = severities(a.severity);
    if (s.length > 0) data.severity = s;
    const es = isObject(a.ecosystem_specific) ? a.ecosystem_specific : {};
    const ds = isObject(a.database_specific) ? a.database_specific : {};
    const w = words(ds.severity, es.severity, es.urgency);
    if (w.length > 0) data.words = w;
    affected.push({ ecosystem: base, package: packageKey(base, name), ecosystemFull, data });
  }
  return { id, modified, withdrawn: typeof json.withdrawn === 'string' && json.withdrawn !== '', advisory, affected };
}
