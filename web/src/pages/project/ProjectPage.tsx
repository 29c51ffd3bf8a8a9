import { Alert, Anchor, Box, Breadcrumbs, Center, Group, Loader, Tabs, Text, Title } from '@mantine/core';
import { useEffect, type ReactNode } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { ErrorAlert } from '../../components/ErrorAlert';
import { projectPath, type ProjectTab } from '../../lib/paths';
import { usePageTitle } from '../../lib/title';
import { AccessBadge } from '../projects/ProjectsPage';
import { ConfigurationTab } from './ConfigurationTab';
import { LogsTab } from './LogsTab';
import { MembersTab } from './MembersTab';
import { PolicyTab } from './PolicyTab';
import { useProjectPermissions } from '../../auth/permissions';
import { useProject, type Project } from './model';
import { RepositoriesTab } from './RepositoriesTab';
import { RobotsTab } from './RobotsTab';
import { SummaryTab } from './SummaryTab';
import { hasFeature } from '../../lib/features';
import { PreheatTab } from '../preheat/PreheatTab';
import { WebhooksTab } from './WebhooksTab';

export interface TabProps {
  project: Project;
  /** `resource:action` pairs the signed-in user holds in the project. */
  can: (resource: string, action: string) => boolean;
}

interface TabDef {
  value: ProjectTab;
  label: string;
  /** The permission that makes the tab useful; absent: every viewer of the project. */
  needs?: [string, string];
  render: (props: TabProps) => ReactNode;
}

const tabs: TabDef[] = [
  { value: 'summary', label: 'Summary', render: (p) => <SummaryTab {...p} /> },
  { value: 'repositories', label: 'Repositories', needs: ['repository', 'list'], render: (p) => <RepositoriesTab {...p} /> },
  { value: 'members', label: 'Members', needs: ['member', 'list'], render: (p) => <MembersTab {...p} /> },
  { value: 'robots', label: 'Robot accounts', needs: ['robot', 'list'], render: (p) => <RobotsTab {...p} /> },
  { value: 'logs', label: 'Logs', needs: ['log', 'list'], render: (p) => <LogsTab {...p} /> },
  { value: 'policy', label: 'Policy', needs: ['immutable-tag', 'list'], render: (p) => <PolicyTab {...p} /> },
  ...(hasFeature('p2p-preheat')
    ? [
        {
          value: 'p2p-preheat',
          label: 'P2P Preheat',
          needs: ['preheat-policy', 'list'],
          render: (p) => <PreheatTab {...p} />,
        } satisfies TabDef,
      ]
    : []),
  ...(hasFeature('webhooks')
    ? [
        {
          value: 'webhooks',
          label: 'Webhooks',
          needs: ['notification-policy', 'list'],
          render: (p) => <WebhooksTab {...p} />,
        } satisfies TabDef,
      ]
    : []),
  { value: 'configuration', label: 'Configuration', needs: ['metadata', 'read'], render: (p) => <ConfigurationTab {...p} /> },
];

/** /projects/:project[/:tab]: one project, its sections as tabs; only the active tab loads its data. */
export function ProjectPage({ tab: fixedTab }: { tab?: ProjectTab }) {
  const params = useParams();
  const name = params.project!;
  const requested = fixedTab ?? params.tab ?? 'summary';
  const navigate = useNavigate();
  usePageTitle(name);

  const projectQuery = useProject(name);
  const project = projectQuery.data;
  const permissionsQuery = useProjectPermissions(project?.project_id);
  const held = permissionsQuery.data;
  const can = (resource: string, action: string) => held?.has(`${resource}:${action}`) ?? false;
  const allowed = tabs.filter((t) => !t.needs || can(...t.needs));
  const known = tabs.some((t) => t.value === requested);

  // An unknown tab in the URL (a typo, an old link) shows the summary.
  useEffect(() => {
    if (!known) navigate(projectPath(name), { replace: true });
  }, [known, name, navigate]);

  const header = (
    <>
      <Box component="nav" aria-label="Breadcrumb" mb="xs">
        <Breadcrumbs>
          <Anchor component={Link} to="/projects" size="sm">
            Projects
          </Anchor>
          <Text size="sm" c="dimmed" aria-current="page">
            {name}
          </Text>
        </Breadcrumbs>
      </Box>
      <Group gap="sm" mb="md" wrap="wrap">
        <Title order={1} style={{ wordBreak: 'break-word' }}>
          {name}
        </Title>
        {project && <AccessBadge project={project} />}
      </Group>
    </>
  );

  if (projectQuery.isError || permissionsQuery.isError) {
    return (
      <>
        {header}
        <ErrorAlert title="Could not load the project" error={projectQuery.error ?? permissionsQuery.error} />
      </>
    );
  }
  if (!project || !held) {
    return (
      <>
        {header}
        <Center py="xl">
          <Loader aria-label="Loading project" />
        </Center>
      </>
    );
  }

  const active = known ? (requested as ProjectTab) : 'summary';
  const activeAllowed = allowed.some((t) => t.value === active);
  const tabProps: TabProps = { project, can };
  return (
    <>
      {header}
      <Tabs value={active} onChange={(value) => value && navigate(projectPath(name, value as ProjectTab))} keepMounted={false}>
        <Tabs.List mb="md">
          {allowed.map((t) => (
            <Tabs.Tab key={t.value} value={t.value}>
              {t.label}
            </Tabs.Tab>
          ))}
        </Tabs.List>
        {allowed.map((t) => (
          <Tabs.Panel key={t.value} value={t.value}>
            {t.render(tabProps)}
          </Tabs.Panel>
        ))}
      </Tabs>
      {!activeAllowed && (
        <Alert color="blue" title="Not available" role="alert">
          Your role in project {name} does not include {tabs.find((t) => t.value === active)?.label.toLowerCase()}.
        </Alert>
      )}
    </>
  );
}
