/*
 * Where a source repository lands on the destination: Harbor's destination namespace and
 * flattening (src/controller/replication/flow/stage.go, replaceNamespace). With a namespace
 * `n` and the source `a/b/c/image`:
 *   -1 → n/image (flatten all), 0 → n/a/b/c/image, 1 → n/b/c/image, 2 → n/c/image, 3 → n/image,
 *   4 → refused (only three levels to remove).
 * Without a namespace the repository keeps its name. Registries that need a project (Harbor,
 * Berth) refuse a destination of one component; some need exactly two.
 */

/** How many path components the destination accepts (Harbor's RepositoryPathComponentType). */
export type PathComponents = 'any' | 'at-least-two' | 'only-two';

export class DestinationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DestinationError';
  }
}

export function destinationRepository(
  repository: string,
  namespace: string,
  replaceCount: number,
  pathType: PathComponents = 'any',
): string {
  let destination: string;
  if (!namespace) {
    destination = repository;
  } else {
    const parts = repository.split('/');
    const name = parts[parts.length - 1];
    const levels = parts.length - 1;
    let prefix: string;
    if (replaceCount < 0) {
      prefix = namespace;
    } else if (replaceCount > levels) {
      throw new DestinationError(
        `the source repository "${repository}" contains only ${levels} path components [${parts.slice(0, -1).join(' ')}] excepting the last one, but the destination namespace flattening level is ${replaceCount}`,
      );
    } else {
      prefix = [namespace, ...parts.slice(replaceCount, -1)].join('/');
    }
    destination = `${prefix}/${name}`.replace(/\/+/g, '/');
  }
  const count = destination.split('/').length;
  if (pathType === 'only-two' && count !== 2) {
    throw new DestinationError(
      `the destination repository "${destination}" contains ${count} path components, but the destination registry only supports 2`,
    );
  }
  if (pathType === 'at-least-two' && count < 2) {
    throw new DestinationError(
      `the destination repository "${destination}" contains only ${count} path components, but the destination registry requires at least 2`,
    );
  }
  return destination;
}

/** The path rule of a destination by adapter type: Harbor and Berth need a project; Docker Hub a namespace and a name. */
export function pathComponentsOf(adapterType: string | null): PathComponents {
  if (adapterType === null || adapterType === 'harbor') return 'at-least-two';
  if (adapterType === 'docker-hub') return 'only-two';
  return 'any';
}
