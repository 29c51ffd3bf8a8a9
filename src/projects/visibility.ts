import { isSysadmin, type Identity } from '../auth/identity.js';
import type { RoleId } from '../auth/rbac.js';
import type { Viewer } from './service.js';
import type { ProjectRow, Visibility } from './store.js';

export type { Visibility };

/** Public projects, the caller's own, or all of them (system administrators, robots covering every project). */
export async function visibilityOf(identity: Identity, members: { projectIdsOf(userId: number): Promise<number[]> }): Promise<Visibility> {
  if (isSysadmin(identity)) return { kind: 'all' };
  if (identity.kind === 'user') return { kind: 'some', includePublic: true, ids: await members.projectIdsOf(identity.userId), names: [] };
  if (identity.kind === 'robot') {
    const scopes = identity.permissions.filter((p) => p.kind === 'project');
    if (scopes.some((p) => p.namespace === '*')) return { kind: 'all' };
    return { kind: 'some', includePublic: true, ids: [], names: scopes.map((p) => p.namespace) };
  }
  return { kind: 'some', includePublic: true, ids: [], names: [] };
}

/** The caller's roles in these projects, for the per-caller fields of a project view. */
export async function viewerOf(
  identity: Identity,
  rows: ProjectRow[],
  members: { rolesIn(userId: number, projectIds: number[]): Promise<Map<number, RoleId[]>> },
): Promise<Viewer> {
  const roles =
    identity.kind === 'user'
      ? await members.rolesIn(
          identity.userId,
          rows.map((r) => Number(r.id)),
        )
      : new Map();
  return { sysadmin: isSysadmin(identity), roles };
}
