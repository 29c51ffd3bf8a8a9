import { denied, requireAuthenticated, type AccessGuard, type ProjectRef } from '../auth/guard.js';
import { displayName, isSysadmin, type Identity, type RobotAccess, type RobotPermission } from '../auth/identity.js';
import { generateSecret, hashSecret, verifyDecoy, verifySecret } from '../auth/password.js';
import { isHarborRobotProjectPair, robotProjectPermissionPairs, systemPermissionPairs } from '../auth/rbac.js';
import type { RobotIdentity } from '../auth/principals.js';
import type { Robot } from '../db/types.js';
import type { AuditEntry } from '../events/audit.js';
import { nowIso } from '../lib/clock.js';
import { apiError } from '../lib/errors.js';
import type { Paging } from '../lib/paging.js';
import type { QueryTerm } from '../lib/query.js';
import {
  checkDescription,
  checkDisable,
  checkDuration,
  checkLevel,
  checkName,
  checkPermissions,
  checkSecret,
  type RobotLevel,
} from './input.js';
import { listScope } from './scope.js';
import type { RobotChanges, RobotStore } from './store.js';
import { isUniqueViolation } from '../db/errors.js';

/** How the robots feature finds projects (the projects feature answers, wired in app.ts). */
export interface ProjectDirectory {
  byName(name: string): Promise<ProjectRef | null>;
  byId(id: number): Promise<ProjectRef | null>;
}

export interface RobotOptions {
  /** Prepended to every robot name (`robot$`). */
  prefix: string;
  /** Lifetime in days when a create request gives none. */
  defaultDurationDays: number;
  /** Called after every change that must end remembered logins (disable, delete, secret, permissions). */
  onCredentialsChanged?: () => void;
  /** Ids of the projects a user is Project Admin of (the members feature answers, wired in app.ts). */
  projectsAdministeredBy?: (userId: number) => Promise<number[]>;
}

/** The robot as Harbor's API shows it (definition Robot); never the secret. */
export interface RobotView {
  id: number;
  name: string;
  description: string;
  level: string;
  duration: number;
  editable: boolean;
  disable: boolean;
  expires_at: number;
  permissions: RobotPermission[];
  creator_type: string;
  creator_ref: number;
  creation_time: string;
  update_time: string;
}

/** The answer to a create (RobotCreated): the only time, with a refresh, that the secret is shown. */
export interface RobotCreated {
  id: number;
  name: string;
  secret: string;
  creation_time: string;
  expires_at: number;
}

const daySeconds = 86_400;

function permissionsOf(robot: Robot): RobotPermission[] {
  try {
    const parsed = JSON.parse(robot.permissions) as unknown;
    return Array.isArray(parsed) ? (parsed as RobotPermission[]) : [];
  } catch {
    return [];
  }
}

function expiresAt(from: Date, durationDays: number): number {
  return durationDays === -1 ? -1 : Math.floor(from.getTime() / 1000) + durationDays * daySeconds;
}

function isExpired(robot: Robot, now = Date.now()): boolean {
  const at = Number(robot.expires_at);
  return at !== -1 && at * 1000 <= now;
}

/** Does a robot's own permission list hold an access at this kind and namespace? ("*" covers every project.) */
function robotHolds(own: RobotPermission[], kind: string, namespace: string, access: RobotAccess): boolean {
  return own.some(
    (p) =>
      p.kind === kind &&
      (p.namespace === namespace || (kind === 'project' && p.namespace === '*')) &&
      p.access.some((a) => a.resource === access.resource && a.action === access.action && a.effect !== 'deny'),
  );
}

/** Robot accounts v2: system and project robots, their secrets, and the rules on who may make them. */
export class RobotService {
  constructor(
    private readonly store: RobotStore,
    private readonly guard: AccessGuard,
    private readonly projects: ProjectDirectory,
    private readonly options: RobotOptions,
  ) {}

  fullName(robot: Pick<Robot, 'name'>): string {
    return `${this.options.prefix}${robot.name}`;
  }

