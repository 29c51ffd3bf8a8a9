import { ActionIcon, Anchor, Badge, Button, Card, Group, Skeleton, Stack, Text, Textarea, Title, Tooltip } from '@mantine/core';
import { IconPencil, IconTrash } from '@tabler/icons-react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { api, ApiError } from '../../api/client';
import { BulkDeleteDialog, type BulkItem, type BulkOutcome } from '../../components/BulkDeleteDialog';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { DataTable, type Column, type TableRequest } from '../../components/DataTable';
import { useSelection } from '../../components/selection';
import { ErrorAlert } from '../../components/ErrorAlert';
import { formatBytes, formatDateTime, shortDigest } from '../../lib/format';
import { notifyDone, notifyError } from '../../lib/notify';
import { artifactPath, projectPath, repositoryPath } from '../../lib/paths';
import { usePageTitle } from '../../lib/title';
import { ArtifactIcon } from './ArtifactIcon';
import { artifactApi, isIndex, keys, platformText, repositoryApi, typeLabel, type Artifact, type Repository } from './model';
import { ImmutableDeleteNotice, ImmutableLock, immutableTags } from './Immutable';
import { AccessoryMarks, LabelBadge, MarkdownText, PageCrumbs, PullMenu, RowMenu, TimeText } from './parts';
import { useProjectAccess } from '../../auth/permissions';
import { hasFeature } from '../../lib/features';
import { BulkScanButtons, RowScanButtons, ScanMenuItems, scanPermissions, useScanRequests } from '../scanning/actions';
import { isScannable, scanUnderWay } from '../scanning/model';
import { SbomMark, ScanStatus } from '../scanning/ScanStatus';

const shownTags = 3;

/** "v1.2 (sha256:ab12…)", or the short digest of an untagged artifact. */
function artifactName(a: Artifact): string {
  const tag = a.tags?.[0]?.name;
  return tag ? `${tag} (${shortDigest(a.digest)})` : shortDigest(a.digest);
}
const maxTagChars = 24;

function TagBadges({ artifact }: { artifact: Artifact }) {
  const tags = artifact.tags ?? [];
  if (tags.length === 0)
    return (
      <Text size="sm" c="dimmed" fs="italic">
        untagged
      </Text>
    );
  const rest = tags.length - shownTags;
  return (
    <Group gap={4} wrap="wrap">
      {tags.slice(0, shownTags).map((tag) => (
        // Cut in text rather than by CSS ellipsis: an ellipsis lets a narrow table squeeze the
        // badge down to its first letter.
        <Badge
          key={tag.id}
          variant="light"
          tt="none"
          title={tag.name}
          leftSection={tag.immutable ? <ImmutableLock tag={tag.name} /> : undefined}
          styles={{ label: { overflow: 'visible' } }}
        >
          {tag.name.length > maxTagChars ? `${tag.name.slice(0, maxTagChars - 1)}…` : tag.name}
        </Badge>
      ))}
      {rest > 0 && (
        <Tooltip
          label={tags
            .slice(shownTags)
            .map((t) => t.name)
            .join(', ')}
          multiline
          maw={320}
        >
          <Badge variant="default" tt="none">
            +{rest} more
          </Badge>
        </Tooltip>
      )}
    </Group>
  );
}

function Platforms({ artifact }: { artifact: Artifact }) {
  if (isIndex(artifact)) {
    const platforms = (artifact.references ?? []).map((r) => platformText(r.platform)).filter((p): p is string => p !== null);
    const count = artifact.references?.length ?? 0;
    const text =
      platforms.length > 0
        ? `${platforms.length} platform${platforms.length === 1 ? '' : 's'}`
        : `${count} manifest${count === 1 ? '' : 's'}`;
    return (
      <Tooltip label={platforms.join(', ') || 'No platforms given'} multiline maw={320}>
        <Text size="sm" span style={{ whiteSpace: 'nowrap' }}>
          {text}
        </Text>
      </Tooltip>
    );
  }
  const platform = platformText(artifact.extra_attrs);
  return platform ? (
    <Text size="sm" span style={{ whiteSpace: 'nowrap' }}>
      {platform}
    </Text>
  ) : (
    <Text size="sm" c="dimmed" span>
      —
    </Text>
  );
}

