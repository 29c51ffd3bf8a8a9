// The panels fed by an artifact's additions: layers and build history (images, WASM),
// values.yaml, readme.md and dependencies (charts).
import { Anchor, Badge, Code, Group, Skeleton, Spoiler, Stack, Table, Text, Title, Tooltip, VisuallyHidden } from '@mantine/core';
import { useQueryClient } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { CopyIcon } from '../../components/CopyField';
import { DataTable, type Column, type TableRequest } from '../../components/DataTable';
import { ErrorAlert } from '../../components/ErrorAlert';
import { formatBytes, formatDateTime, shortDigest } from '../../lib/format';
import { isNever, keys } from '../repository/model';
import { MarkdownText } from '../repository/parts';
import { additionQuery, parseList, useAdditionList, useAdditionText, type Layer } from './additions';

interface Props {
  project: string;
  repository: string;
  digest: string;
}

interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

interface Dependency {
  name: string;
  version: string;
  repository: string;
}

/** A table over a JSON addition: fetched once (its content never changes), paged here. */
function useAdditionPages<T>(
  project: string,
  repository: string,
  digest: string,
  name: string,
  matches: (row: T, needle: string) => boolean,
) {
  const client = useQueryClient();
  return async ({ page, pageSize, search }: TableRequest) => {
    const all = parseList<T>(await client.fetchQuery(additionQuery(project, repository, digest, name)));
    const needle = search.toLowerCase();
    const rows = needle ? all.filter((row) => matches(row, needle)) : all;
    return { items: rows.slice((page - 1) * pageSize, page * pageSize), total: rows.length };
  };
}

