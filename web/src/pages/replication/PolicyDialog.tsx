// The replication rule editor (Harbor's "New Replication Rule"): push- or pull-based, the other
// registry, source filters, destination namespace and flattening, trigger (manual, cron, events,
// with delete sync), bandwidth, override, copy by chunk, enabled.
import { Alert, Checkbox, Group, MultiSelect, NumberInput, SegmentedControl, Select, Stack, Text, TextInput } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { api, errorText, segment } from '../../api/client';
import { DescriptionField, FormDialog, useSubmission } from '../../components/FormDialog';
import { cronError, TriggerFields } from '../../components/TriggerFields';
import { notifyDone } from '../../lib/notify';
import {
  allRegistries,
  flatteningChoices,
  isLocal,
  replicationKeys,
  triggerNames,
  type Registry,
  type RegistryInfo,
  type ReplicationFilter,
  type ReplicationPolicy,
} from './model';

/** What Berth itself supports when asked about a side Harbor's /registries/0/info does not answer. */
const defaultInfo: Required<Pick<RegistryInfo, 'supported_resource_filters' | 'supported_triggers'>> = {
  supported_resource_filters: [
    { type: 'name', style: 'input' },
    { type: 'tag', style: 'input' },
    { type: 'label', style: 'list' },
    { type: 'resource', style: 'radio', values: ['image', 'artifact'] },
  ],
  supported_triggers: ['manual', 'scheduled', 'event_based'],
};

interface Draft {
  name: string;
  description: string;
  mode: 'push' | 'pull';
  registryId: string;
  nameFilter: string;
  tagFilter: string;
  tagDecoration: string;
  labels: string[];
  labelDecoration: string;
  resource: string;
  destNamespace: string;
  flattening: string;
  trigger: string;
  cron: string;
  replicateDeletion: boolean;
  override: boolean;
  enabled: boolean;
  speed: number | string;
  speedUnit: 'KB' | 'MB';
  copyByChunk: boolean;
  singleActive: boolean;
}

const emptyDraft: Draft = {
  name: '',
  description: '',
  mode: 'push',
  registryId: '',
  nameFilter: '',
  tagFilter: '',
  tagDecoration: 'matches',
  labels: [],
  labelDecoration: 'matches',
  resource: '',
  destNamespace: '',
  flattening: '1',
  trigger: 'manual',
  cron: '',
  replicateDeletion: false,
  override: true,
  enabled: true,
  speed: -1,
  speedUnit: 'KB',
  copyByChunk: false,
  singleActive: false,
};

function filterValue(filters: ReplicationFilter[] | null | undefined, type: string): ReplicationFilter | undefined {
  return (filters ?? []).find((f) => f.type === type);
}

function draftOf(p: ReplicationPolicy): Draft {
  const push = isLocal(p.src_registry);
  const tag = filterValue(p.filters, 'tag');
  const label = filterValue(p.filters, 'label');
  const name = filterValue(p.filters, 'name');
  const resource = filterValue(p.filters, 'resource');
  const speed = p.speed ?? -1;
  const inMB = speed >= 1024 && speed % 1024 === 0;
  return {
    name: p.name,
    description: p.description ?? '',
    mode: push ? 'push' : 'pull',
    registryId: String((push ? p.dest_registry?.id : p.src_registry?.id) ?? ''),
    nameFilter: typeof name?.value === 'string' ? name.value : '',
    tagFilter: typeof tag?.value === 'string' ? tag.value : '',
    tagDecoration: tag?.decoration ?? 'matches',
    labels: Array.isArray(label?.value) ? label.value : typeof label?.value === 'string' && label.value ? [label.value] : [],
    labelDecoration: label?.decoration ?? 'matches',
    resource: typeof resource?.value === 'string' ? resource.value : '',
    destNamespace: p.dest_namespace ?? '',
    flattening: String(p.dest_namespace_replace_count ?? -1),
    trigger: p.trigger?.type ?? 'manual',
    cron: p.trigger?.trigger_settings?.cron ?? '',
    replicateDeletion: !!(p.replicate_deletion ?? p.deletion),
    override: !!p.override,
    enabled: p.enabled !== false,
    speed: speed > 0 ? (inMB ? speed / 1024 : speed) : -1,
    speedUnit: inMB ? 'MB' : 'KB',
    copyByChunk: !!p.copy_by_chunk,
    singleActive: !!p.single_active_replication,
  };
}

