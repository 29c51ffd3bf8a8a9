// The project's "Webhooks" tab: its webhook policies (Harbor's /projects/{p}/webhook/policies)
// with the editor and its test send, enable/disable, delete; when each event type last fired;
// the chosen policy's executions, their tasks, payloads, responses and logs.
import { Badge, Button, Card, Group, Menu, Stack, Table, Text, Title, Tooltip } from '@mantine/core';
import { IconPlus } from '@tabler/icons-react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api } from '../../api/client';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { DataTable, type Column, type TableRequest } from '../../components/DataTable';
import { ErrorAlert } from '../../components/ErrorAlert';
import { ActionsMenu, descriptionColumn, EnabledBadge } from '../../components/ListParts';
import { formatDateTime, formatRelative } from '../../lib/format';
import { notifyDone, notifyError } from '../../lib/notify';
import type { TabProps } from './ProjectPage';
import type { Project } from './model';
import { WebhookExecutions } from './WebhooksExecutions';
import {
  eventText,
  policiesPath,
  policyPath,
  targetKind,
  webhookBase,
  webhookKeys,
  type WebhookLastTrigger,
  type WebhookMetadata,
  type WebhookPolicy,
} from './WebhooksModel';
import { WebhookPolicyDialog } from './WebhooksPolicyDialog';

/** Each target: what it sends, and where (the address wrapped, never cut). */
function TargetsCell({ policy }: { policy: WebhookPolicy }) {
  return (
    <Stack gap={6}>
      {policy.targets.map((t, i) => (
        <Stack key={i} gap={2} align="flex-start">
          <Badge variant="light" color="gray" tt="none" style={{ minWidth: 'max-content' }}>
            {targetKind(t)}
          </Badge>
          <Text size="sm" ff="monospace" maw={300} style={{ overflowWrap: 'anywhere' }}>
            {t.address}
          </Text>
        </Stack>
      ))}
    </Stack>
  );
}

/** The first event types, and how many more (all of them in the tooltip). */
function EventsCell({ policy }: { policy: WebhookPolicy }) {
  const types = policy.event_types ?? [];
  const shown = types.slice(0, 2);
  return (
    <Group gap={4} wrap="wrap" maw={320}>
      {shown.map((t) => (
        <Badge key={t} variant="outline" tt="none" style={{ minWidth: 'max-content' }}>
          {eventText(t)}
        </Badge>
      ))}
      {types.length > shown.length && (
        <Tooltip label={types.map(eventText).join(', ')} multiline w={260} withArrow>
          <Badge variant="outline" color="gray" tt="none" tabIndex={0} aria-label={`All event types: ${types.map(eventText).join(', ')}`}>
            +{types.length - shown.length}
          </Badge>
        </Tooltip>
      )}
    </Group>
  );
}

