import { Anchor, Badge, Box, Button, Card, Group, Skeleton, Stack, Text, Title } from '@mantine/core';
import { IconTrash } from '@tabler/icons-react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type MouseEvent, type ReactNode } from 'react';
import { Link, useNavigate } from 'react-router';
import { api, ApiError } from '../../api/client';
import { ConfirmDialog } from '../../components/ConfirmDialog';
import { ErrorAlert } from '../../components/ErrorAlert';
import { formatBytes, shortDigest } from '../../lib/format';
import { notifyDone } from '../../lib/notify';
import { artifactPath, projectPath, repositoryPath } from '../../lib/paths';
import { usePageTitle } from '../../lib/title';
import { ArtifactIcon } from '../repository/ArtifactIcon';
import { artifactApi, isDigest, isIndex, keys, typeLabel, type Artifact } from '../repository/model';
import { AccessoryMarks, PageCrumbs, PullMenu, TimeText } from '../repository/parts';
import { useProjectAccess } from '../../auth/permissions';
import { AccessoriesPanel } from './AccessoriesPanel';
import { DependenciesPanel, LayersPanel, ReadmePanel, ValuesPanel } from './AdditionPanels';
import { LabelsPanel } from './LabelsPanel';
import { OverviewPanel } from './OverviewPanel';
import { ParentLinks } from './ParentLinks';
import { TagsPanel } from './TagsPanel';
import { hasFeature } from '../../lib/features';
import { scanPermissions } from '../scanning/actions';
import { isScannable, scanUnderWay } from '../scanning/model';
import { SbomPanel } from './SbomPanel';
import { SignaturesPanel } from './SignaturesPanel';
import { VulnerabilitiesPanel } from './VulnerabilitiesPanel';

type SectionId =
  | 'overview'
  | 'tags'
  | 'vulnerabilities'
  | 'sbom'
  | 'layers'
  | 'values'
  | 'readme'
  | 'dependencies'
  | 'signatures'
  | 'accessories'
  | 'labels';

const sectionTitles: Record<SectionId, string> = {
  overview: 'Overview',
  tags: 'Tags',
  vulnerabilities: 'Vulnerabilities',
  sbom: 'SBOM',
  layers: 'Layers',
  values: 'Values',
  readme: 'Readme',
  dependencies: 'Dependencies',
  signatures: 'Signatures',
  accessories: 'Accessories',
  labels: 'Labels',
};

/** The sections an artifact has: the additions it offers decide Layers (layers, build_history), Readme, Values and Dependencies. */
function sectionsOf(artifact: Artifact): SectionId[] {
  const additions = artifact.addition_links ?? {};
  const sections: SectionId[] = ['overview', 'tags'];
  // Scans are of images (Harbor offers the vulnerabilities addition for what it can scan).
  if (isScannable(artifact) || artifact.scan_overview) {
    if (hasFeature('vulnerability-scanning')) sections.push('vulnerabilities');
    if (hasFeature('sbom-generation')) sections.push('sbom');
  }
  if (additions.layers || additions.build_history) sections.push('layers');
  if (additions['readme.md']) sections.push('readme');
  if (additions['values.yaml']) sections.push('values');
  if (additions.dependencies) sections.push('dependencies');
  if ((artifact.signatures ?? []).length > 0) sections.push('signatures');
  sections.push('accessories', 'labels');
  return sections;
}

/** One part of the page: a card under its h2. */
function Section({ id, children }: { id: SectionId; children: ReactNode }) {
  return (
    <Card withBorder padding="md" component="section" id={id} aria-labelledby={`${id}-heading`} style={{ scrollMarginTop: 72 }}>
      <Title order={2} size="h4" id={`${id}-heading`} mb="sm" tabIndex={-1}>
        {sectionTitles[id]}
      </Title>
      {children}
    </Card>
  );
}

/** Scrolls to a section without touching the router's URL. */
function jump(event: MouseEvent<HTMLAnchorElement>, id: string) {
  event.preventDefault();
  const target = document.getElementById(id);
  target?.scrollIntoView({ behavior: 'smooth', block: 'start' });
  target?.querySelector<HTMLElement>('h2')?.focus({ preventScroll: true });
}

