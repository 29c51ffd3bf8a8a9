// What the panels of garbage collection, audit log purge and scrub do alike: start a run now,
// the history table of runs and a run's log in its details.
import { Alert, Badge, Code, ScrollArea, Table, Title, VisuallyHidden } from '@mantine/core';
import { useQueryClient } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { api, errorText } from '../../api/client';
import { useSubmission } from '../../components/FormDialog';
import { notifyDone } from '../../lib/notify';
import { HistoryPlaceholder, RunActions, RunPagination, StatusBadge, type JobRun } from './JobRuns';

/**
 * Starts a run under `base` now (schedule type Manual) with `parameters`, then refreshes the
 * runs of `name` (useJobRuns); `noun` names it in the notification ("Scrub 3 started").
 */
export function useStartRun(name: string, base: string) {
  const queryClient = useQueryClient();
  const submission = useSubmission();
  const start = (noun: string, parameters: Record<string, unknown>) =>
    submission.run(async () => {
      const { location } = await api.post(`${base}/schedule`, { schedule: { type: 'Manual' }, parameters });
      notifyDone(`${noun} ${location?.split('/').pop() ?? ''} started`);
      await queryClient.invalidateQueries({ queryKey: [name, 'runs'] });
    });
  return { submission, start };
}

const defaultKindText: Record<string, string> = { MANUAL: 'By hand', SCHEDULE: 'Schedule' };

/** A column of the history after Run, Status and Started by. */
export interface RunColumn<Run> {
  header: string;
  cell: (run: Run) => ReactNode;
}

/**
 * A job's history: its heading, the table of runs (Run, with a "dry run" badge where `dryRun`
 * says so; Status; Started by; then `columns`; then Details and Stop) and its pages.
 */
export function RunHistory<Run extends JobRun>({
  heading,
  label,
  errorTitle,
  emptyText,
  runs,
  page,
  onPage,
  columns,
  dryRun,
  kindText = defaultKindText,
  noun,
  onDetails,
  onStop,
}: {
  heading: string;
  /** The table's accessible name. */
  label: string;
  errorTitle: string;
  emptyText: string;
  runs: { isPending: boolean; isError: boolean; error: unknown; data?: { items: Run[]; total: number } };
  page: number;
  onPage: (page: number) => void;
  columns: RunColumn<Run>[];
  dryRun?: (run: Run) => boolean;
  kindText?: Record<string, string>;
  /** Names a run for screen readers ("Stop scrub 3"). */
  noun: string;
  onDetails: (run: Run) => void;
  onStop: (run: Run) => void;
}) {
  const items = runs.data?.items ?? [];
  const total = runs.data?.total ?? 0;
  return (
    <>
      <Title order={3} size="h4">
        {heading}
      </Title>
      {runs.isError ? (
        <Alert color="red" title={errorTitle}>
          {errorText(runs.error)}
        </Alert>
      ) : (
        <Table.ScrollContainer minWidth={640} scrollAreaProps={{ viewportProps: { tabIndex: 0 } }}>
          <Table striped highlightOnHover verticalSpacing="xs" aria-label={label}>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Run</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th>Started by</Table.Th>
                {columns.map((c) => (
                  <Table.Th key={c.header}>{c.header}</Table.Th>
                ))}
                <Table.Th>
                  <VisuallyHidden>Actions</VisuallyHidden>
                </Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              <HistoryPlaceholder pending={runs.isPending} empty={items.length === 0} columns={columns.length + 4} emptyText={emptyText} />
              {items.map((run) => (
                <Table.Tr key={run.id}>
                  <Table.Td>
                    {run.id}
                    {dryRun?.(run) && (
                      <Badge ml="xs" variant="outline" color="gray" size="sm">
                        dry run
                      </Badge>
                    )}
                  </Table.Td>
                  <Table.Td>
                    <StatusBadge run={run} />
                  </Table.Td>
                  <Table.Td>{kindText[run.job_kind] ?? run.job_kind}</Table.Td>
                  {columns.map((c) => (
                    <Table.Td key={c.header}>{c.cell(run)}</Table.Td>
                  ))}
                  <Table.Td>
                    <RunActions run={run} noun={noun} onDetails={onDetails} onStop={onStop} />
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <RunPagination total={total} page={page} onChange={onPage} />
    </>
  );
}

/** A run's log in its details, in a scroll area `height` high named `label`. */
export function RunLog({
  log,
  height,
  label,
}: {
  log: { isError: boolean; error: unknown; data?: string };
  height: number;
  label: string;
}) {
  if (log.isError)
    return (
      <Alert color="red" title="Could not load the log">
        {errorText(log.error)}
      </Alert>
    );
  return (
    <ScrollArea h={height} type="auto" viewportProps={{ tabIndex: 0, 'aria-label': label }}>
      {/* Wrapped: the scroll area is the one scrollable (and focusable) region. */}
      <Code block style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-word' }}>
        {log.data ?? 'Loading…'}
      </Code>
    </ScrollArea>
  );
}