/** Harbor's body: the filters the user set, the local side null, speed in KB/s (-1 unlimited). */
function bodyOf(d: Draft, registries: Registry[]) {
  const registry = registries.find((r) => String(r.id) === d.registryId) ?? null;
  const filters: ReplicationFilter[] = [];
  if (d.nameFilter.trim()) filters.push({ type: 'name', value: d.nameFilter.trim() });
  if (d.tagFilter.trim()) filters.push({ type: 'tag', value: d.tagFilter.trim(), decoration: d.tagDecoration });
  if (d.labels.length > 0) filters.push({ type: 'label', value: d.labels, decoration: d.labelDecoration });
  if (d.resource) filters.push({ type: 'resource', value: d.resource });
  const speed = Number(d.speed);
  return {
    name: d.name.trim(),
    description: d.description.trim(),
    src_registry: d.mode === 'pull' ? registry : null,
    dest_registry: d.mode === 'push' ? registry : null,
    dest_namespace: d.destNamespace.trim(),
    dest_namespace_replace_count: Number(d.flattening),
    trigger: { type: d.trigger, trigger_settings: { cron: d.trigger === 'scheduled' ? d.cron.trim() : '' } },
    filters,
    replicate_deletion: d.trigger === 'event_based' && d.replicateDeletion,
    override: d.override,
    enabled: d.enabled,
    speed: !speed || speed < 0 ? -1 : Math.round(d.speedUnit === 'MB' ? speed * 1024 : speed),
    copy_by_chunk: d.copyByChunk,
    single_active_replication: d.singleActive,
  };
}

/** Harbor's /registries/{id}/info, 0 being this Berth; what it does not answer falls back to what Berth supports. */
function useRegistryInfo(id: string, enabled: boolean) {
  return useQuery({
    queryKey: ['registry-info', id],
    queryFn: () => api.get<RegistryInfo>(`/registries/${segment(id || 0)}/info`),
    enabled,
    retry: false,
    staleTime: 30_000,
  });
}

