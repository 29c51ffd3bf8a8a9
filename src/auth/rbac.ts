/**
 * The one permission table: project role → resource → actions, mirroring Harbor's
 * project RBAC. Every /v2 and /api/v2.0 check, the token service and
 * /users/current/permissions read it; nothing else decides who may do what.
 */
export type Action = 'read' | 'list' | 'create' | 'update' | 'delete' | 'pull' | 'push' | 'operate' | 'stop';

export type ProjectResource =
  | 'project'
  | 'member'
  | 'metadata'
  | 'log'
  | 'label'
  | 'quota'
  | 'repository'
  | 'tag-retention'
  | 'immutable-tag'
  | 'configuration'
  | 'robot'
  | 'notification-policy'
  | 'scan'
  | 'sbom'
  | 'scanner'
  | 'artifact'
  | 'artifact-addition'
  | 'tag'
  | 'accessory'
  | 'artifact-label'
  | 'preheat-policy'
  | 'export-cve';

/** Harbor's role ids. */
export const roles = {
  projectAdmin: 1,
  developer: 2,
  guest: 3,
  maintainer: 4,
  limitedGuest: 5,
} as const;
export type RoleId = (typeof roles)[keyof typeof roles];

export const roleNames: Record<RoleId, string> = {
  1: 'projectAdmin',
  2: 'developer',
  3: 'guest',
  4: 'maintainer',
  5: 'limitedGuest',
};

export function isRoleId(value: unknown): value is RoleId {
  return value === 1 || value === 2 || value === 3 || value === 4 || value === 5;
}

type Grants = Partial<Record<ProjectResource, readonly Action[]>>;

const R = 'read',
  L = 'list',
  C = 'create',
  U = 'update',
  D = 'delete';

const projectAdmin: Grants = {
  project: [R, U, D],
  member: [R, L, C, U, D],
  metadata: [R, C, U, D],
  log: [L],
  label: [R, L, C, U, D],
  quota: [R],
  repository: [R, L, C, U, D, 'pull', 'push'],
  'tag-retention': [R, L, C, U, D, 'operate'],
  'immutable-tag': [L, C, U, D],
  configuration: [R, U],
  robot: [R, L, C, U, D],
  'notification-policy': [R, L, C, U, D],
  scan: [R, C, 'stop'],
  sbom: [R, C, 'stop'],
  scanner: [R, C],
  artifact: [R, L, C, D],
  'artifact-addition': [R],
  tag: [L, C, D],
  accessory: [L],
  'artifact-label': [C, D],
  'preheat-policy': [R, L, C, U, D],
  'export-cve': [R, L, C],
};

const maintainer: Grants = {
  project: [R],
  member: [R, L],
  metadata: [R],
  label: [R, L, C, U, D],
  quota: [R],
  repository: [R, L, C, U, D, 'pull', 'push'],
  'tag-retention': [R, L, C, U, D, 'operate'],
  'immutable-tag': [L, C, U, D],
  configuration: [R],
  robot: [R, L],
  'notification-policy': [R, L],
  scan: [R, C, 'stop'],
  sbom: [R, C, 'stop'],
  scanner: [R],
  artifact: [R, L, C, D],
  'artifact-addition': [R],
  tag: [L, C, D],
  accessory: [L],
  'artifact-label': [C, D],
  'export-cve': [R, L, C],
};

const developer: Grants = {
  project: [R],
  member: [R, L],
  label: [R, L],
  quota: [R],
  repository: [R, L, C, U, 'pull', 'push'],
  'tag-retention': [R, L, C, U, D, 'operate'],
  configuration: [R],
  robot: [R, L],
  scan: [R],
  sbom: [R],
  scanner: [R],
  artifact: [R, L, C],
  'artifact-addition': [R],
  tag: [L, C],
  accessory: [L],
  'artifact-label': [C, D],
  'export-cve': [R, L, C],
};

const guest: Grants = {
  project: [R],
  member: [R, L],
  label: [R, L],
  quota: [R],
  repository: [R, L, 'pull'],
  configuration: [R],
  robot: [R, L],
  scan: [R],
  sbom: [R],
  scanner: [R],
  artifact: [R, L],
  'artifact-addition': [R],
  tag: [L],
  accessory: [L],
};

