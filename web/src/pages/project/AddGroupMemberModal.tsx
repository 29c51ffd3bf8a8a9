import { Autocomplete, Group, Loader, SegmentedControl, Select, Stack, Text, TextInput } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, ApiError } from '../../api/client';
import { useSession } from '../../auth/session';
import { permissionsKey } from '../../auth/permissions';
import { FormDialog, useSubmission } from '../../components/FormDialog';
import { notifyDone } from '../../lib/notify';
import {
  groupSearchKey,
  groupTypeName,
  ldapGroupType,
  oidcGroupType,
  searchGroups,
  useAuthMode,
  type UserGroup,
} from '../admin/userGroups';
import { projectApiPath, projectKey, roleOptions, summaryKey, type Project } from './model';

/** A group Berth knows; an LDAP directory's group (ldap_auth); an OIDC group by the name the provider gives (oidc_auth). */
type Source = 'known' | 'directory' | 'oidc';

const sourceLabels: Record<Source, string> = { known: 'Known groups', directory: 'LDAP directory', oidc: 'By name (OIDC)' };

/** The directory answers 404 when no group has the name. */
function noneFound(err: unknown): UserGroup[] {
  if (err instanceof ApiError && err.status === 404) return [];
  throw err;
}

/**
 * "Add group": a group Berth knows, found by name (GET /usergroups/search); when users sign in
 * with LDAP, a group of the directory by its DN (GET /ldap/groups/search helps find it); with
 * OIDC, a group by name, which Berth adds if no sign-in has recorded it yet; and a role.
 */
