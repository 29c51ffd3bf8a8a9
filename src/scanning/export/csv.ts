import type { ExportFinding } from './store.js';

/** Harbor's CSV columns, in order. */
export const csvColumns = [
  'Repository',
  'Artifact Digest',
  'CVE',
  'Package',
  'Current Version',
  'Fixed in version',
  'Severity',
  'CWE Ids',
  'Additional Data',
  'Scanner',
] as const;

/** Characters that make a spreadsheet read a cell as a formula (as Harbor, a leading quote defuses them). */
const formulaTriggers = '=+-@\t\r\n';

export function sanitizeCell(value: string): string {
  return value.length > 0 && formulaTriggers.includes(value[0]) ? `'${value}` : value;
}

/** One RFC 4180 field: quoted when it holds a comma, quote or line break. */
function field(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export function csvLine(values: readonly string[]): string {
  return `${values.map(field).join(',')}\r\n`;
}

/** Harbor stores CWE ids comma-separated; Berth keeps them as a JSON array. */
function cweIds(raw: string | null): string {
  if (!raw) return '';
  try {
    const list = JSON.parse(raw) as unknown;
    return Array.isArray(list) ? list.join(',') : String(list);
  } catch {
    return raw;
  }
}

/** The CVSS scores and vectors, as the report's vendor attributes carry them. */
function additionalData(f: ExportFinding): string {
  const cvss: Record<string, string | number> = {};
  if (f.cvss_score_v3 !== null) cvss.V3Score = Number(f.cvss_score_v3);
  if (f.cvss_vector_v3) cvss.V3Vector = f.cvss_vector_v3;
  if (f.cvss_score_v2 !== null) cvss.V2Score = Number(f.cvss_score_v2);
  if (f.cvss_vector_v2) cvss.V2Vector = f.cvss_vector_v2;
  return Object.keys(cvss).length === 0 ? '' : JSON.stringify({ CVSS: cvss });
}

export function findingLine(f: ExportFinding): string {
  return csvLine(
    [
      f.repository,
      f.digest,
      f.cve_id,
      f.package,
      f.version,
      f.fixed_version,
      f.severity,
      cweIds(f.cwe_ids),
      additionalData(f),
      f.scanner,
    ].map(sanitizeCell),
  );
}
