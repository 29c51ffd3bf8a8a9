import { Stack, Title } from '@mantine/core';
import { usePageTitle } from '../../lib/title';
import { AuditPurgePanel } from './AuditPurgePanel';
import { GcPanel } from './GcPanel';
import { ScrubPanel } from './ScrubPanel';

/** Administration: garbage collection (run, schedule, history), the integrity scrub and the audit log's rotation below it. */
export function GarbageCollectionPage() {
  usePageTitle('Garbage collection');
  return (
    <Stack gap="lg">
      <Title order={1}>Garbage collection</Title>
      <GcPanel />
      <ScrubPanel />
      <AuditPurgePanel />
    </Stack>
  );
}
