import { Title } from '@mantine/core';
import { usePageTitle } from '../../lib/title';

// Placeholder until the page is built.
export function ArtifactPage(_props: { project: string; repository: string; reference: string }) {
  usePageTitle('Artifact');
  return <Title order={1}>Artifact</Title>;
}
