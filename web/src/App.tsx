import { Center, Loader } from '@mantine/core';
import type { ComponentType, ReactNode } from 'react';
import { createBrowserRouter, Navigate, RouterProvider, useLocation, useParams } from 'react-router';
import { useSession } from './auth/session';
import { ErrorAlert } from './components/ErrorAlert';
import { Shell } from './layout/Shell';
import { SignInPage } from './pages/account/SignInPage';

// Each page is its own chunk, which the router loads before it shows the page (route `lazy`):
// the page renders at once with its module and starts its requests then. (React.lazy behind
// Suspense would hold a just-loaded page back for React's fallback throttle, ~300 ms.)
type Loaded = { Component: ComponentType };
function page<K extends string>(load: () => Promise<Record<K, ComponentType>>, name: K, wrap?: (page: ReactNode) => ReactNode) {
  return async (): Promise<Loaded> => {
    const Page: ComponentType = (await load())[name];
    return { Component: wrap ? () => wrap(<Page />) : Page };
  };
}
const adminOnly = (content: ReactNode) => <RequireAdmin>{content}</RequireAdmin>;

const loading = (
  <Center mih="100vh">
    <Loader aria-label="Loading" />
  </Center>
);

function RequireSignIn({ children }: { children: ReactNode }) {
  const session = useSession();
  const location = useLocation();
  if (session.loading) return loading;
  if (!session.user) return <Navigate to="/sign-in" replace state={{ from: location.pathname + location.search }} />;
  return children;
}

function RequireAdmin({ children }: { children: ReactNode }) {
  const session = useSession();
  if (!session.user?.sysadmin_flag) return <ErrorAlert title="Administrators only" error="This page is for system administrators." />;
  return children;
}

/** /projects/:project/repositories/<name with slashes>[/-/artifacts/<reference>] */
async function repositoryOrArtifact(): Promise<Loaded> {
  const [{ RepositoryPage }, { ArtifactPage }] = await Promise.all([
    import('./pages/repository/RepositoryPage'),
    import('./pages/artifact/ArtifactPage'),
  ]);
  function RepositoryOrArtifact() {
    const params = useParams();
    const project = params.project!;
    const tail = params['*'] ?? '';
    const marker = tail.indexOf('/-/artifacts/');
    if (marker < 0) return <RepositoryPage key={tail} project={project} repository={tail.replace(/\/$/, '')} />;
    const repository = tail.slice(0, marker);
    const reference = tail.slice(marker + '/-/artifacts/'.length);
    return <ArtifactPage key={tail} project={project} repository={repository} reference={reference} />;
  }
  return { Component: RepositoryOrArtifact };
}

const projectPage = () => import('./pages/project/ProjectPage');

const router = createBrowserRouter([
  { path: '/sign-in', element: <SignInPage /> },
  // A first page that is a lazy route (a deep link) shows `loading` while its chunk loads.
  {
    path: '/oidc-onboard',
    lazy: page(() => import('./pages/account/OidcOnboardPage'), 'OidcOnboardPage'),
    hydrateFallbackElement: loading,
  },
  { path: '/sign-up', lazy: page(() => import('./pages/account/SignUpPage'), 'SignUpPage'), hydrateFallbackElement: loading },
  {
    hydrateFallbackElement: loading,
    element: (
      <RequireSignIn>
        <Shell />
      </RequireSignIn>
    ),
    children: [
      { path: '/', element: <Navigate to="/projects" replace /> },
      { path: '/projects', lazy: page(() => import('./pages/projects/ProjectsPage'), 'ProjectsPage') },
      { path: '/projects/:project', lazy: page(projectPage, 'ProjectPage') },
      {
        path: '/projects/:project/repositories',
        lazy: async () => {
          const { ProjectPage } = await projectPage();
          return { Component: () => <ProjectPage tab="repositories" /> };
        },
      },
      { path: '/projects/:project/repositories/*', lazy: repositoryOrArtifact },
      { path: '/projects/:project/:tab', lazy: page(projectPage, 'ProjectPage') },
      { path: '/admin', element: <Navigate to="/admin/users" replace /> },
      { path: '/admin/users', lazy: page(() => import('./pages/admin/UsersPage'), 'UsersPage', adminOnly) },
      { path: '/admin/labels', lazy: page(() => import('./pages/admin/LabelsPage'), 'LabelsPage', adminOnly) },
      { path: '/admin/audit-logs', lazy: page(() => import('./pages/admin/AuditLogPage'), 'AuditLogPage', adminOnly) },
      { path: '/admin/quotas', lazy: page(() => import('./pages/admin/ProjectQuotasPage'), 'ProjectQuotasPage', adminOnly) },
      { path: '/admin/groups', lazy: page(() => import('./pages/admin/GroupsPage'), 'GroupsPage', adminOnly) },
      { path: '/admin/configuration', lazy: page(() => import('./pages/admin/ConfigurationPage'), 'ConfigurationPage', adminOnly) },
      { path: '/admin/system', lazy: page(() => import('./pages/admin/SystemPage'), 'SystemPage', adminOnly) },
      { path: '/admin/gc', lazy: page(() => import('./pages/admin/GarbageCollectionPage'), 'GarbageCollectionPage', adminOnly) },
      { path: '/admin/registries', lazy: page(() => import('./pages/registries/RegistriesPage'), 'RegistriesPage', adminOnly) },
      { path: '/admin/replications', lazy: page(() => import('./pages/replication/ReplicationsPage'), 'ReplicationsPage', adminOnly) },
      { path: '/admin/distributions', lazy: page(() => import('./pages/preheat/DistributionsPage'), 'DistributionsPage', adminOnly) },
      {
        path: '/admin/interrogation-services',
        lazy: page(() => import('./pages/admin/InterrogationServicesPage'), 'InterrogationServicesPage', adminOnly),
      },
      { path: '*', lazy: page(() => import('./pages/NotFoundPage'), 'NotFoundPage') },
    ],
  },
]);

export function App() {
  return <RouterProvider router={router} />;
}
