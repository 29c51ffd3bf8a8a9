import { Badge, Button, Fieldset, Grid, Select, Stack, Text, TextInput, Title, Tooltip } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { IconFilterOff } from '@tabler/icons-react';
import { useState } from 'react';
import { api } from '../../api/client';
import { auditWords } from '../../lib/audit';
import { DataTable, type Column, type TableRequest } from '../../components/DataTable';
import { formatDateTime, formatRelative } from '../../lib/format';
import { usePageTitle } from '../../lib/title';

/** AuditLogExt: a record with its result (the richer of Harbor's two audit listings). */
interface AuditRecord {
  id: number;
  username: string;
  resource: string;
  resource_type: string;
  operation: string;
  operation_description: string;
  operation_result: boolean;
  op_time: string;
}

const any = 'any';

/** The operations the server records (src/events/audit.ts). */
const operations = [
  { value: any, label: 'Any operation' },
  { value: 'create', label: 'Create' },
  { value: 'update', label: 'Update' },
  { value: 'delete', label: 'Delete' },
  { value: 'pull', label: 'Pull' },
  { value: 'login', label: 'Login' },
  { value: 'logout', label: 'Logout' },
];

/** The resource types the server writes. */
const resourceTypes = [
  { value: any, label: 'Any type' },
  { value: 'artifact', label: 'Artifact' },
  { value: 'tag', label: 'Tag' },
  { value: 'repository', label: 'Repository' },
  { value: 'project', label: 'Project' },
  { value: 'project_metadata', label: 'Project setting' },
  { value: 'member', label: 'Member' },
  { value: 'robot', label: 'Robot account' },
  { value: 'user', label: 'User' },
  { value: 'label', label: 'Label' },
  { value: 'artifact-label', label: 'Label on an artifact' },
];

const results = [
  { value: any, label: 'Any result' },
  { value: 'success', label: 'Succeeded' },
  { value: 'failure', label: 'Failed' },
];

/** A badge keeps its whole text: Mantine's badges otherwise end in an ellipsis when a column is narrow. */
const wholeBadge = { root: { overflow: 'visible', flexShrink: 0 }, label: { overflow: 'visible' } } as const;

const operationColors: Record<string, string> = {
  create: 'green',
  'add label': 'green',
  'remove label': 'red',
  'change password': 'blue',
  update: 'blue',
  delete: 'red',
  pull: 'cyan',
  push: 'teal',
  login: 'grape',
  logout: 'gray',
};

interface Filters {
  operation: string;
  resourceType: string;
  result: string;
  resource: string;
  username: string;
  from: string;
  to: string;
}

const noFilters: Filters = { operation: any, resourceType: any, result: any, resource: '', username: '', from: '', to: '' };

/** Commas separate terms of q: a value cannot hold one. */
function clean(text: string): string {
  return text.trim().replace(/,/g, ' ');
}

/** A datetime-local value (the browser's local time, to the minute) as an instant. */
function instant(local: string, endOfMinute: boolean): string | null {
  if (!local) return null;
  const time = new Date(local).getTime();
  if (Number.isNaN(time)) return null;
  return new Date(time + (endOfMinute ? 59_999 : 0)).toISOString();
}

function queryOf(filters: Filters): string | undefined {
  const terms: string[] = [];
  if (filters.operation !== any) terms.push(`operation=${filters.operation}`);
  if (filters.resourceType !== any) terms.push(`resource_type=${filters.resourceType}`);
  if (filters.result !== any) terms.push(`result=${filters.result}`);
  if (clean(filters.resource)) terms.push(`resource=~${clean(filters.resource)}`);
  if (clean(filters.username)) terms.push(`username=~${clean(filters.username)}`);
  const from = instant(filters.from, false);
  const to = instant(filters.to, true);
  if (from || to) terms.push(`op_time=[${from ?? ''}~${to ?? ''}]`);
  return terms.length > 0 ? terms.join(',') : undefined;
}

