// The artifact's SBOM: the packages of the document its SBOM accessory holds (SPDX or
// CycloneDX), a download of the document, and Generate SBOM.
import { Anchor, Button, Group, Skeleton, Stack, Text } from '@mantine/core';
import { IconDownload, IconFileDescription, IconFileText } from '@tabler/icons-react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, apiBase } from '../../api/client';
import { DataTable, type Column, type TableRequest } from '../../components/DataTable';
import { ErrorAlert } from '../../components/ErrorAlert';
import { shortDigest } from '../../lib/format';
import { artifactApi } from '../repository/model';
import { TimeText } from '../repository/parts';
import { type ScanPermissions, type ScanTarget, underWay, useScanRequests } from '../scanning/actions';
import { scanKeys, scanState } from '../scanning/model';
import { SbomMark } from '../scanning/ScanStatus';

interface Props {
  project: string;
  repository: string;
  artifact: ScanTarget;
  allowed: ScanPermissions;
}

interface SbomPackage {
  key: string;
  name: string;
  version: string;
  license: string;
  purl: string;
}

interface SbomDocument {
  format: 'SPDX' | 'CycloneDX' | 'JSON';
  version: string;
  text: string;
  packages: SbomPackage[];
}

type Json = Record<string, unknown>;
const str = (value: unknown): string => (typeof value === 'string' ? value : '');
const noAssertion = (value: string) => (value === 'NOASSERTION' || value === 'NONE' ? '' : value);

/** SPDX `packages[]` or CycloneDX `components[]` (nested ones too), as one list. */
export function parseSbom(text: string): SbomDocument {
  const doc = JSON.parse(text) as Json;
  if (typeof doc.spdxVersion === 'string') {
    const packages = (Array.isArray(doc.packages) ? (doc.packages as Json[]) : []).map((p, i) => {
      const refs = Array.isArray(p.externalRefs) ? (p.externalRefs as Json[]) : [];
      return {
        key: str(p.SPDXID) || String(i),
        name: str(p.name),
        version: str(p.versionInfo),
        license: noAssertion(str(p.licenseConcluded)) || noAssertion(str(p.licenseDeclared)),
        purl: str(refs.find((r) => r.referenceType === 'purl')?.referenceLocator),
      };
    });
    return { format: 'SPDX', version: doc.spdxVersion.replace(/^SPDX-/, ''), text, packages };
  }
  if (doc.bomFormat === 'CycloneDX') {
    const packages: SbomPackage[] = [];
    const walk = (list: unknown) => {
      for (const c of Array.isArray(list) ? (list as Json[]) : []) {
        const licenses = Array.isArray(c.licenses) ? (c.licenses as Json[]) : [];
        const license = licenses
          .map((l) => str((l.license as Json | undefined)?.id) || str((l.license as Json | undefined)?.name) || str(l.expression))
          .filter(Boolean)
          .join(' AND ');
        packages.push({
          key: str(c['bom-ref']) || `${packages.length}`,
          name: str(c.group) ? `${str(c.group)}/${str(c.name)}` : str(c.name),
          version: str(c.version),
          license,
          purl: str(c.purl),
        });
        walk(c.components);
      }
    };
    walk(doc.components);
    return { format: 'CycloneDX', version: str(doc.specVersion), text, packages };
  }
  return { format: 'JSON', version: '', text, packages: [] };
}

const columns: Column<SbomPackage>[] = [
  {
    key: 'name',
    header: 'Package',
    sort: 'name',
    render: (p) => (
      <Text size="sm" span style={{ overflowWrap: 'anywhere' }}>
        {p.name}
      </Text>
    ),
  },
  {
    key: 'version',
    header: 'Version',
    render: (p) => (
      <Text size="sm" ff="monospace" span style={{ overflowWrap: 'anywhere' }}>
        {p.version || '—'}
      </Text>
    ),
  },
  {
    key: 'license',
    header: 'License',
    visibleFrom: 'sm',
    render: (p) => (
      <Text size="sm" span>
        {p.license || '—'}
      </Text>
    ),
  },
  {
    key: 'purl',
    header: 'Package URL',
    visibleFrom: 'md',
    render: (p) => (
      <Text size="xs" ff="monospace" span style={{ overflowWrap: 'anywhere' }}>
        {p.purl || '—'}
      </Text>
    ),
  },
];

