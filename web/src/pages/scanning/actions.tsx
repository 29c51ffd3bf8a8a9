// Starting and stopping scans and SBOM generations, of one artifact or of the rows chosen.
import { ActionIcon, Button, Menu, Tooltip } from '@mantine/core';
import { IconFileDescription, IconPlayerStop, IconShieldSearch } from '@tabler/icons-react';
import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, errorText } from '../../api/client';
import { hasFeature } from '../../lib/features';
import { shortDigest } from '../../lib/format';
import { notifyDone, notifyError } from '../../lib/notify';
import { keys } from '../repository/model';
import { isScannable, isUnderWay, scanPath, scanState, scanSummaryOf, type Scanned } from './model';

export type ScanType = 'vulnerability' | 'sbom';
export type ScanTarget = Scanned & {
  digest: string;
  type: string;
  addition_links?: Record<string, unknown> | null;
  tags?: Array<{ name: string }> | null;
};

/** What the user may do with scans in the project (from the project's permissions). */
export interface ScanPermissions {
  scan: boolean;
  stopScan: boolean;
  sbom: boolean;
  stopSbom: boolean;
}

export function scanPermissions(can: (resource: string, action: string) => boolean): ScanPermissions {
  const scanning = hasFeature('vulnerability-scanning');
  const sboms = hasFeature('sbom-generation');
  return {
    scan: scanning && can('scan', 'create'),
    stopScan: scanning && can('scan', 'stop'),
    sbom: sboms && can('sbom', 'create'),
    stopSbom: sboms && can('sbom', 'stop'),
  };
}

function nameOf(artifact: ScanTarget): string {
  return artifact.tags?.[0]?.name ?? shortDigest(artifact.digest);
}

const doing: Record<ScanType, { start: string; stop: string; started: string; stopping: string }> = {
  vulnerability: { start: 'Scan', stop: 'Stop scan of', started: 'Scan started for', stopping: 'Stopping the scan of' },
  sbom: {
    start: 'Generate SBOM for',
    stop: 'Stop SBOM generation of',
    started: 'SBOM generation started for',
    stopping: 'Stopping the SBOM generation of',
  },
};

export function underWay(artifact: Scanned, type: ScanType): boolean {
  const status = type === 'vulnerability' ? scanSummaryOf(artifact)?.scan_status : artifact.sbom_overview?.scan_status;
  return isUnderWay(scanState(status));
}

/** Sends the requests one after another and says how it went; refreshes the lists after. */
export function useScanRequests(project: string, repository: string) {
  const client = useQueryClient();
  const [busy, setBusy] = useState(false);
  async function send(artifacts: ScanTarget[], type: ScanType, stop: boolean): Promise<void> {
    setBusy(true);
    const failures: string[] = [];
    try {
      for (const artifact of artifacts) {
        try {
          await api.post(scanPath(project, repository, artifact.digest, stop), { scan_type: type });
        } catch (err) {
          failures.push(`${nameOf(artifact)}: ${errorText(err)}`);
        }
      }
    } finally {
      setBusy(false);
    }
    const verb = stop ? doing[type].stop : doing[type].start;
    const done = artifacts.length - failures.length;
    const what = artifacts.length === 1 ? nameOf(artifacts[0]) : `${artifacts.length} artifacts`;
    if (failures.length === 0) notifyDone(`${stop ? doing[type].stopping : doing[type].started} ${what}`);
    else notifyError(new Error(failures.join('\n')), `${verb} ${what}: ${done} of ${artifacts.length} accepted`);
    await Promise.all([
      client.invalidateQueries({ queryKey: keys.artifacts(project, repository) }),
      client.invalidateQueries({ queryKey: keys.artifact(project, repository) }),
    ]);
  }
  return { busy, send };
}

