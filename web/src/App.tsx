import { Center, Loader } from '@mantine/core';
import type { ReactNode } from 'react';
import { createBrowserRouter, Navigate, RouterProvider, useLocation, useParams } from 'react-router';
import { useSession } from './auth/session';
import { ErrorAlert } from './components/ErrorAlert';
import { Shell } from './layout/Shell';
import { AuditLogPage } from './pages/admin/AuditLogPage';
import { LabelsPage } from './pages/admin/LabelsPage';
import { SystemPage } from './pages/admin/SystemPage';
import { UsersPage } from './pages/admin/UsersPage';
import { SignInPage } from './pages/account/SignInPage';
import { SignUpPage } from './pages/account/SignUpPage';
import { ArtifactPage } from './pages/artifact/ArtifactPage';
import { NotFoundPage } from './pages/NotFoundPage';
import { ProjectPage } from './pages/project/ProjectPage';
import { ProjectsPage } from './pages/projects/ProjectsPage';
import { RepositoryPage } from './pages/repository/RepositoryPage';

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
  { path: '/sign-up', element: <SignUpPage /> },
  {
    element: (
      <RequireSignIn>
        <Shell />
      </RequireSignIn>
    ),
    children: [
      { path: '/', element: <Navigate to="/projects" replace /> },
      { path: '/projects', element: <ProjectsPage /> },
      { path: '/projects/:project', element: <ProjectPage /> },
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