function download(doc: SbomDocument, name: string) {
  const url = URL.createObjectURL(new Blob([doc.text], { type: 'application/json' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = `${name}.${doc.format === 'SPDX' ? 'spdx' : doc.format === 'CycloneDX' ? 'cdx' : 'sbom'}.json`;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function SbomPanel({ project, repository, artifact, allowed }: Props) {
  const client = useQueryClient();
  const requests = useScanRequests(project, repository);
  const overview = artifact.sbom_overview;
  const state = scanState(overview?.scan_status);
  const sbomDigest = overview?.sbom_digest ?? '';
  const key = scanKeys.sbom(project, repository, sbomDigest);
  const load = async () => parseSbom(await api.text(`${artifactApi(project, repository, sbomDigest)}/additions/sbom`));
  const documentQuery = useQuery({ queryKey: key, queryFn: load, enabled: state === 'success' && sbomDigest !== '', staleTime: Infinity });

  async function fetchPage({ page, pageSize, sort, search }: TableRequest) {
    const doc = await client.fetchQuery({ queryKey: key, queryFn: load, staleTime: Infinity });
    const needle = search.toLowerCase();
    const rows = doc.packages.filter(
      (p) => !needle || [p.name, p.version, p.license, p.purl].some((s) => s.toLowerCase().includes(needle)),
    );
    if (sort) rows.sort((a, b) => (sort.startsWith('-') ? -1 : 1) * a.name.localeCompare(b.name));
    return { items: rows.slice((page - 1) * pageSize, page * pageSize), total: rows.length };
  }

  const generating = underWay(artifact, 'sbom');
  const generateButton = allowed.sbom && !generating && (
    <Button
      variant="light"
      color="grape"
      size="xs"
      leftSection={<IconFileDescription size={14} aria-hidden />}
      loading={requests.busy}
      onClick={() => void requests.send([artifact], 'sbom', false)}
    >
      {state === 'none' ? 'Generate SBOM' : 'Generate again'}
    </Button>
  );
  const logLink = overview?.report_id && (state === 'error' || state === 'stopped' || state === 'success') && (
    <Anchor
      href={`${apiBase}${artifactApi(project, repository, artifact.digest)}/scan/${encodeURIComponent(overview.report_id)}/log`}
      target="_blank"
      rel="noreferrer"
      size="sm"
    >
      <Group gap={4} component="span" wrap="nowrap">
        <IconFileText size={14} aria-hidden />
        SBOM log
      </Group>
    </Anchor>
  );

  if (state !== 'success' || !sbomDigest)
    return (
      <Stack gap="sm" align="flex-start">
        <Group gap="sm">
          <SbomMark artifact={artifact} to="#sbom" />
          {logLink}
        </Group>
        <Text size="sm" c="dimmed">
          {state === 'none'
            ? 'No software bill of materials has been generated for this artifact.'
            : state === 'error'
              ? 'The last SBOM generation failed; its log says why.'
              : state === 'stopped'
                ? 'The last SBOM generation was stopped.'
                : 'The SBOM is being generated; this page follows it.'}
        </Text>
        {generateButton}
      </Stack>
    );

  const doc = documentQuery.data;
  return (
    <Stack gap="md">
      <Group gap="lg" wrap="wrap">
        <Text size="sm">
          {doc ? `${doc.format} ${doc.version} · ${doc.packages.length} package${doc.packages.length === 1 ? '' : 's'}` : 'Loading…'}
        </Text>
        <Text size="sm" c="dimmed">
          {overview?.scanner ? `${overview.scanner.name} ${overview.scanner.version}` : ''} · generated{' '}
          <TimeText time={overview?.end_time} /> · accessory{' '}
          <Text span ff="monospace" size="sm">
            {shortDigest(sbomDigest)}
          </Text>
        </Text>
        {doc && (
          <Button
            variant="default"
            size="xs"
            leftSection={<IconDownload size={14} aria-hidden />}
            onClick={() => download(doc, `${repository.replaceAll('/', '_')}-${artifact.digest.replace(':', '-').slice(0, 19)}`)}
          >
            Download SBOM
          </Button>
        )}
        {logLink}
        {generateButton}
      </Group>
      {documentQuery.isError ? (
        <ErrorAlert title="Could not load the SBOM" error={documentQuery.error} />
      ) : documentQuery.isPending ? (
        <Skeleton height={120} radius="md" />
      ) : (
        <DataTable
          label="SBOM packages"
          queryKey={key}
          fetchPage={fetchPage}
          columns={columns}
          rowKey={(p) => p.key}
          searchLabel="Filter packages"
          emptyText={
            doc?.format === 'JSON' ? 'The document is neither SPDX nor CycloneDX; download it to read it.' : 'The SBOM lists no packages.'
          }
        />
      )}
    </Stack>
  );
}
