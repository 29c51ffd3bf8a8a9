import { ActionIcon, Anchor, Stack, Text, Title, Tooltip } from '@mantine/core';
import { IconPencil } from '@tabler/icons-react';
import { useState } from 'react';
import { Link } from 'react-router';
import { api } from '../../api/client';
import { DataTable, type Column, type TableRequest } from '../../components/DataTable';
import { EditQuotaDialog, QuotaUsage, type Quota } from '../../components/Quota';
import { formatBytes, formatDateTime } from '../../lib/format';
import { projectPath } from '../../lib/paths';
import { usePageTitle } from '../../lib/title';

/** Largest usage first unless a column says otherwise. */
function fetchQuotas({ page, pageSize, sort }: TableRequest) {
  return api.list<Quota>('/quotas', { reference: 'project', page, pageSize, sort: sort ?? '-used.storage' });
}

/** Every project's storage limit and usage (GET /quotas), sortable by usage; limits edited here. */
export function ProjectQuotasPage() {
  usePageTitle('Project quotas');
  const [editing, setEditing] = useState<Quota | null>(null);

  const columns: Column<Quota>[] = [
    {
      key: 'project',
      header: 'Project',
      render: (q) => (
        <Anchor component={Link} to={projectPath(q.ref.name)} fw={500}>
          {q.ref.name}
        </Anchor>
      ),
    },
    { key: 'owner', header: 'Owner', visibleFrom: 'md', render: (q) => <Text size="sm">{q.ref.owner_name || '—'}</Text> },
    {
      key: 'used',
      header: 'Usage',
      sort: 'used.storage',
      render: (q) => <QuotaUsage used={q.used.storage} hard={q.hard.storage} compact label={`Storage used by ${q.ref.name}`} />,
    },
    {
      key: 'hard',
      header: 'Limit',
      sort: 'hard.storage',
      visibleFrom: 'sm',
      render: (q) => <Text size="sm">{q.hard.storage < 0 ? 'Unlimited' : formatBytes(q.hard.storage)}</Text>,
    },
    {
      key: 'updated',
      header: 'Updated',
      sort: 'update_time',
      visibleFrom: 'md',
      render: (q) => <Text size="sm">{formatDateTime(q.update_time)}</Text>,
    },
    {
      key: 'actions',
      header: 'Actions',
      width: 80,
      render: (q) => (
        <Tooltip label="Edit limit" withArrow>
          <ActionIcon variant="subtle" color="gray" aria-label={`Edit the storage limit of ${q.ref.name}`} onClick={() => setEditing(q)}>
            <IconPencil size={16} aria-hidden />
          </ActionIcon>
        </Tooltip>
      ),
    },
  ];

  return (
    <Stack>
      <Title order={1}>Project quotas</Title>
      <Text c="dimmed" size="sm">
        Storage each project holds: every distinct layer, config and manifest once, however many of its repositories share it. Deleting
        artifacts frees their space at once; pushes past a limit are refused.
      </Text>
      <DataTable
        label="Project quotas"
        queryKey={['quotas']}
        fetchPage={fetchQuotas}
        columns={columns}
        rowKey={(q) => q.id}
        emptyText="No projects yet."
      />
      {editing && (
        <EditQuotaDialog
          key={editing.id}
          opened
          onClose={() => setEditing(null)}
          projectId={editing.id}
          projectName={editing.ref.name}
          hard={editing.hard.storage}
          used={editing.used.storage}
        />
      )}
    </Stack>
  );
}
