/**
 * The shapes every part of scanning agrees on: what an image holds (the inventory), what
 * the vulnerability database says about it (findings), and the reports Harbor's API and the
 * Pluggable Scanner API carry. Plain data only; no I/O here.
 */
import type { Readable } from 'node:stream';

/** Harbor's severities, lowest first (the order is what `severityRank` compares). */
export const severities = ['Unknown', 'Negligible', 'Low', 'Medium', 'High', 'Critical'] as const;
export type Severity = (typeof severities)[number];

export function severityRank(severity: Severity): number {
  return severities.indexOf(severity);
}

/** The higher of two severities. */
export function maxSeverity(a: Severity, b: Severity): Severity {
  return severityRank(a) >= severityRank(b) ? a : b;
}

/** Report MIME types of the Pluggable Scanner API (v1.2) and of Harbor's API. */
export const reportMimeTypes = {
  vulnerability: 'application/vnd.security.vulnerability.report; version=1.1',
  /** The legacy name Harbor still accepts for the same report schema. */
  vulnerabilityLegacy: 'application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0',
  sbom: 'application/vnd.security.sbom.report+json; version=1.0',
} as const;

export const sbomMediaTypes = {
  spdx: 'application/spdx+json',
  cyclonedx: 'application/vnd.cyclonedx+json',
} as const;
export type SbomMediaType = (typeof sbomMediaTypes)[keyof typeof sbomMediaTypes];

/** The operating system an image is built on, from etc/os-release and friends. */
export interface OsInfo {
  /** os-release ID: debian, ubuntu, alpine, rhel, fedora, rocky, almalinux, … */
  family: string;
  /** VERSION_ID as written (12, 22.04, 3.19.1, 9.4). */
  version: string;
  /** PRETTY_NAME when present. */
  name: string | null;
}

/**
 * One installed package. `ecosystem` is OSV's ecosystem name with its release where OSV has
 * one (`Debian:12`, `Alpine:v3.19`, `Ubuntu:22.04:LTS`, `Red Hat`, `Rocky Linux:9`) and the
 * bare name for language ecosystems (`npm`, `PyPI`, `Go`, `Maven`, `crates.io`).
 */
export interface Package {
  ecosystem: string;
  /** The binary/installed name (Maven: `groupId:artifactId`; PyPI: as written in METADATA). */
  name: string;
  version: string;
  /** The source package OSV matches OS packages on (dpkg `Source:`, apk origin, rpm source name); else absent. */
  sourceName?: string;
  sourceVersion?: string;
  /** Package URL (purl spec). */
  purl: string;
  /** SPDX licence expression or free text, when the package database says. */
  license?: string;
  /** Who ships the package, as the database says (dpkg Maintainer, apk `m:`, rpm Vendor); SBOMs name it as supplier. */
  supplier?: string;
  arch?: string;
  /** Path inside the image of the file the package was found in (no leading slash). */
  path: string;
  /** Index of the layer (0 = base) that last wrote that file. */
  layer: number;
}

/** Everything the inventory learned about one image (one platform manifest). */
export interface Inventory {
  os: OsInfo | null;
  packages: Package[];
  /** Things a reader should know: an unreadable database, an older Berkeley DB rpmdb, a layer type skipped. */
  notes: string[];
  /** Digests of the layers read, base first. */
  layers: string[];
}

/**
 * Where the inventory reads an image from: Berth's own blob store, or another registry's
 * /v2 over HTTP (the built-in scanner serving the Pluggable Scanner API to a Harbor).
 */
export interface ImageSource {
  /** The manifest bytes and media type for a digest (of the artifact or of an index's child). */
  manifest(digest: string): Promise<{ mediaType: string; bytes: Uint8Array }>;
  /** The blob's bytes as a stream; never buffered whole by the caller. */
  blob(digest: string): Promise<Readable>;
}

/** One vulnerability found in one package: an item of Harbor's vulnerability report. */
export interface Finding {
  /** The CVE id when the advisory has one as id or alias, else the advisory id (GHSA-…, DSA-…, ALPINE-…). */
  id: string;
  package: string;
  version: string;
  /** The lowest fixed version above the installed one; '' when none is known. */
  fix_version: string;
  severity: Severity;
  description: string;
  links: string[];
  preferred_cvss?: { score_v3?: number; vector_v3?: string; score_v2?: number; vector_v2?: string };
  cwe_ids?: string[];
  /** Berth: the advisory ids this finding merges (aliases) and the package's ecosystem and purl. */
  vendor_attributes?: Record<string, unknown>;
}

export interface ScannerInfo {
  name: string;
  vendor: string;
  version: string;
}

/** Harbor's vulnerability report (`application/vnd.security.vulnerability.report; version=1.1`). */
export interface VulnerabilityReport {
  generated_at: string;
  artifact: { repository: string; digest: string; tag?: string; mime_type: string };
  scanner: ScannerInfo;
  severity: Severity;
  vulnerabilities: Finding[];
}

/** The SBOM report of the Pluggable Scanner API (`application/vnd.security.sbom.report+json; version=1.0`). */
export interface SbomReport {
  generated_at: string;
  artifact: { repository: string; digest: string; tag?: string; mime_type: string };
  scanner: ScannerInfo;
  vendor_attributes: Record<string, unknown>;
  media_type: SbomMediaType;
  sbom: Record<string, unknown>;
}
