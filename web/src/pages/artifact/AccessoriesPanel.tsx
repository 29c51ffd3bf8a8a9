import { Anchor, Group, Text } from '@mantine/core';
import { Link } from 'react-router';
import { api } from '../../api/client';
import { DataTable, type Column, type TableRequest } from '../../components/DataTable';
import { formatBytes, shortDigest } from '../../lib/format';
import { artifactPath } from '../../lib/paths';
import { ArtifactIcon } from '../repository/ArtifactIcon';
import { accessoryLabel, artifactApi, keys, type Accessory } from '../repository/model';
import { TimeText } from '../repository/parts';

/** Signatures, SBOMs and attestations attached to the artifact, each linking to its own page. */
export function AccessoriesPanel({
  project,
  repository,
  digest,
  count,
}: {
  project: string;
  repository: string;
  digest: string;
  /** How many the artifact has (its `accessories`): none, and there is no table to show. */
  count: number;
}) {
  function fetchPage({ page, pageSize, sort }: TableRequest) {
    return api.list<Accessory>(`${artifactApi(project, repository, digest)}/accessories`, { page, pageSize, sort });
  }
  const columns: Column<Accessory>[] = [
    {
      key: 'type',
      header: 'Type',
      render: (a) => (
        <Group gap="xs" wrap="nowrap">
          <ArtifactIcon icon={a.icon} type={a.type} label={accessoryLabel(a.type)} size={24} decorative />
          <Text size="sm" span>
            {accessoryLabel(a.type)}
          </Text>
        </Group>
      ),
    },
    {
      key: 'digest',
      header: 'Digest',
      render: (a) => (
        <Anchor component={Link} to={artifactPath(project, repository, a.digest)} ff="monospace" size="sm" style={{ whiteSpace: 'nowrap' }}>
          {shortDigest(a.digest)}
        </Anchor>
      ),
    },
    {
      key: 'size',
      header: 'Size',
      render: (a) => (
        <Text size="sm" span style={{ whiteSpace: 'nowrap' }}>
          {formatBytes(a.size)}
        </Text>
      ),
    },
    { key: 'creation_time', header: 'Created', visibleFrom: 'xs', render: (a) => <TimeText time={a.creation_time} /> },
  ];
  if (count === 0) return <Text c="dimmed">No signatures, SBOMs or other accessories are attached to this artifact.</Text>;
  return (
    <DataTable
      label="Accessories"
      queryKey={[...keys.accessories(project, repository), digest]}
      fetchPage={fetchPage}
      columns={columns}
      rowKey={(a) => a.digest}
      emptyText="No signatures, SBOMs or other accessories are attached to this artifact."
    />
  );
}
