import { manifestKinds, mediaTypes } from '../../oci/mediatypes.js';
import type { Executor } from './store.js';

/**
 * Which artifacts a scan covers, read from the registry's tables (artifacts, their index
 * references, project metadata). Harbor scans image manifests; an index is scanned through
 * its image children and its overview aggregates theirs. Charts, CNAB, WASM and other
 * artifacts, and accessories (signatures, SBOMs), are not scannable.
 */
export interface ScanTarget {
  digest: string;
  mediaType: string;
}

export interface ArtifactRef {
  id: number;
  repositoryId: number;
  repository: string;
  projectId: number;
  digest: string;
  mediaType: string;
  type: string;
  accessoryOf: string | null;
}

const imageManifestTypes = [mediaTypes.ociManifest, mediaTypes.dockerManifest];

export function isIndexMediaType(mediaType: string): boolean {
  return manifestKinds[mediaType] === 'index';
}

/** Whether an artifact can be scanned at all (itself or through its children). */
export function scannableKind(a: Pick<ArtifactRef, 'type' | 'accessoryOf' | 'mediaType'>): boolean {
  return a.type === 'IMAGE' && a.accessoryOf === null && manifestKinds[a.mediaType] !== undefined;
}

export class ScanTargets {
  constructor(private readonly db: Executor) {}

  private artifacts(executor: Executor) {
    return executor
      .selectFrom('artifacts as a')
      .innerJoin('repositories as r', 'r.id', 'a.repository_id')
      .select(['a.id', 'a.repository_id', 'r.name as repository', 'r.project_id', 'a.digest', 'a.media_type', 'a.type', 'a.accessory_of']);
  }

  async byId(id: number, executor: Executor = this.db): Promise<ArtifactRef | undefined> {
    const row = await this.artifacts(executor).where('a.id', '=', id).executeTakeFirst();
    return row && toRef(row);
  }

  /** The image manifests a scan of the artifact covers: itself, or an index's image children (nested indexes walked). */
  async targetsOf(artifact: ArtifactRef, executor: Executor = this.db): Promise<ScanTarget[]> {
    if (!scannableKind(artifact)) return [];
    if (!isIndexMediaType(artifact.mediaType)) return [{ digest: artifact.digest, mediaType: artifact.mediaType }];
    const out: ScanTarget[] = [];
    const seen = new Set<string>([artifact.digest]);
    let parents = [artifact.id];
    for (let depth = 0; depth < 4 && parents.length > 0; depth++) {
      const children = await executor
        .selectFrom('artifact_references as ref')
        .innerJoin('artifacts as c', 'c.id', 'ref.child_id')
        .select(['c.id', 'c.digest', 'c.media_type', 'c.type', 'c.accessory_of'])
        .where('ref.parent_id', 'in', parents)
        .orderBy('c.id')
        .execute();
      parents = [];
      for (const c of children) {
        if (seen.has(c.digest)) continue;
        seen.add(c.digest);
        if (isIndexMediaType(c.media_type)) parents.push(Number(c.id));
        else if (c.type === 'IMAGE' && imageManifestTypes.includes(c.media_type as (typeof imageManifestTypes)[number])) {
          out.push({ digest: c.digest, mediaType: c.media_type });
        }
      }
    }
    return out;
  }

  /** Child digests of indexes (for overviews that aggregate), by index digest, within a repository. */
  async childDigests(repositoryId: number, indexDigests: string[], executor: Executor = this.db): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    if (indexDigests.length === 0) return out;
    const rows = await executor
      .selectFrom('artifacts as p')
      .innerJoin('artifact_references as ref', 'ref.parent_id', 'p.id')
      .select(['p.digest as parent', 'ref.child_digest'])
      .where('p.repository_id', '=', repositoryId)
      .where('p.digest', 'in', indexDigests)
      .execute();
    for (const r of rows) out.set(r.parent, [...(out.get(r.parent) ?? []), r.child_digest]);
    return out;
  }

  /**
   * Top-level scannable artifacts after `afterId`, in id order: the scan-all's walk. Image
   * manifests only (index children are artifacts rows too); accessories left out.
   */
  async imagesAfter(afterId: number, limit: number, executor: Executor = this.db): Promise<ArtifactRef[]> {
    const rows = await this.artifacts(executor)
      .where('a.id', '>', afterId)
      .where('a.type', '=', 'IMAGE')
      .where('a.accessory_of', 'is', null)
      .where('a.media_type', 'in', imageManifestTypes)
      .orderBy('a.id')
      .limit(limit)
      .execute();
    return rows.map(toRef);
  }

  /** A project's metadata value ('true'/'false' switches such as auto_scan). */
  async projectSetting(projectId: number, name: string, executor: Executor = this.db): Promise<string | undefined> {
    const row = await executor
      .selectFrom('project_metadata')
      .select('value')
      .where('project_id', '=', projectId)
      .where('name', '=', name)
      .executeTakeFirst();
    return row?.value;
  }

  /** The newest tag of an artifact (the scan request's `tag`), if any. */
  async latestTag(repositoryId: number, digest: string, executor: Executor = this.db): Promise<string | undefined> {
    const row = await executor
      .selectFrom('tags as t')
      .innerJoin('artifacts as a', 'a.id', 't.artifact_id')
      .select('t.name')
      .where('a.repository_id', '=', repositoryId)
      .where('a.digest', '=', digest)
      .orderBy('t.push_time', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row?.name;
  }
}

function toRef(r: {
  id: number;
  repository_id: number;
  repository: string;
  project_id: number;
  digest: string;
  media_type: string;
  type: string;
  accessory_of: string | null;
}): ArtifactRef {
  return {
    id: Number(r.id),
    repositoryId: Number(r.repository_id),
    repository: r.repository,
    projectId: Number(r.project_id),
    digest: r.digest,
    mediaType: r.media_type,
    type: r.type,
    accessoryOf: r.accessory_of,
  };
}
