import { Skeleton, Text } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { api } from '../../api/client';
import { QuotaUsage } from '../../components/Quota';
import { projectApiPath, summaryKey, type Project, type ProjectSummary } from '../project/model';

/**
 * A project's storage usage in the projects list, from its summary (shared with the project
 * page's cache); a dash when the caller may not read the quota (a public project of others).
 */
export function ProjectUsage({ project }: { project: Project }) {
  const query = useQuery({
    queryKey: summaryKey(project.project_id),
    queryFn: () => api.get<ProjectSummary>(projectApiPath(project, '/summary')),
    staleTime: 15_000,
  });
  if (query.isPending) return <Skeleton height={14} width={120} />;
  const quota = query.data?.quota;
  if (!quota?.used) {
    return (
      <Text size="sm" c="dimmed">
        —
      </Text>
    );
  }
  return <QuotaUsage used={quota.used.storage ?? 0} hard={quota.hard?.storage} compact label={`Storage used by ${project.name}`} />;
}
