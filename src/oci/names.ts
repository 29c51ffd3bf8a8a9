/**
 * Repository name and tag grammar from the OCI distribution spec, plus Berth's rule that
 * the first path component names the project.
 */
const componentPattern = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const tagPattern = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
export const maxNameLength = 255;

/** Returns why a repository name is invalid, or null when it is valid. */
export function repositoryNameProblem(name: string): string | null {
  if (name.length === 0) return 'repository name is empty';
  if (name.length > maxNameLength) return `repository name is longer than ${maxNameLength} characters`;
  const parts = name.split('/');
  if (parts.length < 2) return `repository name "${name}" must be <project>/<repository>`;
  for (const part of parts) {
    if (part === '') return `repository name "${name}" has an empty path component`;
    if (!componentPattern.test(part)) {
      return `repository name component "${part}" must be lower-case letters, digits and single separators (. _ __ -)`;
    }
  }
  return null;
}

export function projectOf(repositoryName: string): string {
  const slash = repositoryName.indexOf('/');
  return slash < 0 ? repositoryName : repositoryName.slice(0, slash);
}

export function isTag(value: string): boolean {
  return tagPattern.test(value);
}