const limitedGuest: Grants = {
  project: [R],
  quota: [R],
  repository: [R, L, 'pull'],
  configuration: [R],
  scan: [R],
  sbom: [R],
  scanner: [R],
  artifact: [R, L],
  'artifact-addition': [R],
  tag: [L],
  accessory: [L],
};

/** What anyone, anonymous included, may do in a public project. */
const publicProject: Grants = {
  project: [R],
  label: [R, L],
  repository: [L, 'pull'],
  scan: [R],
  scanner: [R],
  artifact: [R, L],
  'artifact-addition': [R],
  tag: [L],
  accessory: [L],
};

export const roleGrants: Record<RoleId, Grants> = {
  1: projectAdmin,
  2: developer,
  3: guest,
  4: maintainer,
  5: limitedGuest,
};

export const publicGrants: Grants = publicProject;

/** Every (resource, action) pair any project role can hold: what a project robot may be given. */
export const projectPermissionPairs: Array<{ resource: ProjectResource; action: Action }> = (() => {
  const seen = new Set<string>();
  const pairs: Array<{ resource: ProjectResource; action: Action }> = [];
  for (const grants of [projectAdmin, maintainer, developer, guest, limitedGuest]) {
    for (const [resource, actions] of Object.entries(grants) as Array<[ProjectResource, readonly Action[]]>) {
      for (const action of actions) {
        const key = `${resource}:${action}`;
        if (!seen.has(key)) {
          seen.add(key);
          pairs.push({ resource, action });
        }
      }
    }
  }
  return pairs;
})();

/** System-scope resources (admins hold all of them). */
export type SystemResource =
  | 'audit-log'
  | 'catalog'
  | 'project'
  | 'user'
  | 'user-group'
  | 'registry'
  | 'replication'
  | 'replication-policy'
  | 'garbage-collection'
  | 'scan-all'
  | 'scanner'
  | 'label'
  | 'quota'
  | 'robot'
  | 'system-volumes'
  | 'jobservice-monitor'
  | 'purge-audit';

/** The (resource, action) pairs a system robot may be given at system scope. */
export const systemPermissionPairs: Array<{ resource: SystemResource; action: Action }> = [
  { resource: 'audit-log', action: 'list' },
  { resource: 'catalog', action: 'read' },
  { resource: 'project', action: 'list' },
  { resource: 'project', action: 'create' },
  { resource: 'user', action: 'read' },
  { resource: 'user', action: 'list' },
  { resource: 'registry', action: 'read' },
  { resource: 'registry', action: 'list' },
  { resource: 'replication', action: 'read' },
  { resource: 'replication', action: 'list' },
  { resource: 'garbage-collection', action: 'read' },
  { resource: 'garbage-collection', action: 'list' },
  { resource: 'scan-all', action: 'read' },
  { resource: 'scanner', action: 'read' },
  { resource: 'scanner', action: 'list' },
  { resource: 'label', action: 'read' },
  { resource: 'label', action: 'list' },
  { resource: 'label', action: 'create' },
  { resource: 'label', action: 'update' },
  { resource: 'label', action: 'delete' },
  { resource: 'quota', action: 'read' },
  { resource: 'quota', action: 'list' },
  { resource: 'robot', action: 'read' },
  { resource: 'robot', action: 'list' },
  { resource: 'system-volumes', action: 'read' },
  { resource: 'jobservice-monitor', action: 'list' },
];

export function grantsAllow(grants: Grants | undefined, resource: string, action: string): boolean {
  const actions = grants?.[resource as ProjectResource];
  return actions !== undefined && (actions as readonly string[]).includes(action);
}

/** The union of several grant sets (a user's role plus the public set). */
export function permissionsOf(grantSets: Grants[]): Array<{ resource: string; action: string }> {
  const seen = new Set<string>();
  const out: Array<{ resource: string; action: string }> = [];
  for (const grants of grantSets) {
    for (const [resource, actions] of Object.entries(grants)) {
      for (const action of actions as readonly string[]) {
        const key = `${resource}:${action}`;
        if (seen.has(key)) continue;
        seen.add(key);
        out.push({ resource, action });
      }
    }
  }
  return out;
}

export type { Grants };
