// The project's CVE allowlist: the system's (Harbor's reuse_sys_cve_allowlist) or its own list
// with an expiry, sent with PUT /projects/{p} as Harbor's `cve_allowlist`.
import { Button, Group, Paper, Radio, Stack, Text, Title } from '@mantine/core';
import { useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api } from '../../api/client';
import { SubmitError, useSubmission } from '../../components/FormDialog';
import { notifyDone } from '../../lib/notify';
import { allowlistBody, AllowlistEditor, draftOf, sameDraft, type Allowlist } from '../scanning/AllowlistEditor';
import { projectApiPath, projectKey, type Project } from './model';

export function ProjectAllowlistSection({
  project,
  canEdit,
}: {
  project: Project & { cve_allowlist?: Allowlist | null };
  canEdit: boolean;
}) {
  const client = useQueryClient();
  const submission = useSubmission();
  // Harbor's default: a project reuses the system's list unless it says otherwise.
  const savedReuse = project.metadata?.reuse_sys_cve_allowlist !== 'false';
  const saved = draftOf(project.cve_allowlist);
  const [reuse, setReuse] = useState(savedReuse);
  const [draft, setDraft] = useState(saved);
  const dirty = reuse !== savedReuse || (!reuse && !sameDraft(draft, saved));

  function submit(event: FormEvent) {
    event.preventDefault();
    void submission.run(async () => {
      await api.put(projectApiPath(project), {
        metadata: { reuse_sys_cve_allowlist: String(reuse) },
        ...(reuse ? {} : { cve_allowlist: allowlistBody(draft) }),
      });
      notifyDone(`CVE allowlist of ${project.name} saved`);
      await client.invalidateQueries({ queryKey: projectKey(project.name) });
    });
  }

  return (
    <Paper withBorder p="md" radius="md" component="section" aria-labelledby="project-allowlist-title">
      <form onSubmit={submit} noValidate aria-labelledby="project-allowlist-title">
        <Stack gap="sm">
          <div>
            <Title order={2} size="h4" id="project-allowlist-title">
              CVE allowlist
            </Title>
            <Text size="sm" c="dimmed">
              Vulnerabilities that do not count when pulls of vulnerable images are prevented.
            </Text>
          </div>
          <SubmitError error={submission.error} title="The allowlist was not saved" />
          <Radio.Group value={reuse ? 'system' : 'project'} onChange={(v) => setReuse(v === 'system')} aria-label="Which allowlist applies">
            <Group gap="lg" wrap="wrap">
              <Radio value="system" label="The system allowlist" disabled={!canEdit} />
              <Radio value="project" label="This project's own" disabled={!canEdit} />
            </Group>
          </Radio.Group>
          {!reuse && <AllowlistEditor value={draft} onChange={setDraft} disabled={!canEdit} idPrefix="project-allowlist" />}
          {canEdit && (
            <Group justify="flex-end">
              <Button type="submit" variant="light" disabled={!dirty} loading={submission.busy}>
                Save allowlist
              </Button>
            </Group>
          )}
        </Stack>
      </form>
    </Paper>
  );
}
