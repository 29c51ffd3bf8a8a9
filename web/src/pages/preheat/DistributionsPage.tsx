// Administration, "Distributions": the P2P preheat instances (Dragonfly, Kraken) of Harbor's
// /p2p/preheat/instances: add with "Test connection", edit, set default, enable/disable, delete.
import { Badge, Button, Group, Menu, Select, Stack, Switch, Text, TextInput, Title } from '@mantine/core';
import { IconPlus } from '@tabler/icons-react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { api, errorText, segment } from '../../api/client';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { ConnectionTest, isHttpAddress, useConnectionTest } from '../../components/ConnectionTest';
import { DataTable, type Column, type TableRequest } from '../../components/DataTable';
import { DescriptionField, FormDialog, SecretField, useSubmission } from '../../components/FormDialog';
import { ActionsMenu, descriptionColumn, EnabledBadge } from '../../components/ListParts';
import { formatDateTime } from '../../lib/format';
import { notifyDone, notifyError } from '../../lib/notify';
import { usePageTitle } from '../../lib/title';
import { preheatKeys, type PreheatInstance, type PreheatProvider } from './model';

const authModes = [
  { value: 'NONE', label: 'None' },
  { value: 'BASIC', label: 'Basic' },
  { value: 'OAUTH', label: 'OAuth (bearer token)' },
];

interface Draft {
  vendor: string;
  name: string;
  description: string;
  endpoint: string;
  authMode: string;
  username: string;
  password: string;
  token: string;
  enabled: boolean;
  insecure: boolean;
}

const emptyDraft: Draft = {
  vendor: '',
  name: '',
  description: '',
  endpoint: '',
  authMode: 'NONE',
  username: '',
  password: '',
  token: '',
  enabled: true,
  insecure: false,
};

/** auth_info as Harbor's portal sends it; empty (keep the stored one) when editing without new secrets. */
function authInfoOf(d: Draft): Record<string, string> | undefined {
  if (d.authMode === 'BASIC' && (d.username || d.password)) return { username: d.username, password: d.password };
  if (d.authMode === 'OAUTH' && d.token) return { token: d.token };
  return undefined;
}

function bodyOf(d: Draft, base?: PreheatInstance) {
  const authInfo = authInfoOf(d);
  return {
    ...(base ?? {}),
    vendor: d.vendor,
    name: d.name.trim(),
    description: d.description.trim(),
    endpoint: d.endpoint.trim(),
    auth_mode: d.authMode,
    ...(authInfo ? { auth_info: authInfo } : { auth_info: undefined }),
    enabled: d.enabled,
    insecure: d.insecure,
    default: base?.default ?? false,
  };
}

function useProviders() {
  return useQuery({ queryKey: preheatKeys.providers, queryFn: () => api.get<PreheatProvider[]>('/p2p/preheat/providers') });
}

