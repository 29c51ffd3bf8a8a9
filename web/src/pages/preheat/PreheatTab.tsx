// The project's "P2P Preheat" tab: its preheat policies (Harbor's /projects/{p}/preheat/policies)
// with the editor (filters on repositories, tags, labels, only signed, vulnerability severity;
// trigger manual, on push or cron), Execute, enable/disable, delete; the chosen policy's
// executions, their tasks and logs.
import { Alert, Badge, Button, Card, Checkbox, Group, Menu, Modal, Select, Stack, Text, TextInput, Title } from '@mantine/core';
import { IconPlus } from '@tabler/icons-react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { api, segment } from '../../api/client';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { DataTable, type Column, type TableRequest } from '../../components/DataTable';
import { ErrorAlert } from '../../components/ErrorAlert';
import { DescriptionField, FormDialog, useSubmission } from '../../components/FormDialog';
import { ActionsMenu, descriptionColumn, EnabledBadge } from '../../components/ListParts';
import { cronError, TriggerFields } from '../../components/TriggerFields';
import { formatDateTime } from '../../lib/format';
import { notifyDone, notifyError } from '../../lib/notify';
import type { TabProps } from '../project/ProjectPage';
import type { Project } from '../project/model';
import { RunButtons, RunCounts, stopRun, TaskLog, taskLogColumn } from '../admin/JobRuns';
import { duration } from '../replication/model';
import {
  parseFilters,
  parseTrigger,
  preheatActive,
  preheatKeys,
  preheatStatusColor,
  severityChoices,
  type PreheatExecution,
  type PreheatFilter,
  type PreheatPolicy,
  type PreheatTask,
  type ProjectProvider,
} from './model';

const triggerChoices = [
  { value: 'manual', label: 'Manual' },
  { value: 'event_based', label: 'On push' },
  { value: 'scheduled', label: 'Scheduled' },
];

function PreheatStatus({ status }: { status: string }) {
  return (
    <Badge variant="light" color={preheatStatusColor[status] ?? 'gray'} tt="none" style={{ minWidth: 'max-content' }}>
      {status}
    </Badge>
  );
}

const policiesPath = (project: Project) => `/projects/${segment(project.name)}/preheat/policies`;
const policyPath = (project: Project, name: string) => `${policiesPath(project)}/${segment(name)}`;

interface Draft {
  providerId: string;
  name: string;
  description: string;
  repositories: string;
  tags: string;
  labels: string;
  onlySigned: boolean;
  severity: string;
  trigger: string;
  cron: string;
}

const emptyDraft: Draft = {
  providerId: '',
  name: '',
  description: '',
  repositories: '**',
  tags: '**',
  labels: '',
  onlySigned: false,
  severity: '',
  trigger: 'manual',
  cron: '',
};

function draftOf(p: PreheatPolicy): Draft {
  const filters = parseFilters(p.filters);
  const value = (type: PreheatFilter['type']) => filters.find((f) => f.type === type)?.value;
  const labels = value('label');
  const trigger = parseTrigger(p.trigger);
  return {
    providerId: String(p.provider_id),
    name: p.name,
    description: p.description ?? '',
    repositories: String(value('repository') ?? ''),
    tags: String(value('tag') ?? ''),
    labels: Array.isArray(labels) ? labels.join(',') : typeof labels === 'string' ? labels.replace(/^\{|\}$/g, '') : '',
    onlySigned: value('signature') === true,
    severity: value('vulnerability') === undefined ? '' : String(value('vulnerability')),
    trigger: trigger.type,
    cron: trigger.trigger_setting?.cron ?? '',
  };
}

/** Harbor's policy body: filters and trigger as JSON text. */
function bodyOf(d: Draft, project: Project, base?: PreheatPolicy) {
  const filters: PreheatFilter[] = [];
  if (d.repositories.trim()) filters.push({ type: 'repository', value: d.repositories.trim() });
  if (d.tags.trim()) filters.push({ type: 'tag', value: d.tags.trim() });
  const labels = d.labels
    .split(',')
    .map((l) => l.trim())
    .filter(Boolean);
  // Label names as Harbor's portal sends them: one name, or several in braces ("{a,b}").
  if (labels.length > 0) filters.push({ type: 'label', value: labels.length === 1 ? labels[0] : `{${labels.join(',')}}` });
  if (d.onlySigned) filters.push({ type: 'signature', value: true });
  if (d.severity) filters.push({ type: 'vulnerability', value: Number(d.severity) });
  return {
    ...(base ? { id: base.id } : {}),
    name: d.name.trim(),
    description: d.description.trim(),
    project_id: project.project_id,
    provider_id: Number(d.providerId),
    filters: JSON.stringify(filters),
    trigger: JSON.stringify({ type: d.trigger, trigger_setting: { cron: d.trigger === 'scheduled' ? d.cron.trim() : '' } }),
    enabled: base ? base.enabled : true,
  };
}

