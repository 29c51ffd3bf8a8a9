import { ActionIcon, Badge, Button, Group, Modal, Select, Stack, Text, TextInput, Title, Tooltip } from '@mantine/core';
import { useQueryClient } from '@tanstack/react-query';
import { IconPencil, IconPlus, IconTrash, IconUsersGroup } from '@tabler/icons-react';
import { useState, type FormEvent } from 'react';
import { api, segment } from '../../api/client';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { DataTable, type Column, type TableRequest } from '../../components/DataTable';
import { SubmitError, useSubmission } from '../../components/FormDialog';
import { notifyDone } from '../../lib/notify';
import { usePageTitle } from '../../lib/title';
import { placeError } from '../account/forms';
import { groupTypeName, groupTypeOfAuthMode, groupTypeOptions, ldapGroupType, useAuthMode, type UserGroup } from './userGroups';

function fetchGroups({ page, pageSize, search }: TableRequest) {
  return api.list<UserGroup>('/usergroups', { page, pageSize, group_name: search || undefined });
}

const dimmedDash = (
  <Text size="sm" c="dimmed">
    —
  </Text>
);

/** System administrators list the groups LDAP/OIDC sign-ins recorded, add their own, rename and delete them. */
export function GroupsPage() {
  usePageTitle('Groups');
  const client = useQueryClient();
  const [dialog, setDialog] = useState<'create' | 'edit' | 'delete' | null>(null);
  // Kept after the dialog closes so its closing animation shows the same text.
  const [target, setTarget] = useState<UserGroup | null>(null);
  const close = () => setDialog(null);
  const open = (kind: 'edit' | 'delete', group: UserGroup) => {
    setTarget(group);
    setDialog(kind);
  };
  // Project members show group names too.
  const refresh = () => Promise.all(['usergroups', 'members'].map((key) => client.invalidateQueries({ queryKey: [key] })));

  async function create(values: GroupValues) {
    await api.post('/usergroups', values);
    notifyDone(`Group ${values.group_name} created`);
    await refresh();
    close();
  }

  async function rename(group: UserGroup, values: GroupValues) {
    await api.put(`/usergroups/${segment(group.id)}`, { group_name: values.group_name });
    notifyDone(`Group ${group.group_name} renamed to ${values.group_name}`);
    await refresh();
    close();
  }

  async function remove(group: UserGroup) {
    await api.delete(`/usergroups/${segment(group.id)}`);
    notifyDone(`Group ${group.group_name} deleted`);
    await refresh();
  }

  const columns: Column<UserGroup>[] = [
    {
      key: 'name',
      header: 'Name',
      render: (g) => (
        <Group gap={6} wrap="nowrap">
          <IconUsersGroup size={16} aria-hidden />
          <Text size="sm" fw={500} style={{ wordBreak: 'break-all' }}>
            {g.group_name}
          </Text>
        </Group>
      ),
    },
    {
      key: 'type',
      header: 'Type',
      render: (g) => (
        <Badge variant="light" color="gray">
          {groupTypeName(g.group_type)}
        </Badge>
      ),
    },
    {
      key: 'dn',
      header: 'LDAP DN',
      visibleFrom: 'sm',
      render: (g) =>
        g.ldap_group_dn ? (
          <Text size="sm" style={{ wordBreak: 'break-all' }}>
            {g.ldap_group_dn}
          </Text>
        ) : (
          dimmedDash
        ),
    },
    {
      key: 'actions',
      header: 'Actions',
      width: 96,
      render: (g) => (
        <Group gap={4} wrap="nowrap">
          <Tooltip label="Rename" withArrow>
            <ActionIcon variant="subtle" color="gray" aria-label={`Rename group ${g.group_name}`} onClick={() => open('edit', g)}>
              <IconPencil size={16} aria-hidden />
            </ActionIcon>
          </Tooltip>
          <Tooltip label="Delete" withArrow>
            <ActionIcon variant="subtle" color="red" aria-label={`Delete group ${g.group_name}`} onClick={() => open('delete', g)}>
              <IconTrash size={16} aria-hidden />
            </ActionIcon>
          </Tooltip>
        </Group>
      ),
    },
  ];

  return (
    <Stack>
      <Group justify="space-between" wrap="wrap" gap="sm">
        <Title order={1}>Groups</Title>
        <Button leftSection={<IconPlus size={16} aria-hidden />} onClick={() => setDialog('create')}>
          New group
        </Button>
      </Group>
      <Text c="dimmed" size="sm">
        Groups of users from LDAP, OIDC or an HTTP authentication service. Add a group to a project as a member and everyone in it gets the
        group's role there.
      </Text>
      <DataTable
        label="Groups"
        queryKey={['usergroups']}
        fetchPage={fetchGroups}
        columns={columns}
        rowKey={(g) => g.id}
        searchLabel="Search groups"
        emptyText="No groups yet. Signing in with LDAP or OIDC records the groups a user belongs to; add a group to a project to give its members access there."
      />
      <Modal opened={dialog === 'create'} onClose={close} title="New group" centered>
        <GroupForm submitLabel="Create" onSubmit={create} onCancel={close} />
      </Modal>
      <Modal opened={dialog === 'edit'} onClose={close} title={`Rename group ${target?.group_name ?? ''}`} centered>
        {target && <GroupForm existing={target} submitLabel="Save" onSubmit={(values) => rename(target, values)} onCancel={close} />}
      </Modal>
      <ConfirmDialog
        opened={dialog === 'delete'}
        onClose={close}
        title={`Delete group ${target?.group_name ?? ''}?`}
        confirmLabel="Delete"
        onConfirm={() => (target ? remove(target) : Promise.resolve())}
      >
        The group leaves every project it is a member of, and its users lose the access it gave them. A later sign-in may record it again.
      </ConfirmDialog>
    </Stack>
  );
}

