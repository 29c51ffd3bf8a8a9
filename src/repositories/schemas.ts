import { dateTime, int, object, pathParams, str, type JsonSchema, type SharedSchema } from '../http/schema-helpers.js';

/** The repositories API's definitions, in Harbor's names (documentation only: see server/openapi.ts). */

export const Repository: SharedSchema = {
  $id: 'Repository',
  description:
    'A repository: the artifacts pushed under one name. As a request body (PUT), only description is read; the other fields are ignored.',
  ...object({
    id: int('Id of the repository'),
    project_id: int('Id of the project the repository is in'),
    name: str('Full name of the repository, project included, such as library/nginx'),
    description: str('Free-form description; may be empty'),
    artifact_count: int('Number of artifacts in the repository'),
    pull_count: int('Number of times an artifact of the repository was pulled'),
    creation_time: dateTime('When the repository was created (its first push)'),
    update_time: dateTime('When the repository was last changed'),
  }),
};

export const repositorySchemas = [Repository];

/** `{project_name}`: the project a repository path names. */
export const projectName: Record<string, JsonSchema> = {
  project_name: str('Name of the project'),
};

/** `{repository_name}`, without the project, URL-encoded twice when it holds a "/". */
export const repositoryName: Record<string, JsonSchema> = {
  repository_name: str('Name of the repository without the project. A "/" in it is URL-encoded twice: a/b becomes a%252Fb'),
};

export const repositoryParams = pathParams({ ...projectName, ...repositoryName });
