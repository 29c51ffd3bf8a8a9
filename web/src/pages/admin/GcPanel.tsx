import { Button, Card, Group, Modal, NumberInput, Stack, Switch, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api } from '../../api/client';
import { SubmitError } from '../../components/FormDialog';
import { formatBytes, formatDateTime } from '../../lib/format';
import { fetchRunLog, isActive, RunCounts, StatusBadge, useJobRuns, type JobRun } from './JobRuns';
import { JobScheduleForm } from './JobScheduleForm';
import { RunHistory, RunLog, useStartRun } from './RunHistory';

/** A run as /system/gc answers it (Harbor's GCHistory). */
type GcRun = JobRun;

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

function parametersOf(run: { job_parameters: string }): GcParameters {
  try {
    return JSON.parse(run.job_parameters) as GcParameters;
  } catch {
    return {};
  }
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
  const { submission, start: startRun } = useStartRun('gc', base);
  const [options, setOptions] = useState<Options>({ deleteUntagged: false, removeEmpty: false, workers: 1 });

  function start(dryRun: boolean) {
    void startRun(dryRun ? 'Dry run' : 'Garbage collection', { ...optionsBody(options), dry_run: dryRun });
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
  const [options, setOptions] = useState<Options>({ deleteUntagged: false, removeEmpty: false, workers: 1 });
  return (
    <JobScheduleForm<GcSchedule>
      queryKey={['gc', 'schedule']}
      path={`${base}/schedule`}
      read={(answer) => answer?.schedule}
      onLoaded={(answer) => {
        const p = parametersOf(answer);
        setOptions({ deleteUntagged: !!p.delete_untagged, removeEmpty: !!p.remove_empty_repositories, workers: p.workers ?? 1 });
      }}
      save={(schedule) =>
        api.put(`${base}/schedule`, schedule.type === 'None' ? { schedule } : { schedule, parameters: optionsBody(options) })
      }
      extraFields={(type) => type !== 'None' && <OptionFields value={options} onChange={setOptions} idPrefix="gc-schedule" />}
      formLabel="Garbage collection schedule"
      typeLabel="GC schedule"
      cronLabel="GC cron (UTC)"
      saveLabel="Save GC schedule"
      savedText="GC schedule saved"
      removedText="GC schedule removed"
      describe={(answer) =>
        answer
          ? `Next GC: ${formatDateTime(answer.schedule.next_scheduled_time)} (${answer.schedule.cron})`
          : 'No scheduled garbage collection.'
      }
    />
  );
}

/** A run's parameters, counts and log. */
function RunDetails({ run, onClose }: { run: GcRun | null; onClose: () => void }) {
  const log = useQuery({
    queryKey: ['gc', 'log', run?.id, run?.job_status],
    queryFn: () => fetchRunLog(base, run!.id),
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
        <RunCounts counts={counts} />
        <Title order={3} size="h5">
          Log
        </Title>
        <RunLog log={log} height={260} label="Garbage collection log" />
      </Stack>
    </Modal>
  );
}

/**
 * Garbage collection: run now (or a dry run), the schedule, and the history with what each
 * run freed and its log. Online: pushes and pulls go on while it runs.
 */
export function GcPanel() {
  const [page, setPage] = useState(1);
  const [shown, setShown] = useState<number | null>(null);
  const { runs, stop } = useJobRuns<GcRun>('gc', base, 'Garbage collection', page);
  const items = runs.data?.items ?? [];
  const active = items.some(isActive);
  const shownRun = items.find((r) => r.id === shown) ?? null;

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
        <RunHistory
          heading="GC history"
          label="Garbage collection history"
          errorTitle="Could not load the garbage collection history"
          emptyText="No garbage collection has run yet."
          runs={runs}
          page={page}
          onPage={setPage}
          dryRun={(run) => Boolean(parametersOf(run).dry_run)}
          columns={[
            { header: 'Created', cell: (run) => formatDateTime(run.creation_time) },
            {
              header: 'Freed',
              cell: (run) => {
                const p = parametersOf(run);
                return p.freed_space === undefined ? '—' : `${p.dry_run ? 'would free ' : ''}${formatBytes(p.freed_space)}`;
              },
            },
            { header: 'Blobs', cell: (run) => parametersOf(run).purged_blobs ?? '—' },
          ]}
          noun="garbage collection"
          onDetails={(r) => setShown(r.id)}
          onStop={(r) => void stop(r)}
        />
      </Stack>
      <RunDetails run={shownRun} onClose={() => setShown(null)} />
    </Card>
  );
}