  view(robot: Robot): RobotView {
    return {
      id: Number(robot.id),
      name: this.fullName(robot),
      description: robot.description,
      level: robot.level,
      duration: Number(robot.duration),
      editable: true,
      disable: robot.disabled === 1,
      expires_at: Number(robot.expires_at),
      permissions: permissionsOf(robot),
      creator_type: robot.creator_type,
      creator_ref: Number(robot.creator_ref),
      creation_time: robot.creation_time,
      update_time: robot.update_time,
    };
  }

  /** GET /robots: system robots by default, a project's with Level=project,ProjectID=n. */
  async list(identity: Identity, terms: QueryTerm[], sort: string | undefined, paging: Paging) {
    requireAuthenticated(identity);
    const scope = listScope(terms);
    if (scope.level === 'system') {
      this.guard.requireSystem(identity, 'robot', 'list');
    } else {
      const project = await this.projects.byId(scope.projectId);
      if (!project) throw apiError('NOT_FOUND', `project ${scope.projectId} does not exist`);
      await this.guard.require(identity, project, 'robot', 'list');
    }
    const filter = scope.level === 'system' ? { level: scope.level } : { level: scope.level, projectId: scope.projectId };
    const page = await this.store.list(filter, scope.rest, sort, paging);
    return { items: page.items.map((r) => this.view(r)), total: page.total };
  }

  async get(identity: Identity, id: number): Promise<RobotView> {
    const robot = await this.authorized(identity, id, 'read');
    return this.view(robot);
  }

  async create(identity: Identity, body: Record<string, unknown>): Promise<RobotCreated> {
    requireAuthenticated(identity);
    const level = checkLevel(body.level);
    const name = checkName(body.name);
    const permissions = checkPermissions(body.permissions, level);
    const duration = checkDuration(body.duration, this.options.defaultDurationDays);
    const description = checkDescription(body.description);
    const disabled = checkDisable(body.disable);
    const chosenSecret = checkSecret(body.secret);

    if (level === 'system') this.guard.requireSystem(identity, 'robot', 'create');
    const projects = await this.resolveProjects(permissions);
    const project = level === 'project' ? projects.get(permissions[0].namespace)! : null;
    if (project) await this.guard.require(identity, project, 'robot', 'create');
    await this.requireHeld(identity, permissions, projects);

    const stored = project ? `${project.name}+${name}` : name;
    if (this.fullName({ name: stored }).length > 255) throw apiError('BAD_REQUEST', "the robot's full name must be at most 255 characters");
    const conflict = () => apiError('CONFLICT', `robot ${this.fullName({ name: stored })} already exists`);
    if (await this.store.byName(stored)) throw conflict();

    const secret = chosenSecret ?? generateSecret();
    const now = new Date();
    const creator =
      identity.kind === 'robot'
        ? { type: 'robot', ref: identity.robotId }
        : { type: 'local', ref: identity.kind === 'user' ? identity.userId : 0 };
    try {
      const robot = await this.store.insert(
        {
          name: stored,
          description,
          level,
          project_id: project?.id ?? null,
          secret_hash: await hashSecret(secret),
          permissions: JSON.stringify(permissions),
          duration,
          expires_at: expiresAt(now, duration),
          disabled,
          creator_type: creator.type,
          creator_ref: creator.ref,
          now: now.toISOString(),
        },
        this.audit(identity, 'create', stored, project?.id ?? null),
      );
      return {
        id: Number(robot.id),
        name: this.fullName(robot),
        secret,
        creation_time: robot.creation_time,
        expires_at: Number(robot.expires_at),
      };
    } catch (err) {
      if (isUniqueViolation(err)) throw conflict();
      throw err;
    }
  }