/** The image manifest's layers (Berth's `layers` addition): a short fixed list, so one plain table. */
function LayerTable({ project, repository, digest }: Props) {
  const query = useAdditionList<Layer>(project, repository, digest, 'layers');
  if (query.isPending) return <Skeleton height={120} radius="md" />;
  if (query.isError) return <ErrorAlert title="Could not load the layers" error={query.error} />;
  const layers = query.data;
  if (layers.length === 0) return <Text c="dimmed">This image has no layers.</Text>;
  const total = layers.reduce((sum, l) => sum + (Number.isFinite(l.size) ? l.size : 0), 0);
  return (
    <Stack gap="xs">
      <Text size="sm" c="dimmed">
        In the order they are applied; sizes as stored in the registry (usually compressed).
      </Text>
      <Table.ScrollContainer minWidth={300} scrollAreaProps={{ viewportProps: { tabIndex: 0 } }}>
        <Table striped verticalSpacing="xs" horizontalSpacing={8} aria-label="Layers">
          <Table.Thead>
            <Table.Tr>
              <Table.Th w={36}>
                <span aria-hidden>#</span>
                <VisuallyHidden>Layer number</VisuallyHidden>
              </Table.Th>
              <Table.Th>Digest</Table.Th>
              <Table.Th visibleFrom="sm">Media type</Table.Th>
              <Table.Th ta="right">Size</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {layers.map((layer, i) => (
              <Table.Tr key={`${i}:${layer.digest}`}>
                <Table.Td>{i + 1}</Table.Td>
                <Table.Td>
                  <Group gap={4} wrap="nowrap">
                    <Tooltip label={layer.digest} withArrow openDelay={300} maw={560} style={{ wordBreak: 'break-all' }} multiline>
                      <Text span ff="monospace" size="sm" style={{ whiteSpace: 'nowrap' }}>
                        {shortDigest(layer.digest)}
                      </Text>
                    </Tooltip>
                    <CopyIcon value={layer.digest} label={`Copy digest of layer ${i + 1}`} />
                  </Group>
                </Table.Td>
                <Table.Td visibleFrom="sm">
                  <Text span ff="monospace" size="sm" style={{ overflowWrap: 'anywhere' }}>
                    {layer.media_type}
                  </Text>
                </Table.Td>
                <Table.Td ta="right" style={{ whiteSpace: 'nowrap' }}>
                  {formatBytes(layer.size)}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
          <Table.Tfoot>
            <Table.Tr>
              <Table.Th scope="row" colSpan={2}>
                Total: {layers.length} {layers.length === 1 ? 'layer' : 'layers'}
              </Table.Th>
              <Table.Td visibleFrom="sm" />
              <Table.Td ta="right" fw={700} style={{ whiteSpace: 'nowrap' }}>
                {formatBytes(total)}
              </Table.Td>
            </Table.Tr>
          </Table.Tfoot>
        </Table>
      </Table.ScrollContainer>
    </Stack>
  );
}

/** The image config's history, as `docker history` shows it. */
function BuildHistoryTable({ project, repository, digest }: Props) {
  type Row = HistoryEntry & { step: number };
  const client = useQueryClient();
  async function fetchPage({ page, pageSize, search }: TableRequest) {
    const all = parseList<HistoryEntry>(await client.fetchQuery(additionQuery(project, repository, digest, 'build_history')));
    // Numbered before filtering, so a search keeps each step's place.
    const numbered: Row[] = all.map((entry, i) => ({ ...entry, step: i + 1 }));
    const needle = search.toLowerCase();
    const rows = needle ? numbered.filter((r) => (r.created_by ?? '').toLowerCase().includes(needle)) : numbered;
    return { items: rows.slice((page - 1) * pageSize, page * pageSize), total: rows.length };
  }
  const columns: Column<Row>[] = [
    { key: 'step', header: 'Step', width: 60, render: (r) => r.step },
    {
      key: 'created',
      header: 'Created',
      visibleFrom: 'sm',
      render: (r) => (
        <Text size="sm" style={{ whiteSpace: 'nowrap' }}>
          {isNever(r.created) ? '—' : formatDateTime(r.created)}
        </Text>
      ),
    },
    {
      key: 'command',
      header: 'Command',
      render: (r) =>
        r.created_by ? (
          <Text size="sm" ff="monospace" style={{ whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }}>
            {r.created_by}
          </Text>
        ) : (
          <Text size="sm" c="dimmed">
            {r.comment || 'no command recorded'}
          </Text>
        ),
    },
    {
      key: 'layer',
      header: 'Layer',
      width: 110,
      render: (r) =>
        r.empty_layer ? (
          <Badge variant="default" tt="none">
            empty layer
          </Badge>
        ) : (
          <Badge variant="light" tt="none">
            layer
          </Badge>
        ),
    },
  ];
  return (
    <DataTable
      label="Build history"
      queryKey={keys.addition(project, repository, digest, 'build_history:table')}
      fetchPage={fetchPage}
      columns={columns}
      rowKey={(r) => r.step}
      searchLabel="Search commands"
      emptyText="This artifact records no build history."
      defaultPageSize={25}
    />
  );
}

/**
 * The Layers section: the manifest's layers when the artifact offers them (images), then the
 * build history when it offers that (images, WASM). Each addition is loaded only when offered.
 */
export function LayersPanel({ layers, history, ...props }: Props & { layers: boolean; history: boolean }) {
  return (
    <Stack gap="lg">
      {layers && <LayerTable {...props} />}
      {history && (
        <Stack gap="xs">
          <Title order={3} size="h5">
            Build history
          </Title>
          <BuildHistoryTable {...props} />
        </Stack>
      )}
    </Stack>
  );
}

function TextAddition({ project, repository, digest, name, children }: Props & { name: string; children: (text: string) => ReactNode }) {
  const query = useAdditionText(project, repository, digest, name);
  if (query.isPending) return <Skeleton height={160} radius="md" />;
  if (query.isError) return <ErrorAlert title={`Could not load ${name}`} error={query.error} />;
  return <>{children(query.data)}</>;
}

export function ValuesPanel(props: Props) {
  return (
    <TextAddition {...props} name="values.yaml">
      {(text) =>
        text.trim() ? (
          <Stack gap="xs">
            <Group justify="space-between" wrap="nowrap">
              <Text size="sm">The chart's default values (values.yaml).</Text>
              <CopyIcon value={text} label="Copy values" />
            </Group>
            <Code block tabIndex={0} aria-label="values.yaml" style={{ maxHeight: '70vh', overflow: 'auto', whiteSpace: 'pre' }}>
              {text}
            </Code>
          </Stack>
        ) : (
          <Text c="dimmed">This chart has no values.yaml.</Text>
        )
      }
    </TextAddition>
  );
}

export function ReadmePanel(props: Props) {
  return (
    <TextAddition {...props} name="readme.md">
      {(text) =>
        text.trim() ? (
          <Spoiler maxHeight={480} showLabel="Show the whole README" hideLabel="Show less">
            <MarkdownText top={3}>{text}</MarkdownText>
          </Spoiler>
        ) : (
          <Text c="dimmed">This chart has no README.</Text>
        )
      }
    </TextAddition>
  );
}

export function DependenciesPanel({ project, repository, digest }: Props) {
  const fetchPage = useAdditionPages<Dependency>(project, repository, digest, 'dependencies', (d, needle) =>
    `${d.name} ${d.repository}`.toLowerCase().includes(needle),
  );
  const columns: Column<Dependency>[] = [
    { key: 'name', header: 'Name', render: (d) => d.name },
    { key: 'version', header: 'Version', render: (d) => d.version || '—' },
    {
      key: 'repository',
      header: 'Repository',
      render: (d) =>
        /^https?:\/\//i.test(d.repository) ? (
          <Anchor href={d.repository} target="_blank" rel="noopener noreferrer" size="sm" style={{ overflowWrap: 'anywhere' }}>
            {d.repository}
          </Anchor>
        ) : (
          <Text size="sm" ff="monospace" style={{ overflowWrap: 'anywhere' }}>
            {d.repository || '—'}
          </Text>
        ),
    },
  ];
  return (
    <DataTable
      label="Dependencies"
      queryKey={keys.addition(project, repository, digest, 'dependencies:table')}
      fetchPage={fetchPage}
      columns={columns}
      rowKey={(d) => `${d.name}@${d.version}@${d.repository}`}
      emptyText="This chart has no dependencies."
    />
  );
}