export function PolicyDialog({ editing, opened, onClose }: { editing: ReplicationPolicy | null; opened: boolean; onClose: () => void }) {
  const client = useQueryClient();
  const submission = useSubmission();
  const [draft, setDraft] = useState<Draft>(emptyDraft);
  const [errors, setErrors] = useState<{ name?: string; registry?: string; cron?: string; speed?: string }>({});
  // staleTime 0: opening the dialog asks again, so a registry added elsewhere a moment ago is offered.
  const registries = useQuery({ queryKey: [...replicationKeys.registries, 'all'], queryFn: allRegistries, enabled: opened, staleTime: 0 });
  const labels = useQuery({
    queryKey: ['labels', 'g', 'all'],
    queryFn: () => api.list<{ id: number; name: string }>('/labels', { page: 1, pageSize: 100, scope: 'g' }),
    enabled: opened,
  });
  // The source side decides which filters and triggers apply: Berth itself when pushing.
  const sourceId = draft.mode === 'pull' ? draft.registryId : '0';
  const info = useRegistryInfo(sourceId, opened && (draft.mode === 'push' || !!draft.registryId));
  // Copy by chunk is the destination's to support (uploads in PATCH chunks).
  const destinationId = draft.mode === 'push' ? draft.registryId : '0';
  const destinationInfo = useRegistryInfo(destinationId, opened && (draft.mode === 'pull' || !!draft.registryId));
  const supported = {
    filters: info.data?.supported_resource_filters ?? defaultInfo.supported_resource_filters,
    triggers: info.data?.supported_triggers ?? defaultInfo.supported_triggers,
  };
  const hasFilter = (type: string) => supported.filters.some((f) => f.type === type);
  const resourceValues = supported.filters.find((f) => f.type === 'resource')?.values ?? ['image', 'artifact'];

  useEffect(() => {
    if (!opened) return;
    setErrors({});
    submission.clear();
    setDraft(editing ? draftOf(editing) : emptyDraft);
  }, [opened, editing?.id]);
  const set = (patch: Partial<Draft>) => setDraft((d) => ({ ...d, ...patch }));
  // A source that has no such trigger (a registry other than Berth has no events): its first one.
  useEffect(() => {
    const triggers = info.data?.supported_triggers;
    if (triggers && triggers.length > 0 && !triggers.includes(draft.trigger)) set({ trigger: triggers[0] });
  }, [info.data]);

  function check(): boolean {
    const found: typeof errors = {};
    if (!draft.name.trim()) found.name = 'Give the rule a name.';
    if (!draft.registryId) found.registry = draft.mode === 'push' ? 'Choose the destination registry.' : 'Choose the source registry.';
    const cron = cronError(draft.trigger, draft.cron);
    if (cron) found.cron = cron;
    const speed = Number(draft.speed);
    if (draft.speed !== '' && (!Number.isFinite(speed) || (speed < 0 && speed !== -1) || speed === 0))
      found.speed = '-1 for unlimited, or a speed above 0.';
    setErrors(found);
    return Object.keys(found).length === 0;
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    if (!check()) return;
    void submission.run(async () => {
      const body = bodyOf(draft, registries.data ?? []);
      if (editing) await api.put(`/replication/policies/${segment(editing.id)}`, { id: editing.id, ...body });
      else await api.post('/replication/policies', body);
      notifyDone(editing ? `Rule ${body.name} saved` : `Rule ${body.name} created`);
      await client.invalidateQueries({ queryKey: replicationKeys.policies });
      onClose();
    });
  }

  const registryChoices = (registries.data ?? []).map((r) => ({ value: String(r.id), label: `${r.name} — ${r.url}` }));
  const noRegistries = registries.isSuccess && registryChoices.length === 0;
  return (
    <FormDialog
      opened={opened}
      onClose={onClose}
      title={editing ? `Edit rule ${editing.name}` : 'New replication rule'}
      size="xl"
      error={submission.error}
      errorTitle="The rule was not saved"
      busy={submission.busy}
      submitLabel="Save"
      onSubmit={submit}
    >
      <TextInput
        label="Name"
        required
        value={draft.name}
        onChange={(e) => set({ name: e.currentTarget.value })}
        error={errors.name}
        data-autofocus
      />
      <DescriptionField value={draft.description} onChange={(description) => set({ description })} />
      <Stack gap={4}>
        <Text size="sm" fw={500} id="replication-mode-label">
          Replication mode
        </Text>
        <SegmentedControl
          aria-labelledby="replication-mode-label"
          data={[
            { value: 'push', label: 'Push-based' },
            { value: 'pull', label: 'Pull-based' },
          ]}
          value={draft.mode}
          onChange={(v) => set({ mode: v as Draft['mode'], registryId: '', nameFilter: '', tagFilter: '', labels: [], resource: '' })}
        />
        <Text size="xs" c="dimmed">
          {draft.mode === 'push'
            ? 'Push the artifacts of this Berth to another registry.'
            : 'Pull the artifacts of another registry into this Berth.'}
        </Text>
      </Stack>
      {noRegistries && (
        <Alert color="yellow" title="No registry endpoint">
          Add the other registry under Administration → Registries first.
        </Alert>
      )}
      <Select
        label={draft.mode === 'push' ? 'Destination registry' : 'Source registry'}
        required
        data={registryChoices}
        value={draft.registryId || null}
        onChange={(v) => set({ registryId: v ?? '' })}
        error={errors.registry ?? (registries.isError ? errorText(registries.error) : undefined)}
        searchable
        nothingFoundMessage="No such registry"
      />
      {draft.mode === 'pull' && draft.registryId && info.isError && (
        <Alert color="yellow" title="The source registry did not answer">
          {errorText(info.error)}
        </Alert>
      )}
      <Stack gap="xs" component="fieldset" style={{ border: 0, padding: 0, margin: 0 }}>
        <Text component="legend" size="sm" fw={500} mb={4}>
          Source resource filter
        </Text>
        {hasFilter('name') && (
          <TextInput
            label="Repository name"
            description="Doublestar: library/**, app-*, {a,b}/**; empty: all"
            value={draft.nameFilter}
            onChange={(e) => set({ nameFilter: e.currentTarget.value })}
          />
        )}
        {hasFilter('tag') && (
          <Group grow align="flex-end" gap="sm" wrap="wrap">
            <TextInput
              label="Tag"
              description="Doublestar: v*, release-{1,2}*; empty: all"
              value={draft.tagFilter}
              onChange={(e) => set({ tagFilter: e.currentTarget.value })}
            />
            <Select
              label="Tag matching"
              data={[
                { value: 'matches', label: 'matching' },
                { value: 'excludes', label: 'excluding' },
              ]}
              value={draft.tagDecoration}
              onChange={(v) => set({ tagDecoration: v ?? 'matches' })}
              allowDeselect={false}
            />
          </Group>
        )}
        {hasFilter('label') && (
          <Group grow align="flex-end" gap="sm" wrap="wrap">
            <MultiSelect
              label="Label"
              description="Global labels"
              data={(labels.data?.items ?? []).map((l) => l.name)}
              value={draft.labels}
              onChange={(v) => set({ labels: v })}
              searchable
              clearable
            />
            <Select
              label="Label matching"
              data={[
                { value: 'matches', label: 'matching' },
                { value: 'excludes', label: 'excluding' },
              ]}
              value={draft.labelDecoration}
              onChange={(v) => set({ labelDecoration: v ?? 'matches' })}
              allowDeselect={false}
            />
          </Group>
        )}
        {hasFilter('resource') && (
          <Select
            label="Resource"
            data={[
              { value: '', label: 'All' },
              ...resourceValues.map((v) => ({ value: v, label: v === 'image' ? 'Image' : v === 'artifact' ? 'Artifact' : v })),
            ]}
            value={draft.resource}
            onChange={(v) => set({ resource: v ?? '' })}
            allowDeselect={false}
          />
        )}
      </Stack>
      <Group grow align="flex-start" gap="sm" wrap="wrap">
        <TextInput
          label="Destination namespace"
          description="Empty: the source's namespace"
          value={draft.destNamespace}
          onChange={(e) => set({ destNamespace: e.currentTarget.value })}
        />
        <Select
          label="Flattening"
          description="Path levels the namespace replaces"
          data={flatteningChoices}
          value={draft.flattening}
          onChange={(v) => set({ flattening: v ?? '1' })}
          allowDeselect={false}
        />
      </Group>
      <TriggerFields
        label="Trigger mode"
        choices={supported.triggers.map((t) => ({ value: t, label: triggerNames[t] ?? t }))}
        trigger={draft.trigger}
        cron={draft.cron}
        error={errors.cron}
        onChange={set}
      />
      {draft.trigger === 'event_based' && (
        <Checkbox
          label="Delete remote resources when locally deleted"
          checked={draft.replicateDeletion}
          onChange={(e) => set({ replicateDeletion: e.currentTarget.checked })}
        />
      )}
      <Group align="flex-end" gap="sm" wrap="nowrap">
        <NumberInput
          label="Bandwidth"
          description="Per task; -1 for unlimited"
          value={draft.speed}
          onChange={(v) => set({ speed: v })}
          min={-1}
          allowDecimal={false}
          error={errors.speed}
          flex={1}
        />
        <Select
          label="Unit"
          data={[
            { value: 'KB', label: 'KB/s' },
            { value: 'MB', label: 'MB/s' },
          ]}
          value={draft.speedUnit}
          onChange={(v) => set({ speedUnit: (v as Draft['speedUnit']) ?? 'KB' })}
          allowDeselect={false}
          w={100}
        />
      </Group>
      <Checkbox
        label="Override"
        description="Replace an artifact of the same name at the destination"
        checked={draft.override}
        onChange={(e) => set({ override: e.currentTarget.checked })}
      />
      {(destinationInfo.data?.supported_copy_by_chunk ?? true) && (
        <Checkbox
          label="Copy by chunk"
          description="Upload large blobs in chunks"
          checked={draft.copyByChunk}
          onChange={(e) => set({ copyByChunk: e.currentTarget.checked })}
        />
      )}
      <Checkbox
        label="Single active replication"
        description="Skip a run while the previous one of this rule is still under way"
        checked={draft.singleActive}
        onChange={(e) => set({ singleActive: e.currentTarget.checked })}
      />
      <Checkbox label="Enable rule" checked={draft.enabled} onChange={(e) => set({ enabled: e.currentTarget.checked })} />
    </FormDialog>
  );
}
