import { maxSeverity, reportMimeTypes, type Severity } from '../types.js';
import type { RegistrationLookup, ScanRegistration } from './ports.js';
import { mimeTypesOf } from './service.js';
import { finalStatuses, type ReportRow, type ScanStatus, type ScanStore, type VulnerabilitySummary } from './store.js';
import { isIndexMediaType, type ScanTargets } from './targets.js';

/** An artifact as the artifact API lists it, enough to find its reports. */
export interface OverviewItem {
  id: number;
  repositoryId: number;
  projectId: number;
  digest: string;
  mediaType: string;
  type: string;
  accessoryOf: string | null;
  /** For an index: its children's digests (the artifact views have them already). */
  childDigests: string[];
}

export interface OverviewRequest {
  vulnerability: boolean;
  sbom: boolean;
  /** X-Accept-Vulnerabilities: the report MIME types the client takes, in its order. */
  acceptMimeTypes?: string[];
}

export interface ArtifactScanView {
  /** Whether the project's scanner can scan it (the vulnerabilities addition link is offered). */
  scannable: boolean;
  scan_overview?: Record<string, unknown>;
  sbom_overview?: Record<string, unknown>;
}

export interface PolicyResult {
  status: ScanStatus | 'NotScanned';
  /** Overall severity ('None' when nothing was found); null unless Success. */
  severity: Severity | 'None' | null;
  findings: Array<{ id: string; severity: Severity; package: string; version: string; fix_version: string }>;
}

const statusOrder: ScanStatus[] = ['Running', 'Pending', 'Error', 'Stopped', 'Success'];

function seconds(start: string, end: string | null): number {
  return end ? Math.max(0, Math.round((Date.parse(end) - Date.parse(start)) / 1000)) : 0;
}

/** One status for several reports (an index): any still under way, else the worst ending. */
function combinedStatus(reports: ReportRow[]): ScanStatus {
  for (const s of statusOrder) if (reports.some((r) => r.status === s)) return s;
  return 'Success';
}

/** Harbor's NativeReportSummary for one report, or for an index's children merged. */
function nativeSummary(reports: ReportRow[]) {
  const first = reports[0];
  const status = combinedStatus(reports);
  const start = reports.map((r) => r.startTime).sort()[0];
  const ends = reports.map((r) => r.endTime);
  const end = ends.every((e) => e !== null) ? (ends as string[]).sort().at(-1)! : null;
  let severity: Severity | 'None' = 'None';
  const summary: VulnerabilitySummary = { total: 0, fixable: 0, summary: {} };
  let any = false;
  for (const r of reports) {
    if (r.status !== 'Success' || !r.summary) continue;
    any = true;
    if (r.severity && r.severity !== 'None')
      severity = severity === 'None' ? (r.severity as Severity) : maxSeverity(severity, r.severity as Severity);
    summary.total += r.summary.total;
    summary.fixable += r.summary.fixable;
    for (const [k, n] of Object.entries(r.summary.summary))
      summary.summary[k as Severity] = (summary.summary[k as Severity] ?? 0) + (n ?? 0);
  }
  return {
    report_id: first.uuid,
    scan_status: status,
    ...(any && { severity, summary }),
    duration: end ? seconds(start, end) : 0,
    start_time: start,
    ...(end && { end_time: end }),
    complete_percent: Math.round(
      reports.reduce((n, r) => n + (finalStatuses.includes(r.status) ? 100 : r.completePercent), 0) / reports.length,
    ),
    ...(first.scanner && { scanner: first.scanner }),
  };
}

function sbomSummary(reports: ReportRow[]) {
  const r = reports[0];
  return {
    report_id: r.uuid,
    scan_status: combinedStatus(reports),
    start_time: r.startTime,
    ...(r.endTime && { end_time: r.endTime }),
    duration: seconds(r.startTime, r.endTime),
    ...(r.sbomDigest && { sbom_digest: r.sbomDigest }),
    ...(r.scanner && { scanner: r.scanner }),
  };
}