/** Harbor's "last trigger": per policy and event type, when it last fired. */
function LastTriggered({ project }: { project: Project }) {
  const client = useQueryClient();
  const query = useQuery({
    queryKey: webhookKeys.lastTrigger(project.project_id),
    queryFn: () => api.get<WebhookLastTrigger[]>(`${webhookBase(project)}/lasttrigger`),
  });
  const rows = (query.data ?? []).filter((r) => r.policy_name);
  return (
    <Stack gap="xs">
      <Group justify="space-between" wrap="wrap">
        <Title order={3} size="h5">
          Last triggered
        </Title>
        <Button
          variant="default"
          size="compact-sm"
          onClick={() => void client.invalidateQueries({ queryKey: webhookKeys.lastTrigger(project.project_id) })}
          loading={query.isFetching}
        >
          Refresh
        </Button>
      </Group>
      {query.isError ? (
        <ErrorAlert title="Could not load when the webhooks last fired" error={query.error} />
      ) : (
        <Table.ScrollContainer minWidth={340} scrollAreaProps={{ viewportProps: { tabIndex: 0 } }}>
          <Table striped verticalSpacing="xs" aria-label="Last triggered">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Webhook</Table.Th>
                <Table.Th>Event type</Table.Th>
                <Table.Th visibleFrom="sm">Status</Table.Th>
                <Table.Th>Last triggered</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rows.length === 0 && (
                <Table.Tr>
                  <Table.Td colSpan={4}>
                    <Text c="dimmed" ta="center" py="sm" size="sm">
                      {query.isPending ? 'Loading…' : 'No webhook yet.'}
                    </Text>
                  </Table.Td>
                </Table.Tr>
              )}
              {rows.map((r) => (
                <Table.Tr key={`${r.policy_name}/${r.event_type}`}>
                  <Table.Td>{r.policy_name}</Table.Td>
                  <Table.Td>{eventText(r.event_type)}</Table.Td>
                  <Table.Td visibleFrom="sm">
                    <EnabledBadge enabled={r.enabled} />
                  </Table.Td>
                  <Table.Td>
                    <Tooltip
                      label={formatDateTime(r.last_trigger_time)}
                      withArrow
                      disabled={formatRelative(r.last_trigger_time) === 'never'}
                    >
                      <Text size="sm" span>
                        {formatRelative(r.last_trigger_time)}
                      </Text>
                    </Tooltip>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
    </Stack>
  );
}

export function WebhooksTab({ project, can }: TabProps) {
  const client = useQueryClient();
  const canCreate = can('notification-policy', 'create');
  const canEdit = can('notification-policy', 'update');
  const canDelete = can('notification-policy', 'delete');
  const [dialog, setDialog] = useState<{ editing: WebhookPolicy | null } | null>(null);
  const [deleting, setDeleting] = useState<WebhookPolicy | null>(null);
  const [chosen, setChosen] = useState<WebhookPolicy | null>(null);
  const metadata = useQuery({
    queryKey: webhookKeys.metadata(project.project_id),
    queryFn: () => api.get<WebhookMetadata>(`${webhookBase(project)}/events`),
    staleTime: 60_000,
  });
  const refresh = async () => {
    await client.invalidateQueries({ queryKey: webhookKeys.policies(project.project_id) });
    await client.invalidateQueries({ queryKey: webhookKeys.lastTrigger(project.project_id) });
  };

  async function setEnabled(p: WebhookPolicy, enabled: boolean) {
    try {
      await api.put(policyPath(project, p.id), { ...p, enabled });
      notifyDone(`Webhook ${p.name} ${enabled ? 'enabled' : 'disabled'}`);
      if (chosen?.id === p.id) setChosen({ ...p, enabled });
      await refresh();
    } catch (err) {
      notifyError(err, `Webhook ${p.name} was not changed`);
    }
  }

  const columns: Column<WebhookPolicy>[] = [
    {
      key: 'name',
      header: 'Name',
      sort: 'name',
      render: (p) => (
        <Button variant="subtle" size="compact-sm" px={4} onClick={() => setChosen(p)} aria-label={`Executions of ${p.name}`} fw={600}>
          {p.name}
        </Button>
      ),
    },
    { key: 'enabled', header: 'Status', render: (p) => <EnabledBadge enabled={p.enabled} /> },
    { key: 'targets', header: 'Targets', visibleFrom: 'sm', render: (p) => <TargetsCell policy={p} /> },
    { key: 'events', header: 'Event types', visibleFrom: 'md', render: (p) => <EventsCell policy={p} /> },
    {
      key: 'created',
      header: 'Created',
      visibleFrom: 'lg',
      render: (p) => (
        <Text size="sm">
          {formatDateTime(p.creation_time)}
          {p.creator ? ` by ${p.creator}` : ''}
        </Text>
      ),
    },
    descriptionColumn<WebhookPolicy>(200),
    {
      key: 'actions',
      header: 'Actions',
      render: (p) =>
        canEdit || canDelete ? (
          <ActionsMenu label={`Actions for webhook ${p.name}`}>
            {canEdit && <Menu.Item onClick={() => setDialog({ editing: p })}>Edit</Menu.Item>}
            {canEdit && <Menu.Item onClick={() => void setEnabled(p, !p.enabled)}>{p.enabled ? 'Disable' : 'Enable'}</Menu.Item>}
            {canDelete && (
              <Menu.Item color="red" onClick={() => setDeleting(p)}>
                Delete
              </Menu.Item>
            )}
          </ActionsMenu>
        ) : (
          <Text size="sm" c="dimmed">
            —
          </Text>
        ),
    },
  ];

  return (
    <Stack gap="lg">
      <Card withBorder padding="lg" radius="md" component="section" aria-labelledby="webhooks-title">
        <Stack gap="md">
          <div>
            <Title order={2} size="h4" id="webhooks-title">
              Webhooks
            </Title>
            <Text size="sm" c="dimmed">
              A webhook tells your CI/CD or chat when something happens in this project: an artifact pushed, pulled or deleted, a scan
              finished, a quota reached. Each event is delivered at least once, retried until the receiver answers.
            </Text>
          </div>
          {metadata.isError && <ErrorAlert title="Could not load the event types" error={metadata.error} />}
          <DataTable
            label="Webhook policies"
            queryKey={webhookKeys.policies(project.project_id)}
            fetchPage={({ page, pageSize, sort, search }: TableRequest) =>
              api.list<WebhookPolicy>(policiesPath(project), { page, pageSize, sort, q: search ? `name=~${search}` : undefined })
            }
            searchLabel="Search webhooks"
            columns={columns}
            rowKey={(p) => p.id}
            toolbar={
              canCreate && (
                <Button leftSection={<IconPlus size={16} aria-hidden />} onClick={() => setDialog({ editing: null })}>
                  New webhook
                </Button>
              )
            }
            emptyText="No webhook yet."
          />
          {chosen ? (
            <WebhookExecutions key={chosen.id} project={project} policy={chosen} />
          ) : (
            <Text size="sm" c="dimmed">
              Choose a webhook by its name to see its executions.
            </Text>
          )}
        </Stack>
      </Card>
      <Card withBorder padding="lg" radius="md" component="section" aria-label="Last triggered webhooks">
        <LastTriggered project={project} />
      </Card>
      <WebhookPolicyDialog
        project={project}
        metadata={metadata.data}
        opened={dialog !== null}
        editing={dialog?.editing ?? null}
        onClose={() => setDialog(null)}
      />
      <ConfirmDialog
        opened={deleting !== null}
        onClose={() => setDeleting(null)}
        title="Delete webhook?"
        confirmLabel="Delete"
        onConfirm={async () => {
          await api.delete(policyPath(project, deleting!.id));
          notifyDone(`Webhook ${deleting!.name} deleted`);
          if (chosen?.id === deleting!.id) setChosen(null);
          await refresh();
        }}
      >
        Delete the webhook {deleting?.name} and its execution history? Its targets receive no more events.
      </ConfirmDialog>
    </Stack>
  );
}