function InstanceDialog({ editing, opened, onClose }: { editing: PreheatInstance | null; opened: boolean; onClose: () => void }) {
  const client = useQueryClient();
  const submission = useSubmission();
  const providers = useProviders();
  const [draft, setDraft] = useState<Draft>(emptyDraft);
  const [errors, setErrors] = useState<{ vendor?: string; name?: string; endpoint?: string }>({});
  const connection = useConnectionTest();
  useEffect(() => {
    if (!opened) return;
    setErrors({});
    connection.clear();
    submission.clear();
    setDraft(
      editing
        ? {
            ...emptyDraft,
            vendor: editing.vendor,
            name: editing.name,
            description: editing.description ?? '',
            endpoint: editing.endpoint,
            authMode: editing.auth_mode || 'NONE',
            username: editing.auth_info?.username ?? '',
            enabled: editing.enabled,
            insecure: editing.insecure,
          }
        : { ...emptyDraft, vendor: providers.data?.some((p) => p.id === 'dragonfly') ? 'dragonfly' : (providers.data?.[0]?.id ?? '') },
    );
  }, [opened, editing?.id, providers.isSuccess]);
  const set = (patch: Partial<Draft>) => setDraft((d) => ({ ...d, ...patch }));

  function check(): boolean {
    const found: typeof errors = {};
    if (!draft.vendor) found.vendor = 'Choose the provider.';
    if (!draft.name.trim()) found.name = 'Give the instance a name.';
    if (!isHttpAddress(draft.endpoint)) found.endpoint = 'An http:// or https:// address.';
    setErrors(found);
    return Object.keys(found).length === 0;
  }

  async function test() {
    if (!check()) return;
    await connection.run(
      () =>
        api.post(
          '/p2p/preheat/instances/ping',
          editing && !authInfoOf(draft) && draft.authMode === editing.auth_mode
            ? { ...bodyOf(draft, editing), id: editing.id }
            : bodyOf(draft),
        ),
      'The instance answered.',
    );
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    if (!check()) return;
    void submission.run(async () => {
      const name = draft.name.trim();
      if (editing) await api.put(`/p2p/preheat/instances/${segment(editing.name)}`, bodyOf(draft, editing));
      else await api.post('/p2p/preheat/instances', bodyOf(draft));
      notifyDone(editing ? `Instance ${name} saved` : `Instance ${name} added`);
      await client.invalidateQueries({ queryKey: preheatKeys.instances });
      onClose();
    });
  }

  return (
    <FormDialog
      opened={opened}
      onClose={onClose}
      title={editing ? `Edit instance ${editing.name}` : 'New instance'}
      size="lg"
      error={submission.error}
      errorTitle="The instance was not saved"
      busy={submission.busy}
      submitLabel={editing ? 'Save' : 'OK'}
      onSubmit={submit}
    >
      <Select
        label="Provider"
        required
        data={(providers.data ?? []).map((p) => ({ value: p.id, label: p.version ? `${p.name} ${p.version}` : p.name }))}
        value={draft.vendor || null}
        onChange={(v) => v && set({ vendor: v })}
        error={errors.vendor ?? (providers.isError ? errorText(providers.error) : undefined)}
        allowDeselect={false}
        data-autofocus
      />
      <TextInput
        label="Name"
        required
        value={draft.name}
        onChange={(e) => set({ name: e.currentTarget.value })}
        error={errors.name}
        disabled={!!editing}
        description={editing ? 'The name identifies the instance and cannot change' : undefined}
      />
      <DescriptionField value={draft.description} onChange={(description) => set({ description })} />
      <TextInput
        label="Endpoint"
        required
        placeholder="http://dragonfly-manager:8080"
        value={draft.endpoint}
        onChange={(e) => set({ endpoint: e.currentTarget.value })}
        error={errors.endpoint}
      />
      <Select
        label="Auth mode"
        data={authModes}
        value={draft.authMode}
        onChange={(v) => set({ authMode: v ?? 'NONE' })}
        allowDeselect={false}
      />
      {draft.authMode === 'BASIC' && (
        <Group grow gap="sm" wrap="wrap" align="flex-start">
          <TextInput
            label="Username"
            value={draft.username}
            onChange={(e) => set({ username: e.currentTarget.value })}
            autoComplete="off"
          />
          <SecretField label="Password" value={draft.password} onChange={(password) => set({ password })} editing={!!editing} />
        </Group>
      )}
      {draft.authMode === 'OAUTH' && (
        <SecretField label="Token" value={draft.token} onChange={(token) => set({ token })} editing={!!editing} />
      )}
      <Switch label="Enable" checked={draft.enabled} onChange={(e) => set({ enabled: e.currentTarget.checked })} />
      <Switch
        label="Skip certificate verification"
        description="Accept any TLS certificate from the instance (a self-signed one)"
        checked={draft.insecure}
        onChange={(e) => set({ insecure: e.currentTarget.checked })}
      />
      <ConnectionTest state={connection} onTest={() => void test()} />
    </FormDialog>
  );
}

