import type { SbomMediaType, SbomReport, ScannerInfo } from '../types.js';

/**
 * The Pluggable Scanner API's SBOM report (`application/vnd.security.sbom.report+json; version=1.0`):
 * the document under `sbom`, its format under `media_type`.
 */
export function sbomReport(
  doc: Record<string, unknown>,
  mediaType: SbomMediaType,
  artifact: SbomReport['artifact'],
  scanner: ScannerInfo,
  now: Date = new Date(),
): SbomReport {
  return {
    generated_at: now.toISOString(),
    artifact: { ...artifact },
    scanner: { name: scanner.name, vendor: scanner.vendor, version: scanner.version },
    vendor_attributes: {},
    media_type: mediaType,
    sbom: doc,
  };
}
