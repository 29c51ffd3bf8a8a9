import { Alert, Badge, Button, Card, DataList, Group, Progress, SimpleGrid, Skeleton, Stack, Text, Title } from '@mantine/core';
import { useQuery, type UseQueryResult } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { api, errorText } from '../../api/client';
import type { SystemInfo } from '../../api/types';
import { CopyIcon } from '../../components/CopyField';
import { formatBytes, formatDateTime } from '../../lib/format';
import { usePageTitle } from '../../lib/title';

interface Volumes {
  storage: Array<{ total: number; free: number }>;
}

interface Health {
  status: string;
  components: Array<{ name: string; status: string; error?: string }>;
}

const authModes: Record<string, string> = {
  db_auth: 'Database (local accounts)',
  ldap_auth: 'LDAP',
  oidc_auth: 'OIDC',
  uaa_auth: 'UAA',
  http_auth: 'HTTP',
};

const storageProviders: Record<string, string> = { filesystem: 'Local file system', s3: 'Amazon S3 (or compatible)' };

/** One section of the page: its heading, and its body once its query answered. */
function Section<T>({ title, query, children }: { title: string; query: UseQueryResult<T>; children: (data: T) => ReactNode }) {
  return (
    <Card withBorder padding="lg" radius="md" component="section" aria-labelledby={`section-${title.toLowerCase()}`}>
      <Title order={2} size="h3" mb="md" id={`section-${title.toLowerCase()}`}>
        {title}
      </Title>
      {query.isPending ? (
        <Stack gap="xs">
          <Skeleton height={14} />
          <Skeleton height={14} />
          <Skeleton height={14} width="60%" />
        </Stack>
      ) : query.isError ? (
        <Alert color="red" title={`Could not load ${title.toLowerCase()}`} role="alert">
          <Text size="sm">{errorText(query.error)}</Text>
          <Button mt="sm" size="xs" variant="light" color="red" onClick={() => query.refetch()}>
            Try again
          </Button>
        </Alert>
      ) : (
        children(query.data)
      )}
    </Card>
  );
}

function OnOff({ on, yes = 'On', no = 'Off' }: { on: boolean | undefined; yes?: string; no?: string }) {
  return (
    <Badge variant="light" color={on ? 'green' : 'gray'}>
      {on ? yes : no}
    </Badge>
  );
}

function Item({ label, children }: { label: string; children: ReactNode }) {
  return (
    <DataList.Item>
      <DataList.ItemLabel>{label}</DataList.ItemLabel>
      <DataList.ItemValue style={{ wordBreak: 'break-word' }}>{children}</DataList.ItemValue>
    </DataList.Item>
  );
}

/** The registry at a glance: version, settings, storage and the health of its parts. */
export function SystemPage() {
  usePageTitle('System');
  const info = useQuery({ queryKey: ['systeminfo'], queryFn: () => api.get<SystemInfo>('/systeminfo') });
  const volumes = useQuery({ queryKey: ['systeminfo', 'volumes'], queryFn: () => api.get<Volumes>('/systeminfo/volumes') });
  const health = useQuery({ queryKey: ['health'], queryFn: () => api.get<Health>('/health') });

  return (
    <Stack>
      <Title order={1}>System</Title>
      <SimpleGrid cols={{ base: 1, md: 2 }} spacing="md">
        <Section title="General" query={info}>
          {(data) => (
            <DataList labelWidth={140} withDivider>
              <Item label="Version">{data.harbor_version ?? 'unknown'}</Item>
              <Item label="Registry URL">
                {data.registry_url ? (
                  <Group gap={4} wrap="nowrap">
                    <Text size="sm" ff="monospace" style={{ wordBreak: 'break-all' }}>
                      {data.registry_url}
                    </Text>
                    <CopyIcon value={data.registry_url} label="Copy registry URL" />
                  </Group>
                ) : (
                  '—'
                )}
              </Item>
              {data.external_url && <Item label="External URL">{data.external_url}</Item>}
              <Item label="Authentication">{data.auth_mode ? (authModes[data.auth_mode] ?? data.auth_mode) : 'unknown'}</Item>
              <Item label="Self-registration">
                <OnOff on={data.self_registration} />
              </Item>
              {typeof data.project_creation_restriction === 'string' && (
                <Item label="Who may create projects">
                  {data.project_creation_restriction === 'adminonly' ? 'Administrators only' : 'Everyone signed in'}
                </Item>
              )}
              {typeof data.registry_storage_provider_name === 'string' && (
                <Item label="Blob storage">
                  {storageProviders[data.registry_storage_provider_name] ?? data.registry_storage_provider_name}
                </Item>
              )}
              {typeof data.database_type === 'string' && <Item label="Database">{data.database_type}</Item>}
              {typeof data.read_only === 'boolean' && (
                <Item label="Read-only">
                  <OnOff on={data.read_only} yes="Yes: changes are refused" no="No" />
                </Item>
              )}
              {typeof data.current_time === 'string' && <Item label="Server time">{formatDateTime(data.current_time)}</Item>}
            </DataList>
          )}
        </Section>
        <Stack gap="md">
          <Section title="Components" query={health}>
            {(data) => (
              <Stack gap="md">
                <Group gap="xs">
                  <Text size="sm">Overall:</Text>
                  <Badge color={data.status === 'healthy' ? 'green' : 'red'} variant="filled">
                    {data.status}
                  </Badge>
                </Group>
                <DataList labelWidth={120} withDivider>
                  {data.components.map((c) => (
                    <Item key={c.name} label={c.name}>
                      <Stack gap={2} align="flex-start">
                        <Badge color={c.status === 'healthy' ? 'green' : 'red'} variant="light">
                          {c.status}
                        </Badge>
                        {c.error && (
                          <Text size="xs" c="red">
                            {c.error}
                          </Text>
                        )}
                      </Stack>
                    </Item>
                  ))}
                </DataList>
              </Stack>
            )}
          </Section>
          <Section title="Storage" query={volumes}>
            {(data) =>
              data.storage.length === 0 ? (
                <Text size="sm" c="dimmed">
                  Blobs are not stored on a local disk, so there is no volume to measure.
                </Text>
              ) : (
                <Stack gap="md">
                  {data.storage.map((volume, i) => {
                    const used = Math.max(0, volume.total - volume.free);
                    const percent = volume.total > 0 ? Math.round((used / volume.total) * 1000) / 10 : 0;
                    const name = data.storage.length > 1 ? `Volume ${i + 1}` : 'Blob volume';
                    return (
                      <Stack key={i} gap={6}>
                        <Group justify="space-between" gap="xs" wrap="wrap">
                          <Text size="sm" fw={500}>
                            {name}
                          </Text>
                          <Text size="sm" c="dimmed">
                            {percent}% used
                          </Text>
                        </Group>
                        <Progress
                          value={percent}
                          size="lg"
                          color={percent >= 90 ? 'red' : percent >= 75 ? 'yellow' : 'blue'}
                          aria-label={`${name}: ${percent}% used`}
                        />
                        <Text size="sm">
                          {formatBytes(volume.free)} free of {formatBytes(volume.total)}
                        </Text>
                      </Stack>
                    );
                  })}
                </Stack>
              )
            }
          </Section>
        </Stack>
      </SimpleGrid>
    </Stack>
  );
}
