import { ActionIcon, Anchor, Button, Text, Tooltip } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { IconTrash } from '@tabler/icons-react';
import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { api, repoSegment, segment } from '../../api/client';
import { BulkDeleteDialog, type BulkItem, type BulkOutcome } from '../../components/BulkDeleteDialog';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { DataTable, type Column } from '../../components/DataTable';
import { useSelection } from '../../components/selection';
import { formatDateTime, formatRelative } from '../../lib/format';
import { notifyDone } from '../../lib/notify';
import { repositoryPath, withinProject } from '../../lib/paths';
import { projectKey, summaryKey, type Repository } from './model';
import type { TabProps } from './ProjectPage';

export function RepositoriesTab({ project, can }: TabProps) {
  const client = useQueryClient();
  const [target, setTarget] = useState<Repository | null>(null);
  const [confirming, confirm] = useDisclosure(false);
  const mayDelete = can('repository', 'delete');
  const short = (r: Repository) => withinProject(project.name, r.name);
  const selection = useSelection<Repository>((r) => r.id);
  // The repositories asked about, fixed when the dialog opens.
  const [bulk, setBulk] = useState<Array<BulkItem & { short: string }> | null>(null);
  const deletePath = (name: string) => `/projects/${segment(project.name)}/repositories/${repoSegment(name)}`;

  async function refresh() {
    await Promise.all([
      client.invalidateQueries({ queryKey: ['repositories', project.name] }),
      client.invalidateQueries({ queryKey: summaryKey(project.project_id) }),
      client.invalidateQueries({ queryKey: projectKey(project.name) }),
      client.invalidateQueries({ queryKey: ['projects'] }),
      client.invalidateQueries({ queryKey: ['project-deletable'] }),
    ]);
  }

  async function bulkFinished(outcomes: BulkOutcome[]) {
    // Done with every one tried: a failure's reason is in the dialog.
    selection.drop(outcomes.map((o) => o.key));
    await refresh();
  }

  const columns: Column<Repository>[] = [
    {
      key: 'name',
      header: 'Name',
      sort: 'name',
      render: (r) => (
        <Anchor component={Link} to={repositoryPath(project.name, short(r))} fw={500} style={{ wordBreak: 'break-all' }}>
          {r.name}
        </Anchor>
      ),
    },
    { key: 'artifacts', header: 'Artifacts', render: (r) => r.artifact_count },
    { key: 'pulls', header: 'Pulls', sort: 'pull_count', visibleFrom: 'sm', render: (r) => r.pull_count },
    {
      key: 'updated',
      header: 'Last modified',
      sort: 'update_time',
      visibleFrom: 'sm',
      render: (r) => (
        <Tooltip label={formatDateTime(r.update_time)} withArrow>
          <Text size="sm" span>
            {formatRelative(r.update_time)}
          </Text>
        </Tooltip>
      ),
    },
  ];
  if (mayDelete) {
    columns.push({
      key: 'actions',
      header: 'Actions',
      width: 80,
      render: (r) => (
        <ActionIcon
          variant="subtle"
          color="red"
          aria-label={`Delete repository ${r.name}`}
          onClick={() => {
            setTarget(r);
            confirm.open();
          }}
        >
          <IconTrash size={16} aria-hidden />
        </ActionIcon>
      ),
    });
  }

  return (
    <>
      <DataTable<Repository>
        label="Repositories"
        queryKey={['repositories', project.name]}
        fetchPage={({ page, pageSize, sort, search }) =>
          api.list<Repository>(`/projects/${segment(project.name)}/repositories`, {
            page,
            pageSize,
            sort,
            q: search ? `name=~${search}` : undefined,
          })
        }
        columns={columns}
        rowKey={(r) => r.id}
        selection={mayDelete ? selection : undefined}
        rowLabel={(r) => r.name}
        toolbar={
          mayDelete && selection.rows.size > 0 ? (
            <Button
              color="red"
              variant="light"
              leftSection={<IconTrash size={16} aria-hidden />}
              onClick={() => setBulk([...selection.rows.values()].map((r) => ({ key: r.id, label: r.name, short: short(r) })))}
            >
              Delete {selection.rows.size} selected
            </Button>
          ) : undefined
        }
        searchLabel="Search repositories"
        emptyText="No repositories yet. Push an image to create one (see the Summary tab)."
      />
      <ConfirmDialog
        opened={confirming}
        onClose={confirm.close}
        title="Delete repository"
        confirmLabel="Delete"
        onConfirm={async () => {
          const repository = target!;
          await api.delete(deletePath(short(repository)));
          selection.drop([repository.id]);
          notifyDone(`Repository ${repository.name} deleted`);
          await refresh();
        }}
      >
        Delete repository <strong>{target?.name}</strong> and every artifact in it? This cannot be undone.
      </ConfirmDialog>
      <BulkDeleteDialog
        opened={bulk !== null}
        onClose={() => setBulk(null)}
        title="Delete repositories?"
        noun="repositories"
        items={bulk ?? []}
        run={(item) => api.delete(deletePath(item.short))}
        onFinished={bulkFinished}
      >
        Each goes with every artifact in it.
      </BulkDeleteDialog>
    </>
  );
}
