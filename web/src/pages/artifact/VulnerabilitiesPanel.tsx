// The artifact's vulnerabilities: the scan's state and counts on top, then the report's
// findings in a table the user filters by text and severity and sorts by severity or score.
import { Anchor, Badge, Button, Group, Select, Skeleton, Stack, Text } from '@mantine/core';
import { IconExternalLink, IconFileText, IconShieldSearch } from '@tabler/icons-react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { apiBase } from '../../api/client';
import { DataTable, type Column, type TableRequest } from '../../components/DataTable';
import { ErrorAlert } from '../../components/ErrorAlert';
import { formatDateTime } from '../../lib/format';
import { artifactApi } from '../repository/model';
import { TimeText } from '../repository/parts';
import { type ScanPermissions, type ScanTarget, underWay, useScanRequests } from '../scanning/actions';
import {
  fetchVulnerabilityReport,
  scanKeys,
  scanState,
  scanSummaryOf,
  severities,
  severityRank,
  type Severity,
  type Vulnerability,
} from '../scanning/model';
import { countsText, ScanStatus, SeverityBadge } from '../scanning/ScanStatus';

interface Props {
  project: string;
  repository: string;
  artifact: ScanTarget;
  allowed: ScanPermissions;
}

function score(v: Vulnerability): number {
  return v.preferred_cvss?.score_v3 ?? -1;
}

/** By default (no sort chosen) most severe first, then the highest score, then by id. */
function compare(sort: string | undefined) {
  const desc = !sort || sort.startsWith('-');
  const key = (sort ?? '-severity').replace(/^-/, '');
  return (a: Vulnerability, b: Vulnerability) => {
    const bySeverity = severityRank(a.severity) - severityRank(b.severity); // rank 0 = Critical
    const byScore = score(b) - score(a);
    const primary = key === 'score' ? byScore || bySeverity : bySeverity || byScore;
    const ordered = desc ? primary : -primary;
    return ordered || a.id.localeCompare(b.id) || a.package.localeCompare(b.package);
  };
}

function matches(v: Vulnerability, needle: string): boolean {
  return [v.id, v.package, v.version, v.fix_version ?? '', v.description ?? ''].some((s) => s.toLowerCase().includes(needle));
}

/** The link of a CVE id: the report's first link, else NVD's page for a CVE. */
function linkOf(v: Vulnerability): string | null {
  if (v.links && v.links.length > 0) return v.links[0];
  return /^CVE-\d+-\d+$/.test(v.id) ? `https://nvd.nist.gov/vuln/detail/${v.id}` : null;
}

const columns: Column<Vulnerability>[] = [
  {
    key: 'id',
    header: 'Vulnerability',
    render: (v) => {
      const link = linkOf(v);
      return link ? (
        <Anchor href={link} target="_blank" rel="noreferrer noopener" size="sm" style={{ whiteSpace: 'nowrap' }}>
          {v.id}
          <IconExternalLink size={12} aria-hidden style={{ marginLeft: 2 }} />
        </Anchor>
      ) : (
        <Text size="sm" span style={{ whiteSpace: 'nowrap' }}>
          {v.id}
        </Text>
      );
    },
  },
  { key: 'severity', header: 'Severity', sort: 'severity', render: (v) => <SeverityBadge severity={v.severity} /> },
  {
    key: 'score',
    header: 'CVSS v3',
    sort: 'score',
    visibleFrom: 'sm',
    render: (v) =>
      v.preferred_cvss?.score_v3 != null ? (
        <Text size="sm" span title={v.preferred_cvss.vector_v3}>
          {v.preferred_cvss.score_v3.toFixed(1)}
        </Text>
      ) : (
        <Text size="sm" c="dimmed" span>
          —
        </Text>
      ),
  },
  {
    key: 'package',
    header: 'Package',
    render: (v) => (
      <Text size="sm" span style={{ overflowWrap: 'anywhere' }}>
        {v.package}
      </Text>
    ),
  },
  {
    key: 'version',
    header: 'Installed',
    visibleFrom: 'xs',
    render: (v) => (
      <Text size="sm" ff="monospace" span>
        {v.version}
      </Text>
    ),
  },
  {
    key: 'fix',
    header: 'Fixed in',
    visibleFrom: 'xs',
    render: (v) =>
      v.fix_version ? (
        <Text size="sm" ff="monospace" span>
          {v.fix_version}
        </Text>
      ) : (
        <Text size="sm" c="dimmed" span>
          no fix
        </Text>
      ),
  },
  {
    key: 'description',
    header: 'Description',
    visibleFrom: 'md',
    render: (v) => (
      <Text size="sm" lineClamp={2} title={v.description} maw={420}>
        {v.description || '—'}
      </Text>
    ),
  },
];