/** One line saying what a policy preheats. */
function describeFilters(p: PreheatPolicy): string {
  const filters = parseFilters(p.filters);
  const parts: string[] = [];
  for (const f of filters) {
    if (f.type === 'repository') parts.push(`repositories ${String(f.value)}`);
    else if (f.type === 'tag') parts.push(`tags ${String(f.value)}`);
    else if (f.type === 'label') parts.push(`labels ${Array.isArray(f.value) ? f.value.join(', ') : String(f.value)}`);
    else if (f.type === 'signature' && f.value === true) parts.push('signed only');
    else if (f.type === 'vulnerability') {
      const label = severityChoices.find((s) => s.value === String(f.value))?.label;
      if (label) parts.push(`below ${label.toLowerCase()}`);
    }
  }
  return parts.length ? parts.join(' · ') : 'everything';
}

function triggerText(p: PreheatPolicy): string {
  const t = parseTrigger(p.trigger);
  const name = triggerChoices.find((c) => c.value === t.type)?.label ?? t.type;
  return t.type === 'scheduled' && t.trigger_setting?.cron ? `${name} (${t.trigger_setting.cron})` : name;
}

function PolicyDialog({
  project,
  providers,
  editing,
  opened,
  onClose,
}: {
  project: Project;
  providers: ProjectProvider[];
  editing: PreheatPolicy | null;
  opened: boolean;
  onClose: () => void;
}) {
  const client = useQueryClient();
  const submission = useSubmission();
  const [draft, setDraft] = useState<Draft>(emptyDraft);
  const [errors, setErrors] = useState<{ provider?: string; name?: string; cron?: string }>({});
  useEffect(() => {
    if (!opened) return;
    setErrors({});
    submission.clear();
    const preferred = providers.find((p) => p.default && p.enabled) ?? providers.find((p) => p.enabled);
    setDraft(editing ? draftOf(editing) : { ...emptyDraft, providerId: preferred ? String(preferred.id) : '' });
  }, [opened, editing?.id]);
  const set = (patch: Partial<Draft>) => setDraft((d) => ({ ...d, ...patch }));

  function submit(event: FormEvent) {
    event.preventDefault();
    const found: typeof errors = {};
    if (!draft.providerId) found.provider = 'Choose the instance that preheats.';
    if (!draft.name.trim()) found.name = 'Give the policy a name.';
    const cron = cronError(draft.trigger, draft.cron);
    if (cron) found.cron = cron;
    setErrors(found);
    if (Object.keys(found).length > 0) return;
    void submission.run(async () => {
      const body = bodyOf(draft, project, editing ?? undefined);
      if (editing) await api.put(policyPath(project, editing.name), body);
      else await api.post(policiesPath(project), body);
      notifyDone(editing ? `Policy ${body.name} saved` : `Policy ${body.name} created`);
      await client.invalidateQueries({ queryKey: preheatKeys.policies(project.project_id) });
      onClose();
    });
  }

  return (
    <FormDialog
      opened={opened}
      onClose={onClose}
      title={editing ? `Edit P2P preheat policy ${editing.name}` : 'New P2P preheat policy'}
      size="lg"
      error={submission.error}
      errorTitle="The policy was not saved"
      busy={submission.busy}
      submitLabel="Save"
      onSubmit={submit}
    >
      {providers.length === 0 && (
        <Alert color="yellow" title="No preheat instance">
          A system administrator adds Dragonfly or Kraken instances under Administration → Distributions.
        </Alert>
      )}
      <Select
        label="Provider"
        required
        data={providers.map((p) => ({
          value: String(p.id),
          label: `${p.provider}${p.default ? ' (default)' : ''}${p.enabled ? '' : ' — disabled'}`,
        }))}
        value={draft.providerId || null}
        onChange={(v) => set({ providerId: v ?? '' })}
        error={errors.provider}
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
        description={editing ? 'The name identifies the policy and cannot change' : undefined}
      />
      <DescriptionField value={draft.description} onChange={(description) => set({ description })} />
      <TextInput
        label="Repositories"
        description="Doublestar within the project: **, app-*, {a,b}"
        value={draft.repositories}
        onChange={(e) => set({ repositories: e.currentTarget.value })}
      />
      <TextInput
        label="Tags"
        description="Doublestar: **, v*, release-{1,2}*"
        value={draft.tags}
        onChange={(e) => set({ tags: e.currentTarget.value })}
      />
      <TextInput
        label="Labels"
        description="Label names, separated by commas; empty: any"
        value={draft.labels}
        onChange={(e) => set({ labels: e.currentTarget.value })}
      />
      <Checkbox
        label="Only signed images"
        description="Preheat only artifacts with a cosign or Notation signature"
        checked={draft.onlySigned}
        onChange={(e) => set({ onlySigned: e.currentTarget.checked })}
      />
      <Select
        label="Vulnerability severity"
        description="Leave out artifacts with vulnerabilities of this severity or above"
        data={severityChoices}
        value={draft.severity}
        onChange={(v) => set({ severity: v ?? '' })}
        allowDeselect={false}
      />
      <TriggerFields
        label="Trigger"
        choices={triggerChoices}
        trigger={draft.trigger}
        cron={draft.cron}
        error={errors.cron}
        onChange={set}
      />
    </FormDialog>
  );
}

