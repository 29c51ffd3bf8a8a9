// Administration › Configuration, as Harbor's: Authentication, Security (the system CVE
// allowlist) and System Settings. The settings form covers two tabs; Save sends the keys that
// changed (PUT /configurations), secrets only when typed.
import { Alert, Badge, Button, Group, Skeleton, Stack, Tabs, Text, Title } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { api, errorText } from '../../api/client';
import { ErrorAlert } from '../../components/ErrorAlert';
import { SubmitError, useSubmission } from '../../components/FormDialog';
import { notifyDone } from '../../lib/notify';
import { usePageTitle } from '../../lib/title';
import { AuthenticationTab } from './configuration/AuthenticationTab';
import { LeaveGuard } from './configuration/LeaveGuard';
import type { SettingsForm } from './configuration/fields';
import {
  authKeys,
  changesOf,
  configurationsKey,
  draftOf,
  keyNamedIn,
  systemKeys,
  validate,
  type Configurations,
  type Draft,
  type FieldErrors,
} from './configuration/model';
import { SystemSettingsTab } from './configuration/SystemSettingsTab';
import { SystemAllowlistPanel } from './SystemAllowlistPanel';

type Tab = 'authentication' | 'security' | 'system';

export function ConfigurationPage() {
  usePageTitle('Configuration');
  const client = useQueryClient();
  // Not refetched behind the form's back: that would wipe what is being typed.
  const query = useQuery({
    queryKey: configurationsKey,
    queryFn: () => api.get<Configurations>('/configurations'),
    staleTime: Infinity,
    refetchOnWindowFocus: false,
  });
  const saved = useMemo(() => draftOf(query.data), [query.data]);
  const [draft, setDraft] = useState<Draft>(saved);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [tab, setTab] = useState<Tab>('authentication');
  const submission = useSubmission();
  useEffect(() => {
    setDraft(saved);
    setErrors({});
  }, [saved]);

  const changes = changesOf(saved, draft);
  const changed = Object.keys(changes);
  const form: SettingsForm = {
    draft,
    saved,
    errors,
    set(key, value) {
      setDraft((d) => ({ ...d, [key]: value }));
      if (errors[key]) setErrors(({ [key]: _, ...rest }) => rest);
    },
    editable: (key) => query.data?.[key]?.editable !== false,
  };

  function save(event: FormEvent) {
    event.preventDefault();
    const found = validate(draft);
    setErrors(found);
    if (Object.keys(found).length > 0) {
      // Where the first thing to fix is.
      setTab(authKeys.some((k) => found[k]) ? 'authentication' : 'system');
      return;
    }
    void submission.run(
      async () => {
        await api.put('/configurations', changes);
        notifyDone('Configuration saved');
        await Promise.all([
          client.invalidateQueries({ queryKey: configurationsKey }),
          client.invalidateQueries({ queryKey: ['systeminfo'] }),
        ]);
      },
      (err) => {
        const message = errorText(err);
        const key = keyNamedIn(message, Object.keys(draft));
        if (key) setErrors((e) => ({ ...e, [key]: message }));
        return message;
      },
    );
  }

  function discard() {
    setDraft(saved);
    setErrors({});
    submission.clear();
  }

  const errorBadge = (keys: string[]) => {
    const count = keys.filter((k) => errors[k]).length;
    return count > 0 ? (
      <Badge color="red" size="sm" circle aria-label={`${count} to fix`}>
        {count}
      </Badge>
    ) : null;
  };

  const saveBar = (
    <Stack gap="sm">
      <SubmitError error={submission.error} title="The configuration was not saved" />
      {Object.keys(errors).length > 0 && !submission.error && (
        <Alert color="red" role="alert" title="Nothing saved">
          Correct the marked fields first.
        </Alert>
      )}
      <Group gap="sm">
        <Button type="submit" loading={submission.busy} disabled={changed.length === 0}>
          Save
        </Button>
        <Button variant="default" onClick={discard} disabled={changed.length === 0 || submission.busy}>
          Discard changes
        </Button>
        {changed.length > 0 && (
          <Text size="sm" c="dimmed" role="status">
            Unsaved changes ({changed.length} {changed.length === 1 ? 'setting' : 'settings'})
          </Text>
        )}
      </Group>
    </Stack>
  );

  return (
    <Stack maw={960}>
      <Title order={1}>Configuration</Title>
      <LeaveGuard dirty={changed.length > 0} />
      {query.isPending ? (
        <Stack gap="xs">
          <Skeleton height={36} />
          <Skeleton height={120} />
        </Stack>
      ) : query.isError ? (
        <ErrorAlert title="Could not load the configuration" error={query.error} />
      ) : (
        <Tabs value={tab} onChange={(v) => v && setTab(v as Tab)}>
          <Tabs.List mb="md">
            <Tabs.Tab value="authentication" rightSection={errorBadge(authKeys)}>
              Authentication
            </Tabs.Tab>
            <Tabs.Tab value="security">Security</Tabs.Tab>
            <Tabs.Tab value="system" rightSection={errorBadge(systemKeys)}>
              System Settings
            </Tabs.Tab>
          </Tabs.List>
          <Tabs.Panel value="security">
            <SystemAllowlistPanel />
          </Tabs.Panel>
          {tab !== 'security' && (
            <form onSubmit={save} noValidate aria-label="System configuration">
              <Stack gap="lg">
                <Tabs.Panel value="authentication">
                  <AuthenticationTab form={form} />
                </Tabs.Panel>
                <Tabs.Panel value="system">
                  <SystemSettingsTab form={form} />
                </Tabs.Panel>
                {saveBar}
              </Stack>
            </form>
          )}
        </Tabs>
      )}
    </Stack>
  );
}
