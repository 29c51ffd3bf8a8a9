// Administration: scan every artifact (Harbor's scan all): now, or on a schedule; the latest
// run's progress, followed while it goes on, and Stop.
import { Alert, Badge, Button, Card, Group, Progress, Select, SimpleGrid, Skeleton, Stack, Text, TextInput, Title } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent } from 'react';
import { api, ApiError, errorText } from '../../api/client';
import { SubmitError, useSubmission } from '../../components/FormDialog';
import { formatDateTime } from '../../lib/format';
import { notifyDone, notifyError } from '../../lib/notify';
import { scanKeys } from '../scanning/model';

/** Harbor's Stats. */
interface Stats {
  total?: number;
  completed?: number;
  metrics?: Record<string, number> | null;
  ongoing?: boolean;
  trigger?: string;
}

interface ScheduleAnswer {
  schedule?: { type?: string; cron?: string; next_scheduled_time?: string } | null;
}

/** Harbor's portal sends these crons for its periodic schedule types. */
const presetCron: Record<string, string> = { Hourly: '0 0 * * * *', Daily: '0 0 0 * * *', Weekly: '0 0 0 * * 0' };

const metricsKey = [...scanKeys.scanAll, 'metrics'] as const;
const scheduleKey = [...scanKeys.scanAll, 'schedule'] as const;

function ScheduleForm() {
  const client = useQueryClient();
  const submission = useSubmission();
  const schedule = useQuery({
    queryKey: scheduleKey,
    queryFn: async () => (await api.get<ScheduleAnswer | undefined>('/system/scanAll/schedule')) ?? null,
  });
  const [type, setType] = useState('None');
  const [cron, setCron] = useState('');
  const saved = schedule.data?.schedule;
  useEffect(() => {
    if (!saved) return;
    setType(saved.type || 'None');
    setCron(saved.cron ?? '');
  }, [saved]);

  function submit(event: FormEvent) {
    event.preventDefault();
    void submission.run(async () => {
      const body =
        type === 'None' ? { schedule: { type } } : { schedule: { type, cron: type === 'Custom' ? cron.trim() : presetCron[type] } };
      // A schedule is created once (POST) and then changed (PUT), as Harbor's portal does.
      const exists = !!saved?.type && saved.type !== 'None';
      if (exists || type === 'None') await api.put('/system/scanAll/schedule', body);
      else await api.post('/system/scanAll/schedule', body);
      notifyDone(type === 'None' ? 'Scan-all schedule removed' : 'Scan-all schedule saved');
      await client.invalidateQueries({ queryKey: scheduleKey });
    });
  }

  if (schedule.isPending) return <Skeleton height={60} />;
  if (schedule.isError)
    return (
      <Alert color="red" title="Could not load the schedule">
        {errorText(schedule.error)}
      </Alert>
    );
  const active = saved?.type && saved.type !== 'None';
  return (
    <form onSubmit={submit} noValidate aria-label="Scan-all schedule">
      <Stack gap="sm">
        <SubmitError error={submission.error} title="The schedule was not saved" />
        <Group align="flex-end" gap="md" wrap="wrap">
          <Select
            label="Scan-all schedule"
            data={['None', 'Hourly', 'Daily', 'Weekly', 'Custom']}
            value={type}
            onChange={(value) => value && setType(value)}
            allowDeselect={false}
            w={140}
          />
          {type === 'Custom' && (
            <TextInput
              label="Scan-all cron (UTC)"
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
          {active
            ? `Next scan of everything: ${formatDateTime(saved?.next_scheduled_time)} (${saved?.cron})`
            : 'No scheduled scan of everything.'}
        </Text>
      </Stack>
    </form>
  );
}

export function ScanAllPanel() {
  const client = useQueryClient();
  const [busy, setBusy] = useState(false);
  const metrics = useQuery({
    queryKey: metricsKey,
    queryFn: () => api.get<Stats>('/scans/all/metrics'),
    refetchInterval: (q) => (q.state.data?.ongoing ? 2000 : false),
  });

  async function act(what: 'start' | 'stop') {
    setBusy(true);
    try {
      if (what === 'start') await api.post('/system/scanAll/schedule', { schedule: { type: 'Manual' } });
      else await api.post('/system/scanAll/stop');
      notifyDone(what === 'start' ? 'Scanning every artifact' : 'Stopping the scan of everything');
      await client.invalidateQueries({ queryKey: metricsKey });
    } catch (err) {
      notifyError(err, what === 'start' ? 'The scan of everything did not start' : 'The scan of everything was not stopped');
    } finally {
      setBusy(false);
    }
  }

  const stats = metrics.data;
  const total = stats?.total ?? 0;
  const completed = stats?.completed ?? 0;
  const percent = total > 0 ? Math.round((completed / total) * 100) : 0;
  return (
    <Card withBorder padding="lg" radius="md" component="section" aria-labelledby="scan-all-title">
      <Stack gap="md">
        <div>
          <Title order={2} size="h3" id="scan-all-title">
            Vulnerability scanning
          </Title>
          <Text size="sm" c="dimmed">
            Scans every image with its project's scanner. The scans queue behind each other and leave room for pushes, garbage collection
            and the other jobs.
          </Text>
        </div>
        <Group gap="sm">
          <Button onClick={() => void act('start')} loading={busy} disabled={stats?.ongoing}>
            Scan now
          </Button>
          {stats?.ongoing && (
            <Button variant="light" color="red" onClick={() => void act('stop')} loading={busy}>
              Stop scanning
            </Button>
          )}
        </Group>
        {metrics.isPending ? (
          <Skeleton height={40} />
        ) : metrics.isError ? (
          metrics.error instanceof ApiError && metrics.error.status === 404 ? (
            <Text size="sm" c="dimmed">
              No scan of everything has run yet.
            </Text>
          ) : (
            <Alert color="red" title="Could not load the progress">
              {errorText(metrics.error)}
            </Alert>
          )
        ) : total === 0 && !stats?.ongoing ? (
          <Text size="sm" c="dimmed">
            No scan of everything has run yet.
          </Text>
        ) : (
          <Stack gap="xs">
            <Group gap="sm" wrap="wrap">
              <Badge variant="light" color={stats?.ongoing ? 'blue' : 'green'} tt="none">
                {stats?.ongoing ? 'Scanning' : 'Finished'}
              </Badge>
              <Text size="sm" aria-live="polite">
                {completed} of {total} artifact{total === 1 ? '' : 's'} scanned
                {stats?.trigger
                  ? ` · started ${stats.trigger === 'Manual' ? 'by hand' : stats.trigger === 'Schedule' ? 'by the schedule' : 'by an event'}`
                  : ''}
              </Text>
            </Group>
            <Progress value={percent} aria-label={`Scan of everything: ${percent}% done`} size="lg" maw={480} />
            <SimpleGrid cols={{ base: 2, sm: 5 }} spacing="xs" maw={640}>
              {Object.entries(stats?.metrics ?? {}).map(([status, count]) => (
                <div key={status}>
                  <Text size="xs" c="dimmed">
                    {status}
                  </Text>
                  <Text size="sm" fw={600}>
                    {count}
                  </Text>
                </div>
              ))}
            </SimpleGrid>
          </Stack>
        )}
        <ScheduleForm />
      </Stack>
    </Card>
  );
}
