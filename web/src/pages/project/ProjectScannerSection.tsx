// The project's scanner (Harbor's /projects/{p}/scanner): the system default unless the
// project chose another registration among the candidates.
import { Alert, Badge, Button, Group, Paper, Select, Skeleton, Stack, Text, Title } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { api, errorText, segment } from '../../api/client';
import { notifyDone, notifyError } from '../../lib/notify';
import type { ScannerRegistration } from '../admin/ScannersPanel';
import { scanKeys } from '../scanning/model';
import type { Project } from './model';

export function ProjectScannerSection({ project, canChange }: { project: Project; canChange: boolean }) {
  const client = useQueryClient();
  const path = `/projects/${segment(project.name)}/scanner`;
  const current = useQuery({
    queryKey: scanKeys.projectScanner(project.name),
    queryFn: async () => (await api.get<ScannerRegistration | undefined>(path)) ?? null,
  });
  const candidates = useQuery({
    queryKey: [...scanKeys.projectScanner(project.name), 'candidates'],
    queryFn: () => api.list<ScannerRegistration>(`${path}/candidates`, { page: 1, pageSize: 100 }),
    enabled: canChange,
  });
  const [chosen, setChosen] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => setChosen(current.data?.uuid ?? null), [current.data]);

  async function save() {
    if (!chosen) return;
    setBusy(true);
    try {
      await api.put(path, { uuid: chosen });
      notifyDone(`${project.name} now scans with ${candidates.data?.items.find((c) => c.uuid === chosen)?.name ?? 'the chosen scanner'}`);
      await client.invalidateQueries({ queryKey: scanKeys.projectScanner(project.name) });
    } catch (err) {
      notifyError(err, 'The scanner was not changed');
    } finally {
      setBusy(false);
    }
  }

  const scanner = current.data;
  return (
    <Paper withBorder p="md" radius="md" component="section" aria-labelledby="project-scanner-title">
      <Title order={2} size="h4" mb="sm" id="project-scanner-title">
        Scanner
      </Title>
      {current.isPending ? (
        <Skeleton height={40} />
      ) : current.isError ? (
        <Alert color="red" title="Could not load the project's scanner" role="alert">
          {errorText(current.error)}
        </Alert>
      ) : (
        <Stack gap="sm">
          {scanner ? (
            <Group gap="sm" wrap="wrap">
              <Text size="sm" fw={600}>
                {scanner.name}
              </Text>
              {scanner.is_default && (
                <Badge variant="light" color="blue" tt="none">
                  Default
                </Badge>
              )}
              {scanner.disabled && (
                <Badge variant="light" color="gray" tt="none">
                  Disabled
                </Badge>
              )}
              <Text size="sm" c="dimmed" style={{ overflowWrap: 'anywhere' }}>
                {scanner.url}
              </Text>
            </Group>
          ) : (
            <Text size="sm" c="dimmed">
              No scanner: images of this project cannot be scanned until an administrator registers one.
            </Text>
          )}
          {canChange && (candidates.data?.items.length ?? 0) > 1 && (
            <Group gap="sm" align="flex-end" wrap="wrap">
              <Select
                label="Scan with"
                data={(candidates.data?.items ?? []).map((c) => ({ value: c.uuid, label: c.is_default ? `${c.name} (default)` : c.name }))}
                value={chosen}
                onChange={setChosen}
                allowDeselect={false}
                w={280}
              />
              <Button variant="light" onClick={() => void save()} loading={busy} disabled={!chosen || chosen === scanner?.uuid}>
                Use this scanner
              </Button>
            </Group>
          )}
        </Stack>
      )}
    </Paper>
  );
}
