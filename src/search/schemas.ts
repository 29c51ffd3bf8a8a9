import { arrayOf, bool, int, object, ref, str, type SharedSchema } from '../http/schema-helpers.js';
import { projectSchemas } from '../projects/schemas.js';

/** The search and statistics definitions, in Harbor's names (documentation only: see server/openapi.ts). */

export const SearchRepository: SharedSchema = {
  $id: 'SearchRepository',
  description: 'A repository whose name matched a search',
  ...object({
    project_id: int('Id of the project the repository is in'),
    project_name: str('Name of the project the repository is in'),
    project_public: bool('Whether that project is public'),
    repository_name: str('Full name of the repository, project included'),
    pull_count: int('Number of times an artifact of the repository was pulled'),
    artifact_count: int('Number of artifacts in the repository'),
  }),
};

export const Search: SharedSchema = {
  $id: 'Search',
  description: 'Projects and repositories whose names contain the search text, among those the caller may see',
  ...object({
    project: arrayOf(ref('Project'), 'Matching projects, by name'),
    repository: arrayOf(ref('SearchRepository'), 'Matching repositories, by name'),
  }),
};

const count = (description: string) => int(description, { minimum: 0 });

export const Statistic: SharedSchema = {
  $id: 'Statistic',
  description:
    'Project and repository counts. Public counts are for everyone; private counts cover the private projects the caller may see; ' +
    'totals and storage are filled in for system administrators only (0 for others).',
  ...object({
    private_project_count: count('Number of private projects the caller may see'),
    private_repo_count: count('Number of repositories in those private projects'),
    public_project_count: count('Number of public projects'),
    public_repo_count: count('Number of repositories in public projects'),
    total_project_count: count('Number of projects (system administrators only)'),
    total_repo_count: count('Number of repositories (system administrators only)'),
    total_storage_consumption: count('Bytes of all distinct blobs stored (system administrators only)'),
  }),
};

/**
 * Search names Project, a projects definition: registering the projects schemas here too
 * (identical ones are skipped) keeps the reference good whatever order features register in.
 */
export const searchSchemas = [...projectSchemas, SearchRepository, Search, Statistic];
