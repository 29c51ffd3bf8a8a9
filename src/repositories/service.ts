import type { Repository } from '../db/types.js';
import type { AuditEntry } from '../events/audit.js';
import { apiError } from '../lib/errors.js';
import type { Paging } from '../lib/paging.js';
import type { QueryTerm } from '../lib/query.js';
import { projectOf } from '../oci/names.js';
import type { RepositoryStore } from './store.js';

export type { Repository };

/** The Repository definition of Harbor's API. */
export interface RepositoryView {
  id: number;
  project_id: number;
  /** The full name, project included. */
  name: string;
  description: string;
  artifact_count: number;
  pull_count: number;
  creation_time: string;
  update_time: string;
}

/** The SearchRepository definition of Harbor's API. */
export interface SearchRepositoryView {
  project_id: number;
  project_name: string;
  project_public: boolean;
  repository_name: string;
  pull_count: number;
  artifact_count: number;
}

/** What the repositories feature needs from the projects feature. */
export interface RepositoryProjects {
  publicProjectIds(): Promise<number[]>;
}

/** A visible-project list longer than this is applied in memory rather than as an SQL `in` list. */
const sqlFilterLimit = 500;

function shown(value: string): string {
  return value.length > 100 ? `${value.slice(0, 100)}…` : value;
}

/** Repositories as Harbor's API shows them: lists, one by name, description, deletion, search and counts. */
export class RepositoryService {
  constructor(
    private readonly store: RepositoryStore,
    private readonly projects: RepositoryProjects,
  ) {}

  /** The repository with this full name ("project/…/repo"), once a manifest was pushed to it (it may be empty now). */
  byName(fullName: string): Promise<Repository | undefined> {
    return this.store.byName(fullName);
  }

  /** Like byName, but 404 (Harbor's error body) when there is no such repository. */
  async resolve(fullName: string): Promise<Repository> {
    const repository = await this.store.byName(fullName);
    if (!repository) throw apiError('NOT_FOUND', `repository ${shown(fullName)} not found`);
    return repository;
  }

  /** A page of repositories in the given projects, or in every project (null). */
  list(
    projectIds: number[] | null,
    terms: QueryTerm[],
    sort: string | undefined,
    paging: Paging,
  ): Promise<{ items: Repository[]; total: number }> {
    return this.store.list(projectIds, terms, sort, paging);
  }

  /** Repositories as Harbor's API shows them, artifact counts from one grouped query. */
  async views(rows: Repository[]): Promise<RepositoryView[]> {
    const counts = await this.store.artifactCounts(rows.map((r) => Number(r.id)));
    return rows.map((r) => ({
      id: Number(r.id),
      project_id: Number(r.project_id),
      name: r.name,
      description: r.description,
      artifact_count: counts.get(Number(r.id)) ?? 0,
      pull_count: Number(r.pull_count),
      creation_time: r.created_at,
      update_time: r.updated_at,
    }));
  }

  /** PUT: Harbor's Repository body; only `description` changes (absent clears it, as in Harbor). */
  async update(repository: Repository, body: Record<string, unknown>, actor: { username: string }): Promise<void> {
    const description = body.description ?? '';
    if (typeof description !== 'string') throw apiError('BAD_REQUEST', 'description must be a string');
    await this.store.setDescription(Number(repository.id), description, audit(actor, 'update', repository));
  }

  /** Deletes the repository with every artifact and tag in it; 404 when it is already gone. */
  async delete(repository: Repository, actor: { username: string }): Promise<void> {
    if (!(await this.store.delete(Number(repository.id), audit(actor, 'delete', repository)))) {
      throw apiError('NOT_FOUND', `repository ${repository.name} not found`);
    }
  }

  /**
   * Repositories whose name contains `fragment`, by name, in the projects given (or all),
   * and in every public project when `includePublic`.
   */
  async search(fragment: string, visibleProjectIds: number[] | 'all', includePublic: boolean): Promise<SearchRepositoryView[]> {
    const publicIds = new Set(await this.projects.publicProjectIds());
    const allowed = visibleProjectIds === 'all' ? null : new Set([...visibleProjectIds, ...(includePublic ? publicIds : [])]);
    const inSql = allowed !== null && allowed.size <= sqlFilterLimit ? [...allowed] : null;
    let rows = await this.store.search(fragment.toLowerCase(), inSql);
    if (allowed !== null && inSql === null) rows = rows.filter((r) => allowed.has(Number(r.project_id)));
    const counts = await this.store.artifactCounts(rows.map((r) => Number(r.id)));
    return rows.map((r) => ({
      project_id: Number(r.project_id),
      project_name: projectOf(r.name),
      project_public: publicIds.has(Number(r.project_id)),
      repository_name: r.name,
      pull_count: Number(r.pull_count),
      artifact_count: counts.get(Number(r.id)) ?? 0,
    }));
  }

  /** Repositories (pushed to at least once, empty ones too) per project, for the projects given or for every project. */
  countsByProject(projectIds: number[] | 'all'): Promise<Map<number, number>> {
    return this.store.countsByProject(projectIds);
  }

  /** Repositories in every project and in public projects (kept counts, constant time). */
  totals(): Promise<{ all: number; public: number }> {
    return this.store.totals();
  }

  /** Bytes of every distinct blob stored (Harbor's total_storage_consumption). */
  storageConsumption(): Promise<number> {
    return this.store.storageConsumption();
  }
}

function audit(actor: { username: string }, operation: 'update' | 'delete', repository: Repository): AuditEntry {
  return {
    username: actor.username,
    operation,
    resourceType: 'repository',
    resource: repository.name,
    projectId: Number(repository.project_id),
  };
}
