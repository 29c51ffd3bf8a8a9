import { Alert, Badge, Button, Card, Code, Group, Modal, NumberInput, Stack, Switch, Table, Tabs, Text, Title } from '@mantine/core';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { api, errorText } from '../../api/client';
import { SubmitError } from '../../components/FormDialog';
import { formatBytes, formatDateTime, shortDigest } from '../../lib/format';
import { fetchRunLog, isActive, RunCounts, RunPagination, runsPageSize as pageSize, StatusBadge, useJobRuns, type JobRun } from './JobRuns';
import { JobScheduleForm } from './JobScheduleForm';
import { RunHistory, RunLog, useStartRun } from './RunHistory';

/** A scrub run as /system/scrub answers it (Harbor's GCHistory shape plus Berth's results). */
interface ScrubRun extends JobRun {
  results: {
    blobs_total: number;
    blobs_checked: number;
    bytes_checked: number;
    manifests_total: number;
    manifests_checked: number;
    digest_mismatches: number;
    size_mismatches: number;
    missing_objects: number;
    read_errors: number;
    broken_references: number;
    manifest_mismatches: number;
    affected_artifacts: number;
    quarantined: number;
    released: number;
    problems: number;
    message: string | null;
    start_time: string | null;
    end_time: string | null;
  };
}

interface ScrubSchedule {
  schedule: { type: string; cron: string; next_scheduled_time?: string };
  job_parameters: string;
}

interface Finding {
  id: number;
  kind: string;
  digest: string;
  repository: string | null;
  artifact_digest: string | null;
  quarantined: boolean;
  message: string;
}

const base = '/system/scrub';

const kindText: Record<string, string> = {
  MANUAL: 'By hand',
  SCHEDULE: 'Schedule',
  CLI: 'berth scrub',
};

const findingText: Record<string, string> = {
  digest_mismatch: 'Wrong bytes',
  size_mismatch: 'Wrong size',
  missing_object: 'Missing object',
  read_error: 'Unreadable',
  missing_blob: 'Missing blob',
  reference_size_mismatch: 'Size differs',
  missing_child: 'Missing child',
  manifest_mismatch: 'Bad manifest',
  affected_artifact: 'Affected artifact',
};

