// Administration, "Replications": the rules (Harbor's /replication/policies) with their editor,
// Replicate (start an execution), enable/disable and delete; below, the executions (of every rule
// or of the one chosen) with counts, Stop, and their tasks and logs.
import { Button, Card, Group, Menu, Select, Stack, Text, Title } from '@mantine/core';
import { IconPlus } from '@tabler/icons-react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, segment } from '../../api/client';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { DataTable, type Column, type TableRequest } from '../../components/DataTable';
import { ActionsMenu, descriptionColumn, EnabledBadge } from '../../components/ListParts';
import { formatDateTime } from '../../lib/format';
import { notifyDone, notifyError } from '../../lib/notify';
import { usePageTitle } from '../../lib/title';
import { RunButtons } from '../admin/JobRuns';
import { ExecutionDialog, ReplicationStatus, stopExecution } from './ExecutionDialog';
import {
  duration,
  executionActive,
  isLocal,
  replicationKeys,
  triggerNames,
  type ReplicationExecution,
  type ReplicationPolicy,
} from './model';
import { PolicyDialog } from './PolicyDialog';

function registryText(p: ReplicationPolicy, side: 'src' | 'dest'): string {
  const registry = side === 'src' ? p.src_registry : p.dest_registry;
  return isLocal(registry) ? 'This Berth' : `${registry!.name}`;
}

/** The policy's whole body, as Harbor's PUT takes it, with `changes`. */
function policyBody(p: ReplicationPolicy, changes: Partial<ReplicationPolicy>) {
  return {
    ...p,
    src_registry: isLocal(p.src_registry) ? null : p.src_registry,
    dest_registry: isLocal(p.dest_registry) ? null : p.dest_registry,
    ...changes,
  };
}

