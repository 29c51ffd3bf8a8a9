// Administration: scan every artifact (Harbor's scan all): now, or on a schedule; the latest
// run's progress, followed while it goes on, and Stop.
import { Alert, Badge, Button, Card, Group, Progress, SimpleGrid, Skeleton, Stack, Text, Title } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, ApiError, errorText } from '../../api/client';
import { formatDateTime } from '../../lib/format';
import { notifyDone, notifyError } from '../../lib/notify';
import { scanKeys } from '../scanning/model';
import { JobScheduleForm, type SavedSchedule } from './JobScheduleForm';

/** Harbor's Stats. */
interface Stats {
  total?: number;
  completed?: number;
  metrics?: Record<string, number> | null;
  ongoing?: boolean;
  trigger?: string;
}

interface ScheduleAnswer {
  schedule?: SavedSchedule | null;
}

const metricsKey = [...scanKeys.scanAll, 'metrics'] as const;
const scheduleKey = [...scanKeys.scanAll, 'schedule'] as const;

function ScheduleForm() {
  const path = '/system/scanAll/schedule';
  return (
    <JobScheduleForm<ScheduleAnswer>
      queryKey={scheduleKey}
      path={path}
      read={(answer) => answer?.schedule}
      save={(schedule, saved) => {
        // A schedule is created once (POST) and then changed (PUT), as Harbor's portal does.
        const exists = !!saved?.type && saved.type !== 'None';
        return exists || schedule.type === 'None' ? api.put(path, { schedule }) : api.post(path, { schedule });
      }}
      formLabel="Scan-all schedule"
      typeLabel="Scan-all schedule"
      cronLabel="Scan-all cron (UTC)"
      saveLabel="Save schedule"
      savedText="Scan-all schedule saved"
      removedText="Scan-all schedule removed"
      describe={(_, saved) =>
        saved?.type && saved.type !== 'None'
          ? `Next scan of everything: ${formatDateTime(saved.next_scheduled_time)} (${saved.cron})`
          : 'No scheduled scan of everything.'
      }
    />
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
