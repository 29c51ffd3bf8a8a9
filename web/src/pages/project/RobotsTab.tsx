import { ActionIcon, Badge, Button, Group, Switch, Text, Tooltip } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { IconPlus, IconRefresh, IconTrash } from '@tabler/icons-react';
import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, segment } from '../../api/client';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { DataTable, type Column } from '../../components/DataTable';
import { formatDateTime, formatRelative } from '../../lib/format';
import { notifyDone, notifyError } from '../../lib/notify';
import type { Robot } from './model';
import { NewRobotModal } from './NewRobotModal';
import type { TabProps } from './ProjectPage';
import { RobotSecretModal, type ShownSecret } from './RobotSecretModal';

function Expires({ robot }: { robot: Robot }) {
  if (robot.expires_at === -1) return <Text size="sm">Never</Text>;
  const at = new Date(robot.expires_at * 1000);
  const expired = at.getTime() <= Date.now();
  return (
    <Group gap={6} wrap="nowrap">
      <Tooltip label={at.toLocaleString()} withArrow>
        <Text size="sm" span>
          {formatRelative(at.toISOString())}
        </Text>
      </Tooltip>
      {expired && (
        <Badge size="sm" color="red" variant="dot">
          Expired
        </Badge>
      )}
    </Group>
  );
}

export function RobotsTab({ project, can }: TabProps) {
  const client = useQueryClient();
  const robotsKey = ['robots', project.project_id];
  const [creating, create] = useDisclosure(false);
  const [secret, setSecret] = useState<ShownSecret | null>(null);
  const [secretOpen, secretModal] = useDisclosure(false);
  const [target, setTarget] = useState<Robot | null>(null);
  const [dialog, setDialog] = useState<'delete' | 'refresh' | null>(null);
  // The switch shows the state asked for while the server applies it.
  const [toggling, setToggling] = useState<{ id: number; enabled: boolean } | null>(null);
  const mayUpdate = can('robot', 'update');
  const mayDelete = can('robot', 'delete');

  function showSecret(title: string, name: string, value: string) {
    setSecret({ title, name, secret: value });
    secretModal.open();
  }

  async function setEnabled(robot: Robot, enabled: boolean) {
    setToggling({ id: robot.id, enabled });
    try {
      // Harbor's PUT takes the whole robot; only what changed is applied.
      await api.put(`/robots/${segment(robot.id)}`, { ...robot, disable: !enabled });
      notifyDone(`${robot.name} ${enabled ? 'enabled' : 'disabled'}`);
      await client.invalidateQueries({ queryKey: robotsKey });
    } catch (err) {
      notifyError(err, `Could not ${enabled ? 'enable' : 'disable'} ${robot.name}`);
    } finally {
      setToggling(null);
    }
  }

  const columns: Column<Robot>[] = [
    {
      key: 'name',
      header: 'Name',
      sort: 'name',
      render: (r) => (
        <Group gap="xs" wrap="wrap">
          <Text size="sm" fw={500} ff="monospace" style={{ wordBreak: 'break-all' }}>
            {r.name}
          </Text>
          {r.disable && (
            <Badge size="sm" color="gray" variant="dot">
              Disabled
            </Badge>
          )}
        </Group>
      ),
    },
    {
      key: 'enabled',
      header: 'Enabled',
      render: (r) =>
        mayUpdate ? (
          <Switch
            aria-label={`Enabled ${r.name}`}
            checked={toggling?.id === r.id ? toggling.enabled : !r.disable}
            disabled={toggling?.id === r.id}
            onChange={(e) => setEnabled(r, e.currentTarget.checked)}
          />
        ) : (
          <Text size="sm">{r.disable ? 'No' : 'Yes'}</Text>
        ),
    },
    { key: 'expires', header: 'Expires', sort: 'expires_at', visibleFrom: 'sm', render: (r) => <Expires robot={r} /> },
    {
      key: 'description',
      header: 'Description',
      visibleFrom: 'md',
      render: (r) => (
        <Text size="sm" c={r.description ? undefined : 'dimmed'} lineClamp={2}>
          {r.description || '—'}
        </Text>
      ),
    },
    {
      key: 'created',
      header: 'Created',
      sort: 'creation_time',
      visibleFrom: 'md',
      render: (r) => (
        <Tooltip label={formatDateTime(r.creation_time)} withArrow>
          <Text size="sm" span>
            {formatRelative(r.creation_time)}
          </Text>
        </Tooltip>
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
            <Tooltip label="Refresh secret" withArrow>
              <ActionIcon
                variant="subtle"
                aria-label={`Refresh secret of ${r.name}`}
                onClick={() => {
                  setTarget(r);
                  setDialog('refresh');
                }}
              >
                <IconRefresh size={16} aria-hidden />
              </ActionIcon>
            </Tooltip>
          )}
          {mayDelete && (
            <ActionIcon
              variant="subtle"
              color="red"
              aria-label={`Delete robot account ${r.name}`}
              onClick={() => {
                setTarget(r);
                setDialog('delete');
              }}
            >
              <IconTrash size={16} aria-hidden />
            </ActionIcon>
          )}
        </Group>
      ),
    });
  }

  return (
    <>
      <DataTable<Robot>
        label="Robot accounts"
        queryKey={robotsKey}
        fetchPage={({ page, pageSize, sort, search }) =>
          api.list<Robot>('/robots', {
            page,
            pageSize,
            sort,
            q: `Level=project,ProjectID=${project.project_id}${search ? `,name=~${search}` : ''}`,
          })
        }
        columns={columns}
        rowKey={(r) => r.id}
        searchLabel="Search robot accounts"
        toolbar={
          can('robot', 'create') && (
            <Button leftSection={<IconPlus size={16} aria-hidden />} onClick={create.open}>
              New robot account
            </Button>
          )
        }
        emptyText="No robot accounts yet. A robot account lets CI systems push and pull without a person's password."
      />
      <NewRobotModal
        project={project}
        opened={creating}
        onClose={create.close}
        onCreated={(robot) => showSecret('Robot account created', robot.name, robot.secret)}
      />
      <RobotSecretModal shown={secret} opened={secretOpen} onClose={secretModal.close} />
      <ConfirmDialog
        opened={dialog === 'refresh'}
        onClose={() => setDialog(null)}
        title="Refresh secret"
        confirmLabel="Refresh secret"
        onConfirm={async () => {
          const robot = target!;
          const answer = await api.patch<{ secret?: string }>(`/robots/${segment(robot.id)}`, {});
          notifyDone(`New secret made for ${robot.name}`);
          await client.invalidateQueries({ queryKey: robotsKey });
          if (answer?.secret) showSecret('Secret refreshed', robot.name, answer.secret);
        }}
      >
        Make a new secret for <strong>{target?.name}</strong>? The current secret stops working at once.
      </ConfirmDialog>
      <ConfirmDialog
        opened={dialog === 'delete'}
        onClose={() => setDialog(null)}
        title="Delete robot account"
        confirmLabel="Delete"
        onConfirm={async () => {
          const robot = target!;
          await api.delete(`/robots/${segment(robot.id)}`);
          notifyDone(`Robot account ${robot.name} deleted`);
          await client.invalidateQueries({ queryKey: robotsKey });
        }}
      >
        Delete robot account <strong>{target?.name}</strong>? Anything signing in with it stops working.
      </ConfirmDialog>
    </>
  );
}
