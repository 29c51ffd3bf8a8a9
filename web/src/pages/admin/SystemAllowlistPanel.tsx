// Administration: the system's CVE allowlist (Harbor's /system/CVEAllowlist): vulnerabilities
// that do not count when "prevent vulnerable images" decides, in projects that reuse it.
import { Alert, Button, Card, Group, Skeleton, Stack, Text, Title } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { api, errorText } from '../../api/client';
import { SubmitError, useSubmission } from '../../components/FormDialog';
import { notifyDone } from '../../lib/notify';
import { allowlistBody, AllowlistEditor, draftOf, sameDraft, type Allowlist, type AllowlistDraft } from '../scanning/AllowlistEditor';
import { scanKeys } from '../scanning/model';

export function SystemAllowlistPanel() {
  const client = useQueryClient();
  const submission = useSubmission();
  const list = useQuery({ queryKey: scanKeys.allowlist, queryFn: () => api.get<Allowlist>('/system/CVEAllowlist') });
  const saved = draftOf(list.data);
  const [draft, setDraft] = useState<AllowlistDraft>(saved);
  useEffect(() => setDraft(draftOf(list.data)), [list.data]);

  function submit(event: FormEvent) {
    event.preventDefault();
    void submission.run(async () => {
      await api.put('/system/CVEAllowlist', allowlistBody(draft));
      notifyDone('System CVE allowlist saved');
      await client.invalidateQueries({ queryKey: scanKeys.allowlist });
    });
  }

  return (
    <Card withBorder padding="lg" radius="md" component="section" aria-labelledby="allowlist-title">
      <form onSubmit={submit} noValidate aria-labelledby="allowlist-title">
        <Stack gap="md">
          <div>
            <Title order={2} size="h3" id="allowlist-title">
              System CVE allowlist
            </Title>
            <Text size="sm" c="dimmed">
              Vulnerabilities ignored when a project prevents vulnerable images from being pulled, in every project that uses the system
              allowlist.
            </Text>
          </div>
          {list.isPending ? (
            <Skeleton height={60} />
          ) : list.isError ? (
            <Alert color="red" title="Could not load the allowlist" role="alert">
              {errorText(list.error)}
            </Alert>
          ) : (
            <>
              <SubmitError error={submission.error} title="The allowlist was not saved" />
              <AllowlistEditor value={draft} onChange={setDraft} idPrefix="system-allowlist" />
              <Group>
                <Button type="submit" loading={submission.busy} disabled={sameDraft(draft, saved)}>
                  Save allowlist
                </Button>
              </Group>
            </>
          )}
        </Stack>
      </form>
    </Card>
  );
}
