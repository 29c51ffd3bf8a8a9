import { ActionIcon, Button, Group, Paper, Select, Switch, Text, TextInput, Title, Tooltip } from '@mantine/core';
import { IconLock, IconPencil, IconPlus, IconTrash } from '@tabler/icons-react';
import { useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, segment } from '../../api/client';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { DataTable, type Column } from '../../components/DataTable';
import { FormDialog, useSubmission } from '../../components/FormDialog';
import { notifyDone, notifyError } from '../../lib/notify';
import { projectApiPath } from './model';
import type { TabProps } from './ProjectPage';

interface Selector {
  kind: 'doublestar';
  decoration: string;
  pattern: string;
}

/** Harbor's ImmutableRule. */
export interface ImmutableRule {
  id: number;
  priority: number;
  disabled: boolean;
  action: string;
  template: string;
  tag_selectors: Selector[];
  scope_selectors: { repository: Selector[] };
}

const maxRules = 15;

function describe(s: Selector | undefined, excluding: string) {
  if (!s) return '—';
  const excludes = s.decoration.toLowerCase().endsWith('excludes');
  return (
    <Text size="sm" span>
      {excludes ? `${excluding} ` : 'matching '}
      <Text span ff="monospace" size="sm">
        {s.pattern}
      </Text>
    </Text>
  );
}

interface Draft {
  repoDecoration: 'repoMatches' | 'repoExcludes';
  repoPattern: string;
  tagDecoration: 'matches' | 'excludes';
  tagPattern: string;
}

function draftOf(rule: ImmutableRule | null): Draft {
  const repo = rule?.scope_selectors.repository[0];
  const tag = rule?.tag_selectors[0];
  return {
    repoDecoration: repo?.decoration.toLowerCase().endsWith('excludes') ? 'repoExcludes' : 'repoMatches',
    repoPattern: repo?.pattern ?? '**',
    tagDecoration: tag?.decoration === 'excludes' ? 'excludes' : 'matches',
    tagPattern: tag?.pattern ?? '',
  };
}

function RuleDialog({
  projectId,
  rule,
  opened,
  onClose,
  onSaved,
}: {
  projectId: number;
  rule: ImmutableRule | null;
  opened: boolean;
  onClose: () => void;
  onSaved: () => Promise<void>;
}) {
  const [draft, setDraft] = useState<Draft>(() => draftOf(rule));
  const [missing, setMissing] = useState<string | null>(null);
  const submission = useSubmission();
  const set = (patch: Partial<Draft>) => setDraft((d) => ({ ...d, ...patch }));

  function submit(event: FormEvent) {
    event.preventDefault();
    if (draft.tagPattern.trim() === '' || draft.repoPattern.trim() === '') {
      setMissing('Enter a pattern, such as ** for everything or v* for tags starting with v.');
      return;
    }
    setMissing(null);
    const body = {
      ...(rule && { id: rule.id, priority: rule.priority }),
      disabled: rule?.disabled ?? false,
      action: 'immutable',
      template: 'immutable_template',
      tag_selectors: [{ kind: 'doublestar', decoration: draft.tagDecoration, pattern: draft.tagPattern.trim() }],
      scope_selectors: { repository: [{ kind: 'doublestar', decoration: draft.repoDecoration, pattern: draft.repoPattern.trim() }] },
    };
    void submission.run(async () => {
      const base = projectApiPath({ project_id: projectId }, '/immutabletagrules');
      if (rule) await api.put(`${base}/${segment(rule.id)}`, body);
      else await api.post(base, body);
      notifyDone(rule ? 'Immutability rule saved' : 'Immutability rule added');
      await onSaved();
      onClose();
    });
  }

  return (
    <FormDialog
      opened={opened}
      onClose={onClose}
      title={rule ? 'Edit immutability rule' : 'Add immutability rule'}
      error={submission.error}
      errorTitle="The rule was not saved"
      busy={submission.busy}
      submitLabel={rule ? 'Save' : 'Add rule'}
      onSubmit={submit}
    >
      <Text size="sm" c="dimmed">
        Tags this rule matches cannot be pushed again with different content or deleted. Patterns: * within a name part, ** across slashes,{' '}
        {'{a,b}'} for either.
      </Text>
      <Group grow align="flex-start" wrap="wrap">
        <Select
          label="Repositories"
          data={[
            { value: 'repoMatches', label: 'matching' },
            { value: 'repoExcludes', label: 'excluding' },
          ]}
          value={draft.repoDecoration}
          onChange={(v) => v && set({ repoDecoration: v as Draft['repoDecoration'] })}
          allowDeselect={false}
        />
        <TextInput
          label="Repository pattern"
          description="Without the project name"
          value={draft.repoPattern}
          onChange={(e) => set({ repoPattern: e.currentTarget.value })}
          ff="monospace"
        />
      </Group>
      <Group grow align="flex-start" wrap="wrap">
        <Select
          label="Tags"
          data={[
            { value: 'matches', label: 'matching' },
            { value: 'excludes', label: 'excluding' },
          ]}
          value={draft.tagDecoration}
          onChange={(v) => v && set({ tagDecoration: v as Draft['tagDecoration'] })}
          allowDeselect={false}
        />
        <TextInput
          label="Tag pattern"
          description="For example v* or release-**"
          value={draft.tagPattern}
          onChange={(e) => set({ tagPattern: e.currentTarget.value })}
          error={missing && draft.tagPattern.trim() === '' ? missing : undefined}
          ff="monospace"
          data-autofocus
        />
      </Group>
    </FormDialog>
  );
}

