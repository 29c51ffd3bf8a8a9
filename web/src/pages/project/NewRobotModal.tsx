import { Alert, Checkbox, Group, NumberInput, Table, Text, TextInput } from '@mantine/core';
import { useQueryClient } from '@tanstack/react-query';
import { useMemo, useState, type FormEvent } from 'react';
import { api, errorText } from '../../api/client';
import { FormDialog, useSubmission } from '../../components/FormDialog';
import { permissionPresent } from '../../lib/features';
import { notifyDone } from '../../lib/notify';
import { useProjectPermissions } from '../../auth/permissions';
import type { Project, RobotCreated } from './model';

const actionOrder = ['pull', 'push', 'read', 'list', 'create', 'update', 'delete', 'stop', 'operate'];
const namePattern = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const defaults = ['repository:pull', 'repository:push'];

/** The resource names stay in view while a narrow screen scrolls the grid sideways. */
const stickyColumn = { position: 'sticky', left: 0, zIndex: 1, background: 'var(--mantine-color-body)' } as const;

const capital = (word: string) => word.charAt(0).toUpperCase() + word.slice(1);
/** "artifact-label" → "artifact label". */
const words = (resource: string) => resource.replace(/-/g, ' ');
/** "Pull repository": the checkbox's accessible name. */
export const accessLabel = (resource: string, action: string) => `${capital(action)} ${words(resource)}`;

/**
 * "New robot account": POST /robots at project level. A robot can only be given what its creator
 * holds, so the permission table offers exactly the caller's own permissions in the project.
 */