/** A row's scan buttons: scan, generate SBOM, and stop while one is under way. */
export function RowScanButtons({
  artifact,
  allowed,
  requests,
}: {
  artifact: ScanTarget;
  allowed: ScanPermissions;
  requests: ReturnType<typeof useScanRequests>;
}) {
  const name = nameOf(artifact);
  if (!isScannable(artifact)) return null;
  const scanning = underWay(artifact, 'vulnerability');
  const generating = underWay(artifact, 'sbom');
  return (
    <>
      {allowed.scan && !scanning && (
        <Tooltip label="Scan for vulnerabilities" withArrow openDelay={300}>
          <ActionIcon variant="subtle" aria-label={`Scan ${name}`} onClick={() => void requests.send([artifact], 'vulnerability', false)}>
            <IconShieldSearch size={16} aria-hidden />
          </ActionIcon>
        </Tooltip>
      )}
      {allowed.stopScan && scanning && (
        <Tooltip label="Stop the scan" withArrow openDelay={300}>
          <ActionIcon
            variant="subtle"
            color="orange"
            aria-label={`Stop scan of ${name}`}
            onClick={() => void requests.send([artifact], 'vulnerability', true)}
          >
            <IconPlayerStop size={16} aria-hidden />
          </ActionIcon>
        </Tooltip>
      )}
      {allowed.sbom && !generating && (
        <Tooltip label="Generate SBOM" withArrow openDelay={300}>
          <ActionIcon
            variant="subtle"
            color="grape"
            aria-label={`Generate SBOM for ${name}`}
            onClick={() => void requests.send([artifact], 'sbom', false)}
          >
            <IconFileDescription size={16} aria-hidden />
          </ActionIcon>
        </Tooltip>
      )}
      {allowed.stopSbom && generating && (
        <Tooltip label="Stop the SBOM generation" withArrow openDelay={300}>
          <ActionIcon
            variant="subtle"
            color="orange"
            aria-label={`Stop SBOM generation of ${name}`}
            onClick={() => void requests.send([artifact], 'sbom', true)}
          >
            <IconPlayerStop size={16} aria-hidden />
          </ActionIcon>
        </Tooltip>
      )}
    </>
  );
}

/** The same actions as menu items (a phone's row menu). */
export function ScanMenuItems({
  artifact,
  allowed,
  requests,
}: {
  artifact: ScanTarget;
  allowed: ScanPermissions;
  requests: ReturnType<typeof useScanRequests>;
}) {
  if (!isScannable(artifact)) return null;
  const scanning = underWay(artifact, 'vulnerability');
  const generating = underWay(artifact, 'sbom');
  const items = [
    allowed.scan && !scanning && { label: 'Scan', type: 'vulnerability' as const, stop: false, icon: IconShieldSearch },
    allowed.stopScan && scanning && { label: 'Stop scan', type: 'vulnerability' as const, stop: true, icon: IconPlayerStop },
    allowed.sbom && !generating && { label: 'Generate SBOM', type: 'sbom' as const, stop: false, icon: IconFileDescription },
    allowed.stopSbom && generating && { label: 'Stop SBOM generation', type: 'sbom' as const, stop: true, icon: IconPlayerStop },
  ].filter((i) => i !== false);
  if (items.length === 0) return null;
  return (
    <>
      <Menu.Divider />
      {items.map(({ label, type, stop, icon: Icon }) => (
        <Menu.Item key={label} leftSection={<Icon size={14} aria-hidden />} onClick={() => void requests.send([artifact], type, stop)}>
          {label}
        </Menu.Item>
      ))}
    </>
  );
}

/** The toolbar's buttons for the chosen rows. */
export function BulkScanButtons({
  chosen,
  allowed,
  requests,
}: {
  chosen: ScanTarget[];
  allowed: ScanPermissions;
  requests: ReturnType<typeof useScanRequests>;
}) {
  const scannable = chosen.filter(isScannable);
  if (scannable.length === 0) return null;
  const n = scannable.length;
  return (
    <>
      {allowed.scan && (
        <Button
          variant="light"
          leftSection={<IconShieldSearch size={16} aria-hidden />}
          loading={requests.busy}
          onClick={() => void requests.send(scannable, 'vulnerability', false)}
        >
          Scan {n} selected
        </Button>
      )}
      {allowed.stopScan && scannable.some((a) => underWay(a, 'vulnerability')) && (
        <Button
          variant="light"
          color="orange"
          leftSection={<IconPlayerStop size={16} aria-hidden />}
          loading={requests.busy}
          onClick={() =>
            void requests.send(
              scannable.filter((a) => underWay(a, 'vulnerability')),
              'vulnerability',
              true,
            )
          }
        >
          Stop scans
        </Button>
      )}
      {allowed.sbom && (
        <Button
          variant="light"
          color="grape"
          leftSection={<IconFileDescription size={16} aria-hidden />}
          loading={requests.busy}
          onClick={() => void requests.send(scannable, 'sbom', false)}
        >
          Generate SBOM for {n} selected
        </Button>
      )}
    </>
  );
}
