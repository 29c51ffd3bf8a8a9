/**
 * The Pluggable Scanner API (goharbor/pluggable-scanner-spec, v1.2) as data: its MIME types,
 * its bodies, and the checks Harbor makes on an adapter's metadata. Both sides use it: the
 * client that drives remote adapters and the adapter Berth serves at /scanner/api/v1.
 */
import { reportMimeTypes, sbomMediaTypes, type SbomMediaType } from '../types.js';

export const adapterMimeTypes = {
  metadata: 'application/vnd.scanner.adapter.metadata+json; version=1.0',
  scanRequest: 'application/vnd.scanner.adapter.scan.request+json; version=1.0',
  scanResponse: 'application/vnd.scanner.adapter.scan.response+json; version=1.0',
  error: 'application/vnd.scanner.adapter.error+json; version=1.0',
  rawReport: 'application/vnd.scanner.adapter.vuln.report.raw',
} as const;

export const manifestMimeTypes = {
  oci: 'application/vnd.oci.image.manifest.v1+json',
  docker: 'application/vnd.docker.distribution.manifest.v2+json',
} as const;

/** The report MIME types Harbor understands (its `supportedMimeTypes`). */
export const harborReportMimeTypes: readonly string[] = [
  reportMimeTypes.vulnerabilityLegacy,
  reportMimeTypes.vulnerability,
  reportMimeTypes.sbom,
];

export type ScanType = 'vulnerability' | 'sbom';

export interface ScannerCapability {
  type?: string;
  consumes_mime_types: string[];
  produces_mime_types: string[];
  additional_attributes?: { sbom_media_types?: string[] } & Record<string, unknown>;
}

export interface ScannerAdapterMetadata {
  scanner: { name: string; vendor: string; version: string };
  capabilities: ScannerCapability[];
  properties?: Record<string, string>;
}

export interface ScanRequest {
  registry: { url: string; authorization?: string; insecure?: boolean };
  artifact: { repository: string; digest: string; tag?: string; mime_type: string; size?: number };
  enabled_capabilities?: Array<{ type: string; produces_mime_types?: string[]; parameters?: { sbom_media_types?: string[] } | null }>;
}

export interface AdapterErrorBody {
  error: { message: string };
}

/** The MIME type without parameters and spaces, lower case (for comparing Accept values). */
export function mimeBase(value: string): string {
  return value.split(';')[0]!.trim().toLowerCase();
}

/** Two MIME types with their parameters, compared ignoring case and spaces. */
export function sameMime(a: string, b: string): boolean {
  const norm = (v: string) =>
    v
      .split(';')
      .map((part) => part.trim().toLowerCase().replace(/\s+/g, ''))
      .join(';');
  return norm(a) === norm(b);
}

export function isSbomMediaType(value: unknown): value is SbomMediaType {
  return value === sbomMediaTypes.spdx || value === sbomMediaTypes.cyclonedx;
}

/**
 * Harbor's checks on an adapter's metadata (ScannerAdapterMetadata.Validate): a scanner with
 * name, vendor and version, at least one capability, each consuming Docker's image manifest
 * and producing a report type Harbor reads. Returns the reason, or null when it is usable.
 */
export function metadataProblem(meta: unknown): string | null {
  const m = meta as Partial<ScannerAdapterMetadata> | null;
  if (!m || typeof m !== 'object') return 'invalid metadata: not a JSON object';
  const s = m.scanner;
  if (!s || typeof s !== 'object' || !nonEmpty(s.name) || !nonEmpty(s.vendor) || !nonEmpty(s.version)) return 'invalid scanner in metadata';
  if (!Array.isArray(m.capabilities) || m.capabilities.length === 0) return 'invalid capabilities in metadata';
  for (const c of m.capabilities) {
    if (!c || !Array.isArray(c.consumes_mime_types) || !c.consumes_mime_types.includes(manifestMimeTypes.docker)) {
      return `missing ${manifestMimeTypes.docker} in consumes_mime_types`;
    }
    if (!Array.isArray(c.produces_mime_types) || !c.produces_mime_types.some((t) => harborReportMimeTypes.includes(t))) {
      return `missing ${reportMimeTypes.vulnerabilityLegacy} or ${reportMimeTypes.vulnerability} in produces_mime_types`;
    }
  }
  return null;
}

/** Harbor's `capabilities` of a registration view: support_vulnerability / support_sbom. */
export function capabilityFlags(meta: ScannerAdapterMetadata): Record<string, boolean> {
  const flags: Record<string, boolean> = {};
  let typed = false;
  for (const c of meta.capabilities) {
    if (c.type) typed = true;
    if (c.type === 'vulnerability') flags.support_vulnerability = true;
    else if (c.type === 'sbom') flags.support_sbom = true;
  }
  // An adapter of spec 1.0/1.1 names no type: it scans for vulnerabilities.
  if (!typed && Object.keys(flags).length === 0) return { support_vulnerability: true, support_sbom: false };
  return flags;
}

function nonEmpty(v: unknown): boolean {
  return typeof v === 'string' && v.length > 0;
}