export function NewRobotModal({
  project,
  opened,
  onClose,
  onCreated,
}: {
  project: Project;
  opened: boolean;
  onClose: () => void;
  onCreated: (robot: RobotCreated) => void;
}) {
  const client = useQueryClient();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [duration, setDuration] = useState<string | number>(30);
  const [chosen, setChosen] = useState<Set<string>>(new Set(defaults));
  const [errors, setErrors] = useState<{ name?: string; duration?: string; access?: string }>({});
  const submission = useSubmission();

  // The user's own permissions (same query as the page's, unselected), so the table needs no second request;
  // those for features this Berth does not have yet are not offered (lib/features.ts).
  const held = useProjectPermissions(project.project_id);
  const grid = useMemo(() => {
    const byResource = new Map<string, Set<string>>();
    const offered = [...(held.data ?? [])].filter((pair) => permissionPresent(pair.split(':')[0]));
    for (const pair of offered) {
      const [resource, action] = pair.split(':');
      if (!byResource.has(resource)) byResource.set(resource, new Set());
      byResource.get(resource)!.add(action);
    }
    const actions = actionOrder.filter((a) => [...byResource.values()].some((set) => set.has(a)));
    const resources = [...byResource.keys()].sort((a, b) => (a === 'repository' ? -1 : b === 'repository' ? 1 : a.localeCompare(b)));
    return { byResource, actions, resources, all: offered };
  }, [held.data]);

  function close() {
    setName('');
    setDescription('');
    setDuration(30);
    setChosen(new Set(defaults));
    setErrors({});
    submission.clear();
    onClose();
  }

  function toggle(key: string, on: boolean) {
    const next = new Set(chosen);
    if (on) next.add(key);
    else next.delete(key);
    setChosen(next);
    if (errors.access) setErrors({ ...errors, access: undefined });
  }

  const selected = grid.all.filter((k) => chosen.has(k));
  const allChosen = grid.all.length > 0 && selected.length === grid.all.length;

  async function submit(event: FormEvent) {
    event.preventDefault();
    const found: typeof errors = {};
    const trimmed = name.trim();
    if (!trimmed) found.name = 'Enter a name';
    else if (!namePattern.test(trimmed)) found.name = 'Lower-case letters and digits, joined by single ".", "_" or "-"';
    const days = duration === '' ? undefined : Number(duration);
    if (days !== undefined && !(days === -1 || (Number.isInteger(days) && days >= 1)))
      found.duration = 'Enter -1 (never) or a whole number of days';
    if (selected.length === 0) found.access = 'Choose at least one permission';
    setErrors(found);
    if (Object.keys(found).length > 0) return;
    await submission.run(async () => {
      const { data } = await api.post<RobotCreated>('/robots', {
        name: trimmed,
        description: description.trim(),
        level: 'project',
        disable: false,
        ...(days !== undefined && { duration: days }),
        permissions: [
          {
            kind: 'project',
            namespace: project.name,
            access: selected.map((key) => {
              const [resource, action] = key.split(':');
              return { resource, action };
            }),
          },
        ],
      });
      notifyDone(`Robot account ${data.name} created`);
      await client.invalidateQueries({ queryKey: ['robots', project.project_id] });
      close();
      onCreated(data);
    });
  }

  return (
    <FormDialog
      opened={opened}
      onClose={close}
      title="New robot account"
      size="xl"
      error={submission.error}
      errorTitle="Could not create the robot account"
      busy={submission.busy}
      submitLabel="Create"
      onSubmit={submit}
    >
      <TextInput
        label="Name"
        description={`Lower-case letters and digits; the account is called robot$${project.name}+${name.trim() || 'name'}`}
        required
        data-autofocus
        value={name}
        onChange={(e) => {
          setName(e.currentTarget.value);
          if (errors.name) setErrors({ ...errors, name: undefined });
        }}
        error={errors.name}
        autoComplete="off"
      />
      <TextInput label="Description" value={description} onChange={(e) => setDescription(e.currentTarget.value)} />
      <NumberInput
        label="Expiration (days, -1 for never)"
        description="Empty for the system default"
        value={duration}
        onChange={(value) => {
          setDuration(value);
          if (errors.duration) setErrors({ ...errors, duration: undefined });
        }}
        min={-1}
        allowDecimal={false}
        error={errors.duration}
      />
      <div>
        <Group justify="space-between" mb={4} wrap="wrap">
          <Text fw={500} size="sm" id="robot-permissions-label">
            Permissions
          </Text>
          <Checkbox
            label="Select all"
            checked={allChosen}
            indeterminate={selected.length > 0 && !allChosen}
            onChange={(e) => setChosen(e.currentTarget.checked ? new Set(grid.all) : new Set())}
            size="xs"
          />
        </Group>
        <Text size="xs" c="dimmed" mb="xs">
          A robot can be given only permissions you hold in this project.
        </Text>
        {held.isError ? (
          <Alert color="red" role="alert">
            {errorText(held.error)}
          </Alert>
        ) : (
          <Table.ScrollContainer minWidth={560} maxHeight={320}>
            <Table withTableBorder striped verticalSpacing={4} aria-labelledby="robot-permissions-label" stickyHeader>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th style={stickyColumn}>Resource</Table.Th>
                  {grid.actions.map((a) => (
                    <Table.Th key={a} ta="center">
                      {capital(a)}
                    </Table.Th>
                  ))}
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {grid.resources.map((resource) => (
                  <Table.Tr key={resource}>
                    <Table.Th scope="row" fw={500} style={stickyColumn}>
                      {capital(words(resource))}
                    </Table.Th>
                    {grid.actions.map((action) => {
                      const key = `${resource}:${action}`;
                      return (
                        <Table.Td key={action}>
                          {grid.byResource.get(resource)!.has(action) && (
                            <Checkbox
                              aria-label={accessLabel(resource, action)}
                              checked={chosen.has(key)}
                              onChange={(e) => toggle(key, e.currentTarget.checked)}
                              size="xs"
                              styles={{ body: { justifyContent: 'center' } }}
                            />
                          )}
                        </Table.Td>
                      );
                    })}
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
        {errors.access && (
          <Text size="xs" c="red" mt={4} role="alert">
            {errors.access}
          </Text>
        )}
      </div>
    </FormDialog>
  );
}
