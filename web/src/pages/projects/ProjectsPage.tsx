import { Title } from '@mantine/core';
import { usePageTitle } from '../../lib/title';

// Placeholder until the page is built.
export function ProjectsPage() {
  usePageTitle('Projects');
  return <Title order={1}>Projects</Title>;
}