export function ArtifactPage({ project, repository, reference }: { project: string; repository: string; reference: string }) {
  const byDigest = isDigest(reference);
  const name = byDigest ? `${repository}@${shortDigest(reference)}` : `${repository}:${reference}`;
  usePageTitle(`${project}/${name}`);
  const client = useQueryClient();
  const navigate = useNavigate();
  const [deleting, setDeleting] = useState(false);

  const query = useQuery({
    queryKey: [...keys.artifact(project, repository), reference],
    queryFn: () =>
      api.get<Artifact>(artifactApi(project, repository, reference), {
        with_tag: true,
        with_label: true,
        with_accessory: true,
        with_signature: true,
        with_scan_overview: true,
        with_sbom_overview: hasFeature('sbom-generation') || undefined,
      }),
    // Follows a scan or an SBOM generation while one is under way.
    refetchInterval: (q) => (q.state.data && scanUnderWay(q.state.data) ? 2000 : false),
  });
  const artifact = query.data;
  const can = useProjectAccess(artifact?.project_id);

  const crumbs = [
    { label: 'Projects', to: '/projects' },
    { label: project, to: projectPath(project, 'repositories') },
    { label: repository, to: repositoryPath(project, repository) },
    { label: byDigest ? shortDigest(reference) : reference, to: artifactPath(project, repository, reference) },
  ];

  const sections = artifact ? sectionsOf(artifact) : [];

  async function deleteArtifact() {
    const digest = artifact!.digest;
    await api.delete(artifactApi(project, repository, digest));
    notifyDone(`Deleted artifact ${shortDigest(digest)}`);
    // Away, and this page's own queries left alone: refreshed, they would answer 404.
    navigate(repositoryPath(project, repository));
    await Promise.all([
      client.invalidateQueries({ queryKey: keys.artifacts(project, repository) }),
      client.invalidateQueries({ queryKey: keys.repository(project, repository) }),
      // Another artifact's accessories, when this was one; not this one's own list (404 now).
      client.invalidateQueries({ queryKey: keys.accessories(project, repository), predicate: (q) => q.queryKey[3] !== digest }),
      client.invalidateQueries({ queryKey: ['repositories'] }),
      client.invalidateQueries({ queryKey: ['project-summary'] }),
    ]);
  }

  const notFound = query.error instanceof ApiError && query.error.status === 404;
  return (
    <Stack gap="lg">
      <Stack gap={6}>
        <PageCrumbs items={crumbs} />
        <Group justify="space-between" align="flex-start" gap="sm" wrap="wrap">
          <Group gap="sm" wrap="nowrap" align="center" style={{ minWidth: 0 }}>
            {artifact && (
              <ArtifactIcon icon={artifact.icon} type={artifact.type} index={isIndex(artifact)} label={typeLabel(artifact)} size={36} />
            )}
            <Title order={1} style={{ overflowWrap: 'anywhere' }}>
              {name}
            </Title>
          </Group>
          {artifact && (
            <Group gap="xs" wrap="nowrap">
              <PullMenu project={project} repository={repository} artifact={artifact} button />
              {can('artifact', 'delete') && (
                <Button color="red" variant="light" leftSection={<IconTrash size={16} aria-hidden />} onClick={() => setDeleting(true)}>
                  Delete artifact
                </Button>
              )}
            </Group>
          )}
        </Group>
        {artifact && (
          <Group gap="md" wrap="wrap">
            <Text size="sm">{typeLabel(artifact)}</Text>
            <Text size="sm">{formatBytes(artifact.size)}</Text>
            <Text size="sm">
              Pushed <TimeText time={artifact.push_time} />
            </Text>
            {(artifact.tags ?? []).length > 0 && (
              <Group gap={4} wrap="wrap">
                {artifact.tags!.slice(0, 5).map((t) => (
                  <Badge key={t.id} variant="light" tt="none">
                    {t.name}
                  </Badge>
                ))}
                {artifact.tags!.length > 5 && (
                  <Badge variant="default" tt="none">
                    +{artifact.tags!.length - 5} more
                  </Badge>
                )}
              </Group>
            )}
            <AccessoryMarks artifact={artifact} />
          </Group>
        )}
        {artifact && <ParentLinks project={project} repository={repository} artifact={artifact} />}
      </Stack>

      {query.isPending ? (
        <Stack gap="sm">
          <Skeleton height={36} radius="md" />
          <Skeleton height={240} radius="md" />
        </Stack>
      ) : query.isError ? (
        <Stack gap="sm">
          <ErrorAlert
            title={notFound ? 'Artifact not found' : 'Could not load the artifact'}
            error={
              notFound ? `There is no artifact ${byDigest ? reference : `tagged ${reference}`} in ${project}/${repository}.` : query.error
            }
          />
          <Anchor component={Link} to={repositoryPath(project, repository)} size="sm">
            Back to {project}/{repository}
          </Anchor>
        </Stack>
      ) : (
        <>
          {sections.length > 3 && (
            <Box component="nav" aria-label="Sections">
              <Group gap="md" wrap="wrap">
                {sections.map((id) => (
                  <Anchor key={id} href={`#${id}`} size="sm" onClick={(e) => jump(e, id)}>
                    {sectionTitles[id]}
                  </Anchor>
                ))}
              </Group>
            </Box>
          )}
          <Section id="overview">
            <OverviewPanel project={project} repository={repository} artifact={artifact!} />
          </Section>
          <Section id="tags">
            <TagsPanel
              project={project}
              repository={repository}
              reference={reference}
              artifact={artifact!}
              canCreate={can('tag', 'create')}
              canDelete={can('tag', 'delete')}
            />
          </Section>
          {sections.includes('vulnerabilities') && (
            <Section id="vulnerabilities">
              <VulnerabilitiesPanel project={project} repository={repository} artifact={artifact!} allowed={scanPermissions(can)} />
            </Section>
          )}
          {sections.includes('sbom') && (
            <Section id="sbom">
              <SbomPanel project={project} repository={repository} artifact={artifact!} allowed={scanPermissions(can)} />
            </Section>
          )}
          {sections.includes('layers') && (
            <Section id="layers">
              <LayersPanel
                project={project}
                repository={repository}
                digest={artifact!.digest}
                layers={Boolean(artifact!.addition_links?.layers)}
                history={Boolean(artifact!.addition_links?.build_history)}
              />
            </Section>
          )}
          {sections.includes('readme') && (
            <Section id="readme">
              <ReadmePanel project={project} repository={repository} digest={artifact!.digest} />
            </Section>
          )}
          {sections.includes('values') && (
            <Section id="values">
              <ValuesPanel project={project} repository={repository} digest={artifact!.digest} />
            </Section>
          )}
          {sections.includes('dependencies') && (
            <Section id="dependencies">
              <DependenciesPanel project={project} repository={repository} digest={artifact!.digest} />
            </Section>
          )}
          {sections.includes('signatures') && (
            <Section id="signatures">
              <SignaturesPanel project={project} repository={repository} signatures={artifact!.signatures ?? []} />
            </Section>
          )}
          <Section id="accessories">
            <AccessoriesPanel
              project={project}
              repository={repository}
              digest={artifact!.digest}
              count={artifact!.accessories?.length ?? 0}
            />
          </Section>
          <Section id="labels">
            <LabelsPanel
              project={project}
              repository={repository}
              artifact={artifact!}
              canAdd={can('artifact-label', 'create')}
              canRemove={can('artifact-label', 'delete')}
              canListProjectLabels={can('label', 'list')}
            />
          </Section>
        </>
      )}

      <ConfirmDialog
        opened={deleting}
        onClose={() => setDeleting(false)}
        title="Delete artifact?"
        confirmLabel="Delete"
        onConfirm={deleteArtifact}
      >
        Delete {artifact ? shortDigest(artifact.digest) : 'this artifact'}
        {(artifact?.tags ?? []).length > 0 ? ` (tagged ${artifact!.tags!.map((t) => t.name).join(', ')})` : ''} with all its tags and
        accessories from {project}/{repository}? This cannot be undone.
      </ConfirmDialog>
    </Stack>
  );
}
