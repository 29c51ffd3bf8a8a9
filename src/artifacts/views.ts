import type { AccessoryRow, ArtifactRow, ReferenceRow, TagRow } from './store.js';

/** Harbor shows a time that never happened (never pulled) as Go's zero time. */
export const zeroTime = '0001-01-01T00:00:00.000Z';

function parsedObject(text: string | null): Record<string, unknown> {
  if (!text) return {};
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return {};
  }
}

export interface TagView {
  id: number;
  repository_id: number;
  artifact_id: number;
  name: string;
  push_time: string;
  pull_time: string;
  immutable: boolean;
}

/** `immutable`: whether a tag immutability rule protects it (asked only with with_immutable_status). */
export function tagView(t: TagRow, immutable = false): TagView {
  return {
    id: Number(t.id),
    repository_id: Number(t.repository_id),
    artifact_id: Number(t.artifact_id),
    name: t.name,
    push_time: t.push_time,
    pull_time: t.pull_time ?? zeroTime,
    immutable,
  };
}

export function referenceView(r: ReferenceRow) {
  return {
    parent_id: Number(r.parent_id),
    child_id: Number(r.child_id),
    child_digest: r.child_digest,
    ...(r.platform !== null && { platform: JSON.parse(r.platform) as Record<string, unknown> }),
    ...(r.annotations !== null && { annotations: JSON.parse(r.annotations) as Record<string, string> }),
    urls: [] as string[],
  };
}

export function accessoryView(a: AccessoryRow, subjectId: number, repositoryName: string) {
  return {
    id: Number(a.id),
    artifact_id: Number(a.id),
    subject_artifact_id: subjectId,
    subject_artifact_digest: a.subject_digest,
    subject_artifact_repo: repositoryName,
    size: Number(a.size),
    digest: a.digest,
    type: a.type,
    icon: a.icon ?? '',
    creation_time: a.push_time,
  };
}

export type AccessoryView = ReturnType<typeof accessoryView>;

/** The fields of Harbor's Artifact that come from the artifact row itself. */
export function artifactBase(a: ArtifactRow, additionLinks: Record<string, { href: string; absolute: boolean }>) {
  return {
    id: Number(a.id),
    type: a.type,
    media_type: a.config_media_type ?? a.media_type,
    manifest_media_type: a.media_type,
    artifact_type: a.artifact_type ?? a.config_media_type ?? a.media_type,
    project_id: Number(a.project_id),
    repository_id: Number(a.repository_id),
    repository_name: a.repository_name,
    digest: a.digest,
    size: Number(a.size),
    icon: a.icon ?? '',
    push_time: a.push_time,
    pull_time: a.pull_time ?? zeroTime,
    extra_attrs: parsedObject(a.extra_attrs),
    annotations: parsedObject(a.annotations) as Record<string, string>,
    addition_links: additionLinks,
  };
}