function duration(run: ScrubRun): string {
  const { start_time, end_time } = run.results;
  if (!start_time) return '—';
  const ms = (end_time ? Date.parse(end_time) : Date.now()) - Date.parse(start_time);
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** Run now: the parameters a run takes. */
function RunNow({ disabled }: { disabled: boolean }) {
  const { submission, start } = useStartRun('scrub', base);
  const [workers, setWorkers] = useState<number | string>(4);
  const [quarantine, setQuarantine] = useState(true);

  function submit(event: FormEvent) {
    event.preventDefault();
    void start('Scrub', { workers: Number(workers), quarantine });
  }

  return (
    <form onSubmit={submit} noValidate aria-label="Run a scrub now">
      <Stack gap="sm">
        <SubmitError error={submission.error} title="The scrub did not start" />
        <Group align="flex-end" gap="md" wrap="wrap">
          <NumberInput label="Blobs at once" min={1} max={32} value={workers} onChange={setWorkers} w={140} allowDecimal={false} />
          <Switch
            label="Quarantine what is found"
            description="Off: only report"
            checked={quarantine}
            onChange={(e) => setQuarantine(e.currentTarget.checked)}
          />
          <Button type="submit" loading={submission.busy} disabled={disabled}>
            Scrub now
          </Button>
        </Group>
        {disabled && (
          <Text size="sm" c="dimmed">
            A scrub is already pending or running.
          </Text>
        )}
      </Stack>
    </form>
  );
}

/** The cron schedule: none, a preset, or a custom cron. */
function ScheduleForm() {
  return (
    <JobScheduleForm<ScrubSchedule>
      queryKey={['scrub', 'schedule']}
      path={`${base}/schedule`}
      read={(answer) => answer?.schedule}
      save={(schedule) => api.put(`${base}/schedule`, { schedule })}
      formLabel="Scrub schedule"
      typeLabel="Schedule"
      cronLabel="Cron (UTC)"
      saveLabel="Save schedule"
      savedText="Scrub schedule saved"
      removedText="Scrub schedule removed"
      describe={(answer) =>
        answer ? `Next run: ${formatDateTime(answer.schedule.next_scheduled_time)} (${answer.schedule.cron})` : 'No scheduled scrub.'
      }
    />
  );
}

/** A run's counts, findings and log. */
function RunDetails({ run, onClose }: { run: ScrubRun | null; onClose: () => void }) {
  const [page, setPage] = useState(1);
  useEffect(() => setPage(1), [run?.id]);
  const findings = useQuery({
    queryKey: ['scrub', 'findings', run?.id, page],
    queryFn: () => api.list<Finding>(`${base}/${run!.id}/findings`, { page, pageSize }),
    enabled: run !== null,
    placeholderData: keepPreviousData,
  });
  const log = useQuery({
    queryKey: ['scrub', 'log', run?.id],
    queryFn: () => fetchRunLog(base, run!.id),
    enabled: run !== null,
  });
  if (!run) return null;
  const r = run.results;
  const counts: Array<[string, string | number]> = [
    ['Blobs checked', `${r.blobs_checked} of ${r.blobs_total}`],
    ['Bytes hashed', formatBytes(r.bytes_checked)],
    ['Manifests checked', `${r.manifests_checked} of ${r.manifests_total}`],
    ['Wrong bytes', r.digest_mismatches],
    ['Wrong size', r.size_mismatches],
    ['Missing objects', r.missing_objects],
    ['Unreadable', r.read_errors],
    ['Broken references', r.broken_references],
    ['Bad manifests', r.manifest_mismatches],
    ['Quarantined', r.quarantined],
    ['Released', r.released],
    ['Artifacts affected', r.affected_artifacts],
  ];
  const total = findings.data?.total ?? 0;
  return (
    <Modal opened onClose={onClose} title={`Scrub ${run.id}`} size="xl" centered>
      <Stack gap="md">
        <Group gap="sm">
          <StatusBadge run={run} />
          <Text size="sm">{r.message ?? ''}</Text>
        </Group>
        <RunCounts counts={counts} />
        <Tabs defaultValue="findings">
          <Tabs.List>
            <Tabs.Tab value="findings">Findings ({total})</Tabs.Tab>
            <Tabs.Tab value="log">Log</Tabs.Tab>
          </Tabs.List>
          <Tabs.Panel value="findings" pt="sm">
            {findings.isError ? (
              <Alert color="red" title="Could not load the findings">
                {errorText(findings.error)}
              </Alert>
            ) : total === 0 && !findings.isPending ? (
              <Text c="dimmed" size="sm">
                Nothing found.
              </Text>
            ) : (
              <Table.ScrollContainer minWidth={500}>
                <Table striped verticalSpacing="xs" aria-label="Findings">
                  <Table.Thead>
                    <Table.Tr>
                      <Table.Th>Kind</Table.Th>
                      <Table.Th>Digest</Table.Th>
                      <Table.Th>What</Table.Th>
                    </Table.Tr>
                  </Table.Thead>
                  <Table.Tbody>
                    {(findings.data?.items ?? []).map((f) => (
                      <Table.Tr key={f.id}>
                        <Table.Td>
                          <Badge variant="light" color={f.kind === 'affected_artifact' ? 'gray' : 'red'}>
                            {findingText[f.kind] ?? f.kind}
                          </Badge>
                        </Table.Td>
                        <Table.Td>
                          <Code>{shortDigest(f.digest)}</Code>
                        </Table.Td>
                        <Table.Td>
                          <Text size="sm" style={{ wordBreak: 'break-word' }}>
                            {f.message}
                          </Text>
                        </Table.Td>
                      </Table.Tr>
                    ))}
                  </Table.Tbody>
                </Table>
              </Table.ScrollContainer>
            )}
            <RunPagination mt="sm" total={total} page={page} onChange={setPage} />
          </Tabs.Panel>
          <Tabs.Panel value="log" pt="sm">
            <RunLog log={log} height={260} label="Scrub log" />
          </Tabs.Panel>
        </Tabs>
      </Stack>
    </Modal>
  );
}

/**
 * Integrity scrub on the garbage collection page: run now, schedule, history with each
 * run's findings and log. A scrub re-hashes every stored blob and quarantines the ones whose
 * bytes are wrong or missing (pulls then get "blob unknown"; pushing the blob again heals it).
 */
export function ScrubPanel() {
  const [page, setPage] = useState(1);
  const [shown, setShown] = useState<number | null>(null);
  const { runs, stop } = useJobRuns<ScrubRun>('scrub', base, 'Scrub', page);
  const items = runs.data?.items ?? [];
  const active = items.some(isActive);
  const shownRun = items.find((r) => r.id === shown) ?? null;

  return (
    <Card withBorder padding="lg" radius="md" component="section" aria-labelledby="scrub-title">
      <Stack gap="md">
        <div>
          <Title order={2} size="h3" id="scrub-title">
            Integrity scrub
          </Title>
          <Text size="sm" c="dimmed">
            Re-reads every stored blob and checks its digest, and checks that every manifest's blobs are stored. A blob found wrong or
            missing is quarantined: pulls get “blob unknown” for it instead of wrong bytes, until it is pushed again.
          </Text>
        </div>
        <RunNow disabled={active} />
        <ScheduleForm />
        <RunHistory
          heading="Scrub history"
          label="Scrub history"
          errorTitle="Could not load the scrub history"
          emptyText="No scrub has run yet."
          runs={runs}
          page={page}
          onPage={setPage}
          kindText={kindText}
          columns={[
            { header: 'Started', cell: (run) => formatDateTime(run.results.start_time ?? run.creation_time) },
            { header: 'Took', cell: (run) => duration(run) },
            {
              header: 'Checked',
              cell: (run) => (
                <>
                  {run.results.blobs_checked}/{run.results.blobs_total} blobs, {formatBytes(run.results.bytes_checked)}
                </>
              ),
            },
            {
              header: 'Problems',
              cell: (run) => (
                <Badge variant="light" color={run.results.problems > 0 ? 'red' : 'green'}>
                  {run.results.problems}
                </Badge>
              ),
            },
          ]}
          noun="scrub"
          onDetails={(r) => setShown(r.id)}
          onStop={(r) => void stop(r)}
        />
      </Stack>
      <RunDetails run={shownRun} onClose={() => setShown(null)} />
    </Card>
  );
}