interface GroupValues {
  group_name: string;
  group_type: number;
  ldap_group_dn?: string;
}

type GroupField = 'name' | 'dn';

const groupErrorRules: Array<[RegExp, GroupField]> = [
  [/duplicate|already exists|^group_name/i, 'name'],
  [/ldap_group_dn|\bDN\b/i, 'dn'],
];

/** A new group (name, type, and an LDAP group's DN), or a new name for `existing`. */
function GroupForm({
  existing,
  submitLabel,
  onSubmit,
  onCancel,
}: {
  existing?: UserGroup;
  submitLabel: string;
  onSubmit: (values: GroupValues) => Promise<void>;
  onCancel: () => void;
}) {
  const authMode = useAuthMode();
  const [name, setName] = useState(existing?.group_name ?? '');
  const [type, setType] = useState<string | null>(null);
  const [dn, setDn] = useState('');
  const [errors, setErrors] = useState<Partial<Record<GroupField, string>>>({});
  const submission = useSubmission();
  const groupType = Number(type ?? groupTypeOfAuthMode(authMode));
  const ldap = groupType === ldapGroupType;

  async function submit(event: FormEvent) {
    event.preventDefault();
    submission.clear();
    const problems: Partial<Record<GroupField, string>> = {};
    if (!name.trim()) problems.name = 'Enter a group name.';
    if (!existing && ldap && !dn.trim()) problems.dn = "Enter the LDAP group's DN.";
    setErrors(problems);
    if (Object.keys(problems).length > 0) return;
    await submission.run(
      () => onSubmit({ group_name: name.trim(), group_type: groupType, ...(ldap ? { ldap_group_dn: dn.trim() } : {}) }),
      (err) => {
        const placed = placeError(err, groupErrorRules);
        // A DN's error goes above the form when there is no DN field (a rename).
        if (placed.field && (placed.field === 'name' || (ldap && !existing))) setErrors({ [placed.field]: placed.message });
        else return placed.message;
        return null;
      },
    );
  }

  return (
    <form onSubmit={submit} noValidate>
      <Stack>
        <SubmitError error={submission.error} title="The group was not saved" />
        <TextInput
          label="Name"
          required
          maxLength={255}
          value={name}
          onChange={(e) => {
            setName(e.currentTarget.value);
            setErrors((v) => ({ ...v, name: undefined }));
          }}
          error={errors.name}
          data-autofocus
        />
        {!existing && (
          <>
            <Select
              label="Type"
              description="Where the group's members sign in"
              data={groupTypeOptions}
              value={String(groupType)}
              onChange={(v) => {
                setType(v);
                setErrors((e) => ({ ...e, dn: undefined }));
              }}
              allowDeselect={false}
              comboboxProps={{ withinPortal: true }}
            />
            {ldap && (
              <TextInput
                label="LDAP group DN"
                description="For example cn=developers,ou=groups,dc=example,dc=com"
                required
                value={dn}
                onChange={(e) => {
                  setDn(e.currentTarget.value);
                  setErrors((v) => ({ ...v, dn: undefined }));
                }}
                error={errors.dn}
                autoComplete="off"
              />
            )}
          </>
        )}
        <Group justify="flex-end" gap="sm" mt="xs">
          <Button variant="default" onClick={onCancel}>
            Cancel
          </Button>
          <Button type="submit" loading={submission.busy}>
            {submitLabel}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