  /** PUT: description, disable, duration and permissions change; name, level and project never do. */
  async update(identity: Identity, id: number, body: Record<string, unknown>): Promise<void> {
    const robot = await this.authorized(identity, id, 'update');
    await this.requireNoBroader(identity, robot);
    if (body.level !== undefined && body.level !== robot.level) throw apiError('BAD_REQUEST', 'cannot change the level of a robot');
    if (body.name !== undefined && body.name !== this.fullName(robot) && body.name !== robot.name) {
      throw apiError('BAD_REQUEST', 'cannot change the name of a robot');
    }
    const changes: RobotChanges = {};
    if (body.description !== undefined) changes.description = checkDescription(body.description);
    if (body.disable !== undefined) changes.disabled = checkDisable(body.disable) ? 1 : 0;
    if (body.duration !== undefined && body.duration !== null) {
      const duration = checkDuration(body.duration, Number(robot.duration));
      if (duration !== Number(robot.duration)) {
        changes.duration = duration;
        changes.expires_at = expiresAt(new Date(robot.creation_time), duration);
      }
    }
    if (body.permissions !== undefined) {
      const permissions = checkPermissions(body.permissions, robot.level as RobotLevel);
      const projects = await this.resolveProjects(permissions);
      if (robot.level === 'project' && projects.get(permissions[0].namespace)!.id !== Number(robot.project_id)) {
        throw apiError('BAD_REQUEST', 'cannot move a project robot to another project');
      }
      await this.requireHeld(identity, permissions, projects);
      changes.permissions = JSON.stringify(permissions);
    }
    await this.store.update(id, changes, nowIso(), this.audit(identity, 'update', robot.name, robot.project_id));
    this.options.onCredentialsChanged?.();
  }

  async delete(identity: Identity, id: number): Promise<void> {
    const robot = await this.authorized(identity, id, 'delete');
    await this.store.delete(id, this.audit(identity, 'delete', robot.name, robot.project_id));
    this.options.onCredentialsChanged?.();
  }

  /** PATCH: a new secret, chosen by the caller or generated; only a generated one is answered. */
  async refreshSecret(identity: Identity, id: number, body: Record<string, unknown>): Promise<{ secret?: string }> {
    const robot = await this.authorized(identity, id, 'update');
    await this.requireNoBroader(identity, robot);
    const chosen = checkSecret(body.secret);
    const secret = chosen ?? generateSecret();
    await this.store.update(
      id,
      { secret_hash: await hashSecret(secret) },
      nowIso(),
      this.audit(identity, 'update', robot.name, robot.project_id),
    );
    this.options.onCredentialsChanged?.();
    return chosen === undefined ? { secret } : {};
  }

  /**
   * GET /permissions, as Harbor answers it: what a robot may be given, both levels for a system
   * administrator, the project level for a user who administers a project, 403 for others.
   */
  async permissionCatalogue(
    identity: Identity,
  ): Promise<{ system?: Array<{ resource: string; action: string }>; project: Array<{ resource: string; action: string }> }> {
    requireAuthenticated(identity);
    const project = robotProjectPermissionPairs.map(({ resource, action }) => ({ resource, action }));
    if (isSysadmin(identity)) return { system: systemPermissionPairs.map(({ resource, action }) => ({ resource, action })), project };
    const administered = identity.kind === 'user' ? await this.options.projectsAdministeredBy?.(identity.userId) : undefined;
    if (administered && administered.length > 0) return { project };
    throw apiError('FORBIDDEN', 'only system administrators and project administrators may list the permissions robots may be given');
  }

  /** Basic login of a robot: its identity only when the secret matches and it is enabled and unexpired. */
  async authenticate(fullName: string, secret: string): Promise<RobotIdentity | null> {
    const robot = fullName.startsWith(this.options.prefix)
      ? await this.store.byName(fullName.slice(this.options.prefix.length))
      : undefined;
    if (!robot) return verifyDecoy(secret).then(() => null);
    if (!(await verifySecret(robot.secret_hash, secret))) return null;
    if (robot.disabled === 1 || isExpired(robot)) return null;
    return {
      kind: 'robot',
      robotId: Number(robot.id),
      name: this.fullName(robot),
      level: robot.level,
      projectId: robot.project_id === null ? null : Number(robot.project_id),
      permissions: permissionsOf(robot),
    };
  }

  /** When a robot that may still sign in (it exists, enabled, unexpired) was created; null otherwise. */
  async activeSince(fullName: string): Promise<{ createdAt: number } | null> {
    if (!fullName.startsWith(this.options.prefix)) return null;
    const robot = await this.store.byName(fullName.slice(this.options.prefix.length));
    if (!robot || robot.disabled === 1 || isExpired(robot)) return null;
    return { createdAt: Date.parse(robot.creation_time) };
  }

