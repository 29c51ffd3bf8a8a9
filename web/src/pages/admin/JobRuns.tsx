// What the run histories of garbage collection and scrub share: the runs followed while one
// is under way, Stop, the status badge, the details and stop buttons, the log and the counts;
// and what the executions of replication and preheat share with them: Stop, the buttons, the
// counts, a task's log.
import { Badge, Button, Code, Group, Pagination, ScrollArea, SimpleGrid, Skeleton, Stack, Table, Text } from '@mantine/core';
import { keepPreviousData, useQuery, useQueryClient, type UseQueryResult } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { api, segment } from '../../api/client';
import type { Column } from '../../components/DataTable';
import { ErrorAlert } from '../../components/ErrorAlert';
import { notifyDone, notifyError } from '../../lib/notify';

export const runsPageSize = 10;

/** A run as Harbor's GCHistory shape has it. */
export interface JobRun {
  id: number;
  job_kind: string;
  job_parameters: string;
  job_status: 'Pending' | 'Running' | 'Success' | 'Error' | 'Stopped';
  creation_time: string;
  update_time: string;
}

const statusColor: Record<JobRun['job_status'], string> = {
  Pending: 'gray',
  Running: 'blue',
  Success: 'green',
  Error: 'red',
  Stopped: 'orange',
};

export function isActive(run: JobRun): boolean {
  return run.job_status === 'Pending' || run.job_status === 'Running';
}

export function StatusBadge({ run }: { run: JobRun }) {
  return (
    // Never cut to "SUC…" in a narrow column.
    <Badge variant="light" color={statusColor[run.job_status] ?? 'gray'} style={{ minWidth: 'max-content' }}>
      {run.job_status}
    </Badge>
  );
}

/**
 * A page of the runs under `base` (query key [name, 'runs', page]), followed while one is
 * under way, and Stop; `noun` names a run in the notifications ("Scrub 3 is stopping").
 */
export function useJobRuns<Run extends JobRun>(name: string, base: string, noun: string, page: number) {
  const queryClient = useQueryClient();
  const runs = useQuery({
    queryKey: [name, 'runs', page],
    queryFn: () => api.list<Run>(base, { page, pageSize: runsPageSize }),
    placeholderData: keepPreviousData,
    refetchInterval: (query) => (query.state.data?.items.some(isActive) ? 1500 : false),
  });

  const stop = (run: Run) =>
    stopRun(
      noun,
      run.id,
      () => api.put(`${base}/${segment(run.id)}`),
      () => queryClient.invalidateQueries({ queryKey: [name, 'runs'] }),
    );

  return { runs, stop };
}

/** Stops run `id` by `request`, then `refresh`es; `noun` names it in the notifications ("Execution 3 is stopping"). */
export async function stopRun(noun: string, id: number, request: () => Promise<unknown>, refresh: () => Promise<unknown>) {
  try {
    await request();
    notifyDone(`${noun} ${id} is stopping`);
    await refresh();
  } catch (err) {
    notifyError(err, `${noun} ${id} was not stopped`);
  }
}

/** A run's log, as text (the log is not JSON; a failure is Harbor's error body). */
export async function fetchRunLog(base: string, id: number): Promise<string> {
  return api.text(`${base}/${id}/log`);
}

/** The history's first rows while it loads or when it is empty. */
export function HistoryPlaceholder({
  pending,
  empty,
  columns,
  emptyText,
}: {
  pending: boolean;
  empty: boolean;
  columns: number;
  emptyText: string;
}) {
  if (pending)
    return (
      <Table.Tr>
        <Table.Td colSpan={columns}>
          <Skeleton height={14} />
        </Table.Td>
      </Table.Tr>
    );
  if (!empty) return null;
  return (
    <Table.Tr>
      <Table.Td colSpan={columns}>
        <Text c="dimmed" ta="center" py="md">
          {emptyText}
        </Text>
      </Table.Td>
    </Table.Tr>
  );
}

/** Details, and Stop while the run is under way; `noun` names the run for screen readers. */
export function RunActions<Run extends JobRun>({
  run,
  noun,
  onDetails,
  onStop,
}: {
  run: Run;
  noun: string;
  onDetails: (run: Run) => void;
  onStop: (run: Run) => void;
}) {
  return <RunButtons id={run.id} noun={noun} stoppable={isActive(run)} onDetails={() => onDetails(run)} onStop={() => onStop(run)} />;
}

/**
 * The `details` button ("Details" unless told; named "Details of execution 3" for screen
 * readers), and Stop when `stoppable`.
 */
export function RunButtons({
  id,
  noun,
  details = 'Details',
  stoppable,
  onDetails,
  onStop,
}: {
  id: number;
  noun: string;
  details?: string;
  stoppable: boolean;
  onDetails: () => void;
  onStop: () => void;
}) {
  return (
    <Group gap="xs" wrap="nowrap">
      <Button size="compact-sm" variant="light" onClick={onDetails} aria-label={`${details} of ${noun} ${id}`}>
        {details}
      </Button>
      {stoppable && (
        <Button size="compact-sm" variant="light" color="red" onClick={onStop} aria-label={`Stop ${noun} ${id}`}>
          Stop
        </Button>
      )}
    </Group>
  );
}

/** A tasks table's "Log" column: its button shows the task's log (TaskLog). */
export function taskLogColumn<Task extends { id: number }>(show: (task: Task) => void): Column<Task> {
  return {
    key: 'log',
    header: 'Log',
    render: (t) => (
      <Button size="compact-sm" variant="light" onClick={() => show(t)} aria-label={`Show the log of task ${t.id}`}>
        Log
      </Button>
    ),
  };
}

/** A task's log under its tasks table, wrapped, in a scroll area at most `mah` high. */
export function TaskLog({ id, title, log, mah }: { id: number; title: ReactNode; log: UseQueryResult<string>; mah: number }) {
  return (
    <Stack gap={4}>
      <Text size="sm" fw={600}>
        {title}
      </Text>
      {log.isError && <ErrorAlert title="Could not load the log" error={log.error} />}
      <ScrollArea.Autosize mah={mah} viewportProps={{ tabIndex: 0 }}>
        <Code block aria-label={`Log of task ${id}`} style={{ whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }}>
          {log.data ?? 'Loading…'}
        </Code>
      </ScrollArea.Autosize>
    </Stack>
  );
}

/** Pages of `pageSize` rows, shown once there is more than one. */
export function RunPagination({
  total,
  page,
  onChange,
  mt,
}: {
  total: number;
  page: number;
  onChange: (page: number) => void;
  mt?: string;
}) {
  if (total <= runsPageSize) return null;
  return (
    <Pagination
      mt={mt}
      total={Math.ceil(total / runsPageSize)}
      value={page}
      onChange={onChange}
      size="sm"
      getControlProps={(control) => ({ 'aria-label': `${control} page` })}
      getItemProps={(p) => ({ 'aria-label': `Page ${p}` })}
    />
  );
}

/** A run's counts, label over value. */
export function RunCounts({ counts }: { counts: Array<[string, string | number]> }) {
  return (
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
  );
}
