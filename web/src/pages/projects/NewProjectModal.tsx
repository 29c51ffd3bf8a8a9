import { Group, NumberInput, Select, Switch, TextInput } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api } from '../../api/client';
import { FormDialog, useSubmission } from '../../components/FormDialog';
import { useSession } from '../../auth/session';
import { notifyDone } from '../../lib/notify';
import { hasFeature } from '../../lib/features';
import { adapterName, allRegistries, replicationKeys } from '../replication/model';

const namePattern = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const units = [
  { value: String(1024 ** 2), label: 'MiB' },
  { value: String(1024 ** 3), label: 'GiB' },
  { value: String(1024 ** 4), label: 'TiB' },
];

function nameProblem(name: string): string | null {
  if (!name) return 'Enter a name';
  if (name.length > 255) return 'At most 255 characters';
  if (!namePattern.test(name)) return 'Lower-case letters and digits, joined by single ".", "_" or "-"';
  return null;
}

/** "New project": POST /projects. Only a system administrator may choose the storage limit (as in Harbor). */
export function NewProjectModal({ opened, onClose }: { opened: boolean; onClose: () => void }) {
  const client = useQueryClient();
  const { user } = useSession();
  const [name, setName] = useState('');
  const [isPublic, setPublic] = useState(false);
  const [limit, setLimit] = useState<string | number>('');
  const [unit, setUnit] = useState<string>(units[1].value);
  const [nameError, setNameError] = useState<string | null>(null);
  const [limitError, setLimitError] = useState<string | null>(null);
  // A proxy cache project (Harbor's registry_id): only a system administrator sees the registries.
  const mayProxy = !!user?.sysadmin_flag && hasFeature('proxy-cache');
  const [proxy, setProxy] = useState(false);
  const [registryId, setRegistryId] = useState<string | null>(null);
  const [freshness, setFreshness] = useState<string | number>('');
  const [proxyError, setProxyError] = useState<string | null>(null);
  const registries = useQuery({ queryKey: [...replicationKeys.registries, 'all'], queryFn: allRegistries, enabled: opened && proxy });
  const submission = useSubmission();

  function close() {
    setName('');
    setPublic(false);
    setLimit('');
    setUnit(units[1].value);
    setNameError(null);
    setLimitError(null);
    setProxy(false);
    setRegistryId(null);
    setFreshness('');
    setProxyError(null);
    submission.clear();
    onClose();
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    const trimmed = name.trim();
    const problem = nameProblem(trimmed);
    setNameError(problem);
    let storageLimit: number | undefined;
    let badLimit: string | null = null;
    if (user?.sysadmin_flag && limit !== '') {
      const value = Number(limit);
      if (value === -1) storageLimit = -1;
      else if (value > 0) storageLimit = Math.max(1, Math.round(value * Number(unit)));
      else badLimit = 'Enter -1 (unlimited) or an amount above 0';
    }
    setLimitError(badLimit);
    const badProxy = proxy && !registryId ? 'Choose the registry this project mirrors' : null;
    setProxyError(badProxy);
    if (problem || badLimit || badProxy) return;
    await submission.run(async () => {
      await api.post('/projects', {
        project_name: trimmed,
        metadata: {
          public: String(isPublic),
          ...(proxy && freshness !== '' ? { proxy_cache_freshness_seconds: String(freshness) } : {}),
        },
        ...(storageLimit !== undefined && { storage_limit: storageLimit }),
        ...(proxy && registryId ? { registry_id: Number(registryId) } : {}),
      });
      notifyDone(`Project ${trimmed} created`);
      await client.invalidateQueries({ queryKey: ['projects'] });
      close();
    });
  }

  return (
    <FormDialog
      opened={opened}
      onClose={close}
      title="New project"
      error={submission.error}
      errorTitle="Could not create the project"
      busy={submission.busy}
      submitLabel="Create"
      onSubmit={submit}
    >
      <TextInput
        label="Project name"
        description='Lower-case letters and digits, joined by single ".", "_" or "-"'
        required
        data-autofocus
        value={name}
        onChange={(e) => {
          setName(e.currentTarget.value);
          if (nameError) setNameError(null);
        }}
        error={nameError}
        autoComplete="off"
      />
      <Switch
        label="Public"
        description="Anyone, even without signing in, can pull images from a public project."
        checked={isPublic}
        onChange={(e) => setPublic(e.currentTarget.checked)}
      />
      {user?.sysadmin_flag && (
        <Group align="flex-end" gap="sm" wrap="nowrap">
          <NumberInput
            label="Storage limit"
            description="Empty for the default, -1 for unlimited"
            value={limit}
            onChange={(value) => {
              setLimit(value);
              if (limitError) setLimitError(null);
            }}
            error={limitError}
            min={-1}
            allowDecimal
            flex={1}
          />
          <Select label="Unit" data={units} value={unit} onChange={(v) => v && setUnit(v)} allowDeselect={false} w={100} />
        </Group>
      )}
      {mayProxy && (
        <>
          <Switch
            label="Proxy Cache"
            description="A pull-through cache of another registry: pulls fetch and keep what it lacks; pushes are refused."
            checked={proxy}
            onChange={(e) => setProxy(e.currentTarget.checked)}
          />
          {proxy && (
            <>
              <Select
                label="Registry"
                description="The endpoint it mirrors (Administration → Registries)"
                required
                data={(registries.data ?? []).map((r) => ({ value: String(r.id), label: `${r.name} (${adapterName(r.type)}) ${r.url}` }))}
                value={registryId}
                onChange={(v) => {
                  setRegistryId(v);
                  if (proxyError) setProxyError(null);
                }}
                error={
                  proxyError ??
                  (registries.isSuccess && registries.data.length === 0
                    ? 'No registry endpoint yet: add one under Administration → Registries'
                    : null)
                }
                searchable
                nothingFoundMessage="No such registry"
              />
              <NumberInput
                label="Cache freshness (seconds)"
                description="How long a tag is served from the cache without asking the upstream; empty for Berth's default"
                value={freshness}
                onChange={setFreshness}
                min={0}
                allowDecimal={false}
              />
            </>
          )}
        </>
      )}
    </FormDialog>
  );
}
