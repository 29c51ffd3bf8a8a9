// Administration: the vulnerability database the built-in scanner matches against (Berth's
// own /vulndb): when it was last updated, what it holds per ecosystem, and Update now.
import { Alert, Badge, Button, Card, Group, Skeleton, Stack, Table, Text, Title } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, errorText } from '../../api/client';
import { formatDateTime } from '../../lib/format';
import { notifyDone, notifyError } from '../../lib/notify';
import { TimeText } from '../repository/parts';
import { scanKeys } from '../scanning/model';

type Json = Record<string, unknown>;

interface EcosystemRow {
  name: string;
  records: number | null;
  updatedAt: string | null;
  source: string | null;
}

interface LastUpdate {
  id: string | null;
  status: string;
  started: string | null;
  ended: string | null;
  error: string | null;
}

interface Status {
  updatedAt: string | null;
  source: string | null;
  total: number | null;
  ecosystems: EcosystemRow[];
  lastUpdate: LastUpdate | null;
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const first = <T,>(...values: Array<T | null>): T | null => values.find((v) => v !== null) ?? null;

/** Reads the status in the names the server uses (snake_case), with what it leaves out as null. */
export function readStatus(body: Json): Status {
  const rawEcosystems = body.ecosystems ?? body.sources;
  const ecosystems: EcosystemRow[] = Array.isArray(rawEcosystems)
    ? (rawEcosystems as Json[]).map((e) => ({
        name: first(str(e.name), str(e.ecosystem)) ?? '?',
        records: first(num(e.records), num(e.advisories), num(e.count)),
        updatedAt: first(str(e.updated_at), str(e.imported_at), str(e.newest_modified)),
        source: str(e.source),
      }))
    : rawEcosystems && typeof rawEcosystems === 'object'
      ? Object.entries(rawEcosystems as Json).map(([name, count]) => ({ name, records: num(count), updatedAt: null, source: null }))
      : [];
  const job = (body.last_update ?? body.job ?? body.update ?? null) as Json | null;
  return {
    updatedAt: first(str(body.updated_at), str(body.imported_at)),
    source: first(str(body.source), str(body.url)),
    total: first(num(body.advisories), num(body.total), num(body.records)),
    ecosystems,
    lastUpdate: job
      ? {
          id: job.id === undefined || job.id === null ? null : String(job.id),
          status: str(job.status) ?? str(job.job_status) ?? 'Unknown',
          started: first(str(job.start_time), str(job.creation_time), str(job.started_at)),
          ended: first(str(job.end_time), str(job.update_time), str(job.finished_at)),
          error: first(str(job.error), str(job.message)),
        }
      : null,
  };
}

const running = (s: Status | undefined) => !!s?.lastUpdate && /^(pending|running|queued|scheduled)$/i.test(s.lastUpdate.status);
const jobColor: Record<string, string> = { success: 'green', error: 'red', failed: 'red', stopped: 'orange', running: 'blue' };

export function VulnDbPanel() {
  const client = useQueryClient();
  const [busy, setBusy] = useState(false);
  const status = useQuery({
    queryKey: scanKeys.vulndb,
    queryFn: async () => readStatus((await api.get<Json>('/vulndb')) ?? {}),
    refetchInterval: (q) => (running(q.state.data) ? 2000 : false),
  });

  async function update() {
    setBusy(true);
    try {
      await api.post('/vulndb/update');
      notifyDone('Updating the vulnerability database');
      await client.invalidateQueries({ queryKey: scanKeys.vulndb });
    } catch (err) {
      notifyError(err, 'The update did not start');
    } finally {
      setBusy(false);
    }
  }

  const data = status.data;
  return (
    <Card withBorder padding="lg" radius="md" component="section" aria-labelledby="vulndb-title">
      <Stack gap="md">
        <div>
          <Title order={2} size="h3" id="vulndb-title">
            Vulnerability database
          </Title>
          <Text size="sm" c="dimmed">
            The OSV advisories the built-in scanner matches packages against. Offline, load them with <code>berth vulndb import DIR</code>.
          </Text>
        </div>
        {status.isPending ? (
          <Skeleton height={60} />
        ) : status.isError ? (
          <Alert color="red" title="Could not load the database's status" role="alert">
            {errorText(status.error)}
          </Alert>
        ) : (
          <Stack gap="sm">
            <Group gap="lg" wrap="wrap">
              {data?.updatedAt ? (
                <Text size="sm">
                  Advisories as of <TimeText time={data.updatedAt} />
                </Text>
              ) : (
                <Text size="sm" c="dimmed">
                  Never updated
                </Text>
              )}
              {data?.total !== null && <Text size="sm">{data?.total} advisories</Text>}
              {data?.source && (
                <Text size="sm" c="dimmed" style={{ overflowWrap: 'anywhere' }}>
                  Source: {data.source}
                </Text>
              )}
            </Group>
            {data?.lastUpdate && (
              <Group gap="sm" wrap="wrap">
                <Text size="sm">Last update:</Text>
                <Badge variant="light" color={jobColor[data.lastUpdate.status.toLowerCase()] ?? 'gray'} tt="none">
                  {data.lastUpdate.status}
                </Badge>
                <Text size="sm" c="dimmed">
                  {formatDateTime(data.lastUpdate.ended ?? data.lastUpdate.started)}
                </Text>
                {data.lastUpdate.error && (
                  <Text size="sm" style={{ overflowWrap: 'anywhere' }}>
                    {data.lastUpdate.error}
                  </Text>
                )}
              </Group>
            )}
            {data && data.ecosystems.length > 0 ? (
              <Table.ScrollContainer minWidth={360} scrollAreaProps={{ viewportProps: { tabIndex: 0 } }}>
                <Table striped verticalSpacing={4} aria-label="Advisories per ecosystem" maw={720}>
                  <Table.Thead>
                    <Table.Tr>
                      <Table.Th>Ecosystem</Table.Th>
                      <Table.Th ta="right">Advisories</Table.Th>
                      <Table.Th>Imported</Table.Th>
                    </Table.Tr>
                  </Table.Thead>
                  <Table.Tbody>
                    {data.ecosystems.map((e) => (
                      <Table.Tr key={e.name}>
                        <Table.Td>{e.name}</Table.Td>
                        <Table.Td ta="right">{e.records ?? '—'}</Table.Td>
                        <Table.Td>{e.updatedAt ? <TimeText time={e.updatedAt} /> : '—'}</Table.Td>
                      </Table.Tr>
                    ))}
                  </Table.Tbody>
                </Table>
              </Table.ScrollContainer>
            ) : (
              <Text size="sm" c="dimmed">
                The database is empty: nothing can be found vulnerable until it is updated or imported.
              </Text>
            )}
          </Stack>
        )}
        <Group>
          <Button variant="light" onClick={() => void update()} loading={busy || running(data)} disabled={status.isPending}>
            Update now
          </Button>
        </Group>
      </Stack>
    </Card>
  );
}
