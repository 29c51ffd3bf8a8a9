import { sql, type Kysely, type SelectQueryBuilder } from 'kysely';
import type { DialectName } from '../../db/dialect.js';
import type { Database } from '../../db/types.js';
import { apiError } from '../../lib/errors.js';
import type { Paging } from '../../lib/paging.js';
import type { QueryTerm } from '../../lib/query.js';
import { reportMimeTypes, severities, type Severity } from '../types.js';

const vulnerabilityMimes = [reportMimeTypes.vulnerability, reportMimeTypes.vulnerabilityLegacy];

export interface SeverityCounts {
  critical: number;
  high: number;
  medium: number;
  low: number;
  none: number;
  unknown: number;
  fixable: number;
}

export interface DangerousCve {
  cveId: string;
  package: string;
  version: string;
  severity: Severity;
  score: number;
  description: string;
}

export interface DangerousArtifact {
  projectId: number;
  repository: string;
  digest: string;
  critical: number;
  high: number;
  medium: number;
}

export interface VulnerabilityRow {
  id: number;
  artifactId: number;
  projectId: number;
  repository: string;
  digest: string;
  cveId: string;
  severity: string;
  score: number | null;
  package: string;
  version: string;
  fixedVersion: string;
  description: string;
  links: string[];
}

/** The `q` keys of /security/vul (Harbor's securityhub filterMap), with their kind. */
const filterKinds: Record<string, 'string' | 'integer' | 'range'> = {
  cve_id: 'string',
  severity: 'string',
  status: 'string',
  cvss_score_v3: 'range',
  project_id: 'integer',
  repository_name: 'string',
  package: 'string',
  tag: 'string',
  digest: 'string',
};

const n = (value: unknown) => Number(value ?? 0);

type VulnQuery = SelectQueryBuilder<
  Database & { v: Database['scan_vulnerabilities']; a: Database['artifacts']; r: Database['repositories'] },
  'v' | 'a' | 'r',
  object
>;

/**
 * The security hub's queries over scan findings (scan_vulnerabilities, one row per finding of
 * a successful vulnerability report) joined to the artifacts that have the scanned digest, for
 * one scanner registration (the default, as in Harbor).
 */
