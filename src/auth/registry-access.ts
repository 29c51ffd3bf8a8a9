import type { Identity } from './identity.js';
import type { AccessGuard, ProjectRef } from './guard.js';
import { isSysadmin } from './identity.js';
import { grantsAllow } from './rbac.js';

export type RegistryAction = 'pull' | 'push' | 'delete';
const registryActions: RegistryAction[] = ['pull', 'push', 'delete'];

export interface ProjectLookup {
  projectRef(name: string): Promise<ProjectRef | null>;
}

/** Project of a repository name: its first path component. */
function projectName(repository: string): string {
  const slash = repository.indexOf('/');
  return slash < 0 ? repository : repository.slice(0, slash);
}

/**
 * Decides /v2 access: for a registry token, its claims; for anyone else, the RBAC table
 * through the guard. The token service uses the same code to cut a token's scopes down.
 */
export class RegistryAccess {
  constructor(
    private readonly guard: AccessGuard,
    private readonly projects: ProjectLookup,
  ) {}

  /** The actions on a repository this identity may take (never throws for "none"). */
  async allowed(identity: Identity, repository: string): Promise<Set<RegistryAction>> {
    if (identity.kind === 'token') {
      const granted = new Set<RegistryAction>();
      for (const claim of identity.access) {
        if (claim.type !== 'repository' || claim.name !== repository) continue;
        for (const action of claim.actions) {
          if (action === '*') registryActions.forEach((a) => granted.add(a));
          else if ((registryActions as string[]).includes(action)) granted.add(action as RegistryAction);
        }
      }
      return granted;
    }
    const project = await this.projects.projectRef(projectName(repository));
    if (!project) return new Set(isSysadmin(identity) ? registryActions : []);
    const grants = await this.guard.projectGrants(identity, project);
    return new Set(registryActions.filter((a) => grants === 'all' || grants.some((g) => grantsAllow(g, 'repository', a))));
  }

  async may(identity: Identity, repository: string, actions: RegistryAction[]): Promise<boolean> {
    const granted = await this.allowed(identity, repository);
    return actions.every((a) => granted.has(a));
  }

  mayListCatalog(identity: Identity): boolean {
    if (identity.kind === 'token') {
      return identity.access.some((c) => c.type === 'registry' && c.name === 'catalog' && c.actions.includes('*'));
    }
    return isSysadmin(identity);
  }
}
