import { Title } from '@mantine/core';
import { usePageTitle } from '../../lib/title';

// Placeholder until the page is built.
export function LabelsPage() {
  usePageTitle('Labels');
  return <Title order={1}>Labels</Title>;
}
