import { ActionIcon, Button, Group, Stack, Text, TextInput, Tooltip } from '@mantine/core';
import { IconCopy, IconPlus, IconTrash } from '@tabler/icons-react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useNavigate } from 'react-router';
import { api, segment, type Page } from '../../api/client';
import { BulkDeleteDialog, type BulkItem, type BulkOutcome } from '../../components/BulkDeleteDialog';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { DataTable, type Column, type TableRequest } from '../../components/DataTable';
import { useSelection } from '../../components/selection';
import { notifyDone, notifyError } from '../../lib/notify';
import { artifactPath } from '../../lib/paths';
import { artifactApi, keys, type Artifact, type Tag } from '../repository/model';
import { copyWithNotice, TimeText } from '../repository/parts';
import { ImmutableLock } from '../repository/Immutable';

const tagPattern = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

export function TagsPanel({
  project,
  repository,
  reference,
  artifact,
  canCreate,
  canDelete,
}: {
  project: string;
  repository: string;
  reference: string;
  artifact: Artifact;
  canCreate: boolean;
  canDelete: boolean;
}) {
  const client = useQueryClient();
  const navigate = useNavigate();
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<Tag | null>(null);
  const base = artifactApi(project, repository, artifact.digest);
  const selection = useSelection<Tag>((t) => t.id);
  // The tags asked about, fixed when the dialog opens.
  const [bulk, setBulk] = useState<BulkItem[] | null>(null);

  async function refresh() {
    await Promise.all([
      client.invalidateQueries({ queryKey: keys.tags(project, repository) }),
      client.invalidateQueries({ queryKey: keys.artifact(project, repository) }),
      client.invalidateQueries({ queryKey: keys.artifacts(project, repository) }),
    ]);
  }

  const add = useMutation({
    mutationFn: (tag: string) => api.post(`${base}/tags`, { name: tag }),
    onSuccess: async (_, tag) => {
      notifyDone(`Tagged ${repository}:${tag}`);
      setName('');
      await refresh();
    },
    onError: (err) => notifyError(err, 'Could not add the tag'),
  });

  function submit() {
    const tag = name.trim();
    if (!tagPattern.test(tag)) {
      setError('A tag is up to 128 letters, digits, "_", "." or "-", and does not start with "." or "-".');
      return;
    }
    setError(null);
    add.mutate(tag);
  }

  async function deleteTag(tag: Tag) {
    await api.delete(`${base}/tags/${segment(tag.name)}`);
    selection.drop([tag.id]);
    notifyDone(`Removed tag ${tag.name}`);
    await afterRemoving([tag.name]);
  }

  async function bulkFinished(outcomes: BulkOutcome[]) {
    const removed = outcomes.filter((o) => o.error === null);
    selection.drop(outcomes.map((o) => o.key));
    // Removing the tag this page was opened by reopens it by digest, results dialog and all.
    if (removed.some((o) => o.label === reference)) notifyDone(`Removed ${removed.length} of ${outcomes.length} tags`);
    await afterRemoving(removed.map((o) => o.label));
  }

  async function afterRemoving(names: string[]) {
    if (names.includes(reference)) {
      // The page was opened by the tag just removed: stay on the artifact, by digest, and
      // leave the query of the old name alone (it would answer 404).
      navigate(artifactPath(project, repository, artifact.digest), { replace: true });
      await Promise.all([
        client.invalidateQueries({ queryKey: keys.tags(project, repository) }),
        client.invalidateQueries({ queryKey: keys.artifact(project, repository), predicate: (q) => q.queryKey[3] !== reference }),
        client.invalidateQueries({ queryKey: keys.artifacts(project, repository) }),
      ]);
      return;
    }
    await refresh();
  }

  function fetchPage({ page, pageSize, sort, search }: TableRequest): Promise<Page<Tag>> {
    return api.list<Tag>(`${base}/tags`, { page, pageSize, sort, q: search ? `name=~${search}` : undefined, with_immutable_status: true });
  }

  const host = window.location.host;
  const columns: Column<Tag>[] = [
    {
      key: 'name',
      header: 'Tag',
      sort: 'name',
      render: (t) => (
        <Group gap={6} wrap="nowrap">
          {t.immutable && <ImmutableLock tag={t.name} />}
          <Text size="sm" ff="monospace" style={{ overflowWrap: 'anywhere' }}>
            {t.name}
          </Text>
        </Group>
      ),
    },
    { key: 'push_time', header: 'Pushed', sort: 'push_time', render: (t) => <TimeText time={t.push_time} /> },
    { key: 'pull_time', header: 'Pulled', visibleFrom: 'xs', render: (t) => <TimeText time={t.pull_time} /> },
    {
      key: 'actions',
      header: 'Actions',
      width: 90,
      render: (t) => (
        <Group gap={4} wrap="nowrap">
          <ActionIcon
            variant="subtle"
            color="gray"
            aria-label={`Copy pull command for ${t.name}`}
            onClick={() => void copyWithNotice(`docker pull ${host}/${project}/${repository}:${t.name}`)}
          >
            <IconCopy size={16} aria-hidden />
          </ActionIcon>
          {canDelete &&
            (t.immutable ? (
              // Why not, in words: a tag immutability rule of the project protects it.
              <Tooltip label="Immutable: a rule in the project's Policy tab protects this tag from deletion" withArrow multiline maw={260}>
                <ActionIcon
                  variant="subtle"
                  color="red"
                  aria-label={`Delete tag ${t.name} (not possible: the tag is immutable)`}
                  data-disabled
                  aria-disabled
                  onClick={(e) => e.preventDefault()}
                >
                  <IconTrash size={16} aria-hidden />
                </ActionIcon>
              </Tooltip>
            ) : (
              <ActionIcon variant="subtle" color="red" aria-label={`Delete tag ${t.name}`} onClick={() => setDeleting(t)}>
                <IconTrash size={16} aria-hidden />
              </ActionIcon>
            ))}
        </Group>
      ),
    },
  ];

  return (
    <Stack gap="md">
      {canCreate && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            submit();
          }}
        >
          <Group align="flex-start" gap="sm" wrap="wrap">
            <TextInput
              label="New tag"
              placeholder="v1.2.3"
              value={name}
              onChange={(e) => {
                setName(e.currentTarget.value);
                setError(null);
              }}
              error={error}
              w={{ base: '100%', xs: 280 }}
              maxLength={128}
            />
            <Button type="submit" mt={{ base: 0, xs: 25 }} loading={add.isPending} leftSection={<IconPlus size={16} aria-hidden />}>
              Add tag
            </Button>
          </Group>
        </form>
      )}
      <DataTable
        label="Tags"
        queryKey={[...keys.tags(project, repository), artifact.digest]}
        fetchPage={fetchPage}
        columns={columns}
        rowKey={(t) => t.id}
        selection={canDelete ? selection : undefined}
        rowLabel={(t) => `tag ${t.name}`}
        toolbar={
          canDelete && selection.rows.size > 0 ? (
            <Button
              color="red"
              variant="light"
              leftSection={<IconTrash size={16} aria-hidden />}
              onClick={() => setBulk([...selection.rows.values()].map((t) => ({ key: t.id, label: t.name })))}
            >
              Delete {selection.rows.size} selected
            </Button>
          ) : undefined
        }
        searchLabel={(artifact.tags?.length ?? 0) > 5 ? 'Search tags' : undefined}
        emptyText="This artifact has no tags."
      />
      <BulkDeleteDialog
        opened={bulk !== null}
        onClose={() => setBulk(null)}
        title="Delete tags?"
        noun="tags"
        items={bulk ?? []}
        run={(item) => api.delete(`${base}/tags/${segment(item.label)}`)}
        onFinished={bulkFinished}
      >
        The artifact stays.
      </BulkDeleteDialog>
      <ConfirmDialog
        opened={deleting !== null}
        onClose={() => setDeleting(null)}
        title="Delete tag?"
        confirmLabel="Delete"
        onConfirm={() => deleteTag(deleting!)}
      >
        {deleting && (
          <>
            Remove the tag {deleting.name} from {project}/{repository}? The artifact stays
            {(artifact.tags?.length ?? 0) <= 1 ? ', untagged' : ''}.
          </>
        )}
      </ConfirmDialog>
    </Stack>
  );
}
