import { Title } from '@mantine/core';
import { usePageTitle } from '../../lib/title';

// Placeholder until the page is built.
export function AuditLogPage() {
  usePageTitle('Audit log');
  return <Title order={1}>Audit log</Title>;
}
