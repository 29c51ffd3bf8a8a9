import {
  ActionIcon,
  Badge,
  Button,
  Checkbox,
  Code,
  Group,
  Modal,
  NumberInput,
  Paper,
  ScrollArea,
  Select,
  Skeleton,
  Stack,
  Switch,
  Table,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { IconPencil, IconPlus, IconTrash } from '@tabler/icons-react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { api, segment } from '../../api/client';
import { ErrorAlert } from '../../components/ErrorAlert';
import { SubmitError, useSubmission } from '../../components/FormDialog';
import { notifyDone, notifyError } from '../../lib/notify';
import { projectKey, type Project } from './model';

/** Harbor's retention shapes, as /retentions answers them. */
interface Selector {
  kind: string;
  decoration: string;
  pattern: string;
  extras?: string;
}
interface Rule {
  disabled: boolean;
  action: string;
  template: string;
  params: Record<string, number>;
  tag_selectors: Selector[];
  scope_selectors: { repository: Selector[] };
}
interface Policy {
  id?: number;
  algorithm: string;
  rules: Rule[];
  trigger: { kind: string; settings: { cron?: string } };
  scope: { level: string; ref: number };
  act_on?: 'artifacts' | 'tags';
}
interface Metadata {
  templates: Array<{ rule_template: string; display_text: string; params: Array<{ unit: string }> }>;
}
interface Execution {
  id: number;
  status: string;
  trigger: string;
  dry_run: boolean;
  start_time: string;
  end_time: string;
}
interface Task {
  id: number;
  repository: string;
  status: string;
  total: number;
  retained: number;
}

const statusColor: Record<string, string> = { Success: 'green', Error: 'red', Stopped: 'gray', Running: 'blue', Pending: 'yellow' };
const maxRules = 15;
const ended = ['Success', 'Error', 'Stopped'];

const untaggedOf = (s: Selector | undefined) => {
  try {
    return JSON.parse(s?.extras || '{}').untagged === true;
  } catch {
    return false;
  }
};

/** One line saying what a rule retains, as Harbor's portal words it. */
function describe(rule: Rule, metadata: Metadata | undefined): string {
  const template = metadata?.templates.find((t) => t.rule_template === rule.template);
  const text = (template?.display_text ?? rule.template).replace('#', String(rule.params[rule.template] ?? ''));
  const repo = rule.scope_selectors.repository[0];
  const tag = rule.tag_selectors.find((s) => s.kind === 'doublestar');
  const repoText = `${repo.decoration === 'repoExcludes' ? 'excluding' : 'matching'} ${repo.pattern}`;
  const tagText = `${tag?.decoration === 'excludes' ? 'excluding' : 'matching'} ${tag?.pattern ?? '**'}`;
  return `For repositories ${repoText}, retain ${text} with tags ${tagText}${untaggedOf(tag) ? ', untagged included' : ''}`;
}

const blankRule = (): Rule => ({
  disabled: false,
  action: 'retain',
  template: 'latestPushedK',
  params: { latestPushedK: 10 },
  tag_selectors: [{ kind: 'doublestar', decoration: 'matches', pattern: '**', extras: '{"untagged":true}' }],
  scope_selectors: { repository: [{ kind: 'doublestar', decoration: 'repoMatches', pattern: '**' }] },
});

/** The Policy tab's tag retention: rules, schedule, dry run and run now, executions with their tasks and logs. */
export function RetentionSection({ project, canEdit }: { project: Project; canEdit: boolean }) {
  const queryClient = useQueryClient();
  const policyId = project.metadata?.retention_id;
  const metadata = useQuery({ queryKey: ['retention', 'metadata'], queryFn: () => api.get<Metadata>('/retentions/metadatas') });
  const policy = useQuery({
    queryKey: ['retention', 'policy', policyId],
    queryFn: () => api.get<Policy>(`/retentions/${segment(policyId!)}`),
    enabled: policyId !== undefined,
  });
  const [editing, setEditing] = useState<{ index: number; rule: Rule } | null>(null);
  const [cron, setCron] = useState('');
  const [actOn, setActOn] = useState<'artifacts' | 'tags'>('artifacts');
  const submission = useSubmission();
  useEffect(() => {
    if (!policy.data) return;
    setCron(policy.data.trigger.settings.cron ?? '');
    setActOn(policy.data.act_on ?? 'artifacts');
  }, [policy.data]);

  const current: Policy = policy.data ?? {
    algorithm: 'or',
    rules: [],
    trigger: { kind: 'Schedule', settings: { cron: '' } },
    scope: { level: 'project', ref: project.project_id },
    act_on: 'artifacts',
  };

  /** Saves the whole policy (POST the first time, PUT after), with the rules given. */
  async function save(rules: Rule[], changes: Partial<Policy> = {}) {
    const body: Policy = {
      algorithm: 'or',
      rules,
      trigger: { kind: 'Schedule', settings: { cron: changes.trigger?.settings.cron ?? current.trigger.settings.cron ?? '' } },
      scope: { level: 'project', ref: project.project_id },
      act_on: changes.act_on ?? current.act_on ?? 'artifacts',
    };
    if (policyId === undefined) await api.post('/retentions', body);
    else await api.put(`/retentions/${segment(policyId)}`, body);
    await queryClient.invalidateQueries({ queryKey: projectKey(project.name) });
    await queryClient.invalidateQueries({ queryKey: ['retention', 'policy'] });
  }

  async function removeRule(index: number) {
    try {
      await save(current.rules.filter((_, i) => i !== index));
      notifyDone('Rule removed');
    } catch (err) {
      notifyError(err, 'The rule was not removed');
    }
  }

  async function toggleRule(index: number) {
    try {
      await save(current.rules.map((r, i) => (i === index ? { ...r, disabled: !r.disabled } : r)));
    } catch (err) {
      notifyError(err, 'The rule was not changed');
    }
  }

  function saveSettings(event: FormEvent) {
    event.preventDefault();
    void submission.run(async () => {
      await save(current.rules, { trigger: { kind: 'Schedule', settings: { cron: cron.trim() } }, act_on: actOn });
      notifyDone('Retention settings saved');
    });
  }

  async function trigger(dryRun: boolean) {
    try {
      const { location } = await api.post(`/retentions/${segment(policyId!)}/executions`, { dry_run: dryRun });
      notifyDone(`${dryRun ? 'Dry run' : 'Retention run'} ${location?.split('/').pop() ?? ''} started`);
      await queryClient.invalidateQueries({ queryKey: ['retention', 'executions'] });
    } catch (err) {
      notifyError(err, 'The run did not start');
    }
  }

  if (policy.isError) return <ErrorAlert title="Could not load the retention policy" error={policy.error} />;
  return (
    <Paper component="section" aria-labelledby="retention-title" withBorder p="md" radius="md">
      <Title id="retention-title" order={2} size="h4" mb="xs">
        Tag retention
      </Title>
      <Text size="sm" c="dimmed" mb="sm">
        An artifact is kept if any rule retains it; everything else in the repositories the rules cover is removed. Artifacts with immutable
        tags are never removed.
      </Text>
      {policyId !== undefined && policy.isPending ? (
        <Skeleton height={80} />
      ) : (
        <Stack gap="md">
          <Stack gap="xs" aria-label="Retention rules">
            {current.rules.length === 0 && <Text size="sm">No rule yet: nothing is removed.</Text>}
            {current.rules.map((rule, index) => (
              <Group key={index} justify="space-between" wrap="nowrap" gap="sm" data-testid="retention-rule">
                <Text size="sm" c={rule.disabled ? 'dimmed' : undefined}>
                  {index + 1}. {describe(rule, metadata.data)}
                  {rule.disabled ? ' (disabled)' : ''}
                </Text>
                {canEdit && (
                  <Group gap={4} wrap="nowrap">
                    <Switch aria-label={`Rule ${index + 1} enabled`} checked={!rule.disabled} onChange={() => void toggleRule(index)} />
                    <ActionIcon variant="subtle" aria-label={`Edit rule ${index + 1}`} onClick={() => setEditing({ index, rule })}>
                      <IconPencil size={16} aria-hidden />
                    </ActionIcon>
                    <ActionIcon variant="subtle" color="red" aria-label={`Delete rule ${index + 1}`} onClick={() => void removeRule(index)}>
                      <IconTrash size={16} aria-hidden />
                    </ActionIcon>
                  </Group>
                )}
              </Group>
            ))}
            {canEdit && (
              <Group>
                <Button
                  variant="default"
                  leftSection={<IconPlus size={16} aria-hidden />}
                  disabled={current.rules.length >= maxRules}
                  onClick={() => setEditing({ index: current.rules.length, rule: blankRule() })}
                >
                  Add rule
                </Button>
                {current.rules.length >= maxRules && <Text size="sm">A policy holds at most {maxRules} rules.</Text>}
              </Group>
            )}
          </Stack>
          {canEdit && policyId !== undefined && (
            <form onSubmit={saveSettings} noValidate aria-label="Retention schedule">
              <Stack gap="sm">
                <SubmitError error={submission.error} title="The settings were not saved" />
                <Group align="flex-end" gap="md" wrap="wrap">
                  <TextInput
                    label="Schedule (cron, UTC)"
                    description="Empty: only when run by hand. Six fields with seconds, e.g. 0 0 0 * * *"
                    value={cron}
                    onChange={(e) => setCron(e.currentTarget.value)}
                    w={280}
                  />
                  <Select
                    label="Remove"
                    description="Tags: only the tags no rule retains (Berth)"
                    data={[
                      { value: 'artifacts', label: 'Whole artifacts (Harbor)' },
                      { value: 'tags', label: 'Tags' },
                    ]}
                    value={actOn}
                    onChange={(v) => setActOn((v as 'artifacts' | 'tags') ?? 'artifacts')}
                    allowDeselect={false}
                    w={240}
                  />
                  <Button type="submit" variant="default" loading={submission.busy}>
                    Save settings
                  </Button>
                </Group>
              </Stack>
            </form>
          )}
          {policyId !== undefined && (
            <>
              {canEdit && (
                <Group gap="sm">
                  <Button variant="default" onClick={() => void trigger(true)} disabled={current.rules.length === 0}>
                    Dry run
                  </Button>
                  <Button onClick={() => void trigger(false)} disabled={current.rules.length === 0}>
                    Run now
                  </Button>
                </Group>
              )}
              <Executions policyId={policyId} canEdit={canEdit} />
            </>
          )}
        </Stack>
      )}
      {editing && (
        <RuleDialog
          key={editing.index}
          initial={editing.rule}
          metadata={metadata.data}
          onClose={() => setEditing(null)}
          onSave={async (rule) => {
            const rules = [...current.rules];
            rules[editing.index] = rule;
            await save(rules);
            notifyDone('Retention rule saved');
            setEditing(null);
          }}
        />
      )}
    </Paper>
  );
}

function RuleDialog({
  initial,
  metadata,
  onClose,
  onSave,
}: {
  initial: Rule;
  metadata: Metadata | undefined;
  onClose: () => void;
  onSave: (rule: Rule) => Promise<void>;
}) {
  const submission = useSubmission();
  const [template, setTemplate] = useState(initial.template);
  const [param, setParam] = useState<number | string>(initial.params[initial.template] ?? 10);
  const repo = initial.scope_selectors.repository[0];
  const tag = initial.tag_selectors.find((s) => s.kind === 'doublestar')!;
  const [repoDecoration, setRepoDecoration] = useState(repo.decoration);
  const [repoPattern, setRepoPattern] = useState(repo.pattern);
  const [tagDecoration, setTagDecoration] = useState(tag.decoration);
  const [tagPattern, setTagPattern] = useState(tag.pattern);
  const [untagged, setUntagged] = useState(untaggedOf(tag));
  const takesParam = (metadata?.templates.find((t) => t.rule_template === template)?.params.length ?? 1) > 0;

  function submit(event: FormEvent) {
    event.preventDefault();
    void submission.run(() =>
      onSave({
        ...initial,
        template,
        params: takesParam ? { [template]: Number(param) } : {},
        tag_selectors: [
          { kind: 'doublestar', decoration: tagDecoration, pattern: tagPattern.trim(), extras: JSON.stringify({ untagged }) },
          ...initial.tag_selectors.filter((s) => s.kind !== 'doublestar'),
        ],
        scope_selectors: { repository: [{ kind: 'doublestar', decoration: repoDecoration, pattern: repoPattern.trim() }] },
      }),
    );
  }

  return (
    <Modal opened onClose={onClose} title="Retention rule" size="lg" centered>
      <form onSubmit={submit} noValidate aria-label="Retention rule">
        <Stack gap="sm">
          <SubmitError error={submission.error} title="The rule was not saved" />
          <Group grow align="flex-end">
            <Select
              label="Repositories"
              data={[
                { value: 'repoMatches', label: 'matching' },
                { value: 'repoExcludes', label: 'excluding' },
              ]}
              value={repoDecoration}
              onChange={(v) => setRepoDecoration(v ?? 'repoMatches')}
              allowDeselect={false}
            />
            <TextInput
              label="Repository pattern"
              description="doublestar: **, app-*, {a,b}"
              value={repoPattern}
              onChange={(e) => setRepoPattern(e.currentTarget.value)}
            />
          </Group>
          <Group grow align="flex-end">
            <Select
              label="Retain"
              data={(metadata?.templates ?? []).map((t) => ({ value: t.rule_template, label: t.display_text }))}
              value={template}
              onChange={(v) => setTemplate(v ?? 'latestPushedK')}
              allowDeselect={false}
            />
            {takesParam && <NumberInput label="#" min={0} allowDecimal={false} value={param} onChange={setParam} />}
          </Group>
          <Group grow align="flex-end">
            <Select
              label="Tags"
              data={[
                { value: 'matches', label: 'matching' },
                { value: 'excludes', label: 'excluding' },
              ]}
              value={tagDecoration}
              onChange={(v) => setTagDecoration(v ?? 'matches')}
              allowDeselect={false}
            />
            <TextInput
              label="Tag pattern"
              description="doublestar: **, v*, release-{1,2}*"
              value={tagPattern}
              onChange={(e) => setTagPattern(e.currentTarget.value)}
            />
          </Group>
          <Checkbox label="Untagged artifacts too" checked={untagged} onChange={(e) => setUntagged(e.currentTarget.checked)} />
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>
              Cancel
            </Button>
            <Button type="submit" loading={submission.busy}>
              Save rule
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

function StatusBadge({ status }: { status: string }) {
  return (
    <Badge variant="light" color={statusColor[status] ?? 'gray'} style={{ minWidth: 'max-content' }}>
      {status}
    </Badge>
  );
}

/** The policy's executions, newest first; one opens to its tasks (one per repository) and their logs. */
function Executions({ policyId, canEdit }: { policyId: string; canEdit: boolean }) {
  const [open, setOpen] = useState<number | null>(null);
  const executions = useQuery({
    queryKey: ['retention', 'executions', policyId],
    queryFn: () => api.list<Execution>(`/retentions/${segment(policyId)}/executions`, { page: 1, pageSize: 10 }),
    refetchInterval: (q) => (q.state.data?.items.some((e) => !ended.includes(e.status)) ? 1000 : false),
  });
  if (executions.isError) return <ErrorAlert title="Could not load the executions" error={executions.error} />;
  const items = executions.data?.items ?? [];
  return (
    <Stack gap="xs">
      <Title order={3} size="h5">
        Executions
      </Title>
      {items.length === 0 ? (
        <Text size="sm">No execution yet.</Text>
      ) : (
        <ScrollArea>
          <Table aria-label="Retention executions" striped>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Id</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th>Dry run</Table.Th>
                <Table.Th>Trigger</Table.Th>
                <Table.Th>Started</Table.Th>
                <Table.Th />
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {items.map((e) => (
                <Table.Tr key={e.id}>
                  <Table.Td>{e.id}</Table.Td>
                  <Table.Td>
                    <StatusBadge status={e.status} />
                  </Table.Td>
                  <Table.Td>{e.dry_run ? 'yes' : 'no'}</Table.Td>
                  <Table.Td>{e.trigger}</Table.Td>
                  <Table.Td>{new Date(e.start_time).toLocaleString()}</Table.Td>
                  <Table.Td>
                    <Group gap="xs" wrap="nowrap">
                      <Button size="xs" variant="subtle" onClick={() => setOpen(e.id)}>
                        Tasks
                      </Button>
                      {canEdit && !ended.includes(e.status) && (
                        <Button
                          size="xs"
                          variant="subtle"
                          color="red"
                          onClick={() =>
                            void api.patch(`/retentions/${segment(policyId)}/executions/${e.id}`, { action: 'stop' }).then(
                              () => notifyDone(`Execution ${e.id} is stopping`),
                              (err) => notifyError(err, 'Not stopped'),
                            )
                          }
                        >
                          Stop
                        </Button>
                      )}
                    </Group>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </ScrollArea>
      )}
      {open !== null && <TasksDialog policyId={policyId} executionId={open} onClose={() => setOpen(null)} />}
    </Stack>
  );
}

function TasksDialog({ policyId, executionId, onClose }: { policyId: string; executionId: number; onClose: () => void }) {
  const [logOf, setLogOf] = useState<Task | null>(null);
  const base = `/retentions/${segment(policyId)}/executions/${executionId}/tasks`;
  const tasks = useQuery({
    queryKey: ['retention', 'tasks', policyId, executionId],
    queryFn: () => api.list<Task>(base, { page: 1, pageSize: 100 }),
    refetchInterval: (q) => (q.state.data?.items.some((t) => !ended.includes(t.status)) ? 1000 : false),
  });
  const log = useQuery({
    queryKey: ['retention', 'log', policyId, executionId, logOf?.id],
    enabled: logOf !== null,
    queryFn: () => api.text(`${base}/${logOf!.id}`),
  });
  return (
    <Modal opened onClose={onClose} title={`Execution ${executionId}`} size="xl" centered>
      <Stack gap="sm">
        {tasks.isError && <ErrorAlert title="Could not load the tasks" error={tasks.error} />}
        <Table aria-label="Retention tasks">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Repository</Table.Th>
              <Table.Th>Status</Table.Th>
              <Table.Th>Retained / total</Table.Th>
              <Table.Th />
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {(tasks.data?.items ?? []).map((t) => (
              <Table.Tr key={t.id}>
                <Table.Td>{t.repository}</Table.Td>
                <Table.Td>
                  <StatusBadge status={t.status} />
                </Table.Td>
                <Table.Td>
                  {t.retained} / {t.total}
                </Table.Td>
                <Table.Td>
                  <Button size="xs" variant="subtle" onClick={() => setLogOf(t)}>
                    Log
                  </Button>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
        {logOf && (
          <Stack gap={4}>
            <Text size="sm" fw={600}>
              Log of {logOf.repository}
            </Text>
            {log.isError && <ErrorAlert title="Could not load the log" error={log.error} />}
            <ScrollArea h={260}>
              <Code block aria-label={`Log of ${logOf.repository}`}>
                {log.data ?? 'Loading…'}
              </Code>
            </ScrollArea>
          </Stack>
        )}
      </Stack>
    </Modal>
  );
}
