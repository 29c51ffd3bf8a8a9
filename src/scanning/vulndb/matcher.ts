import type { Db } from '../../db/index.js';
import { maxSeverity, severityRank, type Finding, type Inventory, type Package, type Severity } from '../types.js';
import { evaluate } from './evaluate.js';
import type { StoredAdvisory } from './record.js';
import { rate, type Rated } from './severity.js';
import { VulnDbStore, type AffectedRow, type LookupKeys } from './store.js';
import { ecosystemBase, isSupportedEcosystem, osEcosystems, packageKey, versionOrder } from './versions/index.js';

/** How a package is looked up: OS packages by their source package, at its version. */
interface Lookup {
  pkg: Package;
  base: string;
  key: string;
  version: string;
}

function lookupOf(pkg: Package): Lookup | null {
  const base = ecosystemBase(pkg.ecosystem);
  if (!isSupportedEcosystem(base) || !pkg.name || !pkg.version) return null;
  const os = osEcosystems.has(base);
  const name = os ? pkg.sourceName || pkg.name : pkg.name;
  let version = os ? pkg.sourceVersion || pkg.version : pkg.version;
  if (base === 'Go') version = version.replace(/^v/, '');
  return { pkg, base, key: packageKey(base, name), version };
}

/**
 * Whether a record's ecosystem applies to the package's: the same string (`Debian:12`), the
 * bare ecosystem (a record for every release), or a finer one under the package's release
 * (`Red Hat:enterprise_linux:9::appstream` for `Red Hat:enterprise_linux:9`).
 */
function sameRelease(recordEcosystem: string, packageEcosystem: string, base: string): boolean {
  if (recordEcosystem === packageEcosystem || recordEcosystem === base) return true;
  return packageEcosystem !== base && recordEcosystem.startsWith(`${packageEcosystem}:`);
}

interface Hit {
  id: string;
  advisory: StoredAdvisory;
  fixed: string;
  rated: Rated;
}

const isCve = (id: string) => id.startsWith('CVE-');

/** The id a finding is reported under: the advisory's CVE id (its own or the first CVE alias), else its own id. */
function primaryId(id: string, advisory: StoredAdvisory): string {
  if (isCve(id)) return id;
  return [...advisory.aliases, ...(advisory.upstream ?? [])].filter(isCve).sort()[0] ?? id;
}

/**
 * Matches an inventory against the vulnerability database: one query per batch of packages,
 * each package's ranges evaluated with its ecosystem's version order, advisories that are
 * aliases of each other reported once (under the CVE id when there is one).
 */
export class VulnMatcher {
  private readonly store: VulnDbStore;

  constructor(db: Db | VulnDbStore) {
    this.store = db instanceof VulnDbStore ? db : new VulnDbStore(db);
  }

  /** The newest `modified` among imported records (RFC3339); null before the first import. */
  updatedAt(): Promise<string | null> {
    return this.store.newestModified();
  }

  async match(inventory: Inventory): Promise<Finding[]> {
    const lookups = inventory.packages.map(lookupOf).filter((l): l is Lookup => l !== null);
    const keys = new Map<string, LookupKeys>();
    for (const l of lookups) {
      let k = keys.get(l.base);
      if (!k) keys.set(l.base, (k = { names: new Set(), releases: new Set() }));
      k.names.add(l.key);
      k.releases.add(l.pkg.ecosystem);
    }
    const byKey = new Map<string, AffectedRow[]>();
    for (const row of await this.store.lookup(keys)) {
      const k = `${row.ecosystem}\0${row.package}`;
      let list = byKey.get(k);
      if (!list) byKey.set(k, (list = []));
      list.push(row);
    }
    // Ranges first; records are read only for the rows that hold the installed version.
    const affected: Array<{ l: Lookup; rows: Array<{ row: AffectedRow; fixed: string }> }> = [];
    const seen = new Set<string>();
    for (const l of lookups) {
      const candidates = byKey.get(`${l.base}\0${l.key}`);
      if (!candidates) continue;
      const once = `${l.pkg.ecosystem}\0${l.pkg.name}\0${l.pkg.version}\0${l.key}`;
      if (seen.has(once)) continue;
      seen.add(once);
      const rows: Array<{ row: AffectedRow; fixed: string }> = [];
      for (const row of candidates) {
        if (!sameRelease(row.ecosystemFull, l.pkg.ecosystem, l.base)) continue;
        const verdict = evaluate(l.base, l.version, row.affected);
        if (verdict.affected) rows.push({ row, fixed: verdict.fixed });
      }
      if (rows.length > 0) affected.push({ l, rows });
    }
    if (affected.length === 0) return [];
    const advisories = await this.store.advisories(affected.flatMap((a) => a.rows.map((r) => r.row.advisoryId)));
    const findings: Finding[] = [];
    for (const { l, rows } of affected) {
      const hits = new Map<string, Hit>();
      for (const { row, fixed } of rows) {
        const advisory = advisories.get(row.advisoryId);
        if (!advisory) continue;
        const rated = rate(
          [...(row.affected.severity ?? []), ...(advisory.severity ?? [])],
          [...(row.affected.words ?? []), ...(advisory.words ?? [])],
        );
        const previous = hits.get(row.advisoryId);
        if (!previous) {
          hits.set(row.advisoryId, { id: row.advisoryId, advisory, fixed, rated });
        } else {
          previous.fixed = lowerFix(l.base, previous.fixed, fixed);
          if (severityRank(rated.severity) > severityRank(previous.rated.severity)) previous.rated = rated;
        }
      }
      findings.push(...mergeAliases(l, [...hits.values()]));
    }
    return findings;
  }
}