function Description({
  project,
  repository,
  description,
  canEdit,
}: {
  project: string;
  repository: string;
  description: string;
  canEdit: boolean;
}) {
  const client = useQueryClient();
  const [editing, setEditing] = useState(false);
  const [draft, setDraft] = useState('');
  const save = useMutation({
    mutationFn: (text: string) => api.put(repositoryApi(project, repository), { description: text }),
    onSuccess: async () => {
      notifyDone('Description saved');
      setEditing(false);
      await client.invalidateQueries({ queryKey: keys.repository(project, repository) });
      await client.invalidateQueries({ queryKey: ['repositories'] });
    },
    onError: (err) => notifyError(err, 'Could not save the description'),
  });
  return (
    <Card withBorder padding="md">
      <Group justify="space-between" mb="xs" wrap="wrap">
        <Title order={2} size="h4">
          Description
        </Title>
        {canEdit && !editing && (
          <Button
            variant="default"
            size="xs"
            leftSection={<IconPencil size={14} aria-hidden />}
            onClick={() => {
              setDraft(description);
              setEditing(true);
            }}
          >
            Edit description
          </Button>
        )}
      </Group>
      {editing ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            save.mutate(draft);
          }}
        >
          <Textarea
            label="Description"
            description="Markdown is supported."
            value={draft}
            onChange={(e) => setDraft(e.currentTarget.value)}
            autosize
            minRows={4}
            maxRows={16}
            data-autofocus
          />
          <Group justify="flex-end" mt="sm">
            <Button variant="default" onClick={() => setEditing(false)} disabled={save.isPending}>
              Cancel
            </Button>
            <Button type="submit" loading={save.isPending}>
              Save
            </Button>
          </Group>
        </form>
      ) : description.trim() ? (
        <MarkdownText>{description}</MarkdownText>
      ) : (
        <Text size="sm" c="dimmed">
          No description yet.
        </Text>
      )}
    </Card>
  );
}

