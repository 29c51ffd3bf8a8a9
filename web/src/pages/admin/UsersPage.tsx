import { Title } from '@mantine/core';
import { usePageTitle } from '../../lib/title';

// Placeholder until the page is built.
export function UsersPage() {
  usePageTitle('Users');
  return <Title order={1}>Users</Title>;
}
