import { sbomMediaTypes, type Inventory, type SbomMediaType, type ScannerInfo } from '../types.js';
import { cyclonedxDocument } from './cyclonedx.js';
import { spdxDocument } from './spdx.js';
import type { SbomSubject } from './subject.js';

export type { SbomSubject } from './subject.js';
export { spdxDocument } from './spdx.js';
export { cyclonedxDocument } from './cyclonedx.js';
export { sbomReport } from './report.js';
export { attachSbom, removeSbom, sbomAccessories, sbomArtifactType, sbomActor, type SbomAccessoryDeps } from './accessory.js';

export function isSbomMediaType(value: string): value is SbomMediaType {
  return value === sbomMediaTypes.spdx || value === sbomMediaTypes.cyclonedx;
}

/** The SBOM of an inventory in the format a media type names (SPDX 2.3 JSON or CycloneDX 1.6 JSON). */
export function sbomDocument(
  mediaType: SbomMediaType,
  inventory: Inventory,
  subject: SbomSubject,
  tool: ScannerInfo,
  now?: Date,
): Record<string, unknown> {
  if (mediaType === sbomMediaTypes.spdx) return { ...spdxDocument(inventory, subject, tool, now) };
  if (mediaType === sbomMediaTypes.cyclonedx) return cyclonedxDocument(inventory, subject, tool, now);
  throw new TypeError(`no SBOM format for media type ${String(mediaType)}`);
}