export function DistributionsPage() {
  usePageTitle('Distributions');
  const client = useQueryClient();
  const providers = useProviders();
  const [dialog, setDialog] = useState<{ editing: PreheatInstance | null } | null>(null);
  const [deleting, setDeleting] = useState<PreheatInstance | null>(null);
  const refresh = () => client.invalidateQueries({ queryKey: preheatKeys.instances });
  const providerName = (id: string) => providers.data?.find((p) => p.id === id)?.name ?? id;

  async function update(i: PreheatInstance, changes: Partial<PreheatInstance>, done: string, failed: string) {
    try {
      const { auth_info: _secret, ...rest } = i;
      await api.put(`/p2p/preheat/instances/${segment(i.name)}`, { ...rest, ...changes });
      notifyDone(done);
      await refresh();
    } catch (err) {
      notifyError(err, failed);
    }
  }

  const columns: Column<PreheatInstance>[] = [
    {
      key: 'name',
      header: 'Name',
      sort: 'name',
      render: (i) => (
        <Group gap={6} wrap="wrap">
          <Text size="sm" fw={600} span>
            {i.name}
          </Text>
          {i.default && (
            <Badge variant="light" color="blue" tt="none">
              Default
            </Badge>
          )}
        </Group>
      ),
    },
    {
      key: 'endpoint',
      header: 'Endpoint',
      visibleFrom: 'sm',
      render: (i) => (
        <Text size="sm" ff="monospace" style={{ overflowWrap: 'anywhere' }}>
          {i.endpoint}
        </Text>
      ),
    },
    {
      key: 'status',
      header: 'Status',
      render: (i) => (
        <Badge
          variant="light"
          color={i.status === 'Healthy' ? 'green' : i.status === 'Unhealthy' ? 'red' : 'gray'}
          tt="none"
          style={{ minWidth: 'max-content' }}
        >
          {i.status || 'Unknown'}
        </Badge>
      ),
    },
    {
      key: 'enabled',
      header: 'Enabled',
      render: (i) => <EnabledBadge enabled={i.enabled} />,
    },
    { key: 'vendor', header: 'Provider', visibleFrom: 'sm', render: (i) => <Text size="sm">{providerName(i.vendor)}</Text> },
    {
      key: 'auth',
      header: 'Auth mode',
      visibleFrom: 'lg',
      render: (i) => <Text size="sm">{authModes.find((a) => a.value === i.auth_mode)?.label ?? i.auth_mode}</Text>,
    },
    {
      key: 'created',
      header: 'Set up',
      visibleFrom: 'md',
      render: (i) => <Text size="sm">{i.setup_timestamp ? formatDateTime(new Date(i.setup_timestamp * 1000).toISOString()) : '—'}</Text>,
    },
    descriptionColumn<PreheatInstance>(240),
    {
      key: 'actions',
      header: 'Actions',
      render: (i) => (
        <ActionsMenu label={`Actions for instance ${i.name}`}>
          {!i.default && i.enabled && (
            <Menu.Item
              onClick={() => void update(i, { default: true }, `${i.name} is the default instance`, `${i.name} was not made the default`)}
            >
              Set as default
            </Menu.Item>
          )}
          {!i.default && (
            <Menu.Item
              onClick={() =>
                void update(i, { enabled: !i.enabled }, `${i.name} ${i.enabled ? 'disabled' : 'enabled'}`, `${i.name} was not changed`)
              }
            >
              {i.enabled ? 'Disable' : 'Enable'}
            </Menu.Item>
          )}
          <Menu.Item onClick={() => setDialog({ editing: i })}>Edit</Menu.Item>
          <Menu.Item color="red" onClick={() => setDeleting(i)}>
            Delete
          </Menu.Item>
        </ActionsMenu>
      ),
    },
  ];

  return (
    <Stack>
      <Group justify="space-between" wrap="wrap" gap="sm">
        <Title order={1}>Distributions</Title>
        <Button leftSection={<IconPlus size={16} aria-hidden />} onClick={() => setDialog({ editing: null })}>
          New instance
        </Button>
      </Group>
      <Text c="dimmed" size="sm">
        P2P distribution engines (Dragonfly, Kraken) that projects' preheat policies warm before a large fleet pulls.
      </Text>
      <DataTable
        label="Preheat instances"
        queryKey={preheatKeys.instances}
        fetchPage={({ page, pageSize, sort, search }: TableRequest) =>
          api.list<PreheatInstance>('/p2p/preheat/instances', { page, pageSize, sort, q: search ? `name=~${search}` : undefined })
        }
        columns={columns}
        rowKey={(i) => i.id}
        searchLabel="Search instances"
        emptyText="No preheat instance yet."
      />
      <InstanceDialog opened={dialog !== null} editing={dialog?.editing ?? null} onClose={() => setDialog(null)} />
      <ConfirmDialog
        opened={deleting !== null}
        onClose={() => setDeleting(null)}
        title="Delete instance?"
        confirmLabel="Delete"
        onConfirm={async () => {
          await api.delete(`/p2p/preheat/instances/${segment(deleting!.name)}`);
          notifyDone(`Instance ${deleting!.name} deleted`);
          await refresh();
        }}
      >
        Delete the instance {deleting?.name}? The preheat policies that use it stop working until they choose another.
      </ConfirmDialog>
    </Stack>
  );
}
