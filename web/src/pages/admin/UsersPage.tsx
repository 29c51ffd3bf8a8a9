import { ActionIcon, Badge, Button, Group, Menu, Modal, Stack, Text, Title } from '@mantine/core';
import { useQueryClient } from '@tanstack/react-query';
import { IconDots, IconKey, IconPlus, IconShield, IconShieldOff, IconTrash } from '@tabler/icons-react';
import { useState, type FormEvent } from 'react';
import { api, segment } from '../../api/client';
import type { CurrentUser } from '../../api/types';
import { useSession } from '../../auth/session';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { DataTable, type Column, type TableRequest } from '../../components/DataTable';
import { formatDateTime } from '../../lib/format';
import { notifyDone, notifyError } from '../../lib/notify';
import { usePageTitle } from '../../lib/title';
import { NewUserForm, PasswordPair, placeError, type NewUserValues } from '../account/forms';
import { SubmitError, useSubmission } from '../../components/FormDialog';

type User = CurrentUser;

/** The account the server creates on first start; it can be neither deleted nor demoted. */
const builtInAdmin = 'admin';

function fetchUsers({ page, pageSize, sort, search }: TableRequest) {
  // An address is looked up by email, anything else by username (a comma would split q's terms).
  const text = search.replace(/,/g, '');
  const q = text ? (text.includes('@') ? `email=~${text}` : `username=~${text}`) : undefined;
  return api.list<User>('/users', { page, pageSize, sort, q });
}

/** System administrators manage local accounts: create, promote, reset passwords, delete. */
export function UsersPage() {
  usePageTitle('Users');
  const { user: me } = useSession();
  const client = useQueryClient();
  const [dialog, setDialog] = useState<'create' | 'password' | 'delete' | null>(null);
  // The user a dialog is about; kept after it closes so its closing animation shows the same text.
  const [target, setTarget] = useState<User | null>(null);
  const close = () => setDialog(null);
  const open = (kind: 'password' | 'delete', user: User) => {
    setTarget(user);
    setDialog(kind);
  };
  const refresh = () => client.invalidateQueries({ queryKey: ['users'] });

  async function create(values: NewUserValues) {
    await api.post('/users', values);
    notifyDone(`User ${values.username} created`);
    await refresh();
    close();
  }

  async function setAdmin(user: User, flag: boolean) {
    try {
      await api.put(`/users/${segment(user.user_id)}/sysadmin`, { sysadmin_flag: flag });
      notifyDone(flag ? `${user.username} is now an administrator` : `${user.username} is no longer an administrator`);
      await refresh();
    } catch (err) {
      notifyError(err, flag ? 'Could not make an administrator' : 'Could not remove the administrator');
    }
  }

  async function remove(user: User) {
    await api.delete(`/users/${segment(user.user_id)}`);
    notifyDone(`User ${user.username} deleted`);
    // Their project memberships went with them.
    await Promise.all([refresh(), client.invalidateQueries({ queryKey: ['members'] })]);
  }

  const columns: Column<User>[] = [
    {
      key: 'username',
      header: 'Username',
      sort: 'username',
      render: (u) => (
        <Group gap={6} wrap="nowrap">
          <Text size="sm" fw={500} style={{ wordBreak: 'break-all' }}>
            {u.username}
          </Text>
          {u.user_id === me?.user_id && (
            <Badge size="xs" variant="outline" color="gray">
              You
            </Badge>
          )}
        </Group>
      ),
    },
    {
      key: 'realname',
      header: 'Full name',
      visibleFrom: 'md',
      render: (u) =>
        u.realname || (
          <Text size="sm" c="dimmed">
            —
          </Text>
        ),
    },
    {
      key: 'email',
      header: 'Email',
      visibleFrom: 'sm',
      render: (u) =>
        u.email ? (
          <Text size="sm" style={{ wordBreak: 'break-all' }}>
            {u.email}
          </Text>
        ) : (
          <Text size="sm" c="dimmed">
            —
          </Text>
        ),
    },
    {
      key: 'admin',
      header: 'Administrator',
      render: (u) =>
        u.sysadmin_flag ? (
          <Badge color="blue" variant="light">
            Administrator
          </Badge>
        ) : (
          <Text size="sm" c="dimmed">
            No
          </Text>
        ),
    },
    {
      key: 'creation_time',
      header: 'Created',
      sort: 'creation_time',
      visibleFrom: 'md',
      render: (u) => <Text size="sm">{formatDateTime(u.creation_time)}</Text>,
    },
    {
      key: 'actions',
      header: 'Actions',
      width: 80,
      render: (u) => (
        <UserActions
          user={u}
          self={u.user_id === me?.user_id}
          onAdmin={(flag) => setAdmin(u, flag)}
          onPassword={() => open('password', u)}
          onDelete={() => open('delete', u)}
        />
      ),
    },
  ];

  return (
    <Stack>
      <Group justify="space-between" wrap="wrap" gap="sm">
        <Title order={1}>Users</Title>
        <Button leftSection={<IconPlus size={16} aria-hidden />} onClick={() => setDialog('create')}>
          New user
        </Button>
      </Group>
      <Text c="dimmed" size="sm">
        Local accounts. Administrators manage every project, user and setting of the registry.
      </Text>
      <DataTable
        label="Users"
        queryKey={['users']}
        fetchPage={fetchUsers}
        columns={columns}
        rowKey={(u) => u.user_id}
        searchLabel="Search users"
        emptyText="No users yet."
      />
      <Modal opened={dialog === 'create'} onClose={close} title="New user" centered size="lg">
        <NewUserForm submitLabel="Create" onSubmit={create} onCancel={close} />
      </Modal>
      <Modal opened={dialog === 'password'} onClose={close} title={`Reset the password of ${target?.username ?? ''}`} centered>
        {target && <ResetPasswordForm user={target} onClose={close} />}
      </Modal>
      <ConfirmDialog
        opened={dialog === 'delete'}
        onClose={close}
        title={`Delete user ${target?.username ?? ''}?`}
        confirmLabel="Delete"
        onConfirm={() => (target ? remove(target) : Promise.resolve())}
      >
        The account is removed for good, with its memberships in projects. What the user pushed stays.
      </ConfirmDialog>
    </Stack>
  );
}

