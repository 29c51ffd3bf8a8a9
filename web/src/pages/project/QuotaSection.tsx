import { Button, Group, Paper, Skeleton, Stack, Text, Title } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { IconPencil } from '@tabler/icons-react';
import { useQuery } from '@tanstack/react-query';
import { api } from '../../api/client';
import { useSession } from '../../auth/session';
import { EditQuotaDialog, QuotaUsage } from '../../components/Quota';
import { ErrorAlert } from '../../components/ErrorAlert';
import { formatBytes } from '../../lib/format';
import { projectApiPath, summaryKey, type Project, type ProjectSummary } from './model';

/** The configuration tab's storage quota: the limit and usage; system administrators change the limit. */
export function QuotaSection({ project }: { project: Project }) {
  const { user } = useSession();
  const [editing, edit] = useDisclosure(false);
  const query = useQuery({
    queryKey: summaryKey(project.project_id),
    queryFn: () => api.get<ProjectSummary>(projectApiPath(project, '/summary')),
  });
  if (query.isError) return <ErrorAlert title="Could not load the storage quota" error={query.error} />;
  const quota = query.data?.quota;
  if (query.data && !quota) return null;
  const hard = quota?.hard?.storage ?? -1;
  const used = quota?.used?.storage ?? 0;
  return (
    <Paper component="section" aria-labelledby="storage-quota-title" withBorder p="md" radius="md">
      <Title id="storage-quota-title" order={2} size="h4" mb="sm">
        Storage quota
      </Title>
      {!quota ? (
        <Skeleton height={48} />
      ) : (
        <Stack gap="sm">
          <Text size="sm">Limit: {hard < 0 ? 'unlimited' : formatBytes(hard)}</Text>
          <QuotaUsage used={used} hard={hard} label="Storage used" />
          <Group justify="space-between" gap="sm" wrap="wrap">
            <Text size="sm" c="dimmed" maw={480}>
              {user?.sysadmin_flag
                ? 'Pushes past the limit are refused; a lower limit deletes nothing.'
                : 'Only system administrators can change the limit.'}
            </Text>
            {user?.sysadmin_flag && (
              <Button variant="default" leftSection={<IconPencil size={16} aria-hidden />} onClick={edit.open}>
                Edit limit
              </Button>
            )}
          </Group>
        </Stack>
      )}
      {user?.sysadmin_flag && quota && (
        <EditQuotaDialog
          key={`${hard}`}
          opened={editing}
          onClose={edit.close}
          projectId={project.project_id}
          projectName={project.name}
          hard={hard}
          used={used}
        />
      )}
    </Paper>
  );
}
