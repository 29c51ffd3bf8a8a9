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

/** Harbor's precedence when a user holds several roles (their own and their groups'): project admin > maintainer > developer > guest > limited guest. */
export const rolePrecedence: Record<RoleId, number> = { 1: 50, 4: 40, 2: 30, 3: 20, 5: 10 };

/** The role that grants the most among these, or null for none. */
export function strongestRole(ids: Iterable<RoleId>): RoleId | null {
  let best: RoleId | null = null;
  for (const id of ids) if (best === null || rolePrecedence[id] > rolePrecedence[best]) best = id;
  return best;
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

/** Every (resource, action) pair any project role can hold. */
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
  | 'export-cve'
  | 'garbage-collection'
  | 'jobservice-monitor'
  | 'label'
  | 'ldap-user'
  | 'preheat-instance'
  | 'project'
  | 'purge-audit'
  | 'quota'
  | 'registry'
  | 'replication'
  | 'replication-adapter'
  | 'replication-policy'
  | 'robot'
  | 'scan-all'
  | 'scanner'
  | 'security-hub'
  | 'system-volumes'
  | 'user'
  | 'user-group';

const S = 'stop';

/**
 * What Harbor lets a robot hold at project level (its NolimitProvider: the fixed project
 * policy list, plus robot, member and CVE-export administration). Written out here from
 * goharbor/harbor src/common/rbac/const.go; Harbor's own roles do not hold all of it (no
 * role has metadata list), which is why it is a list of its own.
 */
export const harborRobotProjectPolicies: Grants = {
  log: [L],
  project: [R, U, D],
  metadata: [R, L, C, U, D],
  repository: [R, L, U, D, 'pull', 'push'],
  artifact: [R, L, C, D],
  scan: [R, C, S],
  sbom: [R, C, S],
  tag: [L, C, D],
  accessory: [L],
  'artifact-addition': [R],
  'artifact-label': [C, D],
  scanner: [R, C],
  'preheat-policy': [R, L, C, U, D],
  'immutable-tag': [L, C, U, D],
  'notification-policy': [R, L, C, U, D],
  'tag-retention': [R, L, C, U, D],
  label: [R, L, C, U, D],
  quota: [R],
  robot: [R, L, C, D],
  member: [R, L, C, U, D],
  'export-cve': [R, C],
};

/**
 * What Harbor lets a robot hold at system level (NolimitProvider: the fixed system policy
 * list, plus robot, user, user-group and LDAP-import administration and quota changes), and
 * CVE export, which Harbor 2.12 listed at this level.
 */
const harborRobotSystemPolicies: Partial<Record<SystemResource, readonly Action[]>> = {
  'audit-log': [L],
  'preheat-instance': [R, L, C, U, D],
  project: [L, C],
  'replication-policy': [R, L, C, U, D],
  replication: [R, L, C],
  'replication-adapter': [L],
  registry: [R, L, C, U, D],
  'scan-all': [R, C, U, S],
  'system-volumes': [R],
  'garbage-collection': [R, L, C, U, S],
  'purge-audit': [R, L, C, U, S],
  'jobservice-monitor': [L, S],
  scanner: [R, L, C, U, D],
  label: [R, C, U, D],
  'security-hub': [R, L],
  catalog: [R],
  quota: [R, L, U],
  robot: [R, L, C, D],
  user: [R, L, C, U, D],
  'user-group': [R, L, C, U, D],
  'ldap-user': [L, C],
  'export-cve': [R, C],
};

/**
 * Pairs Berth accepts on robots besides Harbor's: label list at system level (which Berth
 * has always accepted), and robot update at both levels, which Harbor 2.12 dropped because a
 * robot that may update robots could take over a broader one; Berth lets a caller update or
 * refresh only robots no broader than itself (robots/service.ts), so the pair is safe here.
 */
const berthRobotSystemExtras: Partial<Record<SystemResource, readonly Action[]>> = { label: [L], robot: [U] };

function pairsOf<Resource extends string>(
  ...maps: Array<Partial<Record<Resource, readonly Action[]>>>
): Array<{ resource: Resource; action: Action }> {
  const seen = new Set<string>();
  const pairs: Array<{ resource: Resource; action: Action }> = [];
  for (const map of maps) {
    for (const [resource, actions] of Object.entries(map) as Array<[Resource, readonly Action[]]>) {
      for (const action of actions) {
        if (seen.has(`${resource}:${action}`)) continue;
        seen.add(`${resource}:${action}`);
        pairs.push({ resource, action });
      }
    }
  }
  return pairs;
}

/**
 * The (resource, action) pairs a robot may be given for a project: everything Harbor accepts,
 * and everything a project role holds (the portal offers a user's own permissions). Pairs for
 * features Berth does not have yet are stored and shown, and take effect when the feature lands.
 */
export const robotProjectPermissionPairs: Array<{ resource: string; action: Action }> = [
  ...pairsOf<string>(harborRobotProjectPolicies, ...Object.values(roleGrants)),
];

/** Is this pair on Harbor's project-level robot list? */
export function isHarborRobotProjectPair(resource: string, action: string): boolean {
  return grantsAllow(harborRobotProjectPolicies, resource, action);
}

/** The (resource, action) pairs a system robot may be given at system level (and what a system administrator holds there). */
export const systemPermissionPairs: Array<{ resource: SystemResource; action: Action }> = pairsOf(
  harborRobotSystemPolicies,
  berthRobotSystemExtras,
);

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
