import { Title } from '@mantine/core';
import { usePageTitle } from '../../lib/title';

// Placeholder until the page is built.
export function SystemPage() {
  usePageTitle('System');
  return <Title order={1}>System</Title>;
}
