import {
  Alert,
  Badge,
  Button,
  Card,
  Checkbox,
  Group,
  Modal,
  NumberInput,
  Select,
  SimpleGrid,
  Skeleton,
  Stack,
  Text,
  Title,
} from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, errorText } from '../../api/client';
import { SubmitError } from '../../components/FormDialog';
import { formatDateTime } from '../../lib/format';
import { fetchRunLog, isActive, RunCounts, StatusBadge, useJobRuns, type JobRun } from './JobRuns';
import { JobScheduleForm } from './JobScheduleForm';
import { RunHistory, RunLog, useStartRun } from './RunHistory';

/** job_parameters of a purge, read: what it was asked and, once it ran, how many records it purged (or would). */
interface PurgeParameters {
  audit_retention_hour?: number;
  include_event_types?: string;
  dry_run?: boolean;
  purged?: number;
}

interface PurgeSchedule {
  schedule: { type: string; cron: string; next_scheduled_time?: string };
  job_parameters: string;
}

const base = '/system/purgeaudit';

/** Harbor's "other": every event type but the artifact ones. */
const otherType = 'other';

function parametersOf(run: { job_parameters?: string }): PurgeParameters {
  try {
    return JSON.parse(run.job_parameters ?? '{}') as PurgeParameters;
  } catch {
    return {};
  }
}

/** 168 → "7 days", 5 → "5 hours". */
function retentionText(hours: number | undefined): string {
  if (hours === undefined) return '—';
  if (hours % 24 === 0) return `${hours / 24} day${hours === 24 ? '' : 's'}`;
  return `${hours} hour${hours === 1 ? '' : 's'}`;
}

/** "create_artifact" → "create artifact". */
function eventText(type: string): string {
  return type === otherType ? 'other events' : type.replace(/_/g, ' ');
}

/** The options a purge takes, shared by "purge now" and the schedule. */
interface Options {
  keep: number | string;
  unit: 'days' | 'hours';
  types: string[];
}

function optionsBody(o: Options) {
  const keep = Number(o.keep);
  return {
    audit_retention_hour: o.unit === 'days' ? keep * 24 : keep,
    include_event_types: o.types.join(','),
  };
}

function optionsOf(p: PurgeParameters, fallback: Options): Options {
  const hours = p.audit_retention_hour;
  if (hours === undefined) return fallback;
  const types = p.include_event_types === undefined ? fallback.types : p.include_event_types.split(',').filter(Boolean);
  return hours % 24 === 0 ? { keep: hours / 24, unit: 'days', types } : { keep: hours, unit: 'hours', types };
}

/** The event types the audit log records (/auditlog-exts/events), and Harbor's "other". */
function useEventTypes() {
  return useQuery({
    queryKey: ['audit-event-types'],
    queryFn: async () => [...(await api.get<{ event_type: string }[]>('/auditlog-exts/events')).map((e) => e.event_type), otherType],
    staleTime: Infinity,
  });
}

function OptionFields({
  value,
  onChange,
  idPrefix,
  eventTypes,
}: {
  value: Options;
  onChange: (o: Options) => void;
  idPrefix: string;
  eventTypes: string[];
}) {
  return (
    <Stack gap="sm" w="100%">
      <Group align="flex-end" gap="md" wrap="wrap">
        <NumberInput
          id={`${idPrefix}-keep`}
          label="Keep records of the last"
          min={1}
          value={value.keep}
          onChange={(keep) => onChange({ ...value, keep })}
          w={190}
          allowDecimal={false}
        />
        <Select
          id={`${idPrefix}-unit`}
          label="Unit"
          data={[
            { value: 'days', label: 'Days' },
            { value: 'hours', label: 'Hours' },
          ]}
          value={value.unit}
          onChange={(unit) => unit && onChange({ ...value, unit: unit as Options['unit'] })}
          allowDeselect={false}
          w={110}
        />
      </Group>
      <Checkbox.Group
        label="Purge records of these events"
        description="Older records of the events not chosen are kept"
        value={value.types}
        onChange={(types) => onChange({ ...value, types })}
      >
        <Group gap="xs" mt={6} mb={6}>
          <Button size="compact-xs" variant="subtle" onClick={() => onChange({ ...value, types: eventTypes })}>
            All
          </Button>
          <Button size="compact-xs" variant="subtle" onClick={() => onChange({ ...value, types: [] })}>
            None
          </Button>
        </Group>
        <SimpleGrid cols={{ base: 1, xs: 2, md: 3 }} spacing={6} verticalSpacing={6}>
          {eventTypes.map((type) => (
            <Checkbox key={type} id={`${idPrefix}-type-${type}`} value={type} label={eventText(type)} size="sm" />
          ))}
        </SimpleGrid>
      </Checkbox.Group>
    </Stack>
  );
}

/** Purge now, or a dry run that only counts. */
function PurgeNow({ disabled, eventTypes }: { disabled: boolean; eventTypes: string[] }) {
  const { submission, start: startRun } = useStartRun('purgeaudit', base);
  const [options, setOptions] = useState<Options>({ keep: 30, unit: 'days', types: eventTypes });

  function start(dryRun: boolean) {
    void startRun(dryRun ? 'Dry run' : 'Audit log purge', { ...optionsBody(options), dry_run: dryRun });
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    start(false);
  }

  return (
    <form onSubmit={submit} noValidate aria-label="Purge the audit log now">
      <Stack gap="sm">
        <SubmitError error={submission.error} title="The purge did not start" />
        <OptionFields value={options} onChange={setOptions} idPrefix="purge-now" eventTypes={eventTypes} />
        <Group gap="sm">
          <Button type="submit" loading={submission.busy} disabled={disabled}>
            Purge now
          </Button>
          <Button variant="light" onClick={() => start(true)} loading={submission.busy} disabled={disabled}>
            Dry run
          </Button>
        </Group>
        {disabled && (
          <Text size="sm" c="dimmed">
            A purge is already pending or running.
          </Text>
        )}
      </Stack>
    </form>
  );
}

