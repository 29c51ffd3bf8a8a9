import { Title } from '@mantine/core';
import { usePageTitle } from '../../lib/title';

// Placeholder until the page is built.
export function SignUpPage() {
  usePageTitle('Sign up');
  return <Title order={1}>Sign up</Title>;
}
