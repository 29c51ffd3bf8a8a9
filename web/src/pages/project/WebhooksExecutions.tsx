// A webhook policy's executions (one per event) and, for one of them, its tasks (one per
// target): status, attempts, the receiver's last answer, the duration, the event's payload,
// the request sent and the response, and the delivery's log.
import { Alert, Badge, Button, Code, Group, Modal, ScrollArea, Stack, Text, Title } from '@mantine/core';
import { IconRefresh } from '@tabler/icons-react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, segment } from '../../api/client';
import { CopyIcon } from '../../components/CopyField';
import { DataTable, type Column, type TableRequest } from '../../components/DataTable';
import { formatDateTime } from '../../lib/format';
import { RunButtons, RunCounts, TaskLog, taskLogColumn } from '../admin/JobRuns';
import { preheatActive as taskActive, preheatStatusColor as taskStatusColor } from '../preheat/model';
import { duration } from '../replication/model';
import type { Project } from './model';
import {
  attr,
  eventText,
  executionPath,
  formatMs,
  policyPath,
  prettyPayload,
  webhookKeys,
  type WebhookExecution,
  type WebhookPolicy,
  type WebhookTask,
} from './WebhooksModel';

export function WebhookStatus({ status }: { status: string }) {
  return (
    <Badge variant="light" color={taskStatusColor[status] ?? 'gray'} tt="none" style={{ minWidth: 'max-content' }}>
      {status}
    </Badge>
  );
}

/** A block of text (a payload, a response) that scrolls, with a copy button; `label` names it. */
function TextBlock({ label, text, mah = 220 }: { label: string; text: string; mah?: number }) {
  return (
    <Stack gap={4}>
      <Group gap="xs" justify="space-between" wrap="nowrap">
        <Text size="sm" fw={600}>
          {label}
        </Text>
        {text && <CopyIcon value={text} label={`Copy ${label.toLowerCase()}`} />}
      </Group>
      <ScrollArea.Autosize mah={mah} viewportProps={{ tabIndex: 0 }}>
        <Code block aria-label={label} style={{ whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }}>
          {text || '—'}
        </Code>
      </ScrollArea.Autosize>
    </Stack>
  );
}

/** The receiver's last HTTP status: green 2xx, red otherwise, "no answer" for 0 (refused, timeout, TLS). */
function ResponseCode({ task }: { task: WebhookTask }) {
  const code = attr(task, 'status_code', 'response_code', 'http_status');
  if (code === undefined) return <Text size="sm">—</Text>;
  const n = Number(code);
  if (n === 0)
    return (
      <Text size="sm" c="red">
        no answer
      </Text>
    );
  return (
    <Badge variant="light" color={n >= 200 && n < 300 ? 'green' : 'red'} tt="none">
      {n}
    </Badge>
  );
}

/** What one task sent and what came back, under the tasks table. */
function TaskExchange({ task }: { task: WebhookTask }) {
  const sent = prettyPayload(attr(task, 'payload', 'request_body', 'body'));
  const response = attr(task, 'response', 'response_body');
  const code = attr(task, 'status_code', 'response_code', 'http_status');
  const deliveryId = attr(task, 'delivery_id');
  return (
    <Stack gap="sm" aria-label={`Delivery of task ${task.id}`} role="region">
      <Group gap="lg" wrap="wrap">
        <Text size="sm">
          <Text span c="dimmed">
            Target{' '}
          </Text>
          <Text span ff="monospace" style={{ overflowWrap: 'anywhere' }}>
            {String(attr(task, 'address', 'target') ?? '—')}
          </Text>
        </Text>
        {deliveryId !== undefined && (
          <Text size="sm">
            <Text span c="dimmed">
              Delivery id{' '}
            </Text>
            <Text span ff="monospace">
              {String(deliveryId)}
            </Text>
          </Text>
        )}
      </Group>
      {task.status_message && (
        <Alert color={task.status === 'Error' ? 'red' : 'gray'} variant="light">
          {task.status_message}
        </Alert>
      )}
      <TextBlock label={`Request body of task ${task.id}`} text={sent} />
      <TextBlock
        label={`Response of task ${task.id}`}
        text={
          code === undefined && response === undefined
            ? ''
            : `${code === undefined ? '' : Number(code) === 0 ? 'No HTTP answer\n' : `HTTP ${String(code)}\n`}${String(response ?? '')}`
        }
        mah={160}
      />
    </Stack>
  );
}

