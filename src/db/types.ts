import type { Generated, Insertable, Selectable } from 'kysely';

/** Table types. Times are ISO-8601 UTC strings; booleans are 0/1 integers (portable to PostgreSQL). */
export interface ProjectsTable {
  id: Generated<number>;
  name: string;
  public: number;
  created_at: string;
  updated_at: string;
}

export interface RepositoriesTable {
  id: Generated<number>;
  project_id: number;
  name: string;
  description: string;
  pull_count: Generated<number>;
  created_at: string;
  updated_at: string;
}

export interface BlobsTable {
  digest: string;
  size: number;
  created_at: string;
}

export interface RepositoryBlobsTable {
  repository_id: number;
  digest: string;
  created_at: string;
}

export interface ArtifactsTable {
  id: Generated<number>;
  repository_id: number;
  digest: string;
  media_type: string;
  artifact_type: string | null;
  /** Manifest bytes plus every blob it names (for an index: plus its children). */
  size: number;
  manifest: Uint8Array;
  subject_digest: string | null;
  annotations: string | null;
  push_time: string;
  pull_time: string | null;
}

export interface TagsTable {
  id: Generated<number>;
  repository_id: number;
  artifact_id: number;
  name: string;
  push_time: string;
  pull_time: string | null;
}

export interface ArtifactBlobsTable {
  artifact_id: number;
  digest: string;
}

export interface ArtifactReferencesTable {
  parent_id: number;
  child_id: number;
  child_digest: string;
  platform: string | null;
  annotations: string | null;
}

export interface UploadsTable {
  id: string;
  repository_id: number;
  digest_algorithm: string;
  size: number;
  created_at: string;
  updated_at: string;
}

export interface Database {
  projects: ProjectsTable;
  repositories: RepositoriesTable;
  blobs: BlobsTable;
  repository_blobs: RepositoryBlobsTable;
  artifacts: ArtifactsTable;
  tags: TagsTable;
  artifact_blobs: ArtifactBlobsTable;
  artifact_references: ArtifactReferencesTable;
  uploads: UploadsTable;
}

export type Project = Selectable<ProjectsTable>;
export type Repository = Selectable<RepositoriesTable>;
export type Artifact = Selectable<ArtifactsTable>;
export type NewArtifact = Insertable<ArtifactsTable>;
