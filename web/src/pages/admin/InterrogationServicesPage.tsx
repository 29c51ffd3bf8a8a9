import { Stack, Title } from '@mantine/core';
import { usePageTitle } from '../../lib/title';
import { ScanAllPanel } from './ScanAllPanel';
import { ScannersPanel } from './ScannersPanel';
import { SystemAllowlistPanel } from './SystemAllowlistPanel';
import { VulnDbPanel } from './VulnDbPanel';

/**
 * Administration, "Interrogation services" as Harbor calls it: the scanners, scanning
 * everything (now and on a schedule), the vulnerability database and the system's CVE allowlist.
 */
export function InterrogationServicesPage() {
  usePageTitle('Interrogation services');
  return (
    <Stack gap="lg">
      <Title order={1}>Interrogation services</Title>
      <ScannersPanel />
      <ScanAllPanel />
      <VulnDbPanel />
      <SystemAllowlistPanel />
    </Stack>
  );
}
