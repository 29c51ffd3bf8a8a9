// The project's trusted keys (Berth's /projects/{p}/trust/keys): with keys of a kind, only
// signatures that verify against them count for the content-trust policies and are shown
// as verified; without, a signature that merely exists counts, as in Harbor.
import { ActionIcon, Button, FileButton, Group, Paper, Select, Text, Textarea, TextInput, Title, Tooltip } from '@mantine/core';
import { IconKey, IconPlus, IconTrash, IconUpload } from '@tabler/icons-react';
import { useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, segment } from '../../api/client';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { DataTable, type Column } from '../../components/DataTable';
import { FormDialog, useSubmission } from '../../components/FormDialog';
import { notifyDone } from '../../lib/notify';
import { TimeText } from '../repository/parts';
import { projectApiPath, type Project } from './model';

type TrustKeyType = 'cosign' | 'notation-ca' | 'sigstore-root';

/** A key as the API answers it. */
interface TrustKey {
  id: number;
  project_id: number;
  name: string;
  type: TrustKeyType;
  pem: string;
  fingerprint: string;
  creation_time: string;
}

const keyTypes: Record<TrustKeyType, { label: string; material: string; hint: string; placeholder: string }> = {
  cosign: {
    label: 'Cosign public key',
    material: 'Public key (PEM)',
    hint: 'cosign.pub: an ECDSA P-256, Ed25519 or RSA public key. Verifies cosign signatures and Sigstore bundles signed with its private key.',
    placeholder: '-----BEGIN PUBLIC KEY-----',
  },
  'notation-ca': {
    label: 'Notation CA certificate',
    material: 'CA certificates (PEM)',
    hint: "One or more X.509 CA certificates: Notation signatures whose certificate chains to one of them verify (the trust store's roots).",
    placeholder: '-----BEGIN CERTIFICATE-----',
  },
  'sigstore-root': {
    label: 'Sigstore trusted root',
    material: 'Trusted root (JSON)',
    hint: 'A trusted_root.json (Fulcio CA, Rekor and CT log keys): keyless Sigstore bundles verify against it, without the network.',
    placeholder: '{"mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1", …}',
  },
};

const typeOptions = (Object.keys(keyTypes) as TrustKeyType[]).map((value) => ({ value, label: keyTypes[value].label }));

/** 0f3a…: the first 16 hex digits, the whole one in the tooltip. */
function Fingerprint({ value }: { value: string }) {
  return (
    <Tooltip label={`sha256:${value}`} withArrow maw={560} multiline style={{ wordBreak: 'break-all' }}>
      <Text size="sm" ff="monospace" span style={{ whiteSpace: 'nowrap' }}>
        {value.slice(0, 16)}…
      </Text>
    </Tooltip>
  );
}

function AddKeyDialog({ project, onClose, onAdded }: { project: Project; onClose: () => void; onAdded: () => Promise<void> }) {
  const [name, setName] = useState('');
  const [type, setType] = useState<TrustKeyType>('cosign');
  const [pem, setPem] = useState('');
  const [missing, setMissing] = useState(false);
  const submission = useSubmission();
  const kind = keyTypes[type];

  async function load(file: File | null) {
    if (!file) return;
    setPem(await file.text());
    if (!name.trim()) setName(file.name.replace(/\.(pub|pem|crt|cer|json)$/i, ''));
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    if (!name.trim() || !pem.trim()) {
      setMissing(true);
      return;
    }
    void submission.run(async () => {
      await api.post(projectApiPath(project, '/trust/keys'), { name: name.trim(), type, pem });
      notifyDone(`Trusted key ${name.trim()} added`);
      await onAdded();
      onClose();
    });
  }

  return (
    <FormDialog
      opened
      onClose={onClose}
      title="Add trusted key"
      size="lg"
      error={submission.error}
      errorTitle="The key was not added"
      busy={submission.busy}
      submitLabel="Add key"
      onSubmit={submit}
    >
      <TextInput
        label="Name"
        description="Shown as the key a signature verified against"
        value={name}
        onChange={(e) => setName(e.currentTarget.value)}
        error={missing && !name.trim() ? 'Enter a name for the key' : undefined}
        data-autofocus
      />
      <Select
        label="Type"
        data={typeOptions}
        value={type}
        onChange={(v) => v && setType(v as TrustKeyType)}
        allowDeselect={false}
        description={kind.hint}
      />
      <Textarea
        label={kind.material}
        value={pem}
        onChange={(e) => setPem(e.currentTarget.value)}
        placeholder={kind.placeholder}
        autosize
        minRows={6}
        maxRows={14}
        error={missing && !pem.trim() ? 'Paste the key material or load it from a file' : undefined}
        styles={{ input: { fontFamily: 'var(--mantine-font-family-monospace)', fontSize: 'var(--mantine-font-size-xs)' } }}
      />
      <Group>
        <FileButton onChange={(file) => void load(file)} accept=".pub,.pem,.crt,.cer,.json,text/plain,application/json">
          {(props) => (
            <Button {...props} variant="default" leftSection={<IconUpload size={16} aria-hidden />}>
              Load from a file
            </Button>
          )}
        </FileButton>
      </Group>
    </FormDialog>
  );
}

