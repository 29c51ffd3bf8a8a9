import { Alert, Autocomplete, Button, Group, Loader, Modal, Select, Stack } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, errorText } from '../../api/client';
import { notifyDone } from '../../lib/notify';
import { projectApiPath, roleOptions, summaryKey, type Project } from './model';

interface UserHit {
  user_id: number;
  username: string;
}

/** "Add member": a user found by name (GET /users/search, open to every signed-in user) and a role. */
export function AddMemberModal({ project, opened, onClose }: { project: Project; opened: boolean; onClose: () => void }) {
  const client = useQueryClient();
  const [username, setUsername] = useState('');
  const [role, setRole] = useState<string>('2');
  const [typed] = useDebouncedValue(username.trim(), 250);
  const [usernameError, setUsernameError] = useState<string | null>(null);
  const [serverError, setServerError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const hits = useQuery({
    queryKey: ['user-search', typed],
    enabled: opened && typed.length > 0,
    queryFn: () => api.list<UserHit>('/users/search', { page: 1, pageSize: 10, username: typed }),
    placeholderData: keepPreviousData,
    staleTime: 30_000,
  });
  const options = typed ? (hits.data?.items ?? []).map((u) => u.username) : [];

  function close() {
    setUsername('');
    setRole('2');
    setUsernameError(null);
    setServerError(null);
    onClose();
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    const name = username.trim();
    if (!name) {
      setUsernameError('Enter a username');
      return;
    }
    setBusy(true);
    setServerError(null);
    try {
      await api.post(projectApiPath(project, '/members'), { role_id: Number(role), member_user: { username: name } });
      notifyDone(`${name} added to ${project.name}`);
      await Promise.all([
        client.invalidateQueries({ queryKey: ['members', project.project_id] }),
        client.invalidateQueries({ queryKey: summaryKey(project.project_id) }),
      ]);
      close();
    } catch (err) {
      setServerError(errorText(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Modal opened={opened} onClose={close} title="Add member" centered>
      <form onSubmit={submit} noValidate>
        <Stack gap="md">
          {serverError && (
            <Alert color="red" title="Could not add the member" role="alert">
              {serverError}
            </Alert>
          )}
          <Autocomplete
            label="Username"
            description="Start typing to find a user"
            required
            data-autofocus
            value={username}
            onChange={(value) => {
              setUsername(value);
              if (usernameError) setUsernameError(null);
            }}
            data={options}
            error={usernameError}
            rightSection={hits.isFetching ? <Loader size="xs" aria-label="Searching users" /> : null}
            autoComplete="off"
            comboboxProps={{ withinPortal: true }}
          />
          <Select label="Role" data={roleOptions} value={role} onChange={(v) => v && setRole(v)} allowDeselect={false} />
          <Group justify="flex-end" mt="sm">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button type="submit" loading={busy}>
              Add
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
