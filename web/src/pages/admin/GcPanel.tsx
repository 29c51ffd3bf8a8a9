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
  Text,
  TextInput,
  Title,
  VisuallyHidden,
} from '@mantine/core';
import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { api, ApiError, errorText, segment } from '../../api/client';
import { SubmitError, useSubmission } from '../../components/FormDialog';
import { formatBytes, formatDateTime } from '../../lib/format';
import { notifyDone, notifyError } from '../../lib/notify';

/** A run as /system/gc answers it (Harbor's GCHistory). */
interface GcRun {
  id: number;
  job_kind: string;
  job_parameters: string;
  job_status: 'Pending' | 'Running' | 'Success' | 'Error' | 'Stopped';
  creation_time: string;
  update_time: string;
}

/** job_parameters, read: the parameters and, once it ran, the results. */
interface GcParameters {
  delete_untagged?: boolean;
  dry_run?: boolean;
  workers?: number;
  remove_empty_repositories?: boolean;
  time_window?: number;
  freed_space?: number;
  purged_blobs?: number;
  purged_manifests?: number;
  purged_links?: number;
  purged_orphans?: number;
  store_listed?: boolean;
  removed_repositories?: number;
  kept_blobs?: number;
  failed_blobs?: number;
  kept_artifacts?: number;
  mark_ms?: number;
  sweep_ms?: number;
}

interface GcSchedule {
  schedule: { type: string; cron: string; next_scheduled_time?: string };
  job_parameters: string;
}

const base = '/system/gc';
const pageSize = 10;

/** Harbor's portal sends these crons for its periodic schedule types. */
const presetCron: Record<string, string> = { Hourly: '0 0 * * * *', Daily: '0 0 0 * * *', Weekly: '0 0 0 * * 0' };

const statusColor: Record<GcRun['job_status'], string> = {
  Pending: 'gray',
  Running: 'blue',
  Success: 'green',
  Error: 'red',
  Stopped: 'orange',
};

const kindText: Record<string, string> = { MANUAL: 'By hand', SCHEDULE: 'Schedule' };

function parametersOf(run: { job_parameters: string }): GcParameters {
  try {
    return JSON.parse(run.job_parameters) as GcParameters;
  } catch {
    return {};
  }
}

function isActive(run: GcRun): boolean {
  return run.job_status === 'Pending' || run.job_status === 'Running';
}

function StatusBadge({ run }: { run: GcRun }) {
  return (
    <Badge variant="light" color={statusColor[run.job_status] ?? 'gray'} style={{ minWidth: 'max-content' }}>
      {run.job_status}
    </Badge>
  );
}

/** The options a run takes, shared by "run now" and the schedule. */
interface Options {
  deleteUntagged: boolean;
  removeEmpty: boolean;
  workers: number | string;
}

function optionsBody(o: Options) {
  return { delete_untagged: o.deleteUntagged, remove_empty_repositories: o.removeEmpty, workers: Number(o.workers) || 1 };
}

function OptionFields({ value, onChange, idPrefix }: { value: Options; onChange: (o: Options) => void; idPrefix: string }) {
  return (
    <>
      <Switch
        id={`${idPrefix}-untagged`}
        label="Delete untagged artifacts"
        description="Not signatures nor an index's images"
        checked={value.deleteUntagged}
        onChange={(e) => onChange({ ...value, deleteUntagged: e.currentTarget.checked })}
      />
      <Switch
        id={`${idPrefix}-empty`}
        label="Remove empty repositories"
        description="Left with no artifact"
        checked={value.removeEmpty}
        onChange={(e) => onChange({ ...value, removeEmpty: e.currentTarget.checked })}
      />
      <NumberInput
        id={`${idPrefix}-workers`}
        label="Workers"
        min={1}
        max={10}
        value={value.workers}
        onChange={(workers) => onChange({ ...value, workers })}
        w={110}
        allowDecimal={false}
      />
    </>
  );
}

/** Run now, or a dry run that only reports. */
function RunNow({ disabled }: { disabled: boolean }) {
  const queryClient = useQueryClient();
  const submission = useSubmission();
  const [options, setOptions] = useState<Options>({ deleteUntagged: false, removeEmpty: false, workers: 1 });

  function start(dryRun: boolean) {
    void submission.run(async () => {
      const { location } = await api.post(`${base}/schedule`, {
        schedule: { type: 'Manual' },
        parameters: { ...optionsBody(options), dry_run: dryRun },
      });
      notifyDone(`${dryRun ? 'Dry run' : 'Garbage collection'} ${location?.split('/').pop() ?? ''} started`);
      await queryClient.invalidateQueries({ queryKey: ['gc', 'runs'] });
    });
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    start(false);
  }

  return (
    <form onSubmit={submit} noValidate aria-label="Run garbage collection now">
      <Stack gap="sm">
        <SubmitError error={submission.error} title="Garbage collection did not start" />
        <Group align="flex-end" gap="md" wrap="wrap">
          <OptionFields value={options} onChange={setOptions} idPrefix="gc-now" />
        </Group>
        <Group gap="sm">
          <Button type="submit" loading={submission.busy} disabled={disabled}>
            GC now
          </Button>
          <Button variant="light" onClick={() => start(true)} loading={submission.busy} disabled={disabled}>
            Dry run
          </Button>
        </Group>
        {disabled && (
          <Text size="sm" c="dimmed">
            A garbage collection is already pending or running.
          </Text>
        )}
      </Stack>
    </form>
  );
}