/** The cron schedule with the options scheduled purges take. */
function ScheduleForm({ eventTypes }: { eventTypes: string[] }) {
  const [options, setOptions] = useState<Options>({ keep: 30, unit: 'days', types: eventTypes });
  return (
    <JobScheduleForm<PurgeSchedule>
      queryKey={['purgeaudit', 'schedule']}
      path={`${base}/schedule`}
      read={(answer) => answer?.schedule}
      onLoaded={(answer) => setOptions((o) => optionsOf(parametersOf(answer), o))}
      save={(schedule, saved) =>
        // A first schedule is created (POST), a saved one changed (PUT), as Harbor's portal does.
        (saved?.type ? api.put : api.post)(`${base}/schedule`, { schedule, parameters: optionsBody(options) })
      }
      extraFields={(type) =>
        type !== 'None' && <OptionFields value={options} onChange={setOptions} idPrefix="purge-schedule" eventTypes={eventTypes} />
      }
      formLabel="Audit log purge schedule"
      typeLabel="Purge schedule"
      cronLabel="Purge cron (UTC)"
      saveLabel="Save purge schedule"
      savedText="Purge schedule saved"
      removedText="Purge schedule removed"
      describe={(answer, saved) =>
        answer && saved?.type && saved.type !== 'None'
          ? `Next purge: ${formatDateTime(answer.schedule.next_scheduled_time)} (${answer.schedule.cron}), keeping ${retentionText(
              parametersOf(answer).audit_retention_hour,
            )}`
          : 'No scheduled purge.'
      }
    />
  );
}

/** A run's parameters, count and log. */
function RunDetails({ run, onClose }: { run: JobRun | null; onClose: () => void }) {
  const log = useQuery({
    queryKey: ['purgeaudit', 'log', run?.id, run?.job_status],
    queryFn: () => fetchRunLog(base, run!.id),
    enabled: run !== null,
  });
  if (!run) return null;
  const p = parametersOf(run);
  const types = (p.include_event_types ?? '').split(',').filter(Boolean);
  const counts: Array<[string, string | number]> = [
    [p.dry_run ? 'Records to purge' : 'Records purged', p.purged ?? '—'],
    ['Kept', `the last ${retentionText(p.audit_retention_hour)}`],
    ['Events', types.length === 0 ? 'none' : types.length],
  ];
  return (
    <Modal opened onClose={onClose} title={`Audit log purge ${run.id}`} size="xl" centered>
      <Stack gap="md">
        <Group gap="sm">
          <StatusBadge run={run} />
          {p.dry_run && (
            <Badge variant="outline" color="gray" size="sm">
              dry run
            </Badge>
          )}
        </Group>
        <RunCounts counts={counts} />
        {types.length > 0 && (
          <Text size="sm" style={{ overflowWrap: 'anywhere' }}>
            Events: {types.map(eventText).join(', ')}
          </Text>
        )}
        <Title order={3} size="h5">
          Log
        </Title>
        <RunLog log={log} height={220} label="Audit log purge log" />
      </Stack>
    </Modal>
  );
}

/**
 * Audit log rotation (Harbor's Clean Up › Log Rotation): purge records older than a
 * retention of the chosen event types now (or count them in a dry run), on a schedule, and
 * the history of purges with their counts and logs.
 */
export function AuditPurgePanel() {
  const [page, setPage] = useState(1);
  const [shown, setShown] = useState<number | null>(null);
  const { runs, stop } = useJobRuns<JobRun>('purgeaudit', base, 'Audit log purge', page);
  const eventTypes = useEventTypes();
  const items = runs.data?.items ?? [];
  const active = items.some(isActive);
  const shownRun = items.find((r) => r.id === shown) ?? null;

  return (
    <Card withBorder padding="lg" radius="md" component="section" aria-labelledby="purge-title">
      <Stack gap="md">
        <div>
          <Title order={2} size="h3" id="purge-title">
            Audit log rotation
          </Title>
          <Text size="sm" c="dimmed">
            Deletes audit log records older than the time kept, of the events chosen. A dry run only counts them.
          </Text>
        </div>
        {eventTypes.isPending ? (
          <Skeleton height={120} />
        ) : eventTypes.isError ? (
          <Alert color="red" title="Could not load the audit log's event types">
            {errorText(eventTypes.error)}
          </Alert>
        ) : (
          <>
            <PurgeNow disabled={active} eventTypes={eventTypes.data} />
            <ScheduleForm eventTypes={eventTypes.data} />
          </>
        )}
        <RunHistory
          heading="Purge history"
          label="Audit log purge history"
          errorTitle="Could not load the purge history"
          emptyText="No purge has run yet."
          runs={runs}
          page={page}
          onPage={setPage}
          dryRun={(run) => Boolean(parametersOf(run).dry_run)}
          columns={[
            { header: 'Created', cell: (run) => formatDateTime(run.creation_time) },
            { header: 'Kept', cell: (run) => retentionText(parametersOf(run).audit_retention_hour) },
            {
              header: 'Records',
              cell: (run) => {
                const p = parametersOf(run);
                return p.purged === undefined ? '—' : `${p.dry_run ? 'would purge ' : ''}${p.purged}`;
              },
            },
          ]}
          noun="audit log purge"
          onDetails={(r) => setShown(r.id)}
          onStop={(r) => void stop(r)}
        />
      </Stack>
      <RunDetails run={shownRun} onClose={() => setShown(null)} />
    </Card>
  );
}