export function RepositoryPage({ project, repository }: { project: string; repository: string }) {
  const fullName = `${project}/${repository}`;
  usePageTitle(fullName);
  const client = useQueryClient();
  const navigate = useNavigate();
  const [deletingRepository, setDeletingRepository] = useState(false);
  const [deleting, setDeleting] = useState<Artifact | null>(null);
  const selection = useSelection<Artifact>((a) => a.digest);
  const scanning = hasFeature('vulnerability-scanning');
  const sbomGeneration = hasFeature('sbom-generation');
  // The artifacts asked about, fixed when the dialog opens.
  const [bulk, setBulk] = useState<Array<BulkItem & { digest: string }> | null>(null);

  const repoQuery = useQuery({
    queryKey: keys.repository(project, repository),
    queryFn: () => api.get<Repository>(repositoryApi(project, repository)),
  });
  const can = useProjectAccess(repoQuery.data?.project_id);

  const crumbs = [
    { label: 'Projects', to: '/projects' },
    { label: project, to: projectPath(project, 'repositories') },
    { label: repository, to: repositoryPath(project, repository) },
  ];

  async function fetchPage({ page, pageSize, sort, search }: TableRequest) {
    return api.list<Artifact>(`${repositoryApi(project, repository)}/artifacts`, {
      page,
      pageSize,
      sort,
      q: search ? `tags=~${search}` : undefined,
      with_tag: true,
      with_immutable_status: true,
      with_label: true,
      // Accessories for the signed and SBOM marks of each row (one query for the page).
      with_accessory: true,
      // Each signature's verification, for the verified / unverified mark.
      with_signature: true,
      with_scan_overview: scanning || undefined,
      with_sbom_overview: sbomGeneration || undefined,
    });
  }

  async function refreshAfterDelete() {
    await Promise.all([
      client.invalidateQueries({ queryKey: keys.artifacts(project, repository) }),
      client.invalidateQueries({ queryKey: keys.repository(project, repository) }),
      client.invalidateQueries({ queryKey: ['repositories'] }),
      client.invalidateQueries({ queryKey: ['project-summary'] }),
    ]);
  }

  async function deleteArtifact(artifact: Artifact) {
    await api.delete(artifactApi(project, repository, artifact.digest));
    selection.drop([artifact.digest]);
    notifyDone(`Deleted artifact ${shortDigest(artifact.digest)}`);
    await refreshAfterDelete();
  }

  function askBulkDelete() {
    // Indexes first: an image an index lists cannot go before the index.
    const chosen = [...selection.rows.values()].sort((a, b) => Number(isIndex(b)) - Number(isIndex(a)));
    setBulk(chosen.map((a) => ({ key: a.digest, digest: a.digest, label: artifactName(a) })));
  }

  async function bulkFinished(outcomes: BulkOutcome[]) {
    // Done with every one tried: a failure's reason is in the dialog.
    selection.drop(outcomes.map((o) => o.key));
    await refreshAfterDelete();
  }

  async function deleteRepository() {
    await api.delete(repositoryApi(project, repository));
    notifyDone(`Deleted repository ${fullName}`);
    // Away, and this page's own queries left alone: refreshed, they would answer 404.
    navigate(projectPath(project, 'repositories'));
    await Promise.all([
      client.invalidateQueries({ queryKey: ['repositories'] }),
      client.invalidateQueries({ queryKey: ['projects'] }),
      client.invalidateQueries({ queryKey: ['project'] }),
      client.invalidateQueries({ queryKey: ['project-summary'] }),
      client.invalidateQueries({ queryKey: ['project-deletable'] }),
    ]);
  }

  const canDeleteArtifact = can('artifact', 'delete');
  const scanAllowed = scanPermissions(can);
  const canScanSome = scanAllowed.scan || scanAllowed.sbom;
  const scanRequests = useScanRequests(project, repository);
  const columns: Column<Artifact>[] = [
    {
      key: 'type',
      header: 'Type',
      width: 56,
      visibleFrom: 'xs',
      render: (a) => <ArtifactIcon icon={a.icon} type={a.type} index={isIndex(a)} label={typeLabel(a)} />,
    },
    {
      // On a phone: digest, tags and size in one column, so that each row's actions stay in view.
      key: 'artifact',
      header: 'Artifact',
      hiddenFrom: 'xs',
      render: (a) => (
        <Stack gap={4} align="flex-start">
          <Anchor component={Link} to={artifactPath(project, repository, a.digest)} ff="monospace" size="sm">
            {shortDigest(a.digest)}
          </Anchor>
          <Group gap={6} wrap="wrap">
            <TagBadges artifact={a} />
            <AccessoryMarks artifact={a} />
            {scanning && isScannable(a) && <ScanStatus artifact={a} compact />}
            <Text size="xs" c="dimmed" span style={{ whiteSpace: 'nowrap' }}>
              {formatBytes(a.size)}
            </Text>
          </Group>
        </Stack>
      ),
    },
    {
      key: 'digest',
      header: 'Digest',
      visibleFrom: 'xs',
      render: (a) => (
        <Tooltip label={a.digest} withArrow openDelay={300} maw={560} style={{ wordBreak: 'break-all' }} multiline>
          <Anchor
            component={Link}
            to={artifactPath(project, repository, a.digest)}
            ff="monospace"
            size="sm"
            style={{ whiteSpace: 'nowrap' }}
          >
            {shortDigest(a.digest)}
          </Anchor>
        </Tooltip>
      ),
    },
    {
      key: 'tags',
      header: 'Tags',
      visibleFrom: 'xs',
      render: (a) => (
        <Group gap={4} wrap="wrap">
          <TagBadges artifact={a} />
          <AccessoryMarks artifact={a} />
        </Group>
      ),
    },
    { key: 'platforms', header: 'Platforms', visibleFrom: 'sm', render: (a) => <Platforms artifact={a} /> },
    ...(scanning
      ? [
          {
            key: 'vulnerabilities',
            header: 'Vulnerabilities',
            visibleFrom: 'xs' as const,
            render: (a: Artifact) => (isScannable(a) ? <ScanStatus artifact={a} /> : null),
          },
        ]
      : []),
    ...(sbomGeneration
      ? [
          {
            key: 'sbom',
            header: 'SBOM',
            visibleFrom: 'md' as const,
            render: (a: Artifact) => <SbomMark artifact={a} to={`${artifactPath(project, repository, a.digest)}#sbom`} />,
          },
        ]
      : []),
    {
      key: 'size',
      header: 'Size',
      sort: 'size',
      visibleFrom: 'xs',
      render: (a) => (
        <Text size="sm" span style={{ whiteSpace: 'nowrap' }}>
          {formatBytes(a.size)}
        </Text>
      ),
    },
    { key: 'push_time', header: 'Pushed', sort: 'push_time', visibleFrom: 'xs', render: (a) => <TimeText time={a.push_time} /> },
    { key: 'pull_time', header: 'Pulled', visibleFrom: 'sm', render: (a) => <TimeText time={a.pull_time} /> },
    {
      key: 'labels',
      header: 'Labels',
      visibleFrom: 'sm',
      render: (a) =>
        a.labels && a.labels.length > 0 ? (
          <Group gap={4} wrap="wrap">
            {a.labels.map((label) => (
              <LabelBadge key={label.id} label={label} />
            ))}
          </Group>
        ) : null,
    },
    {
      key: 'actions',
      header: 'Actions',
      render: (a) => (
        <>
          <Group gap={4} wrap="nowrap" visibleFrom="xs">
            <PullMenu project={project} repository={repository} artifact={a} />
            <RowScanButtons artifact={a} allowed={scanAllowed} requests={scanRequests} />
            {canDeleteArtifact && (
              <ActionIcon
                variant="subtle"
                color="red"
                aria-label={`Delete artifact ${shortDigest(a.digest)}`}
                onClick={() => setDeleting(a)}
              >
                <IconTrash size={16} aria-hidden />
              </ActionIcon>
            )}
          </Group>
          <RowMenu
            hiddenFrom="xs"
            project={project}
            repository={repository}
            artifact={a}
            onDelete={canDeleteArtifact ? () => setDeleting(a) : undefined}
            extra={<ScanMenuItems artifact={a} allowed={scanAllowed} requests={scanRequests} />}
          />
        </>
      ),
    },
  ];

  const repo = repoQuery.data;
  return (
    <Stack gap="lg">
      <Stack gap={6}>
        <PageCrumbs items={crumbs} />
        <Group justify="space-between" align="flex-start" gap="sm" wrap="wrap">
          <Title order={1} style={{ overflowWrap: 'anywhere' }}>
            {fullName}
          </Title>
          {repo && can('repository', 'delete') && (
            <Button
              color="red"
              variant="light"
              leftSection={<IconTrash size={16} aria-hidden />}
              onClick={() => setDeletingRepository(true)}
            >
              Delete repository
            </Button>
          )}
        </Group>
        {repo && (
          <Group gap="lg" wrap="wrap">
            <Text size="sm">
              {repo.artifact_count} artifact{repo.artifact_count === 1 ? '' : 's'}
            </Text>
            <Text size="sm">
              {repo.pull_count} pull{repo.pull_count === 1 ? '' : 's'}
            </Text>
            <Text size="sm">Created {formatDateTime(repo.creation_time)}</Text>
            <Text size="sm">
              Updated <TimeText time={repo.update_time} />
            </Text>
          </Group>
        )}
      </Stack>

      {repoQuery.isError ? (
        <ErrorAlert
          title={
            repoQuery.error instanceof ApiError && repoQuery.error.status === 404 ? 'Repository not found' : 'Could not load the repository'
          }
          error={repoQuery.error}
        />
      ) : (
        <>
          {repo ? (
            <Description
              project={project}
              repository={repository}
              description={repo.description ?? ''}
              canEdit={can('repository', 'update')}
            />
          ) : (
            <Skeleton height={120} radius="md" />
          )}
          {/* Loaded beside the repository, not after it. */}
          <section aria-labelledby="artifacts-heading">
            <Title order={2} size="h4" id="artifacts-heading" mb="sm">
              Artifacts
            </Title>
            <DataTable
              label="Artifacts"
              queryKey={keys.artifacts(project, repository)}
              fetchPage={fetchPage}
              columns={columns}
              rowKey={(a) => a.digest}
              selection={canDeleteArtifact || canScanSome ? selection : undefined}
              rowLabel={artifactName}
              // Follows scans and SBOM generations while one of the rows shown has one under way.
              refetchInterval={(shown) => (shown?.items.some(scanUnderWay) ? 2000 : false)}
              toolbar={
                selection.rows.size > 0 ? (
                  <>
                    <BulkScanButtons chosen={[...selection.rows.values()]} allowed={scanAllowed} requests={scanRequests} />
                    {canDeleteArtifact && (
                      <Button color="red" variant="light" leftSection={<IconTrash size={16} aria-hidden />} onClick={askBulkDelete}>
                        Delete {selection.rows.size} selected
                      </Button>
                    )}
                  </>
                ) : undefined
              }
              searchLabel="Search tags"
              defaultSort="-push_time"
              emptyText="No artifacts in this repository."
            />
          </section>
        </>
      )}

      <ImmutableDeleteNotice project={project} artifact={deleting} onClose={() => setDeleting(null)} />
      <ConfirmDialog
        opened={deleting !== null && immutableTags(deleting).length === 0}
        onClose={() => setDeleting(null)}
        title="Delete artifact?"
        confirmLabel="Delete"
        onConfirm={() => deleteArtifact(deleting!)}
      >
        {deleting && (
          <>
            Delete{' '}
            <Text span ff="monospace">
              {shortDigest(deleting.digest)}
            </Text>
            {deleting.tags && deleting.tags.length > 0 ? ` (tagged ${deleting.tags.map((t) => t.name).join(', ')})` : ''} with all its tags
            and accessories from {fullName}? This cannot be undone.
          </>
        )}
      </ConfirmDialog>
      <BulkDeleteDialog
        opened={bulk !== null}
        onClose={() => setBulk(null)}
        title="Delete artifacts?"
        noun="artifacts"
        items={bulk ?? []}
        run={(item) => api.delete(artifactApi(project, repository, item.digest))}
        onFinished={bulkFinished}
      >
        Each goes with all its tags and accessories, from {fullName}.
      </BulkDeleteDialog>
      <ConfirmDialog
        opened={deletingRepository}
        onClose={() => setDeletingRepository(false)}
        title="Delete repository?"
        confirmLabel="Delete"
        onConfirm={deleteRepository}
      >
        Delete {fullName} with {repo?.artifact_count ?? 'all its'} artifact{repo?.artifact_count === 1 ? '' : 's'} and their tags? This
        cannot be undone.
      </ConfirmDialog>
    </Stack>
  );
}
