import { Anchor, Stack, Text, Title } from '@mantine/core';
import { Link } from 'react-router';
import { usePageTitle } from '../lib/title';

export function NotFoundPage() {
  usePageTitle('Not found');
  return (
    <Stack>
      <Title order={1}>Nothing here</Title>
      <Text>This address does not lead to a page of the portal.</Text>
      <Anchor component={Link} to="/projects">
        Back to projects
      </Anchor>
    </Stack>
  );
}