/** A scan's own reports summed up for its SCANNING_* event, as Harbor's webhook payload carries them. */
export function eventOverviews(reports: ReportRow[]): { scan_overview?: Record<string, unknown>; sbom_overview?: Record<string, unknown> } {
  const vulnerability = reports.filter((r) => r.mimeType !== reportMimeTypes.sbom);
  const sbom = reports.filter((r) => r.mimeType === reportMimeTypes.sbom);
  const mime = vulnerability[0]?.mimeType;
  return {
    ...(mime && { scan_overview: { [mime]: nativeSummary(vulnerability.filter((r) => r.mimeType === mime)) } }),
    ...(sbom.length > 0 && { sbom_overview: sbomSummary(sbom) }),
  };
}

/** The read side of scans: overviews on artifacts, the vulnerabilities addition, the policy gate's view. */
export class ScanResults {
  constructor(
    private readonly store: ScanStore,
    private readonly targets: ScanTargets,
    private readonly registrations: RegistrationLookup,
  ) {}

  /** scan_overview / sbom_overview for a page of artifacts: one reports query per registration. */
  async overviews(items: OverviewItem[], request: OverviewRequest): Promise<Map<number, ArtifactScanView>> {
    const out = new Map<number, ArtifactScanView>();
    const registrations = new Map<number, ScanRegistration | null>();
    for (const item of items) {
      if (!registrations.has(item.projectId)) registrations.set(item.projectId, await this.registrations.forProject(item.projectId));
    }
    const byRegistration = new Map<string, { registration: ScanRegistration; items: OverviewItem[] }>();
    for (const item of items) {
      const registration = registrations.get(item.projectId);
      const scannable = registration !== null && registration !== undefined && item.type === 'IMAGE' && item.accessoryOf === null;
      out.set(item.id, { scannable });
      if (!scannable || (!request.vulnerability && !request.sbom)) continue;
      const group = byRegistration.get(registration.uuid) ?? { registration, items: [] };
      group.items.push(item);
      byRegistration.set(registration.uuid, group);
    }
    const vulnerabilityMimes = request.acceptMimeTypes?.length
      ? request.acceptMimeTypes
      : [reportMimeTypes.vulnerability, reportMimeTypes.vulnerabilityLegacy];
    for (const { registration, items: group } of byRegistration.values()) {
      const digests = new Set<string>();
      for (const item of group) {
        digests.add(item.digest);
        for (const d of item.childDigests) digests.add(d);
      }
      const reports = await this.store.byDigests([...digests], registration.uuid);
      const byDigest = new Map<string, ReportRow[]>();
      for (const r of reports) byDigest.set(r.digest, [...(byDigest.get(r.digest) ?? []), r]);
      for (const item of group) {
        const view = out.get(item.id)!;
        const own = isIndexMediaType(item.mediaType)
          ? item.childDigests.flatMap((d) => byDigest.get(d) ?? [])
          : (byDigest.get(item.digest) ?? []);
        if (request.vulnerability) {
          const overview: Record<string, unknown> = {};
          for (const mime of vulnerabilityMimes) {
            const ofMime = own.filter((r) => r.mimeType === mime);
            if (ofMime.length > 0) {
              overview[mime] = nativeSummary(ofMime);
              break;
            }
          }
          view.scan_overview = overview;
        }
        if (request.sbom) {
          const ofSbom = own.filter((r) => r.mimeType === reportMimeTypes.sbom);
          if (ofSbom.length > 0) view.sbom_overview = sbomSummary(ofSbom);
        }
      }
    }
    return out;
  }

