import { Center, Loader } from '@mantine/core';
import { lazy, Suspense, type ComponentType, type ReactNode } from 'react';
import { createBrowserRouter, Navigate, RouterProvider, useLocation, useParams } from 'react-router';
import { useSession } from './auth/session';
import { ErrorAlert } from './components/ErrorAlert';
import { Shell } from './layout/Shell';
import { SignInPage } from './pages/account/SignInPage';

// Each page is its own chunk, loaded when first shown: the sign-in page does not carry the
// artifact page's Markdown renderer.
const named = <K extends string>(load: () => Promise<Record<K, ComponentType<any>>>, name: K) =>
  lazy(() => load().then((module) => ({ default: module[name] })));
const AuditLogPage = named(() => import('./pages/admin/AuditLogPage'), 'AuditLogPage');
const LabelsPage = named(() => import('./pages/admin/LabelsPage'), 'LabelsPage');
const SystemPage = named(() => import('./pages/admin/SystemPage'), 'SystemPage');
const UsersPage = named(() => import('./pages/admin/UsersPage'), 'UsersPage');
const SignUpPage = named(() => import('./pages/account/SignUpPage'), 'SignUpPage');
const ArtifactPage = named(() => import('./pages/artifact/ArtifactPage'), 'ArtifactPage');
const NotFoundPage = named(() => import('./pages/NotFoundPage'), 'NotFoundPage');
const ProjectPage = named(() => import('./pages/project/ProjectPage'), 'ProjectPage');
const ProjectsPage = named(() => import('./pages/projects/ProjectsPage'), 'ProjectsPage');
const RepositoryPage = named(() => import('./pages/repository/RepositoryPage'), 'RepositoryPage');

function Loading() {
  return (
    <Center mih={200}>
      <Loader aria-label="Loading" />
    </Center>
  );
}

function RequireSignIn({ children }: { children: ReactNode }) {
  const session = useSession();
  const location = useLocation();
  if (session.loading)
    return (
      <Center mih="100vh">
        <Loader aria-label="Loading" />
      </Center>
    );
  if (!session.user) return <Navigate to="/sign-in" replace state={{ from: location.pathname + location.search }} />;
  return children;
}

function RequireAdmin({ children }: { children: ReactNode }) {
  const session = useSession();
  if (!session.user?.sysadmin_flag) return <ErrorAlert title="Administrators only" error="This page is for system administrators." />;
  return children;
}

/** /projects/:project/repositories/<name with slashes>[/-/artifacts/<reference>] */
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

const router = createBrowserRouter([
  { path: '/sign-in', element: <SignInPage /> },
  {
    path: '/sign-up',
    element: (
      <Suspense fallback={<Loading />}>
        <SignUpPage />
      </Suspense>
    ),
  },
  {
    element: (
      <RequireSignIn>
        <Shell fallback={<Loading />} />
      </RequireSignIn>
    ),
    children: [
      { path: '/', element: <Navigate to="/projects" replace /> },
      { path: '/projects', element: <ProjectsPage /> },
      { path: '/projects/:project', element: <ProjectPage /> },
      { path: '/projects/:project/repositories', element: <ProjectPage tab="repositories" /> },
      { path: '/projects/:project/repositories/*', element: <RepositoryOrArtifact /> },
      { path: '/projects/:project/:tab', element: <ProjectPage /> },
      { path: '/admin', element: <Navigate to="/admin/users" replace /> },
      {
        path: '/admin/users',
        element: (
          <RequireAdmin>
            <UsersPage />
          </RequireAdmin>
        ),
      },
      {
        path: '/admin/labels',
        element: (
          <RequireAdmin>
            <LabelsPage />
          </RequireAdmin>
        ),
      },
      {
        path: '/admin/audit-logs',
        element: (
          <RequireAdmin>
            <AuditLogPage />
          </RequireAdmin>
        ),
      },
      {
        path: '/admin/system',
        element: (
          <RequireAdmin>
            <SystemPage />
          </RequireAdmin>
        ),
      },
      { path: '*', element: <NotFoundPage /> },
    ],
  },
]);

export function App() {
  return <RouterProvider router={router} />;
}
