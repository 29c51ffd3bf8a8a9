import { Title } from '@mantine/core';
import { usePageTitle } from '../../lib/title';

// Placeholder until the page is built.
export function RepositoryPage(_props: { project: string; repository: string }) {
  usePageTitle('Repository');
  return <Title order={1}>Repository</Title>;
}