export function ReplicationsPage() {
  usePageTitle('Replications');
  const client = useQueryClient();
  const [dialog, setDialog] = useState<{ editing: ReplicationPolicy | null } | null>(null);
  const [deleting, setDeleting] = useState<ReplicationPolicy | null>(null);
  const [replicating, setReplicating] = useState<ReplicationPolicy | null>(null);
  const [policyFilter, setPolicyFilter] = useState<string | null>(null);
  const [shown, setShown] = useState<number | null>(null);
  const policyNames = useQuery({
    queryKey: [...replicationKeys.policies, 'names'],
    queryFn: () => api.list<ReplicationPolicy>('/replication/policies', { page: 1, pageSize: 100 }),
    // The rule filter offers every rule, also one added through the API a moment ago.
    staleTime: 0,
  });
  const nameOf = (id: number) => policyNames.data?.items.find((p) => p.id === id)?.name ?? `#${id}`;
  const refreshExecutions = () => client.invalidateQueries({ queryKey: replicationKeys.executions });

  async function setEnabled(p: ReplicationPolicy, enabled: boolean) {
    try {
      await api.put(`/replication/policies/${segment(p.id)}`, policyBody(p, { enabled }));
      notifyDone(`Rule ${p.name} ${enabled ? 'enabled' : 'disabled'}`);
      await client.invalidateQueries({ queryKey: replicationKeys.policies });
    } catch (err) {
      notifyError(err, `Rule ${p.name} was not ${enabled ? 'enabled' : 'disabled'}`);
    }
  }

  const columns: Column<ReplicationPolicy>[] = [
    {
      key: 'name',
      header: 'Name',
      sort: 'name',
      render: (p) => (
        <Text size="sm" fw={600}>
          {p.name}
        </Text>
      ),
    },
    {
      key: 'status',
      header: 'Status',
      render: (p) => <EnabledBadge enabled={!!p.enabled} />,
    },
    { key: 'src', header: 'Source registry', visibleFrom: 'sm', render: (p) => <Text size="sm">{registryText(p, 'src')}</Text> },
    {
      key: 'mode',
      header: 'Replication mode',
      visibleFrom: 'md',
      render: (p) => <Text size="sm">{isLocal(p.src_registry) ? 'Push-based' : 'Pull-based'}</Text>,
    },
    {
      key: 'dest_namespace',
      header: 'Destination namespace',
      visibleFrom: 'lg',
      render: (p) => <Text size="sm">{p.dest_namespace || '—'}</Text>,
    },
    {
      key: 'trigger',
      header: 'Trigger',
      visibleFrom: 'sm',
      render: (p) => (
        <Text size="sm">
          {triggerNames[p.trigger?.type ?? ''] ?? p.trigger?.type}
          {p.trigger?.type === 'scheduled' && p.trigger.trigger_settings?.cron ? ` (${p.trigger.trigger_settings.cron})` : ''}
        </Text>
      ),
    },
    { key: 'dest', header: 'Destination registry', visibleFrom: 'sm', render: (p) => <Text size="sm">{registryText(p, 'dest')}</Text> },
    descriptionColumn<ReplicationPolicy>(220),
    {
      key: 'actions',
      header: 'Actions',
      render: (p) => (
        <Group gap={4} wrap="nowrap">
          <Button
            size="compact-sm"
            variant="light"
            onClick={() => setReplicating(p)}
            disabled={!p.enabled}
            aria-label={`Replicate ${p.name}`}
          >
            Replicate
          </Button>
          <ActionsMenu label={`Actions for rule ${p.name}`}>
            <Menu.Item onClick={() => setPolicyFilter(String(p.id))}>Show executions</Menu.Item>
            <Menu.Item onClick={() => setDialog({ editing: p })}>Edit</Menu.Item>
            <Menu.Item onClick={() => void setEnabled(p, !p.enabled)}>{p.enabled ? 'Disable' : 'Enable'}</Menu.Item>
            <Menu.Item color="red" onClick={() => setDeleting(p)}>
              Delete
            </Menu.Item>
          </ActionsMenu>
        </Group>
      ),
    },
  ];

  const executionColumns: Column<ReplicationExecution>[] = [
    { key: 'id', header: 'ID', render: (e) => e.id },
    { key: 'policy', header: 'Rule', render: (e) => <Text size="sm">{nameOf(e.policy_id)}</Text> },
    { key: 'status', header: 'Status', render: (e) => <ReplicationStatus status={e.status} /> },
    { key: 'trigger', header: 'Trigger', visibleFrom: 'sm', render: (e) => <Text size="sm">{triggerNames[e.trigger] ?? e.trigger}</Text> },
    {
      key: 'start',
      header: 'Started',
      sort: 'start_time',
      visibleFrom: 'md',
      render: (e) => <Text size="sm">{formatDateTime(e.start_time)}</Text>,
    },
    { key: 'duration', header: 'Duration', visibleFrom: 'md', render: (e) => <Text size="sm">{duration(e.start_time, e.end_time)}</Text> },
    {
      key: 'counts',
      header: 'Succeeded / total',
      render: (e) => (
        <Text size="sm" title={`${e.failed} failed, ${e.in_progress} in progress, ${e.stopped} stopped`}>
          {e.succeed} / {e.total}
          {e.failed > 0 ? ` (${e.failed} failed)` : ''}
        </Text>
      ),
    },
    {
      key: 'actions',
      header: 'Actions',
      render: (e) => (
        <RunButtons
          id={e.id}
          noun="execution"
          stoppable={executionActive(e.status)}
          onDetails={() => setShown(e.id)}
          onStop={() => void stopExecution(e, refreshExecutions)}
        />
      ),
    },
  ];

  return (
    <Stack gap="lg">
      <Title order={1}>Replications</Title>
      <Card withBorder padding="lg" radius="md" component="section" aria-labelledby="replication-rules-title">
        <Stack gap="md">
          <div>
            <Title order={2} size="h3" id="replication-rules-title">
              Replication rules
            </Title>
            <Text size="sm" c="dimmed">
              A push-based rule copies this Berth's artifacts to another registry; a pull-based rule copies another registry's artifacts
              here. Each run copies only what the destination lacks.
            </Text>
          </div>
          <DataTable
            label="Replication rules"
            queryKey={replicationKeys.policies}
            fetchPage={({ page, pageSize, sort, search }: TableRequest) =>
              api.list<ReplicationPolicy>('/replication/policies', { page, pageSize, sort, q: search ? `name=~${search}` : undefined })
            }
            columns={columns}
            rowKey={(p) => p.id}
            searchLabel="Search rules"
            toolbar={
              <Button leftSection={<IconPlus size={16} aria-hidden />} onClick={() => setDialog({ editing: null })}>
                New replication rule
              </Button>
            }
            emptyText="No replication rule yet."
          />
        </Stack>
      </Card>
      <Card withBorder padding="lg" radius="md" component="section" aria-labelledby="replication-executions-title">
        <Stack gap="md">
          <Title order={2} size="h3" id="replication-executions-title">
            Executions
          </Title>
          <DataTable
            label="Replication executions"
            queryKey={[...replicationKeys.executions, 'list', policyFilter]}
            fetchPage={({ page, pageSize, sort }: TableRequest) =>
              api.list<ReplicationExecution>('/replication/executions', {
                page,
                pageSize,
                sort: sort ?? '-start_time',
                policy_id: policyFilter ?? undefined,
              })
            }
            columns={executionColumns}
            rowKey={(e) => e.id}
            toolbar={
              <Select
                aria-label="Executions of rule"
                placeholder="Every rule"
                data={(policyNames.data?.items ?? []).map((p) => ({ value: String(p.id), label: p.name }))}
                value={policyFilter}
                onChange={setPolicyFilter}
                clearable
                w={220}
              />
            }
            emptyText="No execution yet."
            defaultPageSize={10}
            refetchInterval={(page) => (page?.items.some((e) => executionActive(e.status)) ? 1500 : false)}
          />
        </Stack>
      </Card>
      <PolicyDialog
        opened={dialog !== null}
        editing={dialog?.editing ?? null}
        onClose={() => {
          setDialog(null);
          void client.invalidateQueries({ queryKey: [...replicationKeys.policies, 'names'] });
        }}
      />
      {shown !== null && <ExecutionDialog executionId={shown} onClose={() => setShown(null)} />}
      <ConfirmDialog
        opened={replicating !== null}
        onClose={() => setReplicating(null)}
        title="Replicate now?"
        confirmLabel="Replicate"
        onConfirm={async () => {
          const p = replicating!;
          const { location } = await api.post('/replication/executions', { policy_id: p.id });
          notifyDone(`Replication of ${p.name} started${location ? ` (execution ${location.split('/').pop()})` : ''}`);
          setPolicyFilter(null);
          await refreshExecutions();
        }}
      >
        Run the rule {replicating?.name} now? The artifacts matching its filters are copied to{' '}
        {replicating && registryText(replicating, 'dest')}.
      </ConfirmDialog>
      <ConfirmDialog
        opened={deleting !== null}
        onClose={() => setDeleting(null)}
        title="Delete replication rule?"
        confirmLabel="Delete"
        onConfirm={async () => {
          await api.delete(`/replication/policies/${segment(deleting!.id)}`);
          notifyDone(`Rule ${deleting!.name} deleted`);
          await client.invalidateQueries({ queryKey: replicationKeys.policies });
        }}
      >
        Delete the rule {deleting?.name}? Its executions are deleted with it; a rule cannot be deleted while it runs.
      </ConfirmDialog>
    </Stack>
  );
}
