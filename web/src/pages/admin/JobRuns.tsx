// What the run histories of garbage collection and scrub share: the runs followed while one
// is under way, Stop, the status badge, the details and stop buttons, the log and the counts.
import { Badge, Button, Group, Pagination, SimpleGrid, Skeleton, Table, Text } from '@mantine/core';
import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, segment } from '../../api/client';
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

  async function stop(run: Run) {
    try {
      await api.put(`${base}/${segment(run.id)}`);
      notifyDone(`${noun} ${run.id} is stopping`);
      await queryClient.invalidateQueries({ queryKey: [name, 'runs'] });
    } catch (err) {
      notifyError(err, `${noun} ${run.id} was not stopped`);
    }
  }

  return { runs, stop };
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
  return (
    <Group gap="xs" wrap="nowrap">
      <Button size="compact-sm" variant="light" onClick={() => onDetails(run)} aria-label={`Details of ${noun} ${run.id}`}>
        Details
      </Button>
      {isActive(run) && (
        <Button size="compact-sm" variant="light" color="red" onClick={() => onStop(run)} aria-label={`Stop ${noun} ${run.id}`}>
          Stop
        </Button>
      )}
    </Group>
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