export function AddGroupMemberModal({ project, opened, onClose }: { project: Project; opened: boolean; onClose: () => void }) {
  const client = useQueryClient();
  const authMode = useAuthMode();
  const otherSource: Source | null = authMode === 'ldap_auth' ? 'directory' : authMode === 'oidc_auth' ? 'oidc' : null;
  const { user } = useSession();
  const [chosenSource, setSource] = useState<Source>('known');
  const source = chosenSource === otherSource ? otherSource : 'known';
  const fromDirectory = source === 'directory';
  const [text, setText] = useState('');
  const [typed] = useDebouncedValue(text.trim(), 250);
  const [chosen, setChosen] = useState<UserGroup | null>(null);
  const [role, setRole] = useState('2');
  const [fieldError, setFieldError] = useState<string | null>(null);
  const submission = useSubmission();

  const known = useQuery({
    queryKey: groupSearchKey(typed),
    enabled: opened && source === 'known' && typed.length > 0,
    queryFn: () => searchGroups(typed),
    placeholderData: keepPreviousData,
    staleTime: 30_000,
  });
  // The directory is searched by a group's exact name, and only by administrators (Harbor's rule);
  // a DN is taken as typed, and the server checks it.
  const searchDirectory = fromDirectory && !!user?.sysadmin_flag && typed.length > 0 && !typed.includes('=');
  const directory = useQuery({
    queryKey: ['ldap-group-search', typed],
    enabled: opened && searchDirectory,
    queryFn: () => api.get<UserGroup[]>('/ldap/groups/search', { groupname: typed }).catch(noneFound),
    staleTime: 30_000,
  });

  const hits = typed ? (known.data?.items ?? []) : [];
  const knownOptions = [...(chosen && !hits.some((g) => g.id === chosen.id) ? [chosen] : []), ...hits];
  const found = searchDirectory ? (directory.data ?? []).filter((g) => g.ldap_group_dn) : [];
  const directoryHint =
    searchDirectory && directory.isSuccess && found.length === 0
      ? `No directory group is named “${typed}”: enter its DN`
      : user?.sysadmin_flag
        ? "Type a group's name to find it in the directory, or its DN"
        : 'For example cn=developers,ou=groups,dc=example,dc=com';

  function reset() {
    setText('');
    setChosen(null);
    setRole('2');
    setFieldError(null);
    submission.clear();
  }

  function close() {
    reset();
    setSource('known');
    onClose();
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    const entered = text.trim();
    const missing = {
      known: !chosen && 'Choose a group.',
      directory: !entered && "Enter the LDAP group's DN, or search the directory by name.",
      oidc: !entered && "Enter the group's name.",
    }[source];
    if (missing) {
      setFieldError(missing);
      return;
    }
    const memberGroup = {
      known: () => ({ id: chosen!.id }),
      directory: () => ({ ldap_group_dn: entered, group_type: ldapGroupType }),
      oidc: () => ({ group_name: entered, group_type: oidcGroupType }),
    }[source]();
    const name = {
      known: () => chosen!.group_name,
      directory: () => found.find((g) => g.ldap_group_dn === entered)?.group_name ?? entered,
      oidc: () => entered,
    }[source]();
    await submission.run(async () => {
      await api.post(projectApiPath(project, '/members'), { role_id: Number(role), member_group: memberGroup });
      notifyDone(`Group ${name} added to ${project.name}`);
      // The signed-in user may be in the group: their own role in the project may have changed too.
      await Promise.all(
        [
          ['members', project.project_id],
          summaryKey(project.project_id),
          projectKey(project.name),
          permissionsKey(project.project_id),
          ['usergroups'],
        ].map((queryKey) => client.invalidateQueries({ queryKey })),
      );
      close();
    });
  }

  const searching = (fromDirectory ? directory : known).isFetching && source !== 'oidc';
  const loader = searching ? <Loader size="xs" aria-label="Searching groups" /> : null;
  const onText = (value: string) => {
    setText(value);
    if (fieldError) setFieldError(null);
  };

  return (
    <FormDialog
      opened={opened}
      onClose={close}
      title="Add group"
      error={submission.error}
      errorTitle="Could not add the group"
      busy={submission.busy}
      submitLabel="Add"
      onSubmit={submit}
    >
      {otherSource && (
        <Stack gap={4}>
          <Text size="sm" fw={500} id="group-source-label">
            Find the group
          </Text>
          <SegmentedControl
            aria-labelledby="group-source-label"
            fullWidth
            value={source}
            onChange={(value) => {
              reset();
              setSource(value as Source);
            }}
            data={(['known', otherSource] as const).map((value) => ({ value, label: sourceLabels[value] }))}
          />
        </Stack>
      )}
      {source === 'oidc' ? (
        <TextInput
          key="oidc"
          label="OIDC group name"
          description="As the provider's groups claim names it; Berth adds the group if no sign-in has brought it yet"
          required
          data-autofocus
          value={text}
          onChange={(e) => onText(e.currentTarget.value)}
          error={fieldError}
          autoComplete="off"
        />
      ) : fromDirectory ? (
        <Autocomplete
          key="directory"
          label="LDAP group DN"
          description={directoryHint}
          required
          data-autofocus
          value={text}
          onChange={onText}
          data={found.map((g) => g.ldap_group_dn!)}
          renderOption={({ option }) => (
            <GroupOption name={found.find((g) => g.ldap_group_dn === option.value)?.group_name} detail={option.value} />
          )}
          error={fieldError}
          rightSection={loader}
          autoComplete="off"
          comboboxProps={{ withinPortal: true }}
        />
      ) : (
        <Select
          key="known"
          label="Group"
          description="Start typing to find a group by name"
          required
          data-autofocus
          searchable
          searchValue={text}
          onSearchChange={onText}
          // The server has filtered by name already.
          filter={({ options }) => options}
          data={knownOptions.map((g) => ({ value: String(g.id), label: g.group_name }))}
          renderOption={({ option }) => {
            const group = knownOptions.find((g) => String(g.id) === option.value);
            return <GroupOption name={option.label} detail={groupTypeName(group?.group_type)} />;
          }}
          value={chosen ? String(chosen.id) : null}
          onChange={(value) => {
            setChosen(knownOptions.find((g) => String(g.id) === value) ?? null);
            setFieldError(null);
          }}
          nothingFoundMessage={typed && !known.isFetching ? 'No group by that name' : undefined}
          error={fieldError}
          rightSection={loader}
          autoComplete="off"
          comboboxProps={{ withinPortal: true }}
        />
      )}
      <Select label="Role" data={roleOptions} value={role} onChange={(v) => v && setRole(v)} allowDeselect={false} />
    </FormDialog>
  );
}

function GroupOption({ name, detail }: { name?: string; detail: string }) {
  return (
    <Group gap="xs" wrap="nowrap" justify="space-between" w="100%">
      <Text size="sm">{name ?? detail}</Text>
      {name && (
        <Text size="xs" c="dimmed" style={{ wordBreak: 'break-all' }}>
          {detail}
        </Text>
      )}
    </Group>
  );
}
