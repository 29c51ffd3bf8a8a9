import { useQuery } from '@tanstack/react-query';
import { api } from '../api/client';

interface Permission {
  resource: string;
  action: string;
}

export const permissionsKey = (projectId: number) => ['permissions', `/project/${projectId}`] as const;

/**
 * What the signed-in user may do in a scope (`/system` or `/project/{id}`), from
 * /users/current/permissions with relative resources ("project", "repository", "tag", …),
 * as a set of `resource:action`.
 */
export function usePermissions(scope: string | undefined) {
  return useQuery({
    queryKey: ['permissions', scope ?? ''],
    enabled: scope !== undefined,
    queryFn: () => api.get<Permission[]>('/users/current/permissions', { scope, relative: true }),
    select: (list) => new Set(list.map((p) => `${p.resource}:${p.action}`)),
    staleTime: 60_000,
  });
}

export function useProjectPermissions(projectId: number | undefined) {
  return usePermissions(projectId === undefined ? undefined : `/project/${projectId}`);
}

/** A test over the project's permissions; nothing is allowed until they have loaded. */
export function useProjectAccess(projectId: number | undefined): (resource: string, action: string) => boolean {
  const granted = useProjectPermissions(projectId).data;
  return (resource, action) => granted?.has(`${resource}:${action}`) ?? false;
}