function TasksDialog({
  project,
  policy,
  execution,
  onClose,
}: {
  project: Project;
  policy: WebhookPolicy;
  execution: WebhookExecution;
  onClose: () => void;
}) {
  const [shown, setShown] = useState<{ task: WebhookTask; what: 'exchange' | 'log' } | null>(null);
  const base = executionPath(project, policy.id, execution.id);
  const log = useQuery({
    queryKey: [...webhookKeys.executions(project.project_id), 'log', execution.id, shown?.task.id],
    enabled: shown?.what === 'log',
    queryFn: () => api.text(`${base}/tasks/${segment(shown!.task.id)}/log`),
  });
  const m = execution.metrics ?? {};
  const payload = prettyPayload(attr(execution, 'payload'));
  const columns: Column<WebhookTask>[] = [
    { key: 'id', header: 'Task', render: (t) => t.id },
    {
      key: 'target',
      header: 'Target',
      visibleFrom: 'sm',
      render: (t) => (
        <Text size="sm" ff="monospace" lineClamp={2} maw={240} style={{ overflowWrap: 'anywhere' }}>
          {String(attr(t, 'address', 'target') ?? '—')}
        </Text>
      ),
    },
    { key: 'status', header: 'Status', render: (t) => <WebhookStatus status={t.status} /> },
    { key: 'attempts', header: 'Attempts', render: (t) => <Text size="sm">{t.run_count ?? '—'}</Text> },
    { key: 'code', header: 'Response', render: (t) => <ResponseCode task={t} /> },
    {
      key: 'duration',
      header: 'Duration',
      visibleFrom: 'md',
      render: (t) => {
        const ms = attr(t, 'duration_ms', 'duration');
        return <Text size="sm">{ms === undefined ? duration(t.start_time, t.end_time) : formatMs(ms)}</Text>;
      },
    },
    {
      key: 'exchange',
      header: 'Request',
      render: (t) => (
        <Button
          size="compact-sm"
          variant="light"
          onClick={() => setShown({ task: t, what: 'exchange' })}
          aria-label={`Show the request and response of task ${t.id}`}
        >
          Payload
        </Button>
      ),
    },
    taskLogColumn<WebhookTask>((task) => setShown({ task, what: 'log' })),
  ];
  return (
    <Modal opened onClose={onClose} title={`Webhook execution ${execution.id}`} size="xl" centered>
      <Stack gap="md">
        <Group gap="sm" wrap="wrap">
          <Text size="sm" c="dimmed">
            Event
          </Text>
          <Text size="sm" fw={600}>
            {eventText(attr(execution, 'event_type') as string | undefined)}
          </Text>
          <WebhookStatus status={execution.status} />
          <Text size="sm" c="dimmed">
            {formatDateTime(execution.start_time)}
          </Text>
        </Group>
        <RunCounts
          counts={[
            ['Targets', m.task_count ?? 0],
            ['Delivered', m.success_task_count ?? 0],
            ['Failed', m.error_task_count ?? 0],
            ['Under way', (m.running_task_count ?? 0) + (m.pending_task_count ?? 0) + (m.scheduled_task_count ?? 0)],
          ]}
        />
        {execution.status_message && (
          <Alert color={execution.status === 'Error' ? 'red' : 'gray'} variant="light">
            {execution.status_message}
          </Alert>
        )}
        {payload && <TextBlock label="Event payload" text={payload} mah={180} />}
        <DataTable
          label="Webhook tasks"
          queryKey={[...webhookKeys.executions(project.project_id), 'tasks', execution.id]}
          fetchPage={({ page, pageSize }: TableRequest) => api.list<WebhookTask>(`${base}/tasks`, { page, pageSize })}
          columns={columns}
          rowKey={(t) => t.id}
          emptyText="No task: the policy had no target."
          defaultPageSize={10}
          refetchInterval={(page) => (page?.items.some((t) => taskActive(t.status)) ? 1500 : false)}
        />
        {shown?.what === 'exchange' && <TaskExchange task={shown.task} />}
        {shown?.what === 'log' && <TaskLog id={shown.task.id} title={`Log of task ${shown.task.id}`} log={log} mah={260} />}
      </Stack>
    </Modal>
  );
}

export function WebhookExecutions({ project, policy }: { project: Project; policy: WebhookPolicy }) {
  const client = useQueryClient();
  const [shown, setShown] = useState<WebhookExecution | null>(null);
  const key = [...webhookKeys.executions(project.project_id), policy.id];
  const columns: Column<WebhookExecution>[] = [
    { key: 'id', header: 'ID', render: (e) => e.id },
    {
      key: 'event',
      header: 'Event type',
      render: (e) => <Text size="sm">{eventText(attr(e, 'event_type') as string | undefined)}</Text>,
    },
    { key: 'status', header: 'Status', render: (e) => <WebhookStatus status={e.status} /> },
    { key: 'start', header: 'Started', visibleFrom: 'md', render: (e) => <Text size="sm">{formatDateTime(e.start_time)}</Text> },
    { key: 'duration', header: 'Duration', visibleFrom: 'md', render: (e) => <Text size="sm">{duration(e.start_time, e.end_time)}</Text> },
    {
      key: 'rate',
      header: 'Delivered / targets',
      visibleFrom: 'sm',
      render: (e) => (
        <Text size="sm">
          {e.metrics?.success_task_count ?? 0} / {e.metrics?.task_count ?? 0}
        </Text>
      ),
    },
    {
      key: 'actions',
      header: 'Actions',
      render: (e) => (
        <RunButtons id={e.id} noun="execution" details="Tasks" stoppable={false} onDetails={() => setShown(e)} onStop={() => {}} />
      ),
    },
  ];
  return (
    <Stack gap="xs">
      <Title order={3} size="h5">
        Executions of {policy.name}
      </Title>
      <DataTable
        label="Webhook executions"
        queryKey={key}
        fetchPage={({ page, pageSize }: TableRequest) =>
          api.list<WebhookExecution>(`${policyPath(project, policy.id)}/executions`, { page, pageSize })
        }
        columns={columns}
        rowKey={(e) => e.id}
        toolbar={
          <Button
            variant="default"
            size="compact-sm"
            leftSection={<IconRefresh size={14} aria-hidden />}
            onClick={() => {
              void client.invalidateQueries({ queryKey: key });
              void client.invalidateQueries({ queryKey: webhookKeys.lastTrigger(project.project_id) });
            }}
            aria-label={`Refresh the executions of ${policy.name}`}
          >
            Refresh
          </Button>
        }
        emptyText="No execution yet: none of the policy's events has happened since it was created."
        defaultPageSize={10}
        refetchInterval={(page) => (page?.items.some((e) => taskActive(e.status)) ? 1500 : false)}
      />
      {shown && <TasksDialog project={project} policy={policy} execution={shown} onClose={() => setShown(null)} />}
    </Stack>
  );
}