function TasksDialog({
  project,
  policy,
  execution,
  onClose,
}: {
  project: Project;
  policy: string;
  execution: PreheatExecution;
  onClose: () => void;
}) {
  const [logOf, setLogOf] = useState<PreheatTask | null>(null);
  const base = `${policyPath(project, policy)}/executions/${segment(execution.id)}`;
  const log = useQuery({
    queryKey: [...preheatKeys.executions(project.project_id), 'log', execution.id, logOf?.id],
    enabled: logOf !== null,
    queryFn: () => api.text(`${base}/tasks/${segment(logOf!.id)}/logs`),
  });
  const attr = (t: PreheatTask, key: string) => {
    const v = t.extra_attrs?.[key];
    return v === undefined || v === null || v === '' ? '—' : String(v);
  };
  const m = execution.metrics ?? {};
  const columns: Column<PreheatTask>[] = [
    { key: 'id', header: 'Task', render: (t) => t.id },
    {
      key: 'artifact',
      header: 'Artifact',
      render: (t) => (
        <Text size="sm" ff="monospace" style={{ overflowWrap: 'anywhere' }}>
          {attr(t, 'artifact')}
        </Text>
      ),
    },
    { key: 'kind', header: 'Type', visibleFrom: 'md', render: (t) => attr(t, 'kind') },
    { key: 'status', header: 'Status', render: (t) => <PreheatStatus status={t.status} /> },
    {
      key: 'message',
      header: 'Message',
      visibleFrom: 'sm',
      render: (t) => (
        <Text size="sm" lineClamp={2} maw={260}>
          {t.status_message || '—'}
        </Text>
      ),
    },
    { key: 'duration', header: 'Duration', visibleFrom: 'lg', render: (t) => <Text size="sm">{duration(t.start_time, t.end_time)}</Text> },
    taskLogColumn<PreheatTask>(setLogOf),
  ];
  return (
    <Modal opened onClose={onClose} title={`Preheat execution ${execution.id}`} size="xl" centered>
      <Stack gap="md">
        <RunCounts
          counts={[
            ['Total', m.task_count ?? 0],
            ['Succeeded', m.success_task_count ?? 0],
            ['Failed', m.error_task_count ?? 0],
            ['Running', (m.running_task_count ?? 0) + (m.pending_task_count ?? 0) + (m.scheduled_task_count ?? 0)],
            ['Stopped', m.stopped_task_count ?? 0],
          ]}
        />
        {execution.status_message && (
          <Alert color={execution.status === 'Error' ? 'red' : 'gray'} variant="light">
            {execution.status_message}
          </Alert>
        )}
        <DataTable
          label="Preheat tasks"
          queryKey={[...preheatKeys.executions(project.project_id), 'tasks', execution.id]}
          fetchPage={({ page, pageSize }: TableRequest) => api.list<PreheatTask>(`${base}/tasks`, { page, pageSize })}
          columns={columns}
          rowKey={(t) => t.id}
          emptyText="No task: no artifact matched the policy's filters."
          defaultPageSize={10}
          refetchInterval={(page) => (page?.items.some((t) => preheatActive(t.status)) ? 1500 : false)}
        />
        {logOf && <TaskLog id={logOf.id} title={`Log of task ${logOf.id}`} log={log} mah={260} />}
      </Stack>
    </Modal>
  );
}

