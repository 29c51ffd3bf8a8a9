import { ActionIcon, Button, Group, Select, Text } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { IconUserMinus, IconUserPlus, IconUsersPlus } from '@tabler/icons-react';
import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, segment } from '../../api/client';
import { useSession } from '../../auth/session';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { DataTable, type Column } from '../../components/DataTable';
import { notifyDone, notifyError } from '../../lib/notify';
import { AddMemberModal } from './AddMemberModal';
import { AddGroupMemberModal } from './AddGroupMemberModal';
import { isGroup, MemberName, MemberType } from './MemberEntity';
import { permissionsKey } from '../../auth/permissions';
import { projectApiPath, projectKey, roleName, roleOptions, summaryKey, type Member } from './model';
import type { TabProps } from './ProjectPage';

export function MembersTab({ project, can }: TabProps) {
  const client = useQueryClient();
  const { user } = useSession();
  const [adding, add] = useDisclosure(false);
  const [addingGroup, addGroup] = useDisclosure(false);
  const [target, setTarget] = useState<Member | null>(null);
  const [confirming, confirm] = useDisclosure(false);
  const [saving, setSaving] = useState<number | null>(null);
  const membersKey = ['members', project.project_id];

  // As in Harbor, you do not change or remove your own membership here (an administrator may).
  const isSelf = (m: Member) => m.entity_type === 'u' && m.entity_id === user?.user_id && !user?.sysadmin_flag;
  // A group the signed-in user is in changes their own role as well.
  const mayConcernMe = (m: Member) => isGroup(m) || m.entity_id === user?.user_id;

  async function refresh(self: boolean) {
    await Promise.all([
      client.invalidateQueries({ queryKey: membersKey }),
      client.invalidateQueries({ queryKey: summaryKey(project.project_id) }),
      ...(self
        ? [
            client.invalidateQueries({ queryKey: projectKey(project.name) }),
            client.invalidateQueries({ queryKey: permissionsKey(project.project_id) }),
          ]
        : []),
    ]);
  }

  async function changeRole(member: Member, roleId: number) {
    if (roleId === member.role_id) return;
    setSaving(member.id);
    try {
      await api.put(projectApiPath(project, `/members/${segment(member.id)}`), { role_id: roleId });
      notifyDone(`${member.entity_name} is now ${roleName(roleId)}`);
      await refresh(mayConcernMe(member));
    } catch (err) {
      notifyError(err, `Could not change the role of ${member.entity_name}`);
    } finally {
      setSaving(null);
    }
  }

  const columns: Column<Member>[] = [
    {
      key: 'name',
      header: 'Name',
      render: (m) => <MemberName member={m} you={m.entity_id === user?.user_id && m.entity_type === 'u'} />,
    },
    { key: 'type', header: 'Type', visibleFrom: 'sm', render: (m) => <MemberType member={m} /> },
    {
      key: 'role',
      header: 'Role',
      render: (m) =>
        can('member', 'update') && !isSelf(m) ? (
          <Select
            aria-label={`Role of ${m.entity_name}`}
            data={roleOptions}
            value={String(m.role_id)}
            onChange={(v) => v && changeRole(m, Number(v))}
            allowDeselect={false}
            disabled={saving === m.id}
            size="xs"
            w={160}
          />
        ) : (
          <Text size="sm">{roleName(m.role_id)}</Text>
        ),
    },
  ];
  if (can('member', 'delete')) {
    columns.push({
      key: 'actions',
      header: 'Actions',
      width: 80,
      render: (m) =>
        isSelf(m) ? null : (
          <ActionIcon
            variant="subtle"
            color="red"
            aria-label={`Remove member ${m.entity_name}`}
            onClick={() => {
              setTarget(m);
              confirm.open();
            }}
          >
            <IconUserMinus size={16} aria-hidden />
          </ActionIcon>
        ),
    });
  }

  return (
    <>
      <DataTable<Member>
        label="Members"
        queryKey={membersKey}
        fetchPage={({ page, pageSize, search }) =>
          api.list<Member>(projectApiPath(project, '/members'), { page, pageSize, entityname: search || undefined })
        }
        columns={columns}
        rowKey={(m) => m.id}
        searchLabel="Search members"
        toolbar={
          can('member', 'create') && (
            <Group gap="xs">
              <Button leftSection={<IconUserPlus size={16} aria-hidden />} onClick={add.open}>
                Add member
              </Button>
              <Button variant="default" leftSection={<IconUsersPlus size={16} aria-hidden />} onClick={addGroup.open}>
                Add group
              </Button>
            </Group>
          )
        }
        emptyText="No members yet."
      />
      <AddMemberModal project={project} opened={adding} onClose={add.close} />
      <AddGroupMemberModal project={project} opened={addingGroup} onClose={addGroup.close} />
      <ConfirmDialog
        opened={confirming}
        onClose={confirm.close}
        title="Remove member"
        confirmLabel="Remove"
        onConfirm={async () => {
          const member = target!;
          await api.delete(projectApiPath(project, `/members/${segment(member.id)}`));
          notifyDone(`${member.entity_name} removed from ${project.name}`);
          await refresh(mayConcernMe(member));
        }}
      >
        Remove <strong>{target?.entity_name}</strong> from project {project.name}?{' '}
        {target && isGroup(target) ? "Its users lose the access the group's role gave them." : 'They lose the access their role gave them.'}
      </ConfirmDialog>
    </>
  );
}
