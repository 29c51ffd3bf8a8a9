// The portal's URLs. A repository name holds slashes and is the tail of its path; `/-/`
// (never a valid repository path component) separates it from the artifact reference.

export type ProjectTab =
  'summary' | 'repositories' | 'members' | 'robots' | 'logs' | 'policy' | 'p2p-preheat' | 'webhooks' | 'configuration';

export function projectPath(project: string, tab: ProjectTab = 'summary'): string {
  return `/projects/${encodeURIComponent(project)}/${tab}`;
}

/** `repository` is the name within the project (without the project prefix). */
export function repositoryPath(project: string, repository: string): string {
  return `/projects/${encodeURIComponent(project)}/repositories/${repository.split('/').map(encodeURIComponent).join('/')}`;
}

export function artifactPath(project: string, repository: string, reference: string): string {
  return `${repositoryPath(project, repository)}/-/artifacts/${encodeURIComponent(reference)}`;
}

/** "library/app/sub" of project "library" → "app/sub". */
export function withinProject(project: string, fullName: string): string {
  return fullName.startsWith(`${project}/`) ? fullName.slice(project.length + 1) : fullName;
}
