import {
  Alert,
  Badge,
  Button,
  Card,
  Code,
  Group,
  Modal,
  NumberInput,
  Pagination,
  ScrollArea,
  Select,
  SimpleGrid,
  Skeleton,
  Stack,
  Switch,
  Table,
  Tabs,
  Text,
  TextInput,
  Title,
  VisuallyHidden,
} from '@mantine/core';
import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { api, ApiError, errorText, segment } from '../../api/client';
import { SubmitError, useSubmission } from '../../components/FormDialog';
import { formatBytes, formatDateTime, shortDigest } from '../../lib/format';
import { notifyDone, notifyError } from '../../lib/notify';

/** A scrub run as /system/scrub answers it (Harbor's GCHistory shape plus Berth's results). */
interface ScrubRun {
  id: number;
  job_kind: string;
  job_parameters: string;
  job_status: 'Pending' | 'Running' | 'Success' | 'Error' | 'Stopped';
  creation_time: string;
  update_time: string;
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
const pageSize = 10;

/** Harbor's portal sends these crons for its periodic schedule types. */
const presetCron: Record<string, string> = { Hourly: '0 0 * * * *', Daily: '0 0 0 * * *', Weekly: '0 0 0 * * 0' };

const statusColor: Record<ScrubRun['job_status'], string> = {
  Pending: 'gray',
  Running: 'blue',
  Success: 'green',
  Error: 'red',
  Stopped: 'orange',
};

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

function isActive(run: ScrubRun): boolean {
  return run.job_status === 'Pending' || run.job_status === 'Running';
}

function duration(run: ScrubRun): string {
  const { start_time, end_time } = run.results;
  if (!start_time) return '—';
  const ms = (end_time ? Date.parse(end_time) : Date.now()) - Date.parse(start_time);
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function StatusBadge({ run }: { run: ScrubRun }) {
  return (
    // Never cut to "SUC…" in a narrow column.
    <Badge variant="light" color={statusColor[run.job_status] ?? 'gray'} style={{ minWidth: 'max-content' }}>
      {run.job_status}
    </Badge>
  );
}

/** Run now: the parameters a run takes. */
function RunNow({ disabled }: { disabled: boolean }) {
  const queryClient = useQueryClient();
  const submission = useSubmission();
  const [workers, setWorkers] = useState<number | string>(4);
  const [quarantine, setQuarantine] = useState(true);

  function submit(event: FormEvent) {
    event.preventDefault();
    void submission.run(async () => {
      const { location } = await api.post(`${base}/schedule`, {
        schedule: { type: 'Manual' },
        parameters: { workers: Number(workers), quarantine },
      });
      notifyDone(`Scrub ${location?.split('/').pop() ?? ''} started`);
      await queryClient.invalidateQueries({ queryKey: ['scrub', 'runs'] });
    });
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
  const queryClient = useQueryClient();
  // No schedule is an empty answer (as Harbor's GC): null here, since a query's data may not be undefined.
  const schedule = useQuery({
    queryKey: ['scrub', 'schedule'],
    queryFn: async () => (await api.get<ScrubSchedule | undefined>(`${base}/schedule`)) ?? null,
  });
  const submission = useSubmission();
  const [type, setType] = useState('None');
  const [cron, setCron] = useState('');
  useEffect(() => {
    if (!schedule.data) return;
    setType(schedule.data.schedule.type);
    setCron(schedule.data.schedule.cron);
  }, [schedule.data]);

  function submit(event: FormEvent) {
    event.preventDefault();
    void submission.run(async () => {
      const body =
        type === 'None' ? { schedule: { type } } : { schedule: { type, cron: type === 'Custom' ? cron.trim() : presetCron[type] } };
      await api.put(`${base}/schedule`, body);
      notifyDone(type === 'None' ? 'Scrub schedule removed' : 'Scrub schedule saved');
      await queryClient.invalidateQueries({ queryKey: ['scrub', 'schedule'] });
    });
  }

  if (schedule.isPending) return <Skeleton height={60} />;
  if (schedule.isError)
    return (
      <Alert color="red" title="Could not load the schedule">
        {errorText(schedule.error)}
      </Alert>
    );
  const next = schedule.data?.schedule.next_scheduled_time;
  return (
    <form onSubmit={submit} noValidate aria-label="Scrub schedule">
      <Stack gap="sm">
        <SubmitError error={submission.error} title="The schedule was not saved" />
        <Group align="flex-end" gap="md" wrap="wrap">
          <Select
            label="Schedule"
            data={['None', 'Hourly', 'Daily', 'Weekly', 'Custom']}
            value={type}
            onChange={(value) => value && setType(value)}
            allowDeselect={false}
            w={140}
          />
          {type === 'Custom' && (
            <TextInput
              label="Cron (UTC)"
              description="Seconds first: 0 30 2 * * *"
              value={cron}
              onChange={(e) => setCron(e.currentTarget.value)}
              w={220}
            />
          )}
          <Button type="submit" variant="light" loading={submission.busy}>
            Save schedule
          </Button>
        </Group>
        <Text size="sm" c="dimmed">
          {schedule.data ? `Next run: ${formatDateTime(next)} (${schedule.data.schedule.cron})` : 'No scheduled scrub.'}
        </Text>
      </Stack>
    </form>
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
    queryFn: async () => {
      const res = await fetch(`/api/v2.0${base}/${run!.id}/log`, { credentials: 'same-origin' });
      if (!res.ok) {
        const first = (await res.json().catch(() => null))?.errors?.[0];
        throw new ApiError(res.status, first?.code ?? 'UNKNOWN', first?.message ?? `HTTP ${res.status}`);
      }
      return res.text();
    },
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
        <SimpleGrid cols={{ base: 2, sm: 3 }} spacing="xs">
          {counts.map(([label, value]) => (
            <div key={label}>
              <Text size="xs" c="dimmed">
                {label}
              </Text>
              <Text size="sm" fw={600}>
                {value}
              </Text>
            </div>
          ))}
        </SimpleGrid>
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
            {total > pageSize && (
              <Pagination
                mt="sm"
                total={Math.ceil(total / pageSize)}
                value={page}
                onChange={setPage}
                size="sm"
                getControlProps={(control) => ({ 'aria-label': `${control} page` })}
                getItemProps={(p) => ({ 'aria-label': `Page ${p}` })}
              />
            )}
          </Tabs.Panel>
          <Tabs.Panel value="log" pt="sm">
            {log.isError ? (
              <Alert color="red" title="Could not load the log">
                {errorText(log.error)}
              </Alert>
            ) : (
              <ScrollArea h={260} type="auto" viewportProps={{ tabIndex: 0, 'aria-label': 'Scrub log' }}>
                {/* Wrapped: the scroll area is the one scrollable (and focusable) region. */}
                <Code block style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-word' }}>
                  {log.data ?? 'Loading…'}
                </Code>
              </ScrollArea>
            )}
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
  const queryClient = useQueryClient();
  const [page, setPage] = useState(1);
  const [shown, setShown] = useState<number | null>(null);
  const runs = useQuery({
    queryKey: ['scrub', 'runs', page],
    queryFn: () => api.list<ScrubRun>(base, { page, pageSize }),
    placeholderData: keepPreviousData,
    // Follows a run while one is under way.
    refetchInterval: (query) => (query.state.data?.items.some(isActive) ? 1500 : false),
  });
  const items = runs.data?.items ?? [];
  const total = runs.data?.total ?? 0;
  const active = items.some(isActive);
  const shownRun = items.find((r) => r.id === shown) ?? null;

  async function stop(run: ScrubRun) {
    try {
      await api.put(`${base}/${segment(run.id)}`);
      notifyDone(`Scrub ${run.id} is stopping`);
      await queryClient.invalidateQueries({ queryKey: ['scrub', 'runs'] });
    } catch (err) {
      notifyError(err, `Scrub ${run.id} was not stopped`);
    }
  }

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
        <Title order={3} size="h4">
          Scrub history
        </Title>
        {runs.isError ? (
          <Alert color="red" title="Could not load the scrub history">
            {errorText(runs.error)}
          </Alert>
        ) : (
          <Table.ScrollContainer minWidth={640} scrollAreaProps={{ viewportProps: { tabIndex: 0 } }}>
            <Table striped highlightOnHover verticalSpacing="xs" aria-label="Scrub history">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Run</Table.Th>
                  <Table.Th>Status</Table.Th>
                  <Table.Th>Started by</Table.Th>
                  <Table.Th>Started</Table.Th>
                  <Table.Th>Took</Table.Th>
                  <Table.Th>Checked</Table.Th>
                  <Table.Th>Problems</Table.Th>
                  <Table.Th>
                    <VisuallyHidden>Actions</VisuallyHidden>
                  </Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {runs.isPending && (
                  <Table.Tr>
                    <Table.Td colSpan={8}>
                      <Skeleton height={14} />
                    </Table.Td>
                  </Table.Tr>
                )}
                {!runs.isPending && items.length === 0 && (
                  <Table.Tr>
                    <Table.Td colSpan={8}>
                      <Text c="dimmed" ta="center" py="md">
                        No scrub has run yet.
                      </Text>
                    </Table.Td>
                  </Table.Tr>
                )}
                {items.map((run) => (
                  <Table.Tr key={run.id}>
                    <Table.Td>{run.id}</Table.Td>
                    <Table.Td>
                      <StatusBadge run={run} />
                    </Table.Td>
                    <Table.Td>{kindText[run.job_kind] ?? run.job_kind}</Table.Td>
                    <Table.Td>{formatDateTime(run.results.start_time ?? run.creation_time)}</Table.Td>
                    <Table.Td>{duration(run)}</Table.Td>
                    <Table.Td>
                      {run.results.blobs_checked}/{run.results.blobs_total} blobs, {formatBytes(run.results.bytes_checked)}
                    </Table.Td>
                    <Table.Td>
                      <Badge variant="light" color={run.results.problems > 0 ? 'red' : 'green'}>
                        {run.results.problems}
                      </Badge>
                    </Table.Td>
                    <Table.Td>
                      <Group gap="xs" wrap="nowrap">
                        <Button
                          size="compact-sm"
                          variant="light"
                          onClick={() => setShown(run.id)}
                          aria-label={`Details of scrub ${run.id}`}
                        >
                          Details
                        </Button>
                        {isActive(run) && (
                          <Button
                            size="compact-sm"
                            variant="light"
                            color="red"
                            onClick={() => void stop(run)}
                            aria-label={`Stop scrub ${run.id}`}
                          >
                            Stop
                          </Button>
                        )}
                      </Group>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
        {total > pageSize && (
          <Pagination
            total={Math.ceil(total / pageSize)}
            value={page}
            onChange={setPage}
            size="sm"
            getControlProps={(control) => ({ 'aria-label': `${control} page` })}
            getItemProps={(p) => ({ 'aria-label': `Page ${p}` })}
          />
        )}
      </Stack>
      <RunDetails run={shownRun} onClose={() => setShown(null)} />
    </Card>
  );
}