  /**
   * Harbor's /additions/vulnerabilities: {MIME type: report} for the first accepted MIME type
   * with a report; an index's children's findings merged into one report. `{}` when not scanned.
   */
  async vulnerabilities(item: Omit<OverviewItem, 'childDigests'>, acceptMimeTypes?: string[]): Promise<Record<string, unknown>> {
    const registration = await this.registrations.forProject(item.projectId);
    if (!registration) return {};
    const digests = isIndexMediaType(item.mediaType)
      ? ((await this.targets.childDigests(item.repositoryId, [item.digest])).get(item.digest) ?? [])
      : [item.digest];
    const mimes = acceptMimeTypes?.length ? acceptMimeTypes : [reportMimeTypes.vulnerability, reportMimeTypes.vulnerabilityLegacy];
    const reports = await this.store.byDigests(digests, registration.uuid, mimes);
    for (const mime of mimes) {
      const done = reports.filter((r) => r.mimeType === mime && r.status === 'Success' && r.report);
      if (done.length === 0) continue;
      const parsed = done.map((r) => JSON.parse(r.report!) as Record<string, any>);
      if (parsed.length === 1) return { [mime]: parsed[0] };
      const seen = new Set<string>();
      const vulnerabilities = [];
      let severity: Severity | 'None' = 'None';
      for (const p of parsed) {
        for (const v of p.vulnerabilities ?? []) {
          const key = `${v.id}\u0000${v.package}\u0000${v.version}`;
          if (seen.has(key)) continue;
          seen.add(key);
          vulnerabilities.push(v);
          severity = severity === 'None' ? v.severity : maxSeverity(severity, v.severity);
        }
      }
      return {
        [mime]: {
          ...parsed[0],
          artifact: { ...parsed[0].artifact, digest: item.digest, mime_type: item.mediaType },
          severity: vulnerabilities.length === 0 ? 'None' : severity,
          vulnerabilities,
        },
      };
    }
    return {};
  }

  /**
   * What the prevent-vulnerable gate needs: per digest, the vulnerability report status of the
   * registration and its findings (an index: its children's together, the worst status).
   */
  async forPolicy(repositoryId: number, digests: string[], registrationUuid: string): Promise<Map<string, PolicyResult>> {
    const out = new Map<string, PolicyResult>();
    if (digests.length === 0) return out;
    const children = await this.targets.childDigests(repositoryId, digests);
    const all = new Set(digests);
    for (const list of children.values()) for (const d of list) all.add(d);
    const reports = await this.store.byDigests([...all], registrationUuid, mimeTypesOf('vulnerability'));
    const findings = await this.findingsOf(reports.filter((r) => r.status === 'Success').map((r) => r.id));
    for (const digest of digests) {
      const own = children.has(digest) ? children.get(digest)! : [digest];
      const mine = reports.filter((r) => own.includes(r.digest));
      if (mine.length === 0) {
        out.set(digest, { status: 'NotScanned', severity: null, findings: [] });
        continue;
      }
      const status = combinedStatus(mine);
      const list = mine.flatMap((r) => findings.get(r.id) ?? []);
      let severity: Severity | 'None' | null = null;
      if (status === 'Success') {
        severity = 'None';
        for (const f of list) severity = severity === 'None' ? f.severity : maxSeverity(severity as Severity, f.severity);
      }
      out.set(digest, { status, severity, findings: list });
    }
    return out;
  }

  private async findingsOf(reportIds: number[]): Promise<Map<number, PolicyResult['findings']>> {
    const out = new Map<number, PolicyResult['findings']>();
    for (let i = 0; i < reportIds.length; i += 500) {
      const rows = await this.store.db
        .selectFrom('scan_vulnerabilities')
        .select(['report_id', 'cve_id', 'severity', 'package', 'version', 'fixed_version'])
        .where('report_id', 'in', reportIds.slice(i, i + 500))
        .execute();
      for (const r of rows) {
        const list = out.get(Number(r.report_id)) ?? [];
        list.push({ id: r.cve_id, severity: r.severity as Severity, package: r.package, version: r.version, fix_version: r.fixed_version });
        out.set(Number(r.report_id), list);
      }
    }
    return out;
  }
}