export class SecurityHubStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: DialectName,
  ) {}

  private findings(registration: string) {
    return this.db
      .selectFrom('scan_vulnerabilities as v')
      .innerJoin('artifacts as a', 'a.digest', 'v.digest')
      .innerJoin('repositories as r', 'r.id', 'a.repository_id')
      .where('v.registration_uuid', '=', registration);
  }

  /** Findings per severity over every artifact (an artifact in two repositories counts twice, as in Harbor). */
  async counts(registration: string): Promise<SeverityCounts> {
    const rows = await this.findings(registration)
      .select((eb) => [
        'v.severity',
        eb.fn.countAll<number>().as('n'),
        eb.fn.sum<number>(sql`case when v.fixed_version <> '' then 1 else 0 end`).as('fixable'),
      ])
      .groupBy('v.severity')
      .execute();
    const counts: SeverityCounts = { critical: 0, high: 0, medium: 0, low: 0, none: 0, unknown: 0, fixable: 0 };
    for (const row of rows) {
      const key =
        ({ Critical: 'critical', High: 'high', Medium: 'medium', Low: 'low', Negligible: 'none', None: 'none' } as const)[
          row.severity as 'Critical'
        ] ?? 'unknown';
      counts[key] += n(row.n);
      counts.fixable += n(row.fixable);
    }
    return counts;
  }

  async totalArtifacts(): Promise<number> {
    const row = await this.db
      .selectFrom('artifacts')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return n(row.n);
  }

  /** Artifacts with a vulnerability report of the scanner (any status). */
  async scannedArtifacts(registration: string): Promise<number> {
    const row = await this.db
      .selectFrom('artifacts as a')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where((eb) =>
        eb.exists(
          eb
            .selectFrom('scan_reports as s')
            .select(sql`1`.as('one'))
            .whereRef('s.digest', '=', 'a.digest')
            .where('s.registration_uuid', '=', registration)
            .where('s.mime_type', 'in', vulnerabilityMimes),
        ),
      )
      .executeTakeFirstOrThrow();
    return n(row.n);
  }

  /** The five findings with the highest CVSS v3 score (then severity), one per CVE, package and version. */
  async dangerousCves(registration: string): Promise<DangerousCve[]> {
    // The highest-scored rows come straight from the score index; grouping every finding is only
    // needed when that window is not enough to be sure of the five (many rows sharing a score).
    const window = 500;
    const top = await this.findings(registration)
      .select(['v.cve_id', 'v.package', 'v.version', 'v.cvss_score_v3', 'v.severity_rank', 'v.description'])
      .where('v.cvss_score_v3', 'is not', null)
      .orderBy(this.scoreDescending())
      .orderBy('v.id', 'desc')
      .limit(window)
      .execute();
    const byKey = new Map<string, { cveId: string; package: string; version: string; score: number; rank: number; description: string }>();
    for (const r of top) {
      const key = JSON.stringify([r.cve_id, r.package, r.version]);
      const seen = byKey.get(key);
      if (seen) seen.rank = Math.max(seen.rank, n(r.severity_rank));
      else {
        byKey.set(key, {
          cveId: r.cve_id,
          package: r.package,
          version: r.version,
          score: n(r.cvss_score_v3),
          rank: n(r.severity_rank),
          description: r.description ?? '',
        });
      }
    }
    let ranked = [...byKey.values()].sort(
      (a, b) => b.score - a.score || b.rank - a.rank || (a.cveId < b.cveId ? -1 : a.cveId > b.cveId ? 1 : 0),
    );
    const complete = top.length < window || (ranked.length >= 5 && n(top[top.length - 1].cvss_score_v3) < ranked[4].score);
    if (!complete) ranked = await this.dangerousCvesGrouped(registration);
    return ranked.slice(0, 5).map((r) => ({
      cveId: r.cveId,
      package: r.package,
      version: r.version,
      severity: severities[r.rank] ?? 'Unknown',
      score: r.score,
      description: r.description,
    }));
  }

  /** Every scored finding grouped by CVE, package and version: the exact answer, at the cost of reading them all. */
  private async dangerousCvesGrouped(registration: string) {
    const rows = await this.findings(registration)
      .select((eb) => [
        'v.cve_id',
        'v.package',
        'v.version',
        eb.fn.max('v.cvss_score_v3').as('score'),
        eb.fn.max('v.severity_rank').as('rank'),
        eb.fn.max('v.description').as('description'),
      ])
      .where('v.cvss_score_v3', 'is not', null)
      .groupBy(['v.cve_id', 'v.package', 'v.version'])
      .orderBy('score', 'desc')
      .orderBy('rank', 'desc')
      .orderBy('v.cve_id')
      .limit(5)
      .execute();
    return rows.map((r) => ({
      cveId: r.cve_id,
      package: r.package,
      version: r.version,
      score: n(r.score),
      rank: n(r.rank),
      description: (r.description as string | null) ?? '',
    }));
  }

  private scoreDescending() {
    return this.dialect === 'postgres' ? sql`v.cvss_score_v3 desc nulls last` : sql`v.cvss_score_v3 desc`;
  }

  /** The five artifacts with the most critical, then high, medium and low findings. */
  async dangerousArtifacts(registration: string): Promise<DangerousArtifact[]> {
    const bySeverity = (name: Severity) => sql<number>`sum(case when v.severity = ${name} then 1 else 0 end)`;
    const rows = await this.findings(registration)
      .select([
        'a.id',
        'r.project_id',
        'r.name',
        'a.digest',
        bySeverity('Critical').as('critical'),
        bySeverity('High').as('high'),
        bySeverity('Medium').as('medium'),
        bySeverity('Low').as('low'),
      ])
      .groupBy(['a.id', 'r.project_id', 'r.name', 'a.digest'])
      .having(sql<boolean>`sum(case when v.severity in ('Critical', 'High', 'Medium', 'Low') then 1 else 0 end) > 0`)
      .orderBy('critical', 'desc')
      .orderBy('high', 'desc')
      .orderBy('medium', 'desc')
      .orderBy('low', 'desc')
      .orderBy('a.id')
      .limit(5)
      .execute();
    return rows.map((r) => ({
      projectId: n(r.project_id),
      repository: r.name,
      digest: r.digest,
      critical: n(r.critical),
      high: n(r.high),
      medium: n(r.medium),
    }));
  }

  private filtered(registration: string, terms: QueryTerm[]) {
    let qb = this.findings(registration) as unknown as VulnQuery;
    for (const term of terms) {
      const kind = filterKinds[term.key];
      if (!kind) throw apiError('BAD_REQUEST', `invalid q: keyword ${term.key} is not allowed; use ${Object.keys(filterKinds).join(', ')}`);
      if (kind === 'range') {
        if (term.op !== 'range') throw apiError('BAD_REQUEST', `invalid q: ${term.key} takes a range, such as ${term.key}=[7~10]`);
        const bound = (raw: string | null) => {
          if (raw === null) return null;
          const value = Number(raw);
          if (!Number.isFinite(value)) throw apiError('BAD_REQUEST', `invalid q: ${term.key} bounds must be numbers, not "${raw}"`);
          return value;
        };
        const [min, max] = [bound(term.min), bound(term.max)];
        if (min !== null) qb = qb.where('v.cvss_score_v3', '>=', min);
        if (max !== null) qb = qb.where('v.cvss_score_v3', '<=', max);
        continue;
      }
      if (term.op !== 'exact') throw apiError('BAD_REQUEST', `invalid q: ${term.key} takes one exact value, such as ${term.key}=value`);
      const value = term.value;
      switch (term.key) {
        case 'cve_id':
          qb = qb.where('v.cve_id', '=', value);
          break;
        case 'severity':
          qb = qb.where('v.severity', '=', value);
          break;
        case 'status':
          // Berth's findings carry no status (Harbor's "fixed", "won't fix"): only "" matches.
          if (value !== '') qb = qb.where(sql<boolean>`1 = 0`);
          break;
        case 'project_id': {
          const id = Number(value);
          if (!Number.isSafeInteger(id)) throw apiError('BAD_REQUEST', `invalid q: project_id must be an integer, not "${value}"`);
          qb = qb.where('r.project_id', '=', id);
          break;
        }
        case 'repository_name':
          qb = qb.where('r.name', '=', value);
          break;
        case 'package':
          qb = qb.where('v.package', '=', value);
          break;
        case 'digest':
          qb = qb.where('a.digest', '=', value);
          break;
        case 'tag':
          qb = qb.where('a.id', 'in', this.db.selectFrom('tags').select('artifact_id').where('name', '=', value));
          break;
      }
    }
    return qb;
  }

  /** The total of a filtered list; with `tune`, -1 once it passes 1000 (Harbor's tune_count). */
  async count(registration: string, terms: QueryTerm[], tune: boolean): Promise<number> {
    const filtered = this.filtered(registration, terms).select('v.id');
    const limited = tune ? filtered.limit(1001) : filtered;
    const row = await this.db
      .selectFrom(limited.as('t'))
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    const total = n(row.n);
    return tune && total > 1000 ? -1 : total;
  }

  /** One page, highest CVSS v3 score first (findings without a score last). */
  async list(registration: string, terms: QueryTerm[], paging: Paging): Promise<VulnerabilityRow[]> {
    const rows = await this.filtered(registration, terms)
      .select([
        'v.id',
        'a.id as artifact_id',
        'r.project_id',
        'r.name as repository',
        'a.digest',
        'v.cve_id',
        'v.severity',
        'v.cvss_score_v3',
        'v.package',
        'v.version',
        'v.fixed_version',
        'v.description',
        'v.links',
      ])
      // SQLite sorts NULL lowest, so descending puts unscored findings last as PostgreSQL's NULLS LAST does;
      // both match the (registration_uuid, cvss_score_v3, id) index of migration 015.
      .orderBy(this.scoreDescending())
      .orderBy('v.id', 'desc')
      .orderBy('a.id')
      .limit(paging.pageSize)
      .offset(paging.offset)
      .execute();
    return rows.map((r: any) => ({
      id: n(r.id),
      artifactId: n(r.artifact_id),
      projectId: n(r.project_id),
      repository: r.repository,
      digest: r.digest,
      cveId: r.cve_id,
      severity: r.severity,
      score: r.cvss_score_v3 === null ? null : Number(r.cvss_score_v3),
      package: r.package,
      version: r.version,
      fixedVersion: r.fixed_version,
      description: r.description ?? '',
      links: r.links ? (JSON.parse(r.links) as string[]) : [],
    }));
  }

  /** Up to 10 tags of each artifact, by name. */
  async tagsOf(artifactIds: number[]): Promise<Map<number, string[]>> {
    const out = new Map<number, string[]>();
    if (artifactIds.length === 0) return out;
    const rows = await this.db
      .selectFrom('tags')
      .select(['artifact_id', 'name'])
      .where('artifact_id', 'in', artifactIds)
      .orderBy('name')
      .execute();
    for (const row of rows) {
      const list = out.get(Number(row.artifact_id)) ?? [];
      if (list.length < 10) list.push(row.name);
      out.set(Number(row.artifact_id), list);
    }
    return out;
  }
}
