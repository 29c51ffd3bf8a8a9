import { Autocomplete, Loader, Select } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api } from '../../api/client';
import { FormDialog, useSubmission } from '../../components/FormDialog';
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
  const submission = useSubmission();

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
    submission.clear();
    onClose();
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    const name = username.trim();
    if (!name) {
      setUsernameError('Enter a username');
      return;
    }
    await submission.run(async () => {
      await api.post(projectApiPath(project, '/members'), { role_id: Number(role), member_user: { username: name } });
      notifyDone(`${name} added to ${project.name}`);
      await Promise.all([
        client.invalidateQueries({ queryKey: ['members', project.project_id] }),
        client.invalidateQueries({ queryKey: summaryKey(project.project_id) }),
      ]);
      close();
    });
  }

  return (
    <FormDialog
      opened={opened}
      onClose={close}
      title="Add member"
      error={submission.error}
      errorTitle="Could not add the member"
      busy={submission.busy}
      submitLabel="Add"
      onSubmit={submit}
    >
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
    </FormDialog>
  );
}