interface UserActionsProps {
  user: User;
  self: boolean;
  onAdmin: (flag: boolean) => void;
  onPassword: () => void;
  onDelete: () => void;
}

/** A disabled menu item says why in a second line. */
function Reason({ action, why }: { action: string; why: string | null }) {
  if (!why) return <>{action}</>;
  return (
    <div>
      <div>{action}</div>
      <Text size="xs" c="dimmed">
        {why}
      </Text>
    </div>
  );
}

function UserActions({ user, self, onAdmin, onPassword, onDelete }: UserActionsProps) {
  const builtIn = user.username === builtInAdmin;
  const adminLocked = self
    ? 'You cannot remove your own administrator role'
    : builtIn
      ? 'The admin account is always an administrator'
      : null;
  const deleteLocked = self ? 'You cannot delete your own account' : builtIn ? 'The admin account cannot be deleted' : null;
  const passwordLocked = self ? 'Use Change password in the user menu' : null;
  return (
    <Menu position="bottom-end" withinPortal shadow="md" width={260} withInitialFocusPlaceholder={false}>
      <Menu.Target>
        <ActionIcon variant="subtle" color="gray" aria-label={`Actions for ${user.username}`}>
          <IconDots size={18} aria-hidden />
        </ActionIcon>
      </Menu.Target>
      <Menu.Dropdown>
        {user.sysadmin_flag ? (
          <Menu.Item leftSection={<IconShieldOff size={16} aria-hidden />} disabled={adminLocked !== null} onClick={() => onAdmin(false)}>
            <Reason action="Remove administrator" why={adminLocked} />
          </Menu.Item>
        ) : (
          <Menu.Item leftSection={<IconShield size={16} aria-hidden />} onClick={() => onAdmin(true)}>
            Make administrator
          </Menu.Item>
        )}
        <Menu.Item leftSection={<IconKey size={16} aria-hidden />} disabled={passwordLocked !== null} onClick={onPassword}>
          <Reason action="Reset password" why={passwordLocked} />
        </Menu.Item>
        <Menu.Item
          leftSection={<IconTrash size={16} aria-hidden style={{ color: 'var(--mantine-color-red-filled)' }} />}
          disabled={deleteLocked !== null}
          onClick={onDelete}
        >
          <Reason action="Delete" why={deleteLocked} />
        </Menu.Item>
      </Menu.Dropdown>
    </Menu>
  );
}

/** An administrator sets a new password for someone else (no old password needed). */
function ResetPasswordForm({ user, onClose }: { user: User; onClose: () => void }) {
  const client = useQueryClient();
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [checked, setChecked] = useState(false);
  const [fieldError, setFieldError] = useState<string | undefined>();
  const submission = useSubmission();

  async function submit(event: FormEvent) {
    event.preventDefault();
    setChecked(true);
    submission.clear();
    if (!password) {
      setFieldError('Enter a new password.');
      return;
    }
    if (confirm !== password) return;
    await submission.run(
      async () => {
        await api.put(`/users/${segment(user.user_id)}/password`, { new_password: password });
        notifyDone(`Password of ${user.username} reset`);
        await client.invalidateQueries({ queryKey: ['users'] });
        onClose();
      },
      (err) => {
        const placed = placeError(err, [[/password/i, 'password']]);
        if (placed.field) setFieldError(placed.message);
        else return placed.message;
        return null;
      },
    );
  }

  return (
    <form onSubmit={submit} noValidate>
      <Stack>
        <SubmitError error={submission.error} />
        <Text size="sm" c="dimmed">
          Tell {user.username} the new password; they can change it from their user menu.
        </Text>
        <PasswordPair
          newLabel="New password"
          confirmLabel="Confirm password"
          value={password}
          onChange={(value) => {
            setPassword(value);
            setFieldError(undefined);
          }}
          confirm={confirm}
          onConfirmChange={setConfirm}
          checked={checked}
          onChecked={() => setChecked(true)}
          error={fieldError}
        />
        <Group justify="flex-end" gap="sm" mt="xs">
          <Button variant="default" onClick={onClose}>
            Cancel
          </Button>
          <Button type="submit" loading={submission.busy}>
            Reset password
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
