import { Alert, Code, Stack, Text } from '@mantine/core';
import { QuotaUsage, usedPercent } from '../../components/Quota';
import { formatDateTime } from '../../lib/format';
import type { ProjectSummary } from './model';

/**
 * The summary's storage card: usage against the limit and, when pushes are being refused,
 * why and what to do (the last refused push, with the registry's own message).
 */
export function StorageSummary({ quota }: { quota: NonNullable<ProjectSummary['quota']> }) {
  const hard = quota.hard?.storage;
  const used = quota.used?.storage ?? 0;
  const percent = usedPercent(used, hard);
  const refused = quota.last_refused;
  const full = percent !== null && percent >= 100;
  return (
    <Stack gap="sm">
      <QuotaUsage used={used} hard={hard} label="Storage used" />
      {(full || refused) && (
        <Alert color={full ? 'red' : 'orange'} title={full ? 'Storage limit reached' : 'A push was refused for storage'} role="status">
          <Stack gap="xs" style={{ minWidth: 0, overflowWrap: 'anywhere' }}>
            <Text size="sm">
              Pushes that would take the project past its limit are refused: the registry answers <Code>403 DENIED</Code> with a message
              such as “adding … of storage resource, which when updated to current usage of … will exceed the configured upper limit of …”.
              Layers the project already holds can still be pushed.
            </Text>
            {refused && (
              <Text size="sm">
                Last refused, {formatDateTime(refused.time)}: <Code style={{ wordBreak: 'break-all' }}>{refused.resource}</Code> —{' '}
                {refused.message}
              </Text>
            )}
            <Text size="sm">
              To make room, delete artifacts or repositories you no longer need (their storage is freed at once), or ask a system
              administrator to raise the limit.
            </Text>
          </Stack>
        </Alert>
      )}
      {!full && !refused && percent !== null && percent >= 85 && (
        <Text size="sm" role="status">
          Nearly full: pushes will be refused once the limit is reached.
        </Text>
      )}
    </Stack>
  );
}
