// Administration: the scanner registrations (Harbor's /scanners): the built-in one and any
// remote Pluggable Scanner API adapter; add, test, edit, set default, enable/disable, delete.
import {
  Alert,
  Badge,
  Button,
  Card,
  Code,
  Group,
  Menu,
  Modal,
  Select,
  Skeleton,
  Stack,
  Switch,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { IconPlus } from '@tabler/icons-react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { api, errorText, segment } from '../../api/client';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { ConnectionTest, isHttpAddress, useConnectionTest } from '../../components/ConnectionTest';
import { DataTable, type Column, type TableRequest } from '../../components/DataTable';
import { DescriptionField, FormDialog, SecretField, useSubmission } from '../../components/FormDialog';
import { ActionsMenu, descriptionColumn, EnabledBadge } from '../../components/ListParts';
import { CopyIcon } from '../../components/CopyField';
import { formatDateTime } from '../../lib/format';
import { notifyDone, notifyError } from '../../lib/notify';
import { scanKeys } from '../scanning/model';

export interface ScannerRegistration {
  uuid: string;
  name: string;
  description?: string;
  url: string;
  disabled?: boolean;
  is_default?: boolean;
  auth?: string;
  access_credential?: string;
  skip_certVerify?: boolean;
  use_internal_addr?: boolean;
  create_time?: string;
  update_time?: string;
  adapter?: string;
  vendor?: string;
  version?: string;
  health?: string;
  capabilities?: Record<string, unknown>;
  /** Berth (as Harbor's own answers): the built-in registration, which cannot be edited or deleted. */
  immutable?: boolean;
}

/** Berth's /system/scanner-adapter: how another registry reaches the built-in scanner. */
interface AdapterAccess {
  url: string;
  auth: string;
  api_key: string;
  api_key_source?: string;
  basic_auth?: boolean;
  enabled?: boolean;
}

interface AdapterMetadata {
  scanner?: { name?: string; vendor?: string; version?: string };
  capabilities?: Array<{ type?: string; consumes_mime_types?: string[]; produces_mime_types?: string[] }>;
  properties?: Record<string, string>;
}

const authChoices = [
  { value: '', label: 'None' },
  { value: 'Basic', label: 'Basic' },
  { value: 'Bearer', label: 'Bearer token' },
  { value: 'X-ScannerAdapter-API-Key', label: 'API key (X-ScannerAdapter-API-Key)' },
];

/** The auth as the dialog offers it: Berth may answer Harbor's API-key mode by its short name. */
function authValue(auth: string | undefined): string {
  return auth === 'APIKey' ? 'X-ScannerAdapter-API-Key' : (auth ?? '');
}

interface Draft {
  name: string;
  description: string;
  url: string;
  auth: string;
  username: string;
  secret: string;
  skipCertVerify: boolean;
  useInternalAddr: boolean;
}

const emptyDraft: Draft = {
  name: '',
  description: '',
  url: '',
  auth: '',
  username: '',
  secret: '',
  skipCertVerify: false,
  useInternalAddr: false,
};

/** The credential Harbor keeps: "user:password" for Basic, the token or the key otherwise; '' keeps the stored one on edit. */
function credentialOf(d: Draft): string {
  if (!d.auth) return '';
  if (d.auth === 'Basic') return d.username || d.secret ? `${d.username}:${d.secret}` : '';
  return d.secret;
}

function bodyOf(d: Draft, disabled = false) {
  const credential = credentialOf(d);
  return {
    name: d.name.trim(),
    description: d.description.trim(),
    url: d.url.trim(),
    auth: d.auth,
    ...(credential ? { access_credential: credential } : {}),
    skip_certVerify: d.skipCertVerify,
    use_internal_addr: d.useInternalAddr,
    disabled,
  };
}

/** The dialog to add a registration or edit one, with "Test connection". */
function ScannerDialog({ editing, opened, onClose }: { editing: ScannerRegistration | null; opened: boolean; onClose: () => void }) {
  const client = useQueryClient();
  const submission = useSubmission();
  const [draft, setDraft] = useState<Draft>(emptyDraft);
  const connection = useConnectionTest();
  const [fieldErrors, setFieldErrors] = useState<{ name?: string; url?: string }>({});
  // Filled afresh each time the dialog opens.
  useEffect(() => {
    if (!opened) return;
    connection.clear();
    setFieldErrors({});
    submission.clear();
    setDraft(
      editing
        ? {
            ...emptyDraft,
            name: editing.name,
            description: editing.description ?? '',
            url: editing.url,
            auth: authValue(editing.auth),
            skipCertVerify: !!editing.skip_certVerify,
            useInternalAddr: !!editing.use_internal_addr,
          }
        : emptyDraft,
    );
  }, [opened, editing?.uuid]);
  const set = (patch: Partial<Draft>) => setDraft({ ...draft, ...patch });

  function check(): boolean {
    const errors: { name?: string; url?: string } = {};
    if (!draft.name.trim()) errors.name = 'Give the scanner a name.';
    if (!isHttpAddress(draft.url)) errors.url = 'An http:// or https:// address of the adapter.';
    setFieldErrors(errors);
    return Object.keys(errors).length === 0;
  }

  async function test() {
    if (!check()) return;
    const credential = credentialOf(draft);
    await connection.run(
      () => api.post('/scanners/ping', { name: draft.name.trim(), url: draft.url.trim(), auth: draft.auth, access_credential: credential }),
      'The adapter answered: its metadata is readable with these settings.',
    );
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    if (!check()) return;
    void submission.run(async () => {
      if (editing) await api.put(`/scanners/${segment(editing.uuid)}`, bodyOf(draft, !!editing.disabled));
      else await api.post('/scanners', bodyOf(draft));
      notifyDone(editing ? `Scanner ${draft.name.trim()} saved` : `Scanner ${draft.name.trim()} added`);
      await client.invalidateQueries({ queryKey: scanKeys.scanners });
      onClose();
    });
  }

  return (
    <FormDialog
      opened={opened}
      onClose={onClose}
      title={editing ? `Edit scanner ${editing.name}` : 'Add a scanner'}
      size="lg"
      error={submission.error}
      errorTitle="The scanner was not saved"
      busy={submission.busy}
      submitLabel={editing ? 'Save' : 'Add'}
      onSubmit={submit}
    >
      <TextInput
        label="Name"
        required
        value={draft.name}
        onChange={(e) => set({ name: e.currentTarget.value })}
        error={fieldErrors.name}
        data-autofocus
      />
      <DescriptionField value={draft.description} onChange={(description) => set({ description })} />
      <TextInput
        label="Endpoint"
        description="The adapter's base URL; Berth calls <endpoint>/api/v1/…"
        placeholder="http://scanner-adapter:8080"
        required
        value={draft.url}
        onChange={(e) => set({ url: e.currentTarget.value })}
        error={fieldErrors.url}
      />
      <Select label="Authorization" data={authChoices} value={draft.auth} onChange={(v) => set({ auth: v ?? '' })} allowDeselect={false} />
      {draft.auth === 'Basic' && (
        <Group grow gap="sm" wrap="wrap">
          <TextInput
            label="Username"
            value={draft.username}
            onChange={(e) => set({ username: e.currentTarget.value })}
            autoComplete="off"
          />
          <SecretField label="Password" value={draft.secret} onChange={(secret) => set({ secret })} editing={!!editing} />
        </Group>
      )}
      {(draft.auth === 'Bearer' || draft.auth === 'X-ScannerAdapter-API-Key') && (
        <SecretField
          label={draft.auth === 'Bearer' ? 'Token' : 'API key'}
          value={draft.secret}
          onChange={(secret) => set({ secret })}
          editing={!!editing}
        />
      )}
      <Switch
        label="Skip certificate verification"
        description="Accept any TLS certificate from the adapter (a self-signed one)"
        checked={draft.skipCertVerify}
        onChange={(e) => set({ skipCertVerify: e.currentTarget.checked })}
      />
      <Switch
        label="Use internal registry address"
        description="Give the adapter Berth's internal address to pull images from, not the external URL"
        checked={draft.useInternalAddr}
        onChange={(e) => set({ useInternalAddr: e.currentTarget.checked })}
      />
      <ConnectionTest state={connection} onTest={() => void test()} />
    </FormDialog>
  );
}

/** The adapter's metadata: scanner, capabilities and properties (the database's age among them). */
function MetadataDialog({ scanner, onClose }: { scanner: ScannerRegistration | null; onClose: () => void }) {
  const metadata = useQuery({
    queryKey: ['scanner-metadata', scanner?.uuid],
    queryFn: () => api.get<AdapterMetadata>(`/scanners/${segment(scanner!.uuid)}/metadata`),
    enabled: scanner !== null,
    retry: false,
  });
  if (!scanner) return null;
  const data = metadata.data;
  return (
    <Modal opened onClose={onClose} title={`Scanner ${scanner.name}`} size="lg" centered>
      {metadata.isPending ? (
        <Skeleton height={120} />
      ) : metadata.isError ? (
        <Alert color="red" title="The adapter did not answer">
          {errorText(metadata.error)}
        </Alert>
      ) : (
        <Stack gap="sm">
          <Text size="sm">
            {data?.scanner?.name} {data?.scanner?.version} ({data?.scanner?.vendor})
          </Text>
          <Title order={3} size="h5">
            Capabilities
          </Title>
          {(data?.capabilities ?? []).map((c, i) => (
            <div key={i}>
              <Text size="sm" fw={600}>
                {c.type ?? 'vulnerability'}
              </Text>
              <Text size="xs" c="dimmed">
                Produces: {(c.produces_mime_types ?? []).join(', ')}
              </Text>
            </div>
          ))}
          <Title order={3} size="h5">
            Properties
          </Title>
          <Table.ScrollContainer minWidth={300}>
            <Table aria-label="Adapter properties" verticalSpacing={4}>
              <Table.Tbody>
                {Object.entries(data?.properties ?? {}).map(([k, v]) => (
                  <Table.Tr key={k}>
                    <Table.Td>
                      <Code>{k}</Code>
                    </Table.Td>
                    <Table.Td style={{ overflowWrap: 'anywhere' }}>{v}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        </Stack>
      )}
    </Modal>
  );
}

/** What to register in a Harbor (or another Berth) to scan with this Berth's built-in scanner. */
function AdapterAccessBox({ access }: { access: AdapterAccess }) {
  const [shown, setShown] = useState(false);
  if (access.enabled === false) return null;
  return (
    <Alert color="gray" variant="light" title="Scan from another registry with Berth's scanner">
      <Stack gap={6}>
        <Text size="sm">
          Register it in Harbor (Interrogation services → New scanner) or in another Berth with this endpoint and the API key (authorization
          X-ScannerAdapter-API-Key){access.basic_auth ? ", or a Berth system administrator's Basic credentials" : ''}.
        </Text>
        <Group gap={4} wrap="nowrap">
          <Text size="sm" ff="monospace" style={{ overflowWrap: 'anywhere' }}>
            {access.url}
          </Text>
          <CopyIcon value={access.url} label="Copy the scanner endpoint" />
        </Group>
        <Group gap={4} wrap="nowrap">
          <Text size="sm" ff="monospace" style={{ overflowWrap: 'anywhere' }}>
            {shown ? access.api_key : '•'.repeat(16)}
          </Text>
          <Button variant="subtle" size="compact-xs" onClick={() => setShown(!shown)}>
            {shown ? 'Hide key' : 'Show key'}
          </Button>
          <CopyIcon value={access.api_key} label="Copy the API key" />
        </Group>
      </Stack>
    </Alert>
  );
}

export function ScannersPanel() {
  const client = useQueryClient();
  // The built-in registration is the one at the adapter's URL (Harbor's API does not say which is immutable).
  const access = useQuery({
    queryKey: [...scanKeys.scanners, 'adapter'],
    queryFn: () => api.get<AdapterAccess>('/system/scanner-adapter'),
    retry: false,
  });
  const builtIn = (s: ScannerRegistration) => s.immutable ?? (access.data !== undefined && s.url === access.data.url);
  const [dialog, setDialog] = useState<{ editing: ScannerRegistration | null } | null>(null);
  const [deleting, setDeleting] = useState<ScannerRegistration | null>(null);
  const [shown, setShown] = useState<ScannerRegistration | null>(null);

  const refresh = () => client.invalidateQueries({ queryKey: scanKeys.scanners });

  async function setDefault(s: ScannerRegistration) {
    try {
      await api.patch(`/scanners/${segment(s.uuid)}`, { is_default: true });
      notifyDone(`${s.name} is the default scanner`);
      await refresh();
    } catch (err) {
      notifyError(err, `${s.name} was not made the default`);
    }
  }

  async function setDisabled(s: ScannerRegistration, disabled: boolean) {
    try {
      await api.put(`/scanners/${segment(s.uuid)}`, {
        name: s.name,
        description: s.description ?? '',
        url: s.url,
        auth: authValue(s.auth),
        skip_certVerify: !!s.skip_certVerify,
        use_internal_addr: !!s.use_internal_addr,
        disabled,
      });
      notifyDone(`${s.name} ${disabled ? 'disabled' : 'enabled'}`);
      await refresh();
    } catch (err) {
      notifyError(err, `${s.name} was not ${disabled ? 'disabled' : 'enabled'}`);
    }
  }

  const columns: Column<ScannerRegistration>[] = [
    {
      key: 'name',
      header: 'Name',
      sort: 'name',
      render: (s) => (
        <Group gap={6} wrap="wrap">
          <Text size="sm" fw={600} span>
            {s.name}
          </Text>
          {s.is_default && (
            <Badge variant="light" color="blue" tt="none">
              Default
            </Badge>
          )}
          {builtIn(s) && (
            <Badge variant="outline" color="gray" tt="none">
              Built-in
            </Badge>
          )}
        </Group>
      ),
    },
    {
      key: 'url',
      header: 'Endpoint',
      visibleFrom: 'sm',
      render: (s) => (
        <Text size="sm" ff="monospace" span style={{ overflowWrap: 'anywhere' }}>
          {s.url}
        </Text>
      ),
    },
    {
      key: 'state',
      header: 'State',
      render: (s) => (
        <Group gap={4} wrap="wrap">
          <EnabledBadge enabled={!s.disabled} />
          {s.health === 'unhealthy' && (
            <Badge variant="light" color="red" tt="none" style={{ minWidth: 'max-content' }} title="Its adapter did not answer">
              Unreachable
            </Badge>
          )}
        </Group>
      ),
    },
    {
      key: 'auth',
      header: 'Authorization',
      visibleFrom: 'md',
      render: (s) => <Text size="sm">{authChoices.find((c) => c.value === authValue(s.auth))?.label ?? s.auth}</Text>,
    },
    descriptionColumn<ScannerRegistration>(280),
    { key: 'created', header: 'Added', visibleFrom: 'lg', render: (s) => <Text size="sm">{formatDateTime(s.create_time)}</Text> },
    {
      key: 'actions',
      header: 'Actions',
      render: (s) => (
        <ActionsMenu label={`Actions for scanner ${s.name}`}>
          <Menu.Item onClick={() => setShown(s)}>Adapter metadata</Menu.Item>
          {!s.is_default && !s.disabled && <Menu.Item onClick={() => void setDefault(s)}>Set as default</Menu.Item>}
          {!builtIn(s) && <Menu.Item onClick={() => setDialog({ editing: s })}>Edit</Menu.Item>}
          {!builtIn(s) && !s.is_default && (
            <Menu.Item onClick={() => void setDisabled(s, !s.disabled)}>{s.disabled ? 'Enable' : 'Disable'}</Menu.Item>
          )}
          {!builtIn(s) && !s.is_default && (
            <Menu.Item color="red" onClick={() => setDeleting(s)}>
              Delete
            </Menu.Item>
          )}
        </ActionsMenu>
      ),
    },
  ];

  return (
    <Card withBorder padding="lg" radius="md" component="section" aria-labelledby="scanners-title">
      <Stack gap="md">
        <div>
          <Title order={2} size="h3" id="scanners-title">
            Scanners
          </Title>
          <Text size="sm" c="dimmed">
            Berth's built-in scanner needs nothing else installed. Other scanners are reached through Harbor's Pluggable Scanner API. A
            project uses the default scanner unless it chose another.
          </Text>
        </div>
        {access.data && <AdapterAccessBox access={access.data} />}
        <DataTable
          label="Scanners"
          queryKey={scanKeys.scanners}
          fetchPage={({ page, pageSize, sort }: TableRequest) => api.list<ScannerRegistration>('/scanners', { page, pageSize, sort })}
          columns={columns}
          rowKey={(s) => s.uuid}
          toolbar={
            <Button leftSection={<IconPlus size={16} aria-hidden />} onClick={() => setDialog({ editing: null })}>
              New scanner
            </Button>
          }
          emptyText="No scanner is registered."
        />
      </Stack>
      <ScannerDialog opened={dialog !== null} editing={dialog?.editing ?? null} onClose={() => setDialog(null)} />
      <MetadataDialog scanner={shown} onClose={() => setShown(null)} />
      <ConfirmDialog
        opened={deleting !== null}
        onClose={() => setDeleting(null)}
        title="Delete scanner?"
        confirmLabel="Delete"
        onConfirm={async () => {
          await api.delete(`/scanners/${segment(deleting!.uuid)}`);
          notifyDone(`Scanner ${deleting!.name} deleted`);
          await refresh();
        }}
      >
        Delete the registration of {deleting?.name}? Projects that chose it go back to the default scanner; its reports are kept.
      </ConfirmDialog>
    </Card>
  );
}
