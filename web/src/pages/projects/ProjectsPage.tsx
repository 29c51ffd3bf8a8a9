import { Anchor, Badge, Button, Group, SegmentedControl, Text, Title, Tooltip } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { IconPlus } from '@tabler/icons-react';
import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { api, segment } from '../../api/client';
import { useSession } from '../../auth/session';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { DataTable, type Column } from '../../components/DataTable';
import { formatDateTime, formatRelative } from '../../lib/format';
import { notifyDone } from '../../lib/notify';
import { projectPath } from '../../lib/paths';
import { usePageTitle } from '../../lib/title';
import { usePermissions } from '../../auth/permissions';
import { deletableKey, isPublic, roleName, type Project } from '../project/model';
import { DeleteProjectAction } from './DeleteProjectAction';
import { NewProjectModal } from './NewProjectModal';
import { ProjectUsage } from './ProjectUsage';

type Visibility = 'all' | 'public' | 'private';

export function AccessBadge({ project }: { project: Pick<Project, 'metadata' | 'registry_id'> }) {
  const access = isPublic(project) ? (
    <Badge variant="dot" color="teal">
      Public
    </Badge>
  ) : (
    <Badge variant="dot" color="gray">
      Private
    </Badge>
  );
  if (!project.registry_id) return access;
  // A proxy cache project (Harbor's registry_id) says so wherever its access level shows.
  return (
    <Group gap={4} wrap="wrap">
      {access}
      <Badge variant="light" color="grape" tt="none" style={{ minWidth: 'max-content' }}>
        Proxy cache
      </Badge>
    </Group>
  );
}

/** Whether the signed-in user may create projects (auth.project_creation_restriction), from the system permissions. */
function useMayCreateProject(): boolean {
  return usePermissions('/system').data?.has('project:create') ?? false;
}

export function ProjectsPage() {
  usePageTitle('Projects');
  const { user } = useSession();
  const client = useQueryClient();
  const mayCreate = useMayCreateProject();
  const [visibility, setVisibility] = useState<Visibility>('all');
  const [creating, create] = useDisclosure(false);
  // The project asked about stays set while the dialog closes, so its text does not flash empty.
  const [deleting, setDeleting] = useState<Project | null>(null);
  const [confirming, confirm] = useDisclosure(false);

  const columns: Column<Project>[] = [
    {
      key: 'name',
      header: 'Name',
      sort: 'name',
      render: (p) => (
        <Anchor component={Link} to={projectPath(p.name)} fw={500}>
          {p.name}
        </Anchor>
      ),
    },
    { key: 'access', header: 'Access level', render: (p) => <AccessBadge project={p} /> },
    {
      key: 'role',
      header: 'Your role',
      visibleFrom: 'sm',
      render: (p) => (
        <Text size="sm" c={p.current_user_role_id ? undefined : 'dimmed'}>
          {p.current_user_role_id ? roleName(p.current_user_role_id) : user?.sysadmin_flag ? 'Administrator' : '—'}
        </Text>
      ),
    },
    { key: 'repos', header: 'Repositories', visibleFrom: 'sm', render: (p) => p.repo_count },
    { key: 'storage', header: 'Storage', visibleFrom: 'sm', render: (p) => <ProjectUsage project={p} /> },
    {
      key: 'created',
      header: 'Created',
      sort: 'creation_time',
      visibleFrom: 'md',
      render: (p) => (
        <Tooltip label={formatDateTime(p.creation_time)} withArrow>
          <Text size="sm" span>
            {formatRelative(p.creation_time)}
          </Text>
        </Tooltip>
      ),
    },
    {
      key: 'actions',
      header: 'Actions',
      width: 80,
      render: (p) =>
        user?.sysadmin_flag || p.current_user_role_id === 1 ? (
          <DeleteProjectAction
            project={p}
            onDelete={() => {
              setDeleting(p);
              confirm.open();
            }}
          />
        ) : null,
    },
  ];

  return (
    <>
      <Group justify="space-between" mb="md" wrap="wrap">
        <Title order={1}>Projects</Title>
        {mayCreate && (
          <Button leftSection={<IconPlus size={16} aria-hidden />} onClick={create.open}>
            New project
          </Button>
        )}
      </Group>
      <DataTable<Project>
        label="Projects"
        queryKey={['projects', { visibility }]}
        fetchPage={({ page, pageSize, sort, search }) =>
          api.list<Project>('/projects', {
            page,
            pageSize,
            sort,
            q: search ? `name=~${search}` : undefined,
            public: visibility === 'all' ? undefined : visibility === 'public',
          })
        }
        columns={columns}
        rowKey={(p) => p.project_id}
        searchLabel="Search projects"
        toolbar={
          <SegmentedControl
            aria-label="Visibility"
            value={visibility}
            onChange={(v) => setVisibility(v as Visibility)}
            data={[
              { value: 'all', label: 'All' },
              { value: 'public', label: 'Public' },
              { value: 'private', label: 'Private' },
            ]}
          />
        }
        defaultSort="name"
        emptyText={mayCreate ? 'No projects yet. Create one with “New project”.' : 'No projects to show.'}
      />
      <NewProjectModal opened={creating} onClose={create.close} />
      <ConfirmDialog
        opened={confirming}
        onClose={confirm.close}
        title="Delete project"
        confirmLabel="Delete"
        onConfirm={async () => {
          const project = deleting!;
          await api.delete(`/projects/${segment(project.project_id)}`);
          notifyDone(`Project ${project.name} deleted`);
          await client.invalidateQueries({ queryKey: ['projects'] });
          client.removeQueries({ queryKey: ['project', project.name] });
          client.removeQueries({ queryKey: deletableKey(project.project_id) });
        }}
      >
        Delete project <strong>{deleting?.name}</strong>? Its robot accounts are deleted with it.
      </ConfirmDialog>
    </>
  );
}
