// The trigger of a policy (a replication rule, a preheat policy): its mode and, for a scheduled
// one, the cron (UTC, six fields, seconds first, as Harbor's).
import { Group, Select, TextInput } from '@mantine/core';

/** What is wrong with the cron of a scheduled trigger; nothing for another trigger. */
export function cronError(trigger: string, cron: string): string | undefined {
  if (trigger === 'scheduled' && cron.trim().split(/\s+/).filter(Boolean).length !== 6) return 'Six fields, seconds first: 0 0 2 * * *';
  return undefined;
}

/** The trigger select and, when it is "scheduled", the cron beside it; `onChange` gets what changed. */
export function TriggerFields({
  label,
  choices,
  trigger,
  cron,
  error,
  onChange,
}: {
  label: string;
  choices: Array<{ value: string; label: string }>;
  trigger: string;
  cron: string;
  /** The cron's error. */
  error?: string;
  onChange: (patch: { trigger?: string; cron?: string }) => void;
}) {
  return (
    <Group grow align="flex-start" gap="sm" wrap="wrap">
      <Select label={label} data={choices} value={trigger} onChange={(v) => onChange({ trigger: v ?? 'manual' })} allowDeselect={false} />
      {trigger === 'scheduled' && (
        <TextInput
          label="Cron"
          description="UTC, six fields, seconds first: 0 0 2 * * *"
          value={cron}
          onChange={(e) => onChange({ cron: e.currentTarget.value })}
          error={error}
        />
      )}
    </Group>
  );
}