  /** Loads a robot (404) and checks the caller's robot permission at its level (401/403). */
  private async authorized(identity: Identity, id: number, action: 'read' | 'update' | 'delete'): Promise<Robot> {
    requireAuthenticated(identity);
    const robot = await this.store.byId(id);
    if (!robot) throw apiError('NOT_FOUND', `robot ${id} does not exist`);
    if (robot.level === 'system') {
      this.guard.requireSystem(identity, 'robot', action);
    } else {
      const project = robot.project_id === null ? null : await this.projects.byId(Number(robot.project_id));
      if (!project) throw apiError('NOT_FOUND', `robot ${id} does not exist`);
      await this.guard.require(identity, project, 'robot', action);
    }
    return robot;
  }

  /** Every project a permission names must exist (404); "*" stands for all of them. */
  private async resolveProjects(permissions: RobotPermission[]): Promise<Map<string, ProjectRef>> {
    const found = new Map<string, ProjectRef>();
    for (const p of permissions) {
      if (p.kind !== 'project' || p.namespace === '*') continue;
      const project = await this.projects.byName(p.namespace);
      if (!project) throw apiError('NOT_FOUND', `project ${p.namespace} does not exist`);
      found.set(p.namespace, project);
    }
    return found;
  }

  /**
   * Nobody hands out what they do not hold: a robot may only create robots narrower than
   * itself, a user only grant what they hold, except that whoever may create a project's
   * robots may give them any pair of Harbor's project list, as in Harbor (no role holds
   * metadata list, for one). `changing` names the robot being changed, for the message.
   */
  private async requireHeld(
    identity: Identity,
    permissions: RobotPermission[],
    projects: Map<string, ProjectRef>,
    changing?: string,
  ): Promise<void> {
    if (isSysadmin(identity)) return;
    for (const p of permissions) {
      const project = p.kind === 'project' && p.namespace !== '*' ? projects.get(p.namespace) : undefined;
      for (const access of p.access) {
        if (access.effect === 'deny') continue;
        let held: boolean;
        if (identity.kind === 'robot') held = robotHolds(identity.permissions, p.kind, p.namespace, access);
        else if (project)
          held =
            (await this.guard.can(identity, project, access.resource, access.action)) ||
            (isHarborRobotProjectPair(access.resource, access.action) && (await this.guard.can(identity, project, 'robot', 'create')));
        else held = false;
        if (!held) {
          const where = p.kind === 'system' ? 'at system level' : p.namespace === '*' ? 'in every project' : `in project ${p.namespace}`;
          const rule = changing
            ? `${changing} holds it: you may only change robots equal to or narrower than yourself`
            : identity.kind === 'robot'
              ? 'a robot may only create robots equal to or narrower than itself'
              : 'you may only grant permissions you hold';
          throw denied(identity, `"${access.action}" on "${access.resource}" ${where} (${rule})`);
        }
      }
    }
  }

  /**
   * Updating a robot or its secret needs everything that robot holds: otherwise a robot (or
   * user) allowed to update robots could take over a broader one by setting its secret.
   * Permissions naming a project that no longer exists are passed over: they grant nothing.
   */
  private async requireNoBroader(identity: Identity, robot: Robot): Promise<void> {
    if (isSysadmin(identity)) return;
    const permissions = permissionsOf(robot);
    const projects = new Map<string, ProjectRef>();
    for (const p of permissions) {
      if (p.kind !== 'project' || p.namespace === '*') continue;
      const project = await this.projects.byName(p.namespace);
      if (project) projects.set(p.namespace, project);
    }
    const live = permissions.filter((p) => p.kind !== 'project' || p.namespace === '*' || projects.has(p.namespace));
    await this.requireHeld(identity, live, projects, this.fullName(robot));
  }

  private audit(identity: Identity, operation: 'create' | 'update' | 'delete', storedName: string, projectId: number | null): AuditEntry {
    return {
      username: displayName(identity),
      operation,
      resourceType: 'robot',
      resource: this.fullName({ name: storedName }),
      projectId: projectId === null ? null : Number(projectId),
    };
  }
}
