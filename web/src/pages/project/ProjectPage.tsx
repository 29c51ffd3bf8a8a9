import { Title } from '@mantine/core';
import { usePageTitle } from '../../lib/title';

// Placeholder until the page is built.
export function ProjectPage() {
  usePageTitle('Project');
  return <Title order={1}>Project</Title>;
}
