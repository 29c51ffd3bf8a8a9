import { Stack, Title } from '@mantine/core';
import { usePageTitle } from '../../lib/title';
import { ScrubPanel } from './ScrubPanel';

/**
 * Administration: garbage collection and integrity scrub. (Created by the scrub work with
 * the scrub panel; garbage collection's own panel, by the GC work, goes above it.)
 */
export function GarbageCollectionPage() {
  usePageTitle('Garbage collection');
  return (
    <Stack gap="lg">
      <Title order={1}>Garbage collection</Title>
      <ScrubPanel />
    </Stack>
  );
}
