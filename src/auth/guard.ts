import { apiError } from '../lib/errors.js';
import { isSysadmin, type Identity, type RobotPermission } from './identity.js';
import { grantsAllow, permissionsOf, publicGrants, roleGrants, type Grants, type RoleId } from './rbac.js';

export interface ProjectRef {
  id: number;
  name: string;
  public: boolean;
}

/** Where the guard learns a user's role in a project (the members feature answers). */
export interface MembershipLookup {
  roleOf(projectId: number, userId: number): Promise<RoleId | null>;
}

/** Every grant that applies, or 'all' for a system administrator. */
export type EffectiveGrants = Grants[] | 'all';

function robotGrants(permissions: RobotPermission[], kind: 'project' | 'system', namespace: string): Grants {
  const grants: Record<string, string[]> = {};
  for (const permission of permissions) {
    if (permission.kind !== kind) continue;
    if (kind === 'project' && permission.namespace !== namespace && permission.namespace !== '*') continue;
    for (const access of permission.access) {
      if (access.effect === 'deny') continue;
      (grants[access.resource] ??= []).push(access.action);
    }
  }
  return grants as Grants;
}

/**
 * The one access guard: every /v2 and /api/v2.0 decision goes through it, reading the
 * permission table in rbac.ts.
 */
export class AccessGuard {
  constructor(private readonly members: MembershipLookup) {}

  async projectGrants(identity: Identity, project: ProjectRef): Promise<EffectiveGrants> {
    if (isSysadmin(identity)) return 'all';
    const sets: Grants[] = [];
    if (project.public) sets.push(publicGrants);
    if (identity.kind === 'user') {
      const role = await this.members.roleOf(project.id, identity.userId);
      if (role !== null) sets.push(roleGrants[role]);
    } else if (identity.kind === 'robot') {
      sets.push(robotGrants(identity.permissions, 'project', project.name));
    }
    return sets;
  }

  async can(identity: Identity, project: ProjectRef, resource: string, action: string): Promise<boolean> {
    if (identity.kind === 'token') {
      // Tokens speak only for /v2 repository access; there the claims decide.
      return false;
    }
    const grants = await this.projectGrants(identity, project);
    return grants === 'all' || grants.some((g) => grantsAllow(g, resource, action));
  }

  /** Throws 401 for anonymous callers and 403 for the rest when the action is not allowed. */
  async require(identity: Identity, project: ProjectRef, resource: string, action: string): Promise<void> {
    if (await this.can(identity, project, resource, action)) return;
    throw denied(identity, `${action} on ${resource} in project ${project.name}`);
  }

  canSystem(identity: Identity, resource: string, action: string): boolean {
    if (isSysadmin(identity)) return true;
    if (identity.kind === 'robot') return grantsAllow(robotGrants(identity.permissions, 'system', '/'), resource, action);
    return false;
  }

  requireSystem(identity: Identity, resource: string, action: string): void {
    if (!this.canSystem(identity, resource, action)) throw denied(identity, `${action} on ${resource}`);
  }

  /** The (resource, action) list /users/current/permissions answers for a project. */
  async projectPermissions(identity: Identity, project: ProjectRef): Promise<Array<{ resource: string; action: string }>> {
    const grants = await this.projectGrants(identity, project);
    return permissionsOf(grants === 'all' ? [roleGrants[1]] : grants);
  }
}

export function requireAuthenticated(identity: Identity): void {
  if (identity.kind === 'anonymous') throw apiError('UNAUTHORIZED', 'authentication is required');
}

export function denied(identity: Identity, what: string) {
  return identity.kind === 'anonymous'
    ? apiError('UNAUTHORIZED', `authentication is required for ${what}`)
    : apiError('FORBIDDEN', `not allowed: ${what}`);
}