function Executions({ project, policy, canEdit }: { project: Project; policy: string; canEdit: boolean }) {
  const client = useQueryClient();
  const [shown, setShown] = useState<PreheatExecution | null>(null);
  const key = [...preheatKeys.executions(project.project_id), policy];
  const stop = (e: PreheatExecution) =>
    stopRun(
      'Execution',
      e.id,
      () => api.patch(`${policyPath(project, policy)}/executions/${segment(e.id)}`, { status: 'Stopped' }),
      () => client.invalidateQueries({ queryKey: key }),
    );
  const columns: Column<PreheatExecution>[] = [
    { key: 'id', header: 'ID', render: (e) => e.id },
    { key: 'status', header: 'Status', render: (e) => <PreheatStatus status={e.status} /> },
    {
      key: 'trigger',
      header: 'Trigger',
      visibleFrom: 'sm',
      render: (e) => triggerChoices.find((c) => c.value === e.trigger)?.label ?? e.trigger,
    },
    { key: 'start', header: 'Started', visibleFrom: 'md', render: (e) => <Text size="sm">{formatDateTime(e.start_time)}</Text> },
    { key: 'duration', header: 'Duration', visibleFrom: 'md', render: (e) => <Text size="sm">{duration(e.start_time, e.end_time)}</Text> },
    {
      key: 'rate',
      header: 'Succeeded / total',
      render: (e) => (
        <Text size="sm">
          {e.metrics?.success_task_count ?? 0} / {e.metrics?.task_count ?? 0}
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
          details="Tasks"
          stoppable={canEdit && preheatActive(e.status)}
          onDetails={() => setShown(e)}
          onStop={() => void stop(e)}
        />
      ),
    },
  ];
  return (
    <Stack gap="xs">
      <Title order={3} size="h5">
        Executions of {policy}
      </Title>
      <DataTable
        label="Preheat executions"
        queryKey={key}
        fetchPage={({ page, pageSize }: TableRequest) =>
          api.list<PreheatExecution>(`${policyPath(project, policy)}/executions`, { page, pageSize })
        }
        columns={columns}
        rowKey={(e) => e.id}
        emptyText="No execution yet."
        defaultPageSize={10}
        refetchInterval={(page) => (page?.items.some((e) => preheatActive(e.status)) ? 1500 : false)}
      />
      {shown && <TasksDialog project={project} policy={policy} execution={shown} onClose={() => setShown(null)} />}
    </Stack>
  );
}

