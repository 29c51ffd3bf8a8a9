// Shapes and look-ups shared by the projects list and the project page; field names are Harbor's.
import { useQuery } from '@tanstack/react-query';
import { api, ApiError, segment } from '../../api/client';

export interface Project {
  project_id: number;
  name: string;
  owner_id: number;
  owner_name?: string;
  creation_time: string;
  update_time: string;
  togglable?: boolean;
  current_user_role_id: number;
  current_user_role_ids?: number[];
  repo_count: number;
  metadata?: Record<string, string | undefined>;
  /** Set for a proxy cache project: the registry endpoint it mirrors. */
  registry_id?: number | null;
}

export interface ProjectSummary {
  repo_count: number;
  project_admin_count?: number;
  maintainer_count?: number;
  developer_count?: number;
  guest_count?: number;
  limited_guest_count?: number;
  quota?: {
    hard?: Record<string, number>;
    used?: Record<string, number>;
    /** Berth's own: the last push refused for quota since the limit last changed. */
    last_refused?: { time: string; resource: string; message: string };
  };
  /** A proxy cache project's registry endpoint (Harbor's Registry). */
  registry?: { id: number; name: string; url: string; type: string };
}

export interface Repository {
  id: number;
  project_id: number;
  name: string;
  description?: string;
  artifact_count: number;
  pull_count: number;
  creation_time: string;
  update_time: string;
}

export interface Member {
  id: number;
  project_id: number;
  entity_name: string;
  entity_id: number;
  entity_type: string;
  role_id: number;
  role_name: string;
}

export interface RobotAccess {
  resource: string;
  action: string;
  effect?: string;
}

export interface Robot {
  id: number;
  name: string;
  description: string;
  level: 'system' | 'project';
  duration: number;
  editable: boolean;
  disable: boolean;
  expires_at: number;
  permissions: Array<{ kind: string; namespace: string; access: RobotAccess[] }>;
  creation_time: string;
  update_time: string;
}

export interface RobotCreated {
  id: number;
  name: string;
  secret: string;
  creation_time: string;
  expires_at: number;
}

export interface AuditLog {
  id: number;
  username: string;
  resource: string;
  resource_type: string;
  operation: string;
  op_time: string;
}

/** Harbor's role ids, in the order roles are usually offered (most to least power). */
export const roleOptions = [
  { value: '1', label: 'Project Admin' },
  { value: '4', label: 'Maintainer' },
  { value: '2', label: 'Developer' },
  { value: '3', label: 'Guest' },
  { value: '5', label: 'Limited Guest' },
];

export function roleName(roleId: number | undefined): string {
  return roleOptions.find((r) => r.value === String(roleId))?.label ?? '—';
}

export function isPublic(project: Pick<Project, 'metadata'>): boolean {
  return project.metadata?.public === 'true';
}

/** The project by NAME. The list's exact-name filter is used because an all-digit name would read as an id in /projects/{x}. */
export async function fetchProject(name: string): Promise<Project> {
  const page = await api.list<Project>('/projects', { page: 1, pageSize: 1, q: `name=${name}` });
  const project = page.items.find((p) => p.name === name);
  if (!project) throw new ApiError(404, 'NOT_FOUND', `Project ${name} does not exist, or you are not allowed to see it.`);
  return project;
}

export const projectKey = (name: string) => ['project', name] as const;
export const summaryKey = (projectId: number) => ['project-summary', projectId] as const;

export function useProject(name: string) {
  return useQuery({ queryKey: projectKey(name), queryFn: () => fetchProject(name) });
}

/** `/projects/{id}`: sub-resources are addressed by id, which never needs X-Is-Resource-Name. */
export function projectApiPath(project: Pick<Project, 'project_id'>, tail = ''): string {
  return `/projects/${segment(project.project_id)}${tail}`;
}

/** GET /projects/{id}/_deletable: whether the project can be deleted now, and why not. */
export interface ProjectDeletable {
  deletable: boolean;
  message?: string;
}

export const deletableKey = (projectId: number) => ['project-deletable', projectId] as const;

/** Whether the project can be deleted, asked of the server only when `enabled` (the caller may delete it). */
export function useProjectDeletable(project: Pick<Project, 'project_id'>, enabled: boolean) {
  return useQuery({
    queryKey: deletableKey(project.project_id),
    enabled,
    queryFn: () => api.get<ProjectDeletable>(projectApiPath(project, '/_deletable')),
    staleTime: 10_000,
  });
}

/** The server's reason a project cannot be deleted, as a sentence. */
export function notDeletableReason(answer: ProjectDeletable): string {
  const message = answer.message?.trim() || 'the project cannot be deleted now';
  return `${message.charAt(0).toUpperCase()}${message.slice(1)}${/[.!]$/.test(message) ? '' : '.'}`;
}
