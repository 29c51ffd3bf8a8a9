// Administration, "Registries": the registry endpoints replication and proxy-cache projects use
// (Harbor's /registries): add with "Test connection", edit, delete.
import {
  ActionIcon,
  Badge,
  Button,
  Group,
  PasswordInput,
  Select,
  Stack,
  Switch,
  Text,
  TextInput,
  Textarea,
  Title,
  Tooltip,
} from '@mantine/core';
import { IconPencil, IconPlus, IconTrash } from '@tabler/icons-react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { api, errorText, segment } from '../../api/client';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { ConnectionTest, isHttpAddress, useConnectionTest } from '../../components/ConnectionTest';
import { DataTable, type Column, type TableRequest } from '../../components/DataTable';
import { DescriptionField, FormDialog, useSubmission } from '../../components/FormDialog';
import { descriptionColumn } from '../../components/ListParts';
import { formatDateTime } from '../../lib/format';
import { notifyDone } from '../../lib/notify';
import { usePageTitle } from '../../lib/title';
import { adapterName, replicationKeys, type AdapterInfo, type Registry } from '../replication/model';

interface Draft {
  type: string;
  name: string;
  description: string;
  url: string;
  accessKey: string;
  accessSecret: string;
  verifyCert: boolean;
  caCertificate: string;
}

const emptyDraft: Draft = {
  type: '',
  name: '',
  description: '',
  url: '',
  accessKey: '',
  accessSecret: '',
  verifyCert: true,
  caCertificate: '',
};

/** The adapters this Berth has and what each expects (a fixed endpoint for Docker Hub, say). */
function useAdapters() {
  const types = useQuery({ queryKey: replicationKeys.adapters, queryFn: () => api.get<string[]>('/replication/adapters') });
  const infos = useQuery({
    queryKey: [...replicationKeys.adapters, 'infos'],
    queryFn: () => api.get<Record<string, AdapterInfo>>('/replication/adapterinfos'),
  });
  return { types, infos };
}

/** The fields Harbor's ping and update take (RegistryPing / RegistryUpdate); an empty secret keeps the stored one. */
function credentialFields(d: Draft) {
  return {
    credential_type: 'basic',
    access_key: d.accessKey.trim(),
    ...(d.accessSecret ? { access_secret: d.accessSecret } : {}),
    insecure: !d.verifyCert,
    ca_certificate: d.caCertificate.trim() || null,
  };
}

