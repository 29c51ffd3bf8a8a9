import { Stack, Title } from '@mantine/core';
import { usePageTitle } from '../../lib/title';
import { GcPanel } from './GcPanel';
import { ScrubPanel } from './ScrubPanel';

/** Administration: garbage collection (run, schedule, history) and the integrity scrub below it. */
export function GarbageCollectionPage() {
  usePageTitle('Garbage collection');
  return (
    <Stack gap="lg">
      <Title order={1}>Garbage collection</Title>
      <GcPanel />
      <ScrubPanel />
    </Stack>
  );
}
