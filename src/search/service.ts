import type { ProjectService, ProjectView, Viewer } from '../projects/service.js';
import type { ProjectRow } from '../projects/store.js';
import type { Visibility } from '../projects/visibility.js';
import type { RepositoryService, SearchRepositoryView } from '../repositories/service.js';

/** The Search definition of Harbor's API. */
export interface SearchResult {
  project: ProjectView[];
  repository: SearchRepositoryView[];
}

/** The Statistic definition of Harbor's API. */
export interface Statistic {
  private_project_count: number;
  private_repo_count: number;
  public_project_count: number;
  public_repo_count: number;
  total_project_count: number;
  total_repo_count: number;
  total_storage_consumption: number;
}

const all: Visibility = { kind: 'all' };

function sum(counts: Map<number, number>, projectIds: Iterable<number>): number {
  let n = 0;
  for (const id of projectIds) n += counts.get(id) ?? 0;
  return n;
}

/** /search and /statistics: projects and repositories, cut to what the caller may see. */
export class SearchService {
  constructor(
    private readonly projects: ProjectService,
    private readonly repositories: RepositoryService,
  ) {}

  /** Projects and repositories whose name contains `fragment`, among those `visibility` allows. */
  async search(fragment: string, visibility: Visibility, viewerOf: (rows: ProjectRow[]) => Promise<Viewer>): Promise<SearchResult> {
    const rows = await this.projects.matching({ visibility, name: fragment });
    const project = await this.projects.views(rows, await viewerOf(rows));
    let repository: SearchRepositoryView[];
    if (visibility.kind === 'all') {
      repository = await this.repositories.search(fragment, 'all', false);
    } else {
      // A robot's scopes name projects: turn them into ids.
      const named =
        visibility.names.length > 0 ? await this.projects.ids({ visibility: { ...visibility, includePublic: false, ids: [] } }) : [];
      repository = await this.repositories.search(fragment, [...new Set([...visibility.ids, ...named])], visibility.includePublic);
    }
    return { project, repository };
  }

  /**
   * Counts as Harbor gives them: public projects and their repositories for everyone; the
   * private ones the caller may see; totals and storage only for system administrators.
   */
  async statistics(caller: { sysadmin: boolean; visibility: Visibility }): Promise<Statistic> {
    // Whole-table figures come from the counts the database keeps (db/counts.ts); only a
    // caller's own private projects are counted, through their ids.
    const [publicProjects, repositories] = await Promise.all([
      this.projects.count({ visibility: all, public: true }),
      this.repositories.totals(),
    ]);
    const stats: Statistic = {
      private_project_count: 0,
      private_repo_count: 0,
      public_project_count: publicProjects,
      public_repo_count: repositories.public,
      total_project_count: 0,
      total_repo_count: 0,
      total_storage_consumption: 0,
    };
    if (caller.sysadmin) {
      stats.total_project_count = await this.projects.count({ visibility: all });
      stats.private_project_count = stats.total_project_count - stats.public_project_count;
      stats.total_repo_count = repositories.all;
      stats.private_repo_count = stats.total_repo_count - stats.public_repo_count;
      stats.total_storage_consumption = await this.repositories.storageConsumption();
    } else {
      const privateIds = await this.projects.ids({ visibility: caller.visibility, public: false });
      stats.private_project_count = privateIds.length;
      stats.private_repo_count = sum(await this.repositories.countsByProject(privateIds), privateIds);
    }
    return stats;
  }
}