function RegistryDialog({ editing, opened, onClose }: { editing: Registry | null; opened: boolean; onClose: () => void }) {
  const client = useQueryClient();
  const submission = useSubmission();
  const { types, infos } = useAdapters();
  const [draft, setDraft] = useState<Draft>(emptyDraft);
  const [errors, setErrors] = useState<{ type?: string; name?: string; url?: string }>({});
  const connection = useConnectionTest();
  useEffect(() => {
    if (!opened) return;
    setErrors({});
    connection.clear();
    submission.clear();
    setDraft(
      editing
        ? {
            type: editing.type,
            name: editing.name,
            description: editing.description ?? '',
            url: editing.url,
            accessKey: editing.credential?.access_key ?? '',
            accessSecret: '',
            verifyCert: !editing.insecure,
            caCertificate: editing.ca_certificate ?? '',
          }
        : emptyDraft,
    );
  }, [opened, editing?.id]);
  const set = (patch: Partial<Draft>) => setDraft((d) => ({ ...d, ...patch }));

  // An adapter with fixed endpoints (Docker Hub) offers them to choose from.
  const pattern = infos.data?.[draft.type]?.endpoint_pattern;
  const fixedEndpoints =
    pattern?.endpoint_type === 'EndpointPatternTypeFix' || pattern?.endpoint_type === 'EndpointPatternTypeList'
      ? (pattern.endpoints ?? [])
      : [];
  function chooseType(type: string) {
    const p = infos.data?.[type]?.endpoint_pattern;
    const endpoints = p?.endpoints ?? [];
    set({ type, ...(endpoints.length > 0 && !editing ? { url: endpoints[0].value } : {}) });
  }

  function check(): boolean {
    const found: typeof errors = {};
    if (!draft.type) found.type = 'Choose the provider.';
    if (!draft.name.trim()) found.name = 'Give the endpoint a name.';
    if (!isHttpAddress(draft.url)) found.url = 'An http:// or https:// address.';
    setErrors(found);
    return Object.keys(found).length === 0;
  }

  async function test() {
    if (!check()) return;
    await connection.run(
      () =>
        api.post('/registries/ping', {
          ...(editing ? { id: editing.id } : {}),
          type: draft.type,
          url: draft.url.trim(),
          ...credentialFields(draft),
        }),
      'The registry answered and took these credentials.',
    );
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    if (!check()) return;
    void submission.run(async () => {
      const name = draft.name.trim();
      if (editing) {
        await api.put(`/registries/${segment(editing.id)}`, {
          name,
          description: draft.description.trim(),
          url: draft.url.trim(),
          ...credentialFields(draft),
        });
      } else {
        const key = draft.accessKey.trim();
        await api.post('/registries', {
          type: draft.type,
          name,
          description: draft.description.trim(),
          url: draft.url.trim(),
          insecure: !draft.verifyCert,
          ca_certificate: draft.caCertificate.trim() || null,
          ...(key || draft.accessSecret ? { credential: { type: 'basic', access_key: key, access_secret: draft.accessSecret } } : {}),
        });
      }
      notifyDone(editing ? `Registry ${name} saved` : `Registry ${name} added`);
      await client.invalidateQueries({ queryKey: replicationKeys.registries });
      onClose();
    });
  }

  const typeChoices = (types.data ?? (editing ? [editing.type] : [])).map((t) => ({ value: t, label: adapterName(t) }));
  const https = draft.url.trim().startsWith('https://');
  return (
    <FormDialog
      opened={opened}
      onClose={onClose}
      title={editing ? `Edit registry ${editing.name}` : 'New registry endpoint'}
      size="lg"
      error={submission.error}
      errorTitle="The registry was not saved"
      busy={submission.busy}
      submitLabel={editing ? 'Save' : 'OK'}
      onSubmit={submit}
    >
      <Select
        label="Provider"
        required
        data={typeChoices}
        value={draft.type || null}
        onChange={(v) => v && chooseType(v)}
        error={errors.type ?? (types.isError ? errorText(types.error) : undefined)}
        disabled={!!editing}
        allowDeselect={false}
        data-autofocus
      />
      <TextInput label="Name" required value={draft.name} onChange={(e) => set({ name: e.currentTarget.value })} error={errors.name} />
      <DescriptionField value={draft.description} onChange={(description) => set({ description })} />
      {fixedEndpoints.length > 0 ? (
        <Select
          label="Endpoint URL"
          required
          data={fixedEndpoints.map((e) => ({ value: e.value, label: e.key ? `${e.key} (${e.value})` : e.value }))}
          value={draft.url || null}
          onChange={(v) => v && set({ url: v })}
          error={errors.url}
          allowDeselect={false}
        />
      ) : (
        <TextInput
          label="Endpoint URL"
          required
          placeholder="https://registry.example.com"
          value={draft.url}
          onChange={(e) => set({ url: e.currentTarget.value })}
          error={errors.url}
        />
      )}
      <Group grow gap="sm" wrap="wrap" align="flex-start">
        <TextInput
          label="Access ID"
          description="The user name (or robot account) on that registry"
          value={draft.accessKey}
          onChange={(e) => set({ accessKey: e.currentTarget.value })}
          autoComplete="off"
        />
        <PasswordInput
          label="Access secret"
          description={editing ? 'Empty: keep the stored one' : 'Kept encrypted; never shown again'}
          value={draft.accessSecret}
          onChange={(e) => set({ accessSecret: e.currentTarget.value })}
          autoComplete="new-password"
        />
      </Group>
      {https && (
        <>
          <Switch
            label="Verify remote certificate"
            description="Off: accept any certificate the registry shows (a self-signed one)"
            checked={draft.verifyCert}
            onChange={(e) => set({ verifyCert: e.currentTarget.checked })}
          />
          <Textarea
            label="CA certificate"
            description="PEM; trusted for this registry besides the system's"
            value={draft.caCertificate}
            onChange={(e) => set({ caCertificate: e.currentTarget.value })}
            autosize
            minRows={2}
            maxRows={6}
            styles={{ input: { fontFamily: 'monospace' } }}
          />
        </>
      )}
      <ConnectionTest state={connection} onTest={() => void test()} />
    </FormDialog>
  );
}

