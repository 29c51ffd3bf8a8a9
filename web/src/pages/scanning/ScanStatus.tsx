// An artifact's scan state in a table cell or a page header: the severity bar with its counts,
// or the state of a scan that has not produced one (not scanned, queued, running, failed, stopped).
import { Anchor, Badge, Box, Group, Stack, Text, Tooltip, VisuallyHidden } from '@mantine/core';
import { IconFileDescription } from '@tabler/icons-react';
import { Link } from 'react-router';
import {
  asSeverity,
  scanState,
  scanSummaryOf,
  severities,
  severityColor,
  severityTextColor,
  type Scanned,
  type ScanState,
  type ScanSummary,
  type Severity,
} from './model';

const stateText: Record<Exclude<ScanState, 'success'>, string> = {
  none: 'Not scanned',
  queued: 'Queued',
  running: 'Scanning',
  error: 'Scan failed',
  stopped: 'Scan stopped',
};
const stateColor: Record<Exclude<ScanState, 'success' | 'none'>, string> = {
  queued: 'gray',
  running: 'blue',
  error: 'red',
  stopped: 'orange',
};

/** "3 Critical, 1 High" for the counts that are not zero. */
export function countsText(counts: Partial<Record<Severity, number>>): string {
  return severities
    .filter((s) => (counts[s] ?? 0) > 0)
    .map((s) => `${counts[s]} ${s}`)
    .join(', ');
}

/** A severity in its colour. */
export function SeverityBadge({ severity, size = 'sm' }: { severity: string; size?: 'xs' | 'sm' | 'md' }) {
  const s = asSeverity(severity);
  return (
    <Badge color={severityColor[s]} size={size} tt="none" style={{ minWidth: 'max-content', color: severityTextColor[s] }}>
      {s}
    </Badge>
  );
}

/** The bar: one segment per severity found, as wide as its share; the counts are in text beside it. */
function SeverityBar({ counts, total }: { counts: Partial<Record<Severity, number>>; total: number }) {
  return (
    <Box
      aria-hidden
      style={{
        display: 'flex',
        width: 120,
        height: 8,
        borderRadius: 4,
        overflow: 'hidden',
        background: 'var(--mantine-color-default-border)',
      }}
    >
      {severities
        .filter((s) => (counts[s] ?? 0) > 0)
        .map((s) => (
          <Box key={s} bg={severityColor[s]} style={{ flexGrow: counts[s], flexBasis: 0, minWidth: 4 }} title={`${counts[s]} ${s}`} />
        ))}
      {total === 0 && <Box bg="green.6" style={{ flexGrow: 1 }} />}
    </Box>
  );
}

/** Each severity's count as a short mark: C 1 · H 3 (the full word for screen readers). */
function CountMarks({ counts }: { counts: Partial<Record<Severity, number>> }) {
  return (
    <Group gap={4} wrap="nowrap">
      {severities
        .filter((s) => (counts[s] ?? 0) > 0)
        .map((s) => (
          <Badge key={s} color={severityColor[s]} size="sm" tt="none" radius="sm" px={5} style={{ color: severityTextColor[s] }}>
            <span aria-hidden>{s[0]}</span>
            <VisuallyHidden>{s}</VisuallyHidden> {counts[s]}
          </Badge>
        ))}
    </Group>
  );
}

/** The overview of a finished scan: the bar and the counts, fixable ones in the tooltip. */
function Findings({ summary, compact }: { summary: ScanSummary; compact: boolean }) {
  const counts = summary.summary?.summary ?? {};
  const total = summary.summary?.total ?? severities.reduce((n, s) => n + (counts[s] ?? 0), 0);
  const fixable = summary.summary?.fixable ?? 0;
  if (total === 0)
    return (
      <Badge variant="light" color="green" tt="none" style={{ minWidth: 'max-content' }}>
        No vulnerabilities
      </Badge>
    );
  const details = `${total} vulnerabilit${total === 1 ? 'y' : 'ies'} (${countsText(counts)}), ${fixable} fixable`;
  if (compact)
    return (
      <Tooltip label={details} multiline maw={320} withArrow>
        <span>
          <SeverityBadge severity={summary.severity ?? 'Unknown'} />
          <VisuallyHidden>{details}</VisuallyHidden>
        </span>
      </Tooltip>
    );
  return (
    <Tooltip label={details} multiline maw={320} withArrow openDelay={200}>
      <Stack gap={4}>
        <Group gap={6} wrap="nowrap">
          <SeverityBar counts={counts} total={total} />
          <Text size="xs" span style={{ whiteSpace: 'nowrap' }}>
            {total} total
          </Text>
        </Group>
        <CountMarks counts={counts} />
        <VisuallyHidden>{fixable} fixable</VisuallyHidden>
      </Stack>
    </Tooltip>
  );
}

/** The vulnerability column of an artifact: its scan state, or the bar once scanned. */
export function ScanStatus({ artifact, compact = false }: { artifact: Scanned; compact?: boolean }) {
  const summary = scanSummaryOf(artifact);
  const state = scanState(summary?.scan_status);
  if (state === 'success') return <Findings summary={summary!} compact={compact} />;
  if (state === 'none')
    return (
      <Text size="sm" c="dimmed" span style={{ whiteSpace: 'nowrap' }}>
        {stateText.none}
      </Text>
    );
  const percent = state === 'running' && summary?.complete_percent ? ` ${summary.complete_percent}%` : '';
  return (
    <Badge variant="light" color={stateColor[state]} tt="none" style={{ minWidth: 'max-content' }}>
      {stateText[state]}
      {percent}
    </Badge>
  );
}

const sbomText: Record<ScanState, string> = {
  none: '',
  queued: 'SBOM queued',
  running: 'Generating SBOM',
  success: 'SBOM',
  error: 'SBOM failed',
  stopped: 'SBOM stopped',
};

/** The SBOM mark: a link to the artifact's SBOM once generated, or the generation's state. */
export function SbomMark({ artifact, to }: { artifact: Scanned; to: string }) {
  const state = scanState(artifact.sbom_overview?.scan_status);
  if (state === 'none') return null;
  if (state === 'success')
    return (
      <Anchor component={Link} to={to} size="sm" style={{ whiteSpace: 'nowrap' }}>
        <Group gap={4} wrap="nowrap" component="span">
          <IconFileDescription size={14} aria-hidden />
          SBOM
        </Group>
      </Anchor>
    );
  return (
    <Badge
      variant="light"
      color={state === 'error' ? 'red' : state === 'stopped' ? 'orange' : 'gray'}
      tt="none"
      style={{ minWidth: 'max-content' }}
    >
      {sbomText[state]}
    </Badge>
  );
}