/** The cron schedule: none, a preset, or a custom cron, with the options scheduled runs take. */
function ScheduleForm() {
  const queryClient = useQueryClient();
  // No schedule is an empty answer (as Harbor's): null here, since a query's data may not be undefined.
  const schedule = useQuery({
    queryKey: ['gc', 'schedule'],
    queryFn: async () => (await api.get<GcSchedule | undefined>(`${base}/schedule`)) ?? null,
  });
  const submission = useSubmission();
  const [type, setType] = useState('None');
  const [cron, setCron] = useState('');
  const [options, setOptions] = useState<Options>({ deleteUntagged: false, removeEmpty: false, workers: 1 });
  useEffect(() => {
    if (!schedule.data) return;
    setType(schedule.data.schedule.type);
    setCron(schedule.data.schedule.cron);
    const p = parametersOf(schedule.data);
    setOptions({ deleteUntagged: !!p.delete_untagged, removeEmpty: !!p.remove_empty_repositories, workers: p.workers ?? 1 });
  }, [schedule.data]);

  function submit(event: FormEvent) {
    event.preventDefault();
    void submission.run(async () => {
      const body =
        type === 'None'
          ? { schedule: { type } }
          : { schedule: { type, cron: type === 'Custom' ? cron.trim() : presetCron[type] }, parameters: optionsBody(options) };
      await api.put(`${base}/schedule`, body);
      notifyDone(type === 'None' ? 'GC schedule removed' : 'GC schedule saved');
      await queryClient.invalidateQueries({ queryKey: ['gc', 'schedule'] });
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
    <form onSubmit={submit} noValidate aria-label="Garbage collection schedule">
      <Stack gap="sm">
        <SubmitError error={submission.error} title="The schedule was not saved" />
        <Group align="flex-end" gap="md" wrap="wrap">
          <Select
            label="GC schedule"
            data={['None', 'Hourly', 'Daily', 'Weekly', 'Custom']}
            value={type}
            onChange={(value) => value && setType(value)}
            allowDeselect={false}
            w={140}
          />
          {type === 'Custom' && (
            <TextInput
              label="GC cron (UTC)"
              description="Seconds first: 0 30 2 * * *"
              value={cron}
              onChange={(e) => setCron(e.currentTarget.value)}
              w={220}
            />
          )}
          {type !== 'None' && <OptionFields value={options} onChange={setOptions} idPrefix="gc-schedule" />}
          <Button type="submit" variant="light" loading={submission.busy}>
            Save GC schedule
          </Button>
        </Group>
        <Text size="sm" c="dimmed">
          {schedule.data ? `Next GC: ${formatDateTime(next)} (${schedule.data.schedule.cron})` : 'No scheduled garbage collection.'}
        </Text>
      </Stack>
    </form>
  );
}

/** A run's parameters, counts and log. */
function RunDetails({ run, onClose }: { run: GcRun | null; onClose: () => void }) {
  const log = useQuery({
    queryKey: ['gc', 'log', run?.id, run?.job_status],
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
  const p = parametersOf(run);
  const would = p.dry_run ? 'Would free' : 'Freed';
  const counts: Array<[string, string | number]> = [
    [would, formatBytes(p.freed_space ?? 0)],
    [p.dry_run ? 'Blobs to sweep' : 'Blobs swept', p.purged_blobs ?? 0],
    [p.dry_run ? 'Untagged artifacts to delete' : 'Untagged artifacts deleted', p.purged_manifests ?? 0],
    ['Unused links removed', p.purged_links ?? 0],
    [
      p.dry_run ? 'Objects without a row to delete' : 'Objects without a row deleted',
      p.store_listed ? (p.purged_orphans ?? 0) : 'not listed',
    ],
    [p.dry_run ? 'Empty repositories to remove' : 'Empty repositories removed', p.removed_repositories ?? 0],
    ['Blobs in use again', p.kept_blobs ?? 0],
    ['Blobs that failed', p.failed_blobs ?? 0],
    ['Mark', `${p.mark_ms ?? 0} ms`],
    ['Sweep', `${p.sweep_ms ?? 0} ms`],
  ];
  const options = [
    p.dry_run ? 'dry run' : null,
    p.delete_untagged ? 'delete untagged' : null,
    p.remove_empty_repositories ? 'remove empty repositories' : null,
    `${p.workers ?? 1} worker${(p.workers ?? 1) === 1 ? '' : 's'}`,
    `window ${p.time_window ?? 2} h`,
  ].filter(Boolean);
  return (
    <Modal opened onClose={onClose} title={`Garbage collection ${run.id}`} size="xl" centered>
      <Stack gap="md">
        <Group gap="sm">
          <StatusBadge run={run} />
          <Text size="sm">{options.join(', ')}</Text>
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
        <Title order={3} size="h5">
          Log
        </Title>
        {log.isError ? (
          <Alert color="red" title="Could not load the log">
            {errorText(log.error)}
          </Alert>
        ) : (
          <ScrollArea h={260} type="auto" viewportProps={{ tabIndex: 0, 'aria-label': 'Garbage collection log' }}>
            <Code block style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-word' }}>
              {log.data ?? 'Loading…'}
            </Code>
          </ScrollArea>
        )}
      </Stack>
    </Modal>
  );
}

/**
 * Garbage collection: run now (or a dry run), the schedule, and the history with what each
 * run freed and its log. Online: pushes and pulls go on while it runs.
 */
export function GcPanel() {
  const queryClient = useQueryClient();
  const [page, setPage] = useState(1);
  const [shown, setShown] = useState<number | null>(null);
  const runs = useQuery({
    queryKey: ['gc', 'runs', page],
    queryFn: () => api.list<GcRun>(base, { page, pageSize }),
    placeholderData: keepPreviousData,
    // Follows a run while one is under way.
    refetchInterval: (query) => (query.state.data?.items.some(isActive) ? 1500 : false),
  });
  const items = runs.data?.items ?? [];
  const total = runs.data?.total ?? 0;
  const active = items.some(isActive);
  const shownRun = items.find((r) => r.id === shown) ?? null;

  async function stop(run: GcRun) {
    try {
      await api.put(`${base}/${segment(run.id)}`);
      notifyDone(`Garbage collection ${run.id} is stopping`);
      await queryClient.invalidateQueries({ queryKey: ['gc', 'runs'] });
    } catch (err) {
      notifyError(err, `Garbage collection ${run.id} was not stopped`);
    }
  }

  return (
    <Card withBorder padding="lg" radius="md" component="section" aria-labelledby="gc-title">
      <Stack gap="md">
        <div>
          <Title order={2} size="h3" id="gc-title">
            Reclaim storage
          </Title>
          <Text size="sm" c="dimmed">
            Frees the storage of blobs no artifact uses any more: what deleted artifacts and repositories held, and uploads no image was
            pushed with. The registry stays writable while it runs.
          </Text>
        </div>
        <RunNow disabled={active} />
        <ScheduleForm />
        <Title order={3} size="h4">
          GC history
        </Title>
        {runs.isError ? (
          <Alert color="red" title="Could not load the garbage collection history">
            {errorText(runs.error)}
          </Alert>
        ) : (
          <Table.ScrollContainer minWidth={640} scrollAreaProps={{ viewportProps: { tabIndex: 0 } }}>
            <Table striped highlightOnHover verticalSpacing="xs" aria-label="Garbage collection history">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Run</Table.Th>
                  <Table.Th>Status</Table.Th>
                  <Table.Th>Started by</Table.Th>
                  <Table.Th>Created</Table.Th>
                  <Table.Th>Freed</Table.Th>
                  <Table.Th>Blobs</Table.Th>
                  <Table.Th>
                    <VisuallyHidden>Actions</VisuallyHidden>
                  </Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {runs.isPending && (
                  <Table.Tr>
                    <Table.Td colSpan={7}>
                      <Skeleton height={14} />
                    </Table.Td>
                  </Table.Tr>
                )}
                {!runs.isPending && items.length === 0 && (
                  <Table.Tr>
                    <Table.Td colSpan={7}>
                      <Text c="dimmed" ta="center" py="md">
                        No garbage collection has run yet.
                      </Text>
                    </Table.Td>
                  </Table.Tr>
                )}
                {items.map((run) => {
                  const p = parametersOf(run);
                  return (
                    <Table.Tr key={run.id}>
                      <Table.Td>
                        {run.id}
                        {p.dry_run && (
                          <Badge ml="xs" variant="outline" color="gray" size="sm">
                            dry run
                          </Badge>
                        )}
                      </Table.Td>
                      <Table.Td>
                        <StatusBadge run={run} />
                      </Table.Td>
                      <Table.Td>{kindText[run.job_kind] ?? run.job_kind}</Table.Td>
                      <Table.Td>{formatDateTime(run.creation_time)}</Table.Td>
                      <Table.Td>
                        {p.freed_space === undefined ? '—' : `${p.dry_run ? 'would free ' : ''}${formatBytes(p.freed_space)}`}
                      </Table.Td>
                      <Table.Td>{p.purged_blobs ?? '—'}</Table.Td>
                      <Table.Td>
                        <Group gap="xs" wrap="nowrap">
                          <Button
                            size="compact-sm"
                            variant="light"
                            onClick={() => setShown(run.id)}
                            aria-label={`Details of garbage collection ${run.id}`}
                          >
                            Details
                          </Button>
                          {isActive(run) && (
                            <Button
                              size="compact-sm"
                              variant="light"
                              color="red"
                              onClick={() => void stop(run)}
                              aria-label={`Stop garbage collection ${run.id}`}
                            >
                              Stop
                            </Button>
                          )}
                        </Group>
                      </Table.Td>
                    </Table.Tr>
                  );
                })}
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
