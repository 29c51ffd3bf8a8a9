/**
 * Berth's built-in scanner: the inventory of an image (part A), its findings in the
 * vulnerability database (part C) and its SBOM documents (part G), as the reports of the
 * Pluggable Scanner API. Used in-process by scans of the built-in registration and by the
 * adapter Berth serves to other registries.
 */
import {
  maxSeverity,
  reportMimeTypes,
  sbomMediaTypes,
  type Finding,
  type ImageSource,
  type Inventory,
  type SbomMediaType,
  type SbomReport,
  type ScannerInfo,
  type Severity,
  type VulnerabilityReport,
} from '../types.js';
import { manifestMimeTypes, type ScannerAdapterMetadata } from './spec.js';

export interface ScanArtifact {
  repository: string;
  digest: string;
  tag?: string;
  mimeType: string;
}

export interface ScanWant {
  vulnerability?: boolean;
  sbom?: SbomMediaType[];
}

export interface ScanOutcome {
  vulnerability?: VulnerabilityReport;
  sbom?: SbomReport[];
}

export interface SbomSubject {
  repository: string;
  digest: string;
  tags?: string[];
}

/** The other parts the engine stands on, passed in by compose.ts. */
export interface EngineParts {
  /** Part A: the inventory of one image manifest. */
  inventoryOf(source: ImageSource, manifestDigest: string): Promise<Inventory>;
  /** Part A: the image manifests an index lists; null when the digest is not an index. */
  platformManifests(source: ImageSource, digest: string): Promise<Array<{ digest: string }> | null>;
  /** Part C. */
  matcher: { match(inventory: Inventory): Promise<Finding[]>; updatedAt(): Promise<string | null> };
  /** Part G: the SBOM document of an inventory in one of the two media types. */
  sbomDocument(mediaType: SbomMediaType, inventory: Inventory, subject: SbomSubject, tool: ScannerInfo): Promise<Record<string, unknown>>;
}

export class BuiltinScanner {
  constructor(
    readonly info: ScannerInfo,
    private readonly parts: EngineParts,
  ) {}

  /** The adapter metadata of the built-in scanner (what /scanner/api/v1/metadata answers). */
  async metadata(): Promise<ScannerAdapterMetadata> {
    const consumes = [manifestMimeTypes.oci, manifestMimeTypes.docker];
    const properties: Record<string, string> = {
      'harbor.scanner-adapter/scanner-type': 'os-package-vulnerability',
      'harbor.scanner-adapter/registry-authorization-type': 'Bearer',
    };
    const updated = await this.parts.matcher.updatedAt();
    if (updated) properties['harbor.scanner-adapter/vulnerability-database-updated-at'] = updated;
    return {
      scanner: { ...this.info },
      capabilities: [
        {
          type: 'vulnerability',
          consumes_mime_types: consumes,
          produces_mime_types: [reportMimeTypes.vulnerability, reportMimeTypes.vulnerabilityLegacy],
        },
        {
          type: 'sbom',
          consumes_mime_types: consumes,
          produces_mime_types: [reportMimeTypes.sbom],
          additional_attributes: { sbom_media_types: [sbomMediaTypes.spdx, sbomMediaTypes.cyclonedx] },
        },
      ],
      properties,
    };
  }

  /**
   * Scans one artifact. An index is scanned child by child (as Harbor does) and reported as
   * one: every child's packages, findings de-duplicated.
   */
  async scan(source: ImageSource, artifact: ScanArtifact, want: ScanWant, signal?: AbortSignal): Promise<ScanOutcome> {
    const inventory = await this.inventory(source, artifact, signal);
    const outcome: ScanOutcome = {};
    const now = new Date().toISOString();
    const reported = {
      repository: artifact.repository,
      digest: artifact.digest,
      ...(artifact.tag ? { tag: artifact.tag } : {}),
      mime_type: artifact.mimeType,
    };
    if (want.vulnerability) {
      signal?.throwIfAborted();
      const findings = dedupe(await this.parts.matcher.match(inventory));
      const severity = findings.reduce<Severity>((worst, f) => maxSeverity(worst, f.severity), 'Unknown');
      outcome.vulnerability = { generated_at: now, artifact: reported, scanner: { ...this.info }, severity, vulnerabilities: findings };
    }
    if (want.sbom && want.sbom.length > 0) {
      const subject: SbomSubject = {
        repository: artifact.repository,
        digest: artifact.digest,
        ...(artifact.tag ? { tags: [artifact.tag] } : {}),
      };
      outcome.sbom = await Promise.all(
        [...new Set(want.sbom)].map(async (mediaType) => ({
          generated_at: now,
          artifact: reported,
          scanner: { ...this.info },
          vendor_attributes: { packages: inventory.packages.length, notes: inventory.notes },
          media_type: mediaType,
          sbom: await this.parts.sbomDocument(mediaType, inventory, subject, this.info),
        })),
      );
    }
    return outcome;
  }

  private async inventory(source: ImageSource, artifact: ScanArtifact, signal?: AbortSignal): Promise<Inventory> {
    const children = await this.parts.platformManifests(source, artifact.digest);
    if (children === null) return this.parts.inventoryOf(source, artifact.digest);
    const merged: Inventory = { os: null, packages: [], notes: [], layers: [] };
    for (const child of children) {
      signal?.throwIfAborted();
      const inv = await this.parts.inventoryOf(source, child.digest);
      merged.os ??= inv.os;
      merged.packages.push(...inv.packages);
      merged.notes.push(...inv.notes.map((n) => `${child.digest}: ${n}`));
      for (const layer of inv.layers) if (!merged.layers.includes(layer)) merged.layers.push(layer);
    }
    return merged;
  }
}

/** One finding per (id, package, version): an index's children often share packages. */
function dedupe(findings: Finding[]): Finding[] {
  const seen = new Map<string, Finding>();
  for (const f of findings) {
    const key = `${f.id}\0${f.package}\0${f.version}`;
    if (!seen.has(key)) seen.set(key, f);
  }
  return [...seen.values()];
}
