// One replication execution: its counts and status, Stop while it runs, its tasks (one per
// artifact) with their logs (text, read through api.text).
import { Alert, Badge, Button, Group, Modal, SegmentedControl, Stack, Text } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, segment } from '../../api/client';
import { DataTable, type Column, type TableRequest } from '../../components/DataTable';
import { ErrorAlert } from '../../components/ErrorAlert';
import { formatDateTime } from '../../lib/format';
import { RunCounts, stopRun, TaskLog, taskLogColumn } from '../admin/JobRuns';
import {
  duration,
  executionActive,
  replicationKeys,
  replicationStatusColor,
  triggerNames,
  type ReplicationExecution,
  type ReplicationTask,
} from './model';

export function ReplicationStatus({ status }: { status: string }) {
  return (
    <Badge variant="light" color={replicationStatusColor[status] ?? 'gray'} tt="none" style={{ minWidth: 'max-content' }}>
      {status === 'InProgress' ? 'In progress' : status}
    </Badge>
  );
}

/** Stops an execution (Harbor's PUT /replication/executions/{id}). */
export function stopExecution(execution: Pick<ReplicationExecution, 'id'>, refresh: () => Promise<unknown>) {
  return stopRun('Execution', execution.id, () => api.put(`/replication/executions/${segment(execution.id)}`), refresh);
}

const taskStatuses = ['All', 'InProgress', 'Succeed', 'Failed', 'Stopped', 'Pending'];

export function ExecutionDialog({ executionId, onClose }: { executionId: number; onClose: () => void }) {
  const client = useQueryClient();
  const [status, setStatus] = useState('All');
  const [logOf, setLogOf] = useState<ReplicationTask | null>(null);
  const execution = useQuery({
    queryKey: [...replicationKeys.executions, 'one', executionId],
    queryFn: () => api.get<ReplicationExecution>(`/replication/executions/${segment(executionId)}`),
    refetchInterval: (q) => (q.state.data && executionActive(q.state.data.status) ? 1500 : false),
  });
  const log = useQuery({
    queryKey: [...replicationKeys.executions, 'log', executionId, logOf?.id],
    enabled: logOf !== null,
    queryFn: () => api.text(`/replication/executions/${segment(executionId)}/tasks/${segment(logOf!.id)}/log`),
    refetchInterval: logOf && executionActive(logOf.status) ? 2000 : false,
  });
  const e = execution.data;
  const refresh = () => client.invalidateQueries({ queryKey: replicationKeys.executions });

  const columns: Column<ReplicationTask>[] = [
    { key: 'id', header: 'Task', render: (t) => t.id },
    { key: 'type', header: 'Resource type', visibleFrom: 'md', render: (t) => t.resource_type ?? '—' },
    {
      key: 'src',
      header: 'Source',
      render: (t) => (
        <Text size="sm" ff="monospace" style={{ overflowWrap: 'anywhere' }}>
          {t.src_resource ?? '—'}
        </Text>
      ),
    },
    {
      key: 'dst',
      header: 'Destination',
      visibleFrom: 'sm',
      render: (t) => (
        <Text size="sm" ff="monospace" style={{ overflowWrap: 'anywhere' }}>
          {t.dst_resource ?? '—'}
        </Text>
      ),
    },
    { key: 'operation', header: 'Operation', visibleFrom: 'md', render: (t) => t.operation ?? '—' },
    { key: 'status', header: 'Status', render: (t) => <ReplicationStatus status={t.status} /> },
    { key: 'start', header: 'Started', visibleFrom: 'lg', render: (t) => <Text size="sm">{formatDateTime(t.start_time)}</Text> },
    { key: 'duration', header: 'Duration', visibleFrom: 'lg', render: (t) => <Text size="sm">{duration(t.start_time, t.end_time)}</Text> },
    taskLogColumn<ReplicationTask>(setLogOf),
  ];

  return (
    <Modal opened onClose={onClose} title={`Replication execution ${executionId}`} size="90rem" centered>
      <Stack gap="md">
        {execution.isError && <ErrorAlert title="Could not load the execution" error={execution.error} />}
        {e && (
          <>
            <Group justify="space-between" wrap="wrap" gap="sm">
              <Group gap="sm" wrap="wrap">
                <ReplicationStatus status={e.status} />
                <Text size="sm">
                  {triggerNames[e.trigger] ?? e.trigger} · started {formatDateTime(e.start_time)} · {duration(e.start_time, e.end_time)}
                </Text>
              </Group>
              {executionActive(e.status) && (
                <Button size="xs" color="red" variant="light" onClick={() => void stopExecution(e, refresh)}>
                  Stop
                </Button>
              )}
            </Group>
            {e.status_text && (
              <Alert color={e.status === 'Failed' ? 'red' : 'gray'} variant="light">
                {e.status_text}
              </Alert>
            )}
            <RunCounts
              counts={[
                ['Total', e.total],
                ['Succeeded', e.succeed],
                ['Failed', e.failed],
                ['In progress', e.in_progress],
                ['Stopped', e.stopped],
                ['Success rate', e.total ? `${Math.round((e.succeed / e.total) * 100)}%` : '—'],
              ]}
            />
          </>
        )}
        <DataTable
          label="Replication tasks"
          queryKey={[...replicationKeys.executions, 'tasks', executionId, status]}
          fetchPage={({ page, pageSize }: TableRequest) =>
            api.list<ReplicationTask>(`/replication/executions/${segment(executionId)}/tasks`, {
              page,
              pageSize,
              status: status === 'All' ? undefined : status,
            })
          }
          columns={columns}
          rowKey={(t) => t.id}
          toolbar={
            <SegmentedControl
              aria-label="Task status"
              size="xs"
              data={taskStatuses.map((s) => ({ value: s, label: s === 'InProgress' ? 'In progress' : s }))}
              value={status}
              onChange={setStatus}
            />
          }
          emptyText="No task: nothing matched the rule's filters."
          defaultPageSize={10}
          refetchInterval={(page) =>
            page?.items.some((t) => executionActive(t.status)) || (e && executionActive(e.status)) ? 1500 : false
          }
        />
        {logOf && <TaskLog id={logOf.id} title={`Log of task ${logOf.id} (${logOf.src_resource})`} log={log} mah={280} />}
      </Stack>
    </Modal>
  );
}