/** Who did what, when: every recorded operation of the registry, filtered on the server. */
export function AuditLogPage() {
  usePageTitle('Audit log');
  const [filters, setFilters] = useState<Filters>(noFilters);
  const [resource] = useDebouncedValue(filters.resource, 300);
  const [username] = useDebouncedValue(filters.username, 300);
  const set = (key: keyof Filters) => (value: string | null) => setFilters((f) => ({ ...f, [key]: value ?? any }));

  const rangeError =
    filters.from && filters.to && new Date(filters.from).getTime() > new Date(filters.to).getTime()
      ? 'The end is before the start.'
      : undefined;
  // The text filters apply once typing pauses; an end before the start is left out.
  const applied: Filters = {
    ...filters,
    resource,
    username,
    to: rangeError ? '' : filters.to,
  };
  const q = queryOf(applied);
  const filtered = JSON.stringify(filters) !== JSON.stringify(noFilters);

  const operationBadge = (r: AuditRecord, size?: 'xs') => {
    const { operation } = auditWords(r);
    return (
      <Badge variant="light" color={operationColors[operation] ?? 'gray'} styles={wholeBadge} size={size}>
        {operation}
      </Badge>
    );
  };
  const columns: Column<AuditRecord>[] = [
    {
      // On a phone: when, who and what in one column, so that Resource and Result keep their room.
      key: 'event',
      header: 'Event',
      hiddenFrom: 'sm',
      render: (r) => (
        <Stack gap={2} align="flex-start">
          <Tooltip label={formatDateTime(r.op_time)} withArrow>
            <Text size="xs">{formatRelative(r.op_time)}</Text>
          </Tooltip>
          <Text size="xs" fw={500} style={{ wordBreak: 'break-all' }}>
            {r.username}
          </Text>
          {operationBadge(r, 'xs')}
        </Stack>
      ),
    },
    {
      key: 'op_time',
      header: 'Time',
      sort: 'op_time',
      visibleFrom: 'sm',
      render: (r) => (
        <Tooltip label={formatRelative(r.op_time)} withArrow>
          <Text size="sm">{formatDateTime(r.op_time)}</Text>
        </Tooltip>
      ),
    },
    {
      key: 'username',
      header: 'Username',
      sort: 'username',
      visibleFrom: 'sm',
      render: (r) => (
        <Text size="sm" style={{ wordBreak: 'break-all' }}>
          {r.username}
        </Text>
      ),
    },
    { key: 'operation', header: 'Operation', sort: 'operation', visibleFrom: 'sm', render: (r) => operationBadge(r) },
    {
      key: 'resource',
      header: 'Resource',
      sort: 'resource',
      render: (r) => (
        <Text size="sm" ff="monospace" style={{ wordBreak: 'break-all' }}>
          {auditWords(r).resource}
        </Text>
      ),
    },
    {
      key: 'resource_type',
      header: 'Resource type',
      sort: 'resource_type',
      visibleFrom: 'md',
      render: (r) => <Text size="sm">{r.resource_type}</Text>,
    },
    {
      // Never cut: shown at every width, its badge whole (the resource wraps instead).
      key: 'result',
      header: 'Result',
      render: (r) =>
        r.operation_result ? (
          <Badge variant="light" color="green" styles={wholeBadge}>
            Succeeded
          </Badge>
        ) : (
          <Badge variant="filled" color="red" styles={wholeBadge}>
            Failed
          </Badge>
        ),
    },
  ];

  return (
    <Stack>
      <Title order={1}>Audit log</Title>
      <Text c="dimmed" size="sm">
        Every change, pull and sign-in the registry recorded, newest first.
      </Text>
      <Fieldset legend="Filters">
        <Grid gap="sm">
          <Grid.Col span={{ base: 6, md: 3 }}>
            <Select label="Operation" data={operations} value={filters.operation} onChange={set('operation')} allowDeselect={false} />
          </Grid.Col>
          <Grid.Col span={{ base: 6, md: 3 }}>
            <Select
              label="Resource type"
              data={resourceTypes}
              value={filters.resourceType}
              onChange={set('resourceType')}
              allowDeselect={false}
            />
          </Grid.Col>
          <Grid.Col span={{ base: 6, md: 3 }}>
            <TextInput
              label="Resource"
              placeholder="library/app"
              value={filters.resource}
              onChange={(e) => set('resource')(e.currentTarget.value)}
            />
          </Grid.Col>
          <Grid.Col span={{ base: 6, md: 3 }}>
            <TextInput label="Username" value={filters.username} onChange={(e) => set('username')(e.currentTarget.value)} />
          </Grid.Col>
          <Grid.Col span={{ base: 12, xs: 6, md: 3 }}>
            <TextInput label="From" type="datetime-local" value={filters.from} onChange={(e) => set('from')(e.currentTarget.value)} />
          </Grid.Col>
          <Grid.Col span={{ base: 12, xs: 6, md: 3 }}>
            <TextInput
              label="To"
              type="datetime-local"
              value={filters.to}
              onChange={(e) => set('to')(e.currentTarget.value)}
              error={rangeError}
            />
          </Grid.Col>
          <Grid.Col span={{ base: 6, md: 3 }}>
            <Select label="Result" data={results} value={filters.result} onChange={set('result')} allowDeselect={false} />
          </Grid.Col>
          <Grid.Col span={{ base: 6, md: 3 }} style={{ display: 'flex', alignItems: 'flex-end' }}>
            <Button
              variant="default"
              fullWidth
              leftSection={<IconFilterOff size={16} aria-hidden />}
              onClick={() => setFilters(noFilters)}
              disabled={!filtered}
            >
              Clear filters
            </Button>
          </Grid.Col>
        </Grid>
      </Fieldset>
      <DataTable
        label="Audit log"
        queryKey={['audit-logs', 'system', q ?? '']}
        fetchPage={({ page, pageSize, sort }: TableRequest) => api.list<AuditRecord>('/auditlog-exts', { page, pageSize, sort, q })}
        columns={columns}
        rowKey={(r) => r.id}
        defaultSort="-op_time"
        emptyText={filtered ? 'No records match these filters.' : 'Nothing recorded yet.'}
      />
    </Stack>
  );
}
