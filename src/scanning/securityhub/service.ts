import type { Paging } from '../../lib/paging.js';
import type { QueryTerm } from '../../lib/query.js';
import type { SecurityHubStore } from './store.js';

/** Harbor's SecuritySummary. */
export interface SecuritySummary {
  critical_cnt: number;
  high_cnt: number;
  medium_cnt: number;
  low_cnt: number;
  none_cnt: number;
  unknown_cnt: number;
  fixable_cnt: number;
  total_vuls: number;
  total_artifact: number;
  scanned_cnt: number;
  dangerous_cves?: Array<{ cve_id: string; severity: string; cvss_score_v3: number; desc: string; package: string; version: string }>;
  dangerous_artifacts?: Array<{
    project_id: number;
    repository_name: string;
    digest: string;
    critical_cnt: number;
    high_cnt: number;
    medium_cnt: number;
  }>;
}

/** Harbor's VulnerabilityItem. */
export interface VulnerabilityItem {
  project_id: number;
  repository_name: string;
  digest: string;
  tags?: string[];
  cve_id: string;
  severity: string;
  status: string;
  cvss_v3_score: number;
  package: string;
  version: string;
  fixed_version: string;
  desc: string;
  links: string[];
}

/** The security hub (/security/summary, /security/vul): the default scanner's findings over the whole registry. */
export class SecurityHubService {
  constructor(
    private readonly store: SecurityHubStore,
    /** The uuid of the default scanner registration; null when there is none. */
    private readonly defaultRegistration: () => Promise<string | null>,
  ) {}

  async summary(options: { withCves: boolean; withArtifacts: boolean }): Promise<SecuritySummary> {
    const registration = await this.defaultRegistration();
    const totalArtifacts = await this.store.totalArtifacts();
    const zero = { critical: 0, high: 0, medium: 0, low: 0, none: 0, unknown: 0, fixable: 0 };
    const counts = registration ? await this.store.counts(registration) : zero;
    const summary: SecuritySummary = {
      critical_cnt: counts.critical,
      high_cnt: counts.high,
      medium_cnt: counts.medium,
      low_cnt: counts.low,
      none_cnt: counts.none,
      unknown_cnt: counts.unknown,
      fixable_cnt: counts.fixable,
      total_vuls: counts.critical + counts.high + counts.medium + counts.low + counts.none + counts.unknown,
      total_artifact: totalArtifacts,
      scanned_cnt: registration ? await this.store.scannedArtifacts(registration) : 0,
    };
    if (options.withCves && registration) {
      summary.dangerous_cves = (await this.store.dangerousCves(registration)).map((c) => ({
        cve_id: c.cveId,
        severity: c.severity,
        cvss_score_v3: c.score,
        desc: c.description,
        package: c.package,
        version: c.version,
      }));
    }
    if (options.withArtifacts && registration) {
      summary.dangerous_artifacts = (await this.store.dangerousArtifacts(registration)).map((a) => ({
        project_id: a.projectId,
        repository_name: a.repository,
        digest: a.digest,
        critical_cnt: a.critical,
        high_cnt: a.high,
        medium_cnt: a.medium,
      }));
    }
    return summary;
  }

  /** One page of findings and the total (-1 past 1000 with tuneCount). No default scanner: nothing. */
  async vulnerabilities(terms: QueryTerm[], paging: Paging, options: { tuneCount: boolean; withTag: boolean }) {
    const registration = await this.defaultRegistration();
    if (!registration) return { items: [] as VulnerabilityItem[], total: 0 };
    const total = await this.store.count(registration, terms, options.tuneCount);
    const rows = await this.store.list(registration, terms, paging);
    const tags = options.withTag ? await this.store.tagsOf([...new Set(rows.map((r) => r.artifactId))]) : undefined;
    const items = rows.map((r): VulnerabilityItem => ({
      project_id: r.projectId,
      repository_name: r.repository,
      digest: r.digest,
      ...(tags && { tags: tags.get(r.artifactId) ?? [] }),
      cve_id: r.cveId,
      severity: r.severity,
      status: '',
      cvss_v3_score: r.score ?? 0,
      package: r.package,
      version: r.version,
      fixed_version: r.fixedVersion,
      desc: r.description,
      links: r.links,
    }));
    return { items, total };
  }
}
