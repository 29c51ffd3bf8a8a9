// What the scanning parts of the API answer (Harbor's field names) and the small facts the
// portal derives from them: an artifact's scan state, its counts per severity, its SBOM.
import { api } from '../../api/client';
import { artifactApi } from '../repository/model';

/** Harbor's severities, highest first (the order the portal shows them in). */
export const severities = ['Critical', 'High', 'Medium', 'Low', 'Negligible', 'Unknown'] as const;
export type Severity = (typeof severities)[number];

/** The report types the portal reads; the first one an artifact has is used. */
export const vulnerabilityMimeTypes = [
  'application/vnd.security.vulnerability.report; version=1.1',
  'application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0',
] as const;

/** Colours of the severity bar and badges (Mantine palette shades), the same in light and dark. */
export const severityColor: Record<Severity, string> = {
  Critical: 'red.9',
  High: 'red.6',
  Medium: 'orange.5',
  Low: 'yellow.4',
  Negligible: 'gray.4',
  Unknown: 'gray.6',
};

/** The text on a badge of each severity's colour (contrast above 4.5:1 on each). */
export const severityTextColor: Record<Severity, string> = {
  Critical: '#fff',
  High: '#000',
  Medium: '#000',
  Low: '#000',
  Negligible: '#000',
  Unknown: '#000',
};

export function severityRank(severity: string): number {
  const index = severities.indexOf(severity as Severity);
  return index < 0 ? severities.length : index;
}

export function asSeverity(value: string | undefined | null): Severity {
  const found = severities.find((s) => s.toLowerCase() === (value ?? '').toLowerCase());
  return found ?? 'Unknown';
}

export interface ScannerInfo {
  name: string;
  vendor: string;
  version: string;
}

/** Harbor's NativeReportSummary: one report's overview on an artifact. */
export interface ScanSummary {
  report_id?: string;
  scan_status?: string;
  severity?: string;
  duration?: number;
  summary?: { total?: number; fixable?: number; summary?: Partial<Record<Severity, number>> };
  start_time?: string;
  end_time?: string;
  complete_percent?: number;
  scanner?: ScannerInfo;
}

/** Harbor's SBOMOverview. */
export interface SbomOverview {
  start_time?: string;
  end_time?: string;
  scan_status?: string;
  sbom_digest?: string;
  report_id?: string;
  duration?: number;
  scanner?: ScannerInfo;
}

/** The scanning fields of an artifact (with_scan_overview, with_sbom_overview). */
export interface Scanned {
  scan_overview?: Record<string, ScanSummary> | null;
  sbom_overview?: SbomOverview | null;
}

/** The vulnerability report's overview, under the first MIME type the artifact has one for. */
export function scanSummaryOf(artifact: Scanned): ScanSummary | null {
  const overview = artifact.scan_overview;
  if (!overview) return null;
  for (const mime of vulnerabilityMimeTypes) if (overview[mime]) return overview[mime];
  const first = Object.values(overview)[0];
  return first ?? null;
}

/** A scan's state in the portal's words. */
export type ScanState = 'none' | 'queued' | 'running' | 'success' | 'error' | 'stopped';

export function scanState(status: string | undefined | null): ScanState {
  switch ((status ?? '').toLowerCase()) {
    case '':
      return 'none';
    case 'pending':
    case 'scheduled':
    case 'queued':
      return 'queued';
    case 'running':
      return 'running';
    case 'success':
      return 'success';
    case 'stopped':
      return 'stopped';
    default:
      return 'error';
  }
}

export function isUnderWay(state: ScanState): boolean {
  return state === 'queued' || state === 'running';
}

/** Whether a vulnerability scan or an SBOM generation of the artifact is queued or running. */
export function scanUnderWay(artifact: Scanned): boolean {
  return isUnderWay(scanState(scanSummaryOf(artifact)?.scan_status)) || isUnderWay(scanState(artifact.sbom_overview?.scan_status));
}

/** Whether the artifact can be scanned at all: Harbor offers the vulnerabilities addition for scannable artifacts. */
export function isScannable(artifact: { type: string; addition_links?: Record<string, unknown> | null }): boolean {
  if (artifact.addition_links && 'vulnerabilities' in artifact.addition_links) return true;
  return artifact.type === 'IMAGE';
}

/** POST …/scan or …/scan/stop for one artifact. */
export function scanPath(project: string, repository: string, digest: string, stop = false): string {
  return `${artifactApi(project, repository, digest)}/scan${stop ? '/stop' : ''}`;
}

/** One vulnerability of Harbor's report. */
export interface Vulnerability {
  id: string;
  package: string;
  version: string;
  fix_version?: string;
  severity: string;
  description?: string;
  links?: string[];
  preferred_cvss?: { score_v3?: number | null; vector_v3?: string; score_v2?: number | null; vector_v2?: string };
  cwe_ids?: string[];
  artifact_digests?: string[];
}

export interface VulnerabilityReport {
  generated_at?: string;
  scanner?: ScannerInfo;
  severity?: string;
  vulnerabilities?: Vulnerability[] | null;
}

/** GET …/additions/vulnerabilities: the report under the first MIME type the server has. */
export async function fetchVulnerabilityReport(project: string, repository: string, digest: string): Promise<VulnerabilityReport | null> {
  const text = await api.text(`${artifactApi(project, repository, digest)}/additions/vulnerabilities`, {
    'X-Accept-Vulnerabilities': vulnerabilityMimeTypes.join(', '),
  });
  const reports = (text ? JSON.parse(text) : {}) as Record<string, VulnerabilityReport>;
  for (const mime of vulnerabilityMimeTypes) if (reports[mime]) return reports[mime];
  return Object.values(reports)[0] ?? null;
}

/** Query keys of the scanning pages. */
export const scanKeys = {
  report: (project: string, repository: string, digest: string, reportId: string | undefined) =>
    ['scan-report', project, repository, digest, reportId ?? ''] as const,
  sbom: (project: string, repository: string, sbomDigest: string) => ['sbom-document', project, repository, sbomDigest] as const,
  scanners: ['scanners'] as const,
  projectScanner: (project: string) => ['project-scanner', project] as const,
  allowlist: ['system-cve-allowlist'] as const,
  scanAll: ['scan-all'] as const,
  vulndb: ['vulndb'] as const,
};