function lowerFix(base: string, a: string, b: string): string {
  if (a === '') return b;
  if (b === '') return a;
  const order = versionOrder(base, 'ECOSYSTEM') ?? versionOrder(base, 'SEMVER')!;
  return (order(b, a) ?? 0) < 0 ? b : a;
}

/** Groups one package's hits that are aliases of each other, and makes one finding of each group. */
function mergeAliases(l: Lookup, hits: Hit[]): Finding[] {
  if (hits.length === 0) return [];
  // Union-find over every id and alias; a group that would join two different CVEs is split by CVE.
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let p = parent.get(x) ?? x;
    if (p !== x) {
      p = find(p);
      parent.set(x, p);
    }
    return p;
  };
  const union = (a: string, b: string) => parent.set(find(a), find(b));
  for (const h of hits) for (const alias of [...h.advisory.aliases, ...(h.advisory.upstream ?? [])]) union(h.id, alias);
  const groups = new Map<string, Hit[]>();
  for (const h of hits) {
    const root = find(h.id);
    const list = groups.get(root) ?? [];
    list.push(h);
    groups.set(root, list);
  }
  const findings: Finding[] = [];
  for (const group of groups.values()) {
    const cves = new Set(group.map((h) => primaryId(h.id, h.advisory)).filter(isCve));
    if (cves.size <= 1) findings.push(findingOf(l, group));
    else {
      const byCve = new Map<string, Hit[]>();
      for (const h of group) {
        const id = primaryId(h.id, h.advisory);
        byCve.set(id, [...(byCve.get(id) ?? []), h]);
      }
      for (const part of byCve.values()) findings.push(findingOf(l, part));
    }
  }
  return findings.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

function findingOf(l: Lookup, group: Hit[]): Finding {
  const ids = group.map((h) => primaryId(h.id, h.advisory));
  const id = ids.find(isCve) ?? group.map((h) => h.id).sort()[0];
  // The record named by the CVE id first, for its description.
  const ordered = [...group].sort((a, b) => Number(b.id === id) - Number(a.id === id));
  let severity: Severity = 'Unknown';
  let best = ordered[0].rated;
  let fix = '';
  const links: string[] = [];
  const cwe = new Set<string>();
  for (const h of ordered) {
    severity = maxSeverity(severity, h.rated.severity);
    if (
      severityRank(h.rated.severity) > severityRank(best.severity) ||
      (best.cvss.V3Score === undefined && h.rated.cvss.V3Score !== undefined)
    ) {
      best = h.rated;
    }
    fix = lowerFix(l.base, fix, h.fixed);
    for (const url of h.advisory.refs ?? []) if (!links.includes(url)) links.push(url);
    for (const c of h.advisory.cwe ?? []) cwe.add(c);
  }
  if (links.length === 0) links.push(`https://osv.dev/vulnerability/${encodeURIComponent(ordered[0].id)}`);
  const description = ordered.map((h) => h.advisory.details ?? h.advisory.summary).find((d) => d !== undefined) ?? '';
  const { cvss } = best;
  const preferred = {
    ...(cvss.V3Score !== undefined && { score_v3: cvss.V3Score, vector_v3: cvss.V3Vector }),
    ...(cvss.V2Score !== undefined && { score_v2: cvss.V2Score, vector_v2: cvss.V2Vector }),
  };
  return {
    id,
    package: l.pkg.name,
    version: l.pkg.version,
    fix_version: fix,
    severity,
    description,
    links: links.slice(0, 20),
    ...(Object.keys(preferred).length > 0 && { preferred_cvss: preferred }),
    ...(cwe.size > 0 && { cwe_ids: [...cwe].sort() }),
    vendor_attributes: {
      advisories: group.map((h) => h.id).sort(),
      ecosystem: l.pkg.ecosystem,
      purl: l.pkg.purl,
      ...(Object.keys(cvss).length > 0 && { CVSS: { osv: cvss } }),
    },
  };
}
