// What the repository and artifact pages read from the API (Harbor's field names), and the
// small facts they derive from it. Shared by pages/repository and pages/artifact.
import { repoSegment, segment } from '../../api/client';
import type { SignatureView } from '../artifact/SignatureMarks';
import type { SbomOverview, ScanSummary } from '../scanning/model';

export interface Repository {
  id: number;
  project_id: number;
  name: string;
  description: string;
  artifact_count: number;
  pull_count: number;
  creation_time: string;
  update_time: string;
}

export interface Tag {
  id: number;
  repository_id: number;
  artifact_id: number;
  name: string;
  push_time: string;
  pull_time: string;
  immutable: boolean;
}

export interface Label {
  id: number;
  name: string;
  description: string;
  color: string;
  scope: 'g' | 'p';
  project_id: number;
}

export interface Platform {
  architecture?: string;
  os?: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
  [key: string]: unknown;
}

export interface Reference {
  parent_id: number;
  child_id: number;
  child_digest: string;
  platform?: Platform;
  annotations?: Record<string, string>;
  urls: string[];
}

export interface Accessory {
  id: number;
  artifact_id: number;
  subject_artifact_id: number;
  subject_artifact_digest: string;
  subject_artifact_repo: string;
  size: number;
  digest: string;
  type: string;
  icon: string;
  creation_time: string;
}

export interface Artifact {
  id: number;
  type: string;
  media_type: string;
  manifest_media_type: string;
  artifact_type: string;
  project_id: number;
  repository_id: number;
  repository_name: string;
  digest: string;
  size: number;
  icon: string;
  push_time: string;
  pull_time: string;
  extra_attrs: Record<string, unknown>;
  annotations: Record<string, string>;
  references: Reference[] | null;
  tags: Tag[] | null;
  addition_links: Record<string, { href: string; absolute: boolean }>;
  labels?: Label[] | null;
  accessories?: Accessory[] | null;
  /** with_scan_overview: the vulnerability report's overview per report MIME type. */
  scan_overview?: Record<string, ScanSummary> | null;
  /** with_sbom_overview. */
  sbom_overview?: SbomOverview | null;
  /** Berth's with_signature: each signature, verified against the project's trusted keys or not. */
  signatures?: SignatureView[] | null;
}

/** `/projects/{p}/repositories/{r}` as the API spells it (the repository name encoded twice). */
export function repositoryApi(project: string, repository: string): string {
  return `/projects/${segment(project)}/repositories/${repoSegment(repository)}`;
}

/** `…/artifacts/{reference}`; a digest or a tag. */
export function artifactApi(project: string, repository: string, reference: string): string {
  return `${repositoryApi(project, repository)}/artifacts/${segment(reference)}`;
}

/** Query keys; invalidating a prefix refreshes every page of that list. */
export const keys = {
  repository: (project: string, repository: string) => ['repository', project, repository] as const,
  artifacts: (project: string, repository: string) => ['artifacts', project, repository] as const,
  artifact: (project: string, repository: string) => ['artifact', project, repository] as const,
  tags: (project: string, repository: string) => ['artifact-tags', project, repository] as const,
  accessories: (project: string, repository: string) => ['artifact-accessories', project, repository] as const,
  addition: (project: string, repository: string, digest: string, name: string) =>
    ['artifact-addition', project, repository, digest, name] as const,
};

export function isDigest(reference: string): boolean {
  return /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(reference);
}

export function isIndex(artifact: Pick<Artifact, 'manifest_media_type'>): boolean {
  return /index|manifest\.list/.test(artifact.manifest_media_type);
}

/** cosign's tag scheme for accessories: sha256-<hex>.sig / .att / .sbom. */
function cosignKind(tags: Tag[] | null | undefined): string | null {
  for (const tag of tags ?? []) {
    const match = /^sha256-[0-9a-f]{64}\.(sig|att|sbom)$/.exec(tag.name);
    if (match) return match[1];
  }
  return null;
}

/** A type in words: "Container image", "Helm chart", … (alt text and captions). */
export function typeLabel(artifact: Pick<Artifact, 'type' | 'manifest_media_type'> & { tags?: Tag[] | null }): string {
  const cosign = cosignKind(artifact.tags);
  if (cosign === 'sig') return 'Cosign signature';
  if (cosign === 'att') return 'Cosign attestation';
  if (cosign === 'sbom') return 'SBOM';
  switch (artifact.type) {
    case 'IMAGE':
      return isIndex(artifact) ? 'Image index' : 'Container image';
    case 'CHART':
      return 'Helm chart';
    case 'CNAB':
      return 'CNAB bundle';
    case 'WASM':
      return 'WebAssembly module';
    case 'SIGNATURE':
      return 'Signature';
    case 'SBOM':
      return 'SBOM';
    case 'UNKNOWN':
      return 'OCI artifact';
    default:
      return `${artifact.type} artifact`;
  }
}

/** An accessory's type in words: signature.cosign → "Cosign signature". */
export function accessoryLabel(type: string): string {
  const known: Record<string, string> = {
    'signature.cosign': 'Cosign signature',
    'signature.notation': 'Notation signature',
    'sbom.harbor': 'SBOM (Harbor)',
    sbom: 'SBOM',
    attestation: 'Attestation',
    'subject.accessory': 'Accessory',
  };
  return known[type] ?? type;
}

/** linux/arm64/v8 (and the OS version when given). */
export function platformText(platform: Platform | Record<string, unknown> | undefined | null): string | null {
  if (!platform) return null;
  const parts = [platform.os, platform.architecture, platform.variant].filter((p): p is string => typeof p === 'string' && p !== '');
  if (parts.length === 0) return null;
  const version = platform['os.version'];
  return parts.join('/') + (typeof version === 'string' && version ? ` (${version})` : '');
}

/** A name for the artifact in messages: its first tag, else its short digest. */
export function firstTag(artifact: Pick<Artifact, 'tags'>): string | null {
  return artifact.tags?.[0]?.name ?? null;
}

/** The time an artifact never had: empty, or Go's zero time. */
export function isNever(time: unknown): boolean {
  return typeof time !== 'string' || time === '' || time.startsWith('0001-01-01');
}