export function VulnerabilitiesPanel({ project, repository, artifact, allowed }: Props) {
  const client = useQueryClient();
  const requests = useScanRequests(project, repository);
  const [severity, setSeverity] = useState<string | null>(null);
  const summary = scanSummaryOf(artifact);
  const state = scanState(summary?.scan_status);
  const reportId = summary?.report_id;
  const reportKey = scanKeys.report(project, repository, artifact.digest, `${reportId}:${summary?.end_time ?? ''}`);
  const report = useQuery({
    queryKey: reportKey,
    queryFn: () => fetchVulnerabilityReport(project, repository, artifact.digest),
    enabled: state === 'success',
    staleTime: Infinity,
  });

  async function fetchPage({ page, pageSize, sort, search }: TableRequest) {
    const all =
      (
        await client.fetchQuery({
          queryKey: reportKey,
          queryFn: () => fetchVulnerabilityReport(project, repository, artifact.digest),
          staleTime: Infinity,
        })
      )?.vulnerabilities ?? [];
    const needle = search.toLowerCase();
    const rows = all.filter((v) => (!severity || v.severity === severity) && (!needle || matches(v, needle))).sort(compare(sort));
    return { items: rows.slice((page - 1) * pageSize, page * pageSize), total: rows.length };
  }

  const scanning = underWay(artifact, 'vulnerability');
  const scanButton = allowed.scan && !scanning && (
    <Button
      variant="light"
      size="xs"
      leftSection={<IconShieldSearch size={14} aria-hidden />}
      loading={requests.busy}
      onClick={() => void requests.send([artifact], 'vulnerability', false)}
    >
      {state === 'none' ? 'Scan now' : 'Scan again'}
    </Button>
  );
  const logLink = reportId && state !== 'none' && state !== 'queued' && (
    <Anchor
      href={`${apiBase}${artifactApi(project, repository, artifact.digest)}/scan/${encodeURIComponent(reportId)}/log`}
      target="_blank"
      rel="noreferrer"
      size="sm"
    >
      <Group gap={4} component="span" wrap="nowrap">
        <IconFileText size={14} aria-hidden />
        Scan log
      </Group>
    </Anchor>
  );

  if (state !== 'success')
    return (
      <Stack gap="sm" align="flex-start">
        <Group gap="sm" wrap="wrap">
          <ScanStatus artifact={artifact} />
          {logLink}
        </Group>
        <Text size="sm" c="dimmed">
          {state === 'none'
            ? 'This artifact has not been scanned for vulnerabilities yet.'
            : state === 'error'
              ? 'The last scan failed; its log says why.'
              : state === 'stopped'
                ? 'The last scan was stopped before it finished.'
                : 'The scan is under way; this page follows it.'}
        </Text>
        {scanButton}
      </Stack>
    );

  const counts = summary?.summary?.summary ?? {};
  const total = summary?.summary?.total ?? 0;
  return (
    <Stack gap="md">
      <Group gap="lg" wrap="wrap" align="center">
        <Group gap={6} wrap="wrap" aria-label="Counts by severity" role="group">
          {severities
            .filter((s) => (counts[s] ?? 0) > 0)
            .map((s) => (
              <Group key={s} gap={4} wrap="nowrap">
                <SeverityBadge severity={s} />
                <Text size="sm" fw={600} span>
                  {counts[s]}
                </Text>
              </Group>
            ))}
          {total === 0 && (
            <Badge variant="light" color="green" tt="none">
              No vulnerabilities
            </Badge>
          )}
        </Group>
        <Text size="sm">
          {total} total, {summary?.summary?.fixable ?? 0} fixable
        </Text>
        <Text size="sm" c="dimmed">
          {summary?.scanner ? `${summary.scanner.name} ${summary.scanner.version}` : ''} · scanned <TimeText time={summary?.end_time} />
        </Text>
        {logLink}
        {scanButton}
      </Group>
      {report.isError ? (
        <ErrorAlert title="Could not load the vulnerability report" error={report.error} />
      ) : report.isPending ? (
        <Skeleton height={120} radius="md" />
      ) : (
        <DataTable
          label="Vulnerabilities"
          queryKey={[...reportKey, severity]}
          fetchPage={fetchPage}
          columns={columns}
          rowKey={(v) => `${v.id}|${v.package}|${v.version}`}
          searchLabel="Filter vulnerabilities"
          toolbar={
            <Select
              aria-label="Severity"
              placeholder="Any severity"
              data={severities.map((s: Severity) => ({ value: s, label: s }))}
              value={severity}
              onChange={setSeverity}
              clearable
              w={160}
            />
          }
          emptyText={total === 0 ? 'No vulnerabilities were found.' : 'None of the vulnerabilities matches.'}
        />
      )}
      <Text size="xs" c="dimmed">
        Report generated {formatDateTime(report.data?.generated_at ?? summary?.end_time)}. {countsText(counts)}
      </Text>
    </Stack>
  );
}