export function RegistryStatus({ status }: { status: string | undefined }) {
  const healthy = status === 'healthy';
  const unhealthy = status === 'unhealthy';
  return (
    <Badge variant="light" color={healthy ? 'green' : unhealthy ? 'red' : 'gray'} tt="none" style={{ minWidth: 'max-content' }}>
      {healthy ? 'Healthy' : unhealthy ? 'Unhealthy' : 'Unknown'}
    </Badge>
  );
}

export function RegistriesPage() {
  usePageTitle('Registries');
  const client = useQueryClient();
  const [dialog, setDialog] = useState<{ editing: Registry | null } | null>(null);
  const [deleting, setDeleting] = useState<Registry | null>(null);

  const columns: Column<Registry>[] = [
    {
      key: 'name',
      header: 'Name',
      sort: 'name',
      render: (r) => (
        <Text size="sm" fw={600}>
          {r.name}
        </Text>
      ),
    },
    { key: 'status', header: 'Status', render: (r) => <RegistryStatus status={r.status} /> },
    {
      key: 'url',
      header: 'Endpoint URL',
      visibleFrom: 'sm',
      render: (r) => (
        <Text size="sm" ff="monospace" style={{ overflowWrap: 'anywhere' }}>
          {r.url}
        </Text>
      ),
    },
    { key: 'type', header: 'Provider', visibleFrom: 'sm', render: (r) => <Text size="sm">{adapterName(r.type)}</Text> },
    {
      key: 'verify',
      header: 'Verify remote cert',
      visibleFrom: 'lg',
      render: (r) => <Text size="sm">{r.url.startsWith('https://') ? (r.insecure ? 'No' : 'Yes') : '—'}</Text>,
    },
    descriptionColumn<Registry>(260),
    {
      key: 'created',
      header: 'Created',
      sort: 'creation_time',
      visibleFrom: 'md',
      render: (r) => <Text size="sm">{formatDateTime(r.creation_time)}</Text>,
    },
    {
      key: 'actions',
      header: 'Actions',
      width: 96,
      render: (r) => (
        <Group gap={4} wrap="nowrap">
          <Tooltip label="Edit" withArrow>
            <ActionIcon variant="subtle" color="gray" aria-label={`Edit registry ${r.name}`} onClick={() => setDialog({ editing: r })}>
              <IconPencil size={16} aria-hidden />
            </ActionIcon>
          </Tooltip>
          <Tooltip label="Delete" withArrow>
            <ActionIcon variant="subtle" color="red" aria-label={`Delete registry ${r.name}`} onClick={() => setDeleting(r)}>
              <IconTrash size={16} aria-hidden />
            </ActionIcon>
          </Tooltip>
        </Group>
      ),
    },
  ];

  return (
    <Stack>
      <Group justify="space-between" wrap="wrap" gap="sm">
        <Title order={1}>Registries</Title>
        <Button leftSection={<IconPlus size={16} aria-hidden />} onClick={() => setDialog({ editing: null })}>
          New endpoint
        </Button>
      </Group>
      <Text c="dimmed" size="sm">
        Other registries Berth replicates to and from, and that proxy-cache projects mirror. Their secrets are kept encrypted.
      </Text>
      <DataTable
        label="Registries"
        queryKey={replicationKeys.registries}
        fetchPage={({ page, pageSize, sort, search }: TableRequest) =>
          api.list<Registry>('/registries', { page, pageSize, sort, q: search ? `name=~${search}` : undefined })
        }
        columns={columns}
        rowKey={(r) => r.id}
        searchLabel="Search registries"
        emptyText="No registry endpoint yet."
      />
      <RegistryDialog opened={dialog !== null} editing={dialog?.editing ?? null} onClose={() => setDialog(null)} />
      <ConfirmDialog
        opened={deleting !== null}
        onClose={() => setDeleting(null)}
        title="Delete registry?"
        confirmLabel="Delete"
        onConfirm={async () => {
          await api.delete(`/registries/${segment(deleting!.id)}`);
          notifyDone(`Registry ${deleting!.name} deleted`);
          await client.invalidateQueries({ queryKey: replicationKeys.registries });
        }}
      >
        Delete the endpoint {deleting?.name}? It cannot be deleted while a replication rule or a proxy-cache project uses it.
      </ConfirmDialog>
    </Stack>
  );
}