export function PreheatTab({ project, can }: TabProps) {
  const client = useQueryClient();
  const canEdit = can('preheat-policy', 'update');
  const canCreate = can('preheat-policy', 'create');
  const canDelete = can('preheat-policy', 'delete');
  const [dialog, setDialog] = useState<{ editing: PreheatPolicy | null } | null>(null);
  const [deleting, setDeleting] = useState<PreheatPolicy | null>(null);
  const [chosen, setChosen] = useState<string | null>(null);
  const providers = useQuery({
    queryKey: [...preheatKeys.providers, project.project_id],
    queryFn: () => api.get<ProjectProvider[]>(`/projects/${segment(project.name)}/preheat/providers`),
  });
  const refresh = () => client.invalidateQueries({ queryKey: preheatKeys.policies(project.project_id) });
  const providerName = (p: PreheatPolicy) =>
    p.provider_name || providers.data?.find((x) => x.id === p.provider_id)?.provider || `#${p.provider_id}`;

  async function execute(p: PreheatPolicy) {
    try {
      await api.post(policyPath(project, p.name), p);
      notifyDone(`Preheat ${p.name} started`);
      setChosen(p.name);
      await client.invalidateQueries({ queryKey: preheatKeys.executions(project.project_id) });
    } catch (err) {
      notifyError(err, `Preheat ${p.name} did not start`);
    }
  }

  async function setEnabled(p: PreheatPolicy, enabled: boolean) {
    try {
      await api.put(policyPath(project, p.name), { ...p, enabled });
      notifyDone(`Policy ${p.name} ${enabled ? 'enabled' : 'disabled'}`);
      await refresh();
    } catch (err) {
      notifyError(err, `Policy ${p.name} was not changed`);
    }
  }

  const columns: Column<PreheatPolicy>[] = [
    {
      key: 'name',
      header: 'Name',
      sort: 'name',
      render: (p) => (
        <Button variant="subtle" size="compact-sm" px={4} onClick={() => setChosen(p.name)} aria-label={`Executions of ${p.name}`} fw={600}>
          {p.name}
        </Button>
      ),
    },
    {
      key: 'enabled',
      header: 'Status',
      render: (p) => <EnabledBadge enabled={p.enabled} />,
    },
    { key: 'provider', header: 'Provider', visibleFrom: 'sm', render: (p) => <Text size="sm">{providerName(p)}</Text> },
    { key: 'filters', header: 'Filters', visibleFrom: 'md', render: (p) => <Text size="sm">{describeFilters(p)}</Text> },
    { key: 'trigger', header: 'Trigger', visibleFrom: 'sm', render: (p) => <Text size="sm">{triggerText(p)}</Text> },
    descriptionColumn<PreheatPolicy>(220),
    {
      key: 'actions',
      header: 'Actions',
      render: (p) => (
        <Group gap={4} wrap="nowrap">
          {canEdit && (
            <Button
              size="compact-sm"
              variant="light"
              disabled={!p.enabled}
              onClick={() => void execute(p)}
              aria-label={`Execute ${p.name}`}
            >
              Execute
            </Button>
          )}
          {(canEdit || canDelete) && (
            <ActionsMenu label={`Actions for policy ${p.name}`}>
              {canEdit && <Menu.Item onClick={() => setDialog({ editing: p })}>Edit</Menu.Item>}
              {canEdit && <Menu.Item onClick={() => void setEnabled(p, !p.enabled)}>{p.enabled ? 'Disable' : 'Enable'}</Menu.Item>}
              {canDelete && (
                <Menu.Item color="red" onClick={() => setDeleting(p)}>
                  Delete
                </Menu.Item>
              )}
            </ActionsMenu>
          )}
        </Group>
      ),
    },
  ];

  return (
    <Stack gap="lg">
      <Card withBorder padding="lg" radius="md" component="section" aria-labelledby="preheat-title">
        <Stack gap="md">
          <div>
            <Title order={2} size="h4" id="preheat-title">
              P2P preheat policies
            </Title>
            <Text size="sm" c="dimmed">
              A policy has a P2P engine (Dragonfly or Kraken) fetch the matching images ahead of time, so a fleet pulls them from its peers.
            </Text>
          </div>
          {providers.isError && <ErrorAlert title="Could not load the preheat instances" error={providers.error} />}
          <DataTable
            label="Preheat policies"
            queryKey={preheatKeys.policies(project.project_id)}
            fetchPage={({ page, pageSize, sort }: TableRequest) => api.list<PreheatPolicy>(policiesPath(project), { page, pageSize, sort })}
            columns={columns}
            rowKey={(p) => p.id}
            toolbar={
              canCreate && (
                <Button leftSection={<IconPlus size={16} aria-hidden />} onClick={() => setDialog({ editing: null })}>
                  New policy
                </Button>
              )
            }
            emptyText="No preheat policy yet."
          />
          {chosen ? (
            <Executions key={chosen} project={project} policy={chosen} canEdit={canEdit} />
          ) : (
            <Text size="sm" c="dimmed">
              Choose a policy by its name to see its executions.
            </Text>
          )}
        </Stack>
      </Card>
      <PolicyDialog
        project={project}
        providers={providers.data ?? []}
        opened={dialog !== null}
        editing={dialog?.editing ?? null}
        onClose={() => setDialog(null)}
      />
      <ConfirmDialog
        opened={deleting !== null}
        onClose={() => setDeleting(null)}
        title="Delete preheat policy?"
        confirmLabel="Delete"
        onConfirm={async () => {
          await api.delete(policyPath(project, deleting!.name));
          notifyDone(`Policy ${deleting!.name} deleted`);
          if (chosen === deleting!.name) setChosen(null);
          await refresh();
        }}
      >
        Delete the preheat policy {deleting?.name} and its executions?
      </ConfirmDialog>
    </Stack>
  );
}
