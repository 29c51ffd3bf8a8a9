/**
 * What scans need from the other scanning parts, as narrow interfaces: compose.ts adapts
 * the scanner registrations (D), the image sources (A), the built-in engine (D over A, C, G)
 * and the SBOM accessory (G) to them, so the scan logic depends on nothing wider.
 */
import type { ImageSource, SbomMediaType, SbomReport, ScannerInfo, VulnerabilityReport } from '../types.js';

export type ScanType = 'vulnerability' | 'sbom';

/** A scanner registration as scans use it (Harbor's ScannerRegistration). */
export interface ScanRegistration {
  uuid: string;
  name: string;
  /** The adapter's base URL (Harbor appends /api/v1). */
  url: string;
  disabled: boolean;
  /** The built-in scanner: scanned in-process, no HTTP hop. */
  builtin: boolean;
  /** When the registration asks for Berth's internal address instead of the external URL. */
  useInternalAddr: boolean;
}

export interface RegistrationLookup {
  /** The project's scanner, else the system default; null when there is none. */
  forProject(projectId: number): Promise<ScanRegistration | null>;
  byUuid(uuid: string): Promise<ScanRegistration | null>;
}

/** The artifact a scanner is asked about (the Pluggable Scanner API's `artifact`). */
export interface ScanArtifact {
  repository: string;
  digest: string;
  tag?: string;
  mime_type: string;
}

export interface ScanCapabilities {
  vulnerability?: boolean;
  /** SBOM media types wanted (Harbor asks for SPDX). */
  sbom?: SbomMediaType[];
}

export interface ScanOutput {
  vulnerability?: VulnerabilityReport;
  sbom?: SbomReport;
}

/** The built-in engine (inventory + matching + SBOM documents), run in-process. */
export interface ScanEngine {
  scan(source: ImageSource, artifact: ScanArtifact, capabilities: ScanCapabilities, signal: AbortSignal): Promise<ScanOutput>;
  info(): Promise<ScannerInfo> | ScannerInfo;
}

/** The Pluggable Scanner API request Berth sends a remote adapter. */
export interface RemoteScanRequest {
  registry: { url: string; authorization: string; insecure?: boolean };
  artifact: ScanArtifact & { size?: number };
  enabled_capabilities?: Array<{ type: ScanType; produces_mime_types: string[]; parameters?: Record<string, unknown> | null }>;
}

export type RemoteReport = { status: 'ready'; body: unknown } | { status: 'pending'; refreshAfterSeconds: number };

/** A remote adapter driven over HTTP (scanners/client.ts). */
export interface RemoteScanners {
  scan(registrationUuid: string, request: RemoteScanRequest, signal: AbortSignal): Promise<string>;
  report(registrationUuid: string, scanId: string, mimeType: string, signal: AbortSignal): Promise<RemoteReport>;
}

/** An image in this Berth, read from the blob store (inventory/local-source.ts). */
export type LocalSources = (repository: string) => ImageSource;

/** The SBOM accessory (sbom/accessory.ts). */
export interface SbomAccessories {
  attach(input: {
    repository: string;
    subjectDigest: string;
    mediaType: SbomMediaType;
    document: Record<string, unknown>;
  }): Promise<{ digest: string }>;
  remove(repository: string, digest: string): Promise<void>;
}

/** The registry's address a remote scanner pulls from, and the short-lived credential it uses. */
export interface RegistryCredentials {
  registryUrl(internal: boolean): string;
  /** `Bearer <JWT>` able to pull (and push, for SBOMs) that one repository. */
  authorization(subject: string, repository: string, actions: string[]): Promise<string>;
}