/** The Policy tab's tag immutability rules: list, add, edit, enable or disable, delete. */
export function ImmutabilitySection({ project, can }: TabProps) {
  const client = useQueryClient();
  const rulesKey = ['immutabletagrules', project.project_id];
  const [editing, setEditing] = useState<{ rule: ImmutableRule | null } | null>(null);
  const [deleting, setDeleting] = useState<ImmutableRule | null>(null);
  const [toggling, setToggling] = useState<{ id: number; enabled: boolean } | null>(null);
  const [count, setCount] = useState(0);
  const mayCreate = can('immutable-tag', 'create');
  const mayUpdate = can('immutable-tag', 'update');
  const mayDelete = can('immutable-tag', 'delete');
  const refresh = () => client.invalidateQueries({ queryKey: rulesKey });
  const path = (rule: ImmutableRule) => projectApiPath(project, `/immutabletagrules/${segment(rule.id)}`);

  async function setEnabled(rule: ImmutableRule, enabled: boolean) {
    setToggling({ id: rule.id, enabled });
    try {
      await api.put(path(rule), { ...rule, disabled: !enabled });
      notifyDone(`Rule ${enabled ? 'enabled' : 'disabled'}`);
      await refresh();
    } catch (err) {
      notifyError(err, `Could not ${enabled ? 'enable' : 'disable'} the rule`);
    } finally {
      setToggling(null);
    }
  }

  const columns: Column<ImmutableRule>[] = [
    { key: 'repositories', header: 'Repositories', render: (r) => describe(r.scope_selectors.repository[0], 'excluding') },
    { key: 'tags', header: 'Tags', render: (r) => describe(r.tag_selectors[0], 'excluding') },
    {
      key: 'enabled',
      header: 'Enabled',
      render: (r) =>
        mayUpdate ? (
          <Switch
            aria-label={`Enabled: repositories ${r.scope_selectors.repository[0]?.pattern}, tags ${r.tag_selectors[0]?.pattern}`}
            checked={toggling?.id === r.id ? toggling.enabled : !r.disabled}
            disabled={toggling?.id === r.id}
            onChange={(e) => setEnabled(r, e.currentTarget.checked)}
          />
        ) : (
          <Text size="sm">{r.disabled ? 'No' : 'Yes'}</Text>
        ),
    },
  ];
  if (mayUpdate || mayDelete) {
    columns.push({
      key: 'actions',
      header: 'Actions',
      width: 100,
      render: (r) => (
        <Group gap={4} wrap="nowrap">
          {mayUpdate && (
            <Tooltip label="Edit" withArrow>
              <ActionIcon
                variant="subtle"
                aria-label={`Edit rule for tags ${r.tag_selectors[0]?.pattern}`}
                onClick={() => setEditing({ rule: r })}
              >
                <IconPencil size={16} aria-hidden />
              </ActionIcon>
            </Tooltip>
          )}
          {mayDelete && (
            <Tooltip label="Delete" withArrow>
              <ActionIcon
                variant="subtle"
                color="red"
                aria-label={`Delete rule for tags ${r.tag_selectors[0]?.pattern}`}
                onClick={() => setDeleting(r)}
              >
                <IconTrash size={16} aria-hidden />
              </ActionIcon>
            </Tooltip>
          )}
        </Group>
      ),
    });
  }

  const full = count >= maxRules;
  return (
    <Paper component="section" aria-labelledby="immutability-title" withBorder p="md" radius="md">
      <Group justify="space-between" mb="xs" wrap="wrap">
        <Title id="immutability-title" order={2} size="h4">
          <Group gap={6} component="span">
            <IconLock size={18} aria-hidden />
            Tag immutability
          </Group>
        </Title>
        {mayCreate && (
          <Tooltip label={`A project can have at most ${maxRules} rules`} disabled={!full} withArrow>
            <Button leftSection={<IconPlus size={16} aria-hidden />} onClick={() => setEditing({ rule: null })} disabled={full}>
              Add rule
            </Button>
          </Tooltip>
        )}
      </Group>
      <Text size="sm" c="dimmed" mb="sm">
        An immutable tag always names the same image: pushing different content under it, or deleting it or its artifact, is refused.
        Pushing the same image again is allowed.
      </Text>
      <DataTable<ImmutableRule>
        label="Tag immutability rules"
        queryKey={rulesKey}
        fetchPage={async ({ page, pageSize }) => {
          const result = await api.list<ImmutableRule>(projectApiPath(project, '/immutabletagrules'), { page, pageSize });
          setCount(result.total);
          return result;
        }}
        columns={columns}
        rowKey={(r) => r.id}
        emptyText="No immutability rules: every tag can be moved and deleted."
      />
      {editing && (
        <RuleDialog
          key={editing.rule?.id ?? 'new'}
          projectId={project.project_id}
          rule={editing.rule}
          opened
          onClose={() => setEditing(null)}
          onSaved={refresh}
        />
      )}
      <ConfirmDialog
        opened={deleting !== null}
        onClose={() => setDeleting(null)}
        title="Delete immutability rule"
        confirmLabel="Delete"
        onConfirm={async () => {
          await api.delete(path(deleting!));
          notifyDone('Immutability rule deleted');
          await refresh();
        }}
      >
        Delete the rule for tags <strong>{deleting?.tag_selectors[0]?.pattern}</strong>? The tags it protects can then be moved and deleted.
      </ConfirmDialog>
    </Paper>
  );
}
