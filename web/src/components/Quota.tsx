import { Group, NumberInput, Progress, Select, Stack, Switch, Text } from '@mantine/core';
import { useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, segment } from '../api/client';
import { formatBytes } from '../lib/format';
import { notifyDone } from '../lib/notify';
import { FormDialog, useSubmission } from './FormDialog';

/** A quota as Harbor's /quotas answers it. */
export interface Quota {
  id: number;
  ref: { id: number; name: string; owner_name: string };
  hard: { storage: number };
  used: { storage: number };
  creation_time: string;
  update_time: string;
}

/** The share of the limit in use, in percent; null for an unlimited quota. */
export function usedPercent(used: number, hard: number | undefined): number | null {
  if (hard === undefined || hard < 0) return null;
  return hard === 0 ? 100 : (used / hard) * 100;
}

/** Blue below the warning threshold (85%, the server's default), yellow from it, red at the limit. */
function barColor(percent: number): string {
  return percent >= 100 ? 'red' : percent >= 85 ? 'yellow' : 'blue';
}

/** "1.2 MiB of 10.0 MiB (12%)" with a bar; "1.2 MiB (unlimited)" without a limit. */
export function QuotaUsage({ used, hard, compact = false, label }: { used: number; hard?: number; compact?: boolean; label: string }) {
  const percent = usedPercent(used, hard);
  const text =
    percent === null
      ? `${formatBytes(used)} ${compact ? '' : 'used '}(unlimited)`
      : `${formatBytes(used)} of ${formatBytes(hard)} (${percent >= 1 || percent === 0 ? Math.floor(percent) : '<1'}%)`;
  return (
    <Stack gap={4} miw={compact ? 140 : undefined}>
      <Text size="sm">{text.trim()}</Text>
      {percent !== null && (
        <Progress value={Math.min(100, percent)} color={barColor(percent)} size={compact ? 'sm' : 'md'} aria-label={label} />
      )}
    </Stack>
  );
}

export const storageUnits = [
  { value: String(1024 ** 2), label: 'MiB' },
  { value: String(1024 ** 3), label: 'GiB' },
  { value: String(1024 ** 4), label: 'TiB' },
];
const maxLimit = 1024 ** 5;

/** A limit in bytes as an amount and a unit, the largest unit it is a whole number of (MiB at least). */
export function splitLimit(hard: number): { amount: number | string; unit: string } {
  if (hard < 0) return { amount: '', unit: storageUnits[1].value };
  for (const u of [...storageUnits].reverse()) {
    if (hard % Number(u.value) === 0) return { amount: hard / Number(u.value), unit: u.value };
  }
  return { amount: Number((hard / 1024 ** 2).toFixed(2)), unit: storageUnits[0].value };
}

/**
 * Changes a project's storage limit (PUT /quotas/{id}, system administrators). A limit
 * below the usage is allowed: it refuses further pushes and deletes nothing.
 */
export function EditQuotaDialog({
  opened,
  onClose,
  projectId,
  projectName,
  hard,
  used,
}: {
  opened: boolean;
  onClose: () => void;
  projectId: number;
  projectName: string;
  hard: number;
  used: number;
}) {
  const client = useQueryClient();
  const initial = splitLimit(hard);
  const [unlimited, setUnlimited] = useState(hard < 0);
  const [amount, setAmount] = useState<number | string>(initial.amount);
  const [unit, setUnit] = useState(initial.unit);
  const [amountError, setAmountError] = useState<string | null>(null);
  const submission = useSubmission();

  function close() {
    const again = splitLimit(hard);
    setUnlimited(hard < 0);
    setAmount(again.amount);
    setUnit(again.unit);
    setAmountError(null);
    submission.clear();
    onClose();
  }

  const bytes = unlimited ? -1 : Math.round(Number(amount) * Number(unit));

  async function submit(event: FormEvent) {
    event.preventDefault();
    let problem: string | null = null;
    if (!unlimited) {
      if (amount === '' || !(Number(amount) > 0)) problem = 'Enter an amount above 0, or choose unlimited.';
      else if (bytes > maxLimit) problem = 'At most 1024 TiB.';
    }
    setAmountError(problem);
    if (problem) return;
    await submission.run(async () => {
      await api.put(`/quotas/${segment(projectId)}`, { hard: { storage: unlimited ? -1 : Math.max(1, bytes) } });
      notifyDone(`Storage limit of ${projectName} saved`);
      await Promise.all(['quotas', 'project-summary', 'projects'].map((key) => client.invalidateQueries({ queryKey: [key] })));
      onClose();
    });
  }

  return (
    <FormDialog
      opened={opened}
      onClose={close}
      title={`Storage limit of ${projectName}`}
      error={submission.error}
      errorTitle="Could not save the limit"
      busy={submission.busy}
      submitLabel="Save"
      onSubmit={submit}
    >
      <Text size="sm" c="dimmed">
        The project uses {formatBytes(used)}. Pushes that would go past the limit are refused; a limit below the usage deletes nothing, it
        only stops growth.
      </Text>
      <Switch label="Unlimited" checked={unlimited} onChange={(e) => setUnlimited(e.currentTarget.checked)} />
      {!unlimited && (
        <Group align="flex-start" gap="sm" wrap="nowrap">
          <NumberInput
            label="Limit"
            min={0}
            decimalScale={2}
            value={amount}
            onChange={(v) => {
              setAmount(v);
              setAmountError(null);
            }}
            error={amountError}
            style={{ flex: 1 }}
            data-autofocus
          />
          <Select label="Unit" data={storageUnits} value={unit} onChange={(v) => v && setUnit(v)} allowDeselect={false} w={100} />
        </Group>
      )}
      {!unlimited && bytes > 0 && bytes < used && (
        <Text size="sm" role="status">
          <Text span fw={700}>
            Below the current usage:
          </Text>{' '}
          no push that needs more storage will be accepted until usage falls under it.
        </Text>
      )}
    </FormDialog>
  );
}
