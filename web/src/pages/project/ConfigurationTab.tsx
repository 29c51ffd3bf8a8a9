import { Alert, Button, Group, Paper, Select, Stack, Switch, Text, TextInput, Title } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { IconTrash } from '@tabler/icons-react';
import { useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router';
import { api } from '../../api/client';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { hasFeature, settingPresent } from '../../lib/features';
import { notifyDone, notifyError } from '../../lib/notify';
import { deletableKey, notDeletableReason, projectApiPath, projectKey, useProjectDeletable, type Project } from './model';
import type { TabProps } from './ProjectPage';
import { ProjectAllowlistSection } from './ProjectAllowlistSection';
import { ProjectScannerSection } from './ProjectScannerSection';
import { QuotaSection } from './QuotaSection';
import { TrustKeysSection } from './TrustKeysSection';

/** The boolean settings of Harbor's project configuration page, each a metadata key of "true"/"false". */
const allSecurityFlags = [
  {
    key: 'prevent_vul',
    label: 'Prevent vulnerable images from running',
    description: 'Refuse pulls of images with vulnerabilities at or above the chosen severity.',
  },
  { key: 'auto_scan', label: 'Automatically scan images on push', description: 'Scan each image for vulnerabilities when it is pushed.' },
  {
    key: 'auto_sbom_generation',
    label: 'Automatically generate SBOM on push',
    description: 'Generate a software bill of materials for each image when it is pushed.',
  },
  {
    key: 'enable_content_trust_cosign',
    label: 'Enforce cosign signatures',
    description:
      'Allow only images signed with cosign to be pulled; with cosign keys or a Sigstore root below, only signatures that verify.',
  },
  {
    key: 'enable_content_trust',
    label: 'Enforce Notation signatures',
    description: 'Allow only images signed with Notation to be pulled; with CA certificates below, only signatures that verify.',
  },
] as const;

/** Only the settings whose feature this Berth has (lib/features.ts). */
const securityFlags = allSecurityFlags.filter((flag) => settingPresent(flag.key));

const severities = [
  { value: 'none', label: 'None (any vulnerability)' },
  { value: 'low', label: 'Low' },
  { value: 'medium', label: 'Medium' },
  { value: 'high', label: 'High' },
  { value: 'critical', label: 'Critical' },
];

type Settings = Record<string, string>;

/** The settings shown, as saved; the ones not shown are left alone when saving. */
function settingsOf(project: Project): Settings {
  const meta = project.metadata ?? {};
  const out: Settings = { public: meta.public === 'true' ? 'true' : 'false' };
  if (settingPresent('severity')) out.severity = meta.severity || 'low';
  for (const flag of securityFlags) out[flag.key] = meta[flag.key] === 'true' ? 'true' : 'false';
  // A proxy cache project's freshness (seconds a tag is served without asking the upstream).
  if (project.registry_id) out.proxy_cache_freshness_seconds = meta.proxy_cache_freshness_seconds ?? '';
  return out;
}

export function ConfigurationTab({ project, can }: TabProps) {
  const client = useQueryClient();
  const navigate = useNavigate();
  const mayUpdate = can('project', 'update');
  const mayDelete = can('project', 'delete');
  const saved = settingsOf(project);
  const [draft, setDraft] = useState<Settings>(saved);
  const [busy, setBusy] = useState(false);
  const [deleting, deleteDialog] = useDisclosure(false);
  const deletable = useProjectDeletable(project, mayDelete);
  const cannotDelete = deletable.data && !deletable.data.deletable ? notDeletableReason(deletable.data) : null;
  const dirty = Object.keys(draft).some((k) => draft[k] !== saved[k]);
  const set = (key: string, on: boolean) => setDraft({ ...draft, [key]: String(on) });

  async function save(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    try {
      await api.put(projectApiPath(project), { metadata: draft });
      notifyDone(`Configuration of ${project.name} saved`);
      await Promise.all([
        client.invalidateQueries({ queryKey: projectKey(project.name) }),
        client.invalidateQueries({ queryKey: ['projects'] }),
      ]);
    } catch (err) {
      notifyError(err, 'Could not save the configuration');
    } finally {
      setBusy(false);
    }
  }

  return (
    <Stack gap="lg" maw={760}>
      <form onSubmit={save}>
        <Stack gap="lg">
          {!mayUpdate && (
            <Alert color="blue" title="Read only">
              Only project admins can change these settings.
            </Alert>
          )}
          <Paper withBorder p="md" radius="md">
            <Title order={2} size="h4" mb="sm">
              Access
            </Title>
            <Switch
              label="Public"
              description="Anyone, even without signing in, can pull images from a public project. Pushing still needs a role."
              checked={draft.public === 'true'}
              onChange={(e) => set('public', e.currentTarget.checked)}
              disabled={!mayUpdate}
            />
          </Paper>
          {securityFlags.length > 0 && (
            <Paper withBorder p="md" radius="md">
              <Title order={2} size="h4" mb="md">
                Security
              </Title>
              <Stack gap="md">
                {securityFlags.map((flag) => (
                  <div key={flag.key}>
                    <Switch
                      label={flag.label}
                      description={flag.description}
                      checked={draft[flag.key] === 'true'}
                      onChange={(e) => set(flag.key, e.currentTarget.checked)}
                      disabled={!mayUpdate}
                    />
                    {flag.key === 'prevent_vul' && draft.prevent_vul === 'true' && (
                      <Select
                        label="Severity"
                        description="Images with vulnerabilities of this severity or higher are refused"
                        data={severities}
                        value={draft.severity}
                        onChange={(v) => v && setDraft({ ...draft, severity: v })}
                        allowDeselect={false}
                        disabled={!mayUpdate}
                        mt="sm"
                        ml={{ base: 0, sm: 54 }}
                        maw={360}
                      />
                    )}
                  </div>
                ))}
              </Stack>
            </Paper>
          )}
          {project.registry_id ? (
            <Paper withBorder p="md" radius="md">
              <Title order={2} size="h4" mb="sm">
                Proxy cache
              </Title>
              <TextInput
                label="Cache freshness (seconds)"
                description="How long a tag is served from the cache before the upstream is asked whether it changed; empty: Berth's default"
                inputMode="numeric"
                value={draft.proxy_cache_freshness_seconds ?? ''}
                onChange={(e) => setDraft({ ...draft, proxy_cache_freshness_seconds: e.currentTarget.value.trim() })}
                disabled={!mayUpdate}
                maw={360}
              />
            </Paper>
          ) : null}
          {mayUpdate && (
            <Group justify="flex-end" gap="sm">
              <Button variant="default" disabled={!dirty || busy} onClick={() => setDraft(saved)}>
                Reset
              </Button>
              <Button type="submit" disabled={!dirty} loading={busy}>
                Save
              </Button>
            </Group>
          )}
        </Stack>
      </form>
      {(hasFeature('cosign-policy') || hasFeature('notary-policy')) && (
        <TrustKeysSection project={project} canEdit={can('configuration', 'update')} />
      )}
      {hasFeature('vulnerability-scanning') && can('scanner', 'read') && (
        <ProjectScannerSection project={project} canChange={can('scanner', 'create')} />
      )}
      {hasFeature('vulnerability-scanning') && <ProjectAllowlistSection project={project} canEdit={mayUpdate} />}
      <QuotaSection project={project} />
      {mayDelete && (
        <Paper withBorder p="md" radius="md" style={{ borderColor: 'var(--mantine-color-red-filled)' }}>
          <Title order={2} size="h4" mb={4}>
            Danger zone
          </Title>
          <Group justify="space-between" gap="sm" wrap="wrap">
            <Text size="sm" c="dimmed" maw={480} id="delete-project-reason">
              {cannotDelete ?? 'Delete this project and its robot accounts. This cannot be undone.'}
            </Text>
            <Button
              color="red"
              variant="outline"
              leftSection={<IconTrash size={16} aria-hidden />}
              onClick={deleteDialog.open}
              disabled={deletable.isPending || cannotDelete !== null}
              aria-describedby="delete-project-reason"
            >
              Delete project
            </Button>
          </Group>
        </Paper>
      )}
      <ConfirmDialog
        opened={deleting}
        onClose={deleteDialog.close}
        title="Delete project"
        confirmLabel="Delete"
        onConfirm={async () => {
          await api.delete(projectApiPath(project));
          notifyDone(`Project ${project.name} deleted`);
          navigate('/projects');
          client.removeQueries({ queryKey: projectKey(project.name) });
          client.removeQueries({ queryKey: deletableKey(project.project_id) });
          await client.invalidateQueries({ queryKey: ['projects'] });
        }}
      >
        Delete project <strong>{project.name}</strong>? Its robot accounts are deleted with it.
      </ConfirmDialog>
    </Stack>
  );
}
