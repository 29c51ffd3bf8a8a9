import { Badge, Select, Text, TextInput, Tooltip } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { useState } from 'react';
import { api, segment } from '../../api/client';
import { DataTable, type Column } from '../../components/DataTable';
import { auditWords } from '../../lib/audit';
import { formatDateTime, formatRelative } from '../../lib/format';
import type { AuditLog } from './model';
import type { TabProps } from './ProjectPage';

/** The operations Berth records for a project (login/logout are not project events). */
const operations = [
  { value: 'create', label: 'Create' },
  { value: 'update', label: 'Update' },
  { value: 'delete', label: 'Delete' },
  { value: 'pull', label: 'Pull' },
];

const operationColor: Record<string, string> = { create: 'teal', update: 'blue', delete: 'red', pull: 'gray' };

const columns: Column<AuditLog>[] = [
  {
    key: 'time',
    header: 'Time',
    sort: 'op_time',
    render: (l) => (
      <Tooltip label={formatDateTime(l.op_time)} withArrow>
        <Text size="sm" span style={{ whiteSpace: 'nowrap' }}>
          {formatRelative(l.op_time)}
        </Text>
      </Tooltip>
    ),
  },
  { key: 'username', header: 'Username', sort: 'username', render: (l) => l.username },
  {
    key: 'operation',
    header: 'Operation',
    sort: 'operation',
    render: (l) => (
      <Badge variant="dot" color={operationColor[l.operation] ?? 'gray'}>
        {auditWords(l).operation}
      </Badge>
    ),
  },
  {
    key: 'resource',
    header: 'Resource',
    render: (l) => (
      <Text size="sm" style={{ wordBreak: 'break-all' }}>
        {auditWords(l).resource}
      </Text>
    ),
  },
  { key: 'type', header: 'Resource type', sort: 'resource_type', visibleFrom: 'sm', render: (l) => l.resource_type },
];

export function LogsTab({ project }: TabProps) {
  const [operation, setOperation] = useState<string | null>(null);
  const [resourceInput, setResource] = useState('');
  const [usernameInput, setUsername] = useState('');
  const [resource] = useDebouncedValue(resourceInput.trim(), 300);
  const [username] = useDebouncedValue(usernameInput.trim(), 300);

  const terms = [operation && `operation=${operation}`, resource && `resource=~${resource}`, username && `username=~${username}`].filter(
    Boolean,
  );

  return (
    <DataTable<AuditLog>
      label="Project logs"
      queryKey={['project-logs', project.name, { operation, resource, username }]}
      fetchPage={({ page, pageSize, sort }) =>
        api.list<AuditLog>(`/projects/${segment(project.name)}/logs`, {
          page,
          pageSize,
          sort,
          q: terms.length ? terms.join(',') : undefined,
        })
      }
      columns={columns}
      rowKey={(l) => l.id}
      defaultSort="-op_time"
      toolbar={
        <>
          <Select label="Operation" placeholder="Any" data={operations} value={operation} onChange={setOperation} clearable w={140} />
          <TextInput label="Resource" value={resourceInput} onChange={(e) => setResource(e.currentTarget.value)} w={200} />
          <TextInput label="Username" value={usernameInput} onChange={(e) => setUsername(e.currentTarget.value)} w={160} />
        </>
      }
      emptyText={terms.length ? 'No log entries match these filters.' : 'Nothing has happened in this project yet.'}
    />
  );
}
