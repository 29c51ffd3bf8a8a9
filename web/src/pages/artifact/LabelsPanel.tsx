import { ActionIcon, Button, Group, Select, Stack, Text } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { IconPlus, IconX } from '@tabler/icons-react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api } from '../../api/client';
import { ErrorAlert } from '../../components/ErrorAlert';
import { notifyDone, notifyError } from '../../lib/notify';
import { artifactApi, keys, type Artifact, type Label } from '../repository/model';
import { LabelBadge } from '../repository/parts';

const optionsPerScope = 50;

/** The labels on the artifact, and a picker of the global and project labels that are not. */
export function LabelsPanel({
  project,
  repository,
  artifact,
  canAdd,
  canRemove,
  canListProjectLabels,
}: {
  project: string;
  repository: string;
  artifact: Artifact;
  canAdd: boolean;
  canRemove: boolean;
  canListProjectLabels: boolean;
}) {
  const client = useQueryClient();
  const base = artifactApi(project, repository, artifact.digest);
  const attached = artifact.labels ?? [];
  const [selected, setSelected] = useState<string | null>(null);
  const [search, setSearch] = useState('');
  const [name] = useDebouncedValue(search.trim(), 250);
  // A chosen option shows its name in the box: that is no search.
  const nameFilter = selected ? '' : name;

  const globals = useQuery({
    queryKey: ['labels', 'g', nameFilter],
    queryFn: () => api.list<Label>('/labels', { page: 1, pageSize: optionsPerScope, scope: 'g', name: nameFilter || undefined }),
    enabled: canAdd,
  });
  const projectLabels = useQuery({
    queryKey: ['labels', 'p', artifact.project_id, nameFilter],
    queryFn: () =>
      api.list<Label>('/labels', {
        page: 1,
        pageSize: optionsPerScope,
        scope: 'p',
        project_id: artifact.project_id,
        name: nameFilter || undefined,
      }),
    enabled: canAdd && canListProjectLabels,
  });

  async function refresh() {
    await Promise.all([
      client.invalidateQueries({ queryKey: keys.artifact(project, repository) }),
      client.invalidateQueries({ queryKey: keys.artifacts(project, repository) }),
    ]);
  }

  const add = useMutation({
    mutationFn: (id: number) => api.post(`${base}/labels`, { id }),
    onSuccess: async (_, id) => {
      const label = [...(globals.data?.items ?? []), ...(projectLabels.data?.items ?? [])].find((l) => l.id === id);
      notifyDone(`Added label ${label?.name ?? id}`);
      setSelected(null);
      setSearch('');
      await refresh();
    },
    onError: (err) => notifyError(err, 'Could not add the label'),
  });
  const remove = useMutation({
    mutationFn: (label: Label) => api.delete(`${base}/labels/${label.id}`),
    onSuccess: async (_, label) => {
      notifyDone(`Removed label ${label.name}`);
      await refresh();
    },
    onError: (err) => notifyError(err, 'Could not remove the label'),
  });

  const attachedIds = new Set(attached.map((l) => l.id));
  const option = (l: Label) => ({ value: String(l.id), label: l.name });
  const free = (list: Label[] | undefined) => (list ?? []).filter((l) => !attachedIds.has(l.id)).map(option);
  const groups = [
    { group: 'Global labels', items: free(globals.data?.items) },
    { group: `Labels of ${project}`, items: free(projectLabels.data?.items) },
  ].filter((g) => g.items.length > 0);
  const loading = globals.isFetching || projectLabels.isFetching;

  return (
    <Stack gap="md">
      {attached.length === 0 ? (
        <Text c="dimmed">No labels on this artifact.</Text>
      ) : (
        <Group gap="xs" wrap="wrap" role="list" aria-label="Labels on this artifact">
          {attached.map((label) => (
            <div role="listitem" key={label.id}>
              <LabelBadge
                label={label}
                rightSection={
                  canRemove ? (
                    <ActionIcon
                      size="xs"
                      radius="xl"
                      variant="transparent"
                      c="inherit"
                      aria-label={`Remove label ${label.name}`}
                      loading={remove.isPending && remove.variables?.id === label.id}
                      onClick={() => remove.mutate(label)}
                    >
                      <IconX size={12} aria-hidden />
                    </ActionIcon>
                  ) : undefined
                }
              />
            </div>
          ))}
        </Group>
      )}
      {canAdd && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (selected) add.mutate(Number(selected));
          }}
        >
          <Group align="flex-end" gap="sm" wrap="wrap">
            <Select
              label="Label"
              placeholder="Choose a label"
              data={groups}
              value={selected}
              onChange={setSelected}
              searchable
              searchValue={search}
              onSearchChange={setSearch}
              nothingFoundMessage={loading ? 'Loading labels…' : 'No labels to add'}
              clearable
              w={{ base: '100%', xs: 280 }}
              comboboxProps={{ withinPortal: true }}
            />
            <Button type="submit" disabled={!selected} loading={add.isPending} leftSection={<IconPlus size={16} aria-hidden />}>
              Add label
            </Button>
          </Group>
        </form>
      )}
      {(globals.isError || projectLabels.isError) && (
        <ErrorAlert title="Could not load the labels to choose from" error={globals.error ?? projectLabels.error} />
      )}
    </Stack>
  );
}