/** The Configuration tab's trusted keys: listed for every member, added and deleted by project admins. */
export function TrustKeysSection({ project, canEdit }: { project: Project; canEdit: boolean }) {
  const client = useQueryClient();
  const keysKey = ['trust-keys', project.project_id];
  const [adding, setAdding] = useState(false);
  const [deleting, setDeleting] = useState<TrustKey | null>(null);
  const refresh = () => client.invalidateQueries({ queryKey: keysKey });

  const columns: Column<TrustKey>[] = [
    {
      key: 'name',
      header: 'Name',
      render: (k) => (
        <Text size="sm" fw={500} style={{ overflowWrap: 'anywhere' }}>
          {k.name}
        </Text>
      ),
    },
    { key: 'type', header: 'Type', render: (k) => <Text size="sm">{keyTypes[k.type]?.label ?? k.type}</Text> },
    { key: 'fingerprint', header: 'Fingerprint', visibleFrom: 'sm', render: (k) => <Fingerprint value={k.fingerprint} /> },
    { key: 'creation_time', header: 'Added', visibleFrom: 'xs', render: (k) => <TimeText time={k.creation_time} /> },
  ];
  if (canEdit)
    columns.push({
      key: 'actions',
      header: 'Actions',
      width: 80,
      render: (k) => (
        <Tooltip label="Delete" withArrow>
          <ActionIcon variant="subtle" color="red" aria-label={`Delete key ${k.name}`} onClick={() => setDeleting(k)}>
            <IconTrash size={16} aria-hidden />
          </ActionIcon>
        </Tooltip>
      ),
    });

  return (
    <Paper component="section" aria-labelledby="trust-keys-title" withBorder p="md" radius="md">
      <Group justify="space-between" mb="xs" wrap="wrap">
        <Title id="trust-keys-title" order={2} size="h4">
          <Group gap={6} component="span">
            <IconKey size={18} aria-hidden />
            Trusted keys
          </Group>
        </Title>
        {canEdit && (
          <Button leftSection={<IconPlus size={16} aria-hidden />} onClick={() => setAdding(true)}>
            Add key
          </Button>
        )}
      </Group>
      <Text size="sm" c="dimmed" mb="sm">
        With keys of a kind here, only signatures that verify against them, for that exact digest, count: the signature policies above
        refuse the others and the artifact pages show them as unverified. Without keys, any signature of the kind counts.
      </Text>
      <DataTable<TrustKey>
        label="Trusted keys"
        queryKey={keysKey}
        fetchPage={({ page, pageSize }) => api.list<TrustKey>(projectApiPath(project, '/trust/keys'), { page, pageSize })}
        columns={columns}
        rowKey={(k) => k.id}
        emptyText="No trusted keys: signatures are not verified."
      />
      {adding && <AddKeyDialog project={project} onClose={() => setAdding(false)} onAdded={refresh} />}
      <ConfirmDialog
        opened={deleting !== null}
        onClose={() => setDeleting(null)}
        title="Delete trusted key"
        confirmLabel="Delete"
        onConfirm={async () => {
          await api.delete(projectApiPath(project, `/trust/keys/${segment(deleting!.id)}`));
          notifyDone(`Trusted key ${deleting!.name} deleted`);
          await refresh();
        }}
      >
        Delete the key <strong>{deleting?.name}</strong>? Signatures made with it no longer verify; with no other key of its kind left,
        signatures of that kind are no longer checked.
      </ConfirmDialog>
    </Paper>
  );
}
