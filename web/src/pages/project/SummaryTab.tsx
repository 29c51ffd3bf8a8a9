import { Anchor, Code, Group, Paper, SimpleGrid, Skeleton, Stack, Table, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { Link } from 'react-router';
import { api } from '../../api/client';
import { useSession } from '../../auth/session';
import { CopyIcon } from '../../components/CopyField';
import { ErrorAlert } from '../../components/ErrorAlert';
import { formatDateTime } from '../../lib/format';
import { projectPath } from '../../lib/paths';
import { isPublic, projectApiPath, roleName, summaryKey, type ProjectSummary } from './model';
import type { TabProps } from './ProjectPage';
import { StorageSummary } from './StorageSummary';

function Card({ title, children }: { title: string; children: ReactNode }) {
  return (
    <Paper withBorder p="md" radius="md">
      <Title order={2} size="h4" mb="sm">
        {title}
      </Title>
      {children}
    </Paper>
  );
}

function Row({ label, value }: { label: string; value: ReactNode }) {
  return (
    <Table.Tr>
      <Table.Th fw={400} c="dimmed" w="45%">
        {label}
      </Table.Th>
      <Table.Td>{value}</Table.Td>
    </Table.Tr>
  );
}

function Command({ text, label }: { text: string; label: string }) {
  return (
    <Group gap="xs" wrap="nowrap" align="center">
      <Code block style={{ flex: 1, minWidth: 0, whiteSpace: 'pre-wrap', wordBreak: 'break-all' }}>
        {text}
      </Code>
      <CopyIcon value={text} label={label} />
    </Group>
  );
}

const memberRoles: Array<[keyof ProjectSummary, number]> = [
  ['project_admin_count', 1],
  ['maintainer_count', 4],
  ['developer_count', 2],
  ['guest_count', 3],
  ['limited_guest_count', 5],
];

export function SummaryTab({ project, can }: TabProps) {
  const { user } = useSession();
  const query = useQuery({
    queryKey: summaryKey(project.project_id),
    queryFn: () => api.get<ProjectSummary>(projectApiPath(project, '/summary')),
  });
  const summary = query.data;
  const host = window.location.host;
  const hasMembers = summary?.project_admin_count !== undefined;

  if (query.isError) return <ErrorAlert title="Could not load the summary" error={query.error} />;
  const pending = <Skeleton height={60} />;

  return (
    <Stack gap="md">
      <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="md">
        <Card title="Repositories">
          {summary ? (
            <Stack gap={4}>
              <Text fz={32} fw={700} lh={1.1}>
                {summary.repo_count}
              </Text>
              <Text size="sm" c="dimmed">
                {summary.repo_count === 1 ? 'repository' : 'repositories'}
              </Text>
              {can('repository', 'list') && (
                <Anchor component={Link} to={projectPath(project.name, 'repositories')} size="sm">
                  View repositories
                </Anchor>
              )}
            </Stack>
          ) : (
            pending
          )}
        </Card>
        {(hasMembers || !summary) && (
          <Card title="Members">
            {summary ? (
              <Table verticalSpacing={4} aria-label="Members by role">
                <Table.Tbody>
                  {memberRoles.map(([key, role]) => (
                    <Row key={key} label={roleName(role)} value={summary[key] as number} />
                  ))}
                </Table.Tbody>
              </Table>
            ) : (
              pending
            )}
          </Card>
        )}
        {(summary?.quota || !summary) && <Card title="Storage">{summary?.quota ? <StorageSummary quota={summary.quota} /> : pending}</Card>}
        <Card title="Details">
          <Table verticalSpacing={4} aria-label="Project details">
            <Table.Tbody>
              <Row label="Access level" value={isPublic(project) ? 'Public' : 'Private'} />
              <Row label="Owner" value={project.owner_name || '—'} />
              <Row
                label="Your role"
                value={project.current_user_role_id ? roleName(project.current_user_role_id) : user?.sysadmin_flag ? 'Administrator' : '—'}
              />
              <Row label="Created" value={formatDateTime(project.creation_time)} />
            </Table.Tbody>
          </Table>
        </Card>
      </SimpleGrid>
      {project.registry_id ? (
        // A proxy cache project: pulls only, from the endpoint it mirrors.
        <Card title="Proxy cache">
          <Stack gap="xs">
            <Text size="sm" c="dimmed">
              A pull-through cache of {summary?.registry ? `${summary.registry.name} (${summary.registry.url})` : 'another registry'}: a
              pull fetches from it what the cache lacks and keeps it; pushes are refused.
              {project.metadata?.proxy_cache_freshness_seconds
                ? ` A tag is served from the cache for ${project.metadata.proxy_cache_freshness_seconds} s before the upstream is asked again.`
                : ''}
            </Text>
            <Command text={`docker pull ${host}/${project.name}/REPOSITORY[:TAG]`} label="Copy pull command" />
          </Stack>
        </Card>
      ) : (
        <Card title="Push and pull">
          <Stack gap="xs">
            <Text size="sm" c="dimmed">
              Sign in to the registry, then tag and push an image into this project:
            </Text>
            <Command text={`docker login ${host}`} label="Copy login command" />
            <Command text={`docker tag SOURCE_IMAGE[:TAG] ${host}/${project.name}/REPOSITORY[:TAG]`} label="Copy tag command" />
            <Command text={`docker push ${host}/${project.name}/REPOSITORY[:TAG]`} label="Copy push command" />
            <Command text={`docker pull ${host}/${project.name}/REPOSITORY[:TAG]`} label="Copy pull command" />
          </Stack>
        </Card>
      )}
    </Stack>
  );
}
