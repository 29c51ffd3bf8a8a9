import { useQuery } from '@tanstack/react-query';
import { api } from '../../api/client';

interface Permission {
  resource: string;
  action: string;
}

/**
 * What the signed-in user may do in a project, from /users/current/permissions (relative
 * resources: "repository", "artifact", "tag", …). Nothing is allowed until it has loaded.
 */
export function useProjectPermissions(projectId: number | undefined): (resource: string, action: string) => boolean {
  const query = useQuery({
    queryKey: ['permissions', projectId],
    queryFn: () => api.get<Permission[]>('/users/current/permissions', { scope: `/project/${projectId}`, relative: true }),
    enabled: projectId !== undefined,
    staleTime: 60_000,
  });
  const granted = query.data ?? [];
  return (resource, action) => granted.some((p) => p.resource === resource && p.action === action);
}
