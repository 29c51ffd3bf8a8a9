// The schedule form the administration's jobs share (garbage collection, scrub, scan all):
// none, one of Harbor's presets, or a custom cron, loaded from and saved to the job's API.
import { Alert, Button, Group, Select, Skeleton, Stack, Text, TextInput } from '@mantine/core';
import { useQuery, useQueryClient, type QueryKey } from '@tanstack/react-query';
import { useEffect, useState, type FormEvent, type ReactNode } from 'react';
import { api, errorText } from '../../api/client';
import { SubmitError, useSubmission } from '../../components/FormDialog';
import { notifyDone } from '../../lib/notify';

/** Harbor's portal sends these crons for its periodic schedule types. */
const presetCron: Record<string, string> = { Hourly: '0 0 * * * *', Daily: '0 0 0 * * *', Weekly: '0 0 0 * * 0' };

/** A schedule as Harbor answers it. */
export interface SavedSchedule {
  type?: string;
  cron?: string;
  next_scheduled_time?: string;
}

/** What is sent: the type alone for None, otherwise with the preset's or the custom cron. */
export type ScheduleBody = { type: string } | { type: string; cron: string };

interface JobScheduleFormProps<Answer> {
  queryKey: QueryKey;
  /** The schedule's URL (GET). */
  path: string;
  /** The saved schedule in the answer (null: none saved). */
  read: (answer: Answer | null) => SavedSchedule | null | undefined;
  /** Sends the schedule; `saved` is what was loaded. */
  save: (schedule: ScheduleBody, saved: SavedSchedule | null | undefined) => Promise<unknown>;
  /** Called with each loaded answer, for the job's own fields. */
  onLoaded?: (answer: Answer) => void;
  /** The job's own fields, shown after the cron. */
  extraFields?: (type: string) => ReactNode;
  formLabel: string;
  typeLabel: string;
  cronLabel: string;
  saveLabel: string;
  savedText: string;
  removedText: string;
  /** The line under the form: when the next run is, or that there is none. */
  describe: (answer: Answer | null, saved: SavedSchedule | null | undefined) => string;
}

export function JobScheduleForm<Answer>(props: JobScheduleFormProps<Answer>) {
  const { queryKey, path, read, save, onLoaded, extraFields } = props;
  const queryClient = useQueryClient();
  const submission = useSubmission();
  // No schedule may be an empty answer (as Harbor's): null here, since a query's data may not be undefined.
  const schedule = useQuery({
    queryKey,
    queryFn: async () => (await api.get<Answer | undefined>(path)) ?? null,
  });
  const [type, setType] = useState('None');
  const [cron, setCron] = useState('');
  const saved = schedule.data === undefined ? undefined : read(schedule.data);
  useEffect(() => {
    if (!schedule.data) return;
    onLoaded?.(schedule.data);
    const loaded = read(schedule.data);
    if (!loaded) return;
    setType(loaded.type || 'None');
    setCron(loaded.cron ?? '');
    // Only a new answer resets the fields; the callbacks are the caller's and change every render.
  }, [schedule.data]);

  function submit(event: FormEvent) {
    event.preventDefault();
    void submission.run(async () => {
      const body: ScheduleBody = type === 'None' ? { type } : { type, cron: type === 'Custom' ? cron.trim() : presetCron[type] };
      await save(body, saved);
      notifyDone(type === 'None' ? props.removedText : props.savedText);
      await queryClient.invalidateQueries({ queryKey });
    });
  }

  if (schedule.isPending) return <Skeleton height={60} />;
  if (schedule.isError)
    return (
      <Alert color="red" title="Could not load the schedule">
        {errorText(schedule.error)}
      </Alert>
    );
  return (
    <form onSubmit={submit} noValidate aria-label={props.formLabel}>
      <Stack gap="sm">
        <SubmitError error={submission.error} title="The schedule was not saved" />
        <Group align="flex-end" gap="md" wrap="wrap">
          <Select
            label={props.typeLabel}
            data={['None', 'Hourly', 'Daily', 'Weekly', 'Custom']}
            value={type}
            onChange={(value) => value && setType(value)}
            allowDeselect={false}
            w={140}
          />
          {type === 'Custom' && (
            <TextInput
              label={props.cronLabel}
              description="Seconds first: 0 30 2 * * *"
              value={cron}
              onChange={(e) => setCron(e.currentTarget.value)}
              w={220}
            />
          )}
          {extraFields?.(type)}
          <Button type="submit" variant="light" loading={submission.busy}>
            {props.saveLabel}
          </Button>
        </Group>
        <Text size="sm" c="dimmed">
          {props.describe(schedule.data, saved)}
        </Text>
      </Stack>
    </form>
  );
}
