import type { MembershipLookup } from '../auth/guard.js';
import { isRoleId, roleNames, type RoleId } from '../auth/rbac.js';
import type { User } from '../db/types.js';
import type { AuditEntry } from '../events/audit.js';
import { nowIso } from '../lib/clock.js';
import { apiError } from '../lib/errors.js';
import type { Paging } from '../lib/paging.js';
import type { EntityType, MemberRow, MemberStore } from './store.js';

/** What the members feature needs from the users feature. */
export interface UserLookup {
  byId(id: number): Promise<User | undefined>;
  byUsername(username: string): Promise<User | undefined>;
}

/** What the members feature needs from the user groups feature: the group a member_group names (apiErrors when none). */
export interface GroupLookup {
  memberGroup(spec: Record<string, unknown>): Promise<{ id: number; group_name: string }>;
}

/** The project a member change is about, as plain values. */
export interface ProjectRefLike {
  id: number;
  name: string;
}

/** ProjectMemberEntity, as Harbor's API shows a member. */
export interface MemberView {
  id: number;
  project_id: number;
  entity_name: string;
  role_name: string;
  role_id: number;
  entity_id: number;
  entity_type: string;
}

export function memberView(m: MemberRow): MemberView {
  const role = Number(m.role_id);
  return {
    id: Number(m.id),
    project_id: Number(m.project_id),
    entity_name: m.entity_name,
    role_name: isRoleId(role) ? roleNames[role] : '',
    role_id: role,
    entity_id: Number(m.entity_id),
    entity_type: m.entity_type,
  };
}

function checkRole(value: unknown): RoleId {
  if (!isRoleId(value)) {
    throw apiError(
      'BAD_REQUEST',
      `role_id must be 1 (projectAdmin), 2 (developer), 3 (guest), 4 (maintainer) or 5 (limitedGuest), not ${JSON.stringify(value) ?? 'nothing'}`,
    );
  }
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Does a member_user or member_group name anything (a non-empty id, name or DN)? */
function namesSomething(value: unknown): boolean {
  if (!isObject(value)) return value !== undefined && value !== null;
  return Object.values(value).some((v) => v !== null && v !== undefined && v !== '' && v !== 0);
}

/** A user or a user group, as a membership names it. */
interface MemberEntity {
  type: EntityType;
  id: number;
  name: string;
}

function alreadyMember(entity: MemberEntity, project: ProjectRefLike) {
  const what = entity.type === 'u' ? `user ${entity.name}` : `user group ${entity.name}`;
  return apiError('CONFLICT', `The project member specified already exist: ${what} is already a member of project ${project.name}`);
}

function audit(actor: string, operation: 'create' | 'update' | 'delete', project: ProjectRefLike, username: string): AuditEntry {
  return { username: actor, operation, resourceType: 'member', resource: `${project.name}:${username}`, projectId: project.id };
}

/** Project members: users and user groups, each with one of Harbor's roles. */
export class MemberService implements MembershipLookup {
  constructor(
    private readonly store: MemberStore,
    private readonly users: UserLookup,
    private readonly groups?: GroupLookup,
  ) {}

  roleOf(projectId: number, userId: number): Promise<RoleId | null> {
    return this.store.roleOf(projectId, userId);
  }

  projectsAdministeredBy(userId: number): Promise<number[]> {
    return this.store.projectsAdministeredBy(userId);
  }

  projectIdsOf(userId: number): Promise<number[]> {
    return this.store.projectIdsOf(userId);
  }

  rolesIn(userId: number, projectIds: number[]): Promise<Map<number, RoleId[]>> {
    return this.store.rolesIn(userId, projectIds);
  }

  countByRole(projectId: number): Promise<Map<RoleId, number>> {
    return this.store.countByRole(projectId);
  }

  async list(projectId: number, entityName: string | undefined, paging: Paging): Promise<{ items: MemberView[]; total: number }> {
    const page = await this.store.list(projectId, entityName, paging);
    return { items: page.items.map(memberView), total: page.total };
  }

  async get(project: ProjectRefLike, memberId: number): Promise<MemberView> {
    return memberView(await this.find(project, memberId));
  }

  private async find(project: ProjectRefLike, memberId: number): Promise<MemberRow> {
    const member = await this.store.get(project.id, memberId);
    if (!member) throw apiError('NOT_FOUND', `project ${project.name} has no member ${memberId}`);
    return member;
  }

  /** POST …/members with a ProjectMember body (a user or a group); returns the new member's id. */
  async add(project: ProjectRefLike, body: Record<string, unknown>, actor: string): Promise<number> {
    const role = checkRole(body.role_id);
    const entity = await this.entityOf(body.member_user, body.member_group);
    if (await this.store.entityMember(project.id, entity.type, entity.id)) throw alreadyMember(entity, project);
    const id = await this.store.insert(project.id, entity.type, entity.id, role, nowIso(), audit(actor, 'create', project, entity.name));
    if (id === null) throw alreadyMember(entity, project);
    return id;
  }

  /** The user or group a ProjectMember body names: exactly one of member_user and member_group. */
  private async entityOf(memberUser: unknown, memberGroup: unknown): Promise<MemberEntity> {
    const user = namesSomething(memberUser);
    const group = namesSomething(memberGroup);
    if (user && group) throw apiError('BAD_REQUEST', 'give either member_user or member_group, not both');
    if (!user && !group) throw apiError('BAD_REQUEST', 'at least one of member_user or member_group must be provided');
    if (group) {
      if (!isObject(memberGroup)) throw apiError('BAD_REQUEST', 'member_group must be an object with id, ldap_group_dn or group_name');
      if (!this.groups) throw apiError('BAD_REQUEST', 'user groups are not available');
      const found = await this.groups.memberGroup(memberGroup);
      return { type: 'g', id: Number(found.id), name: found.group_name };
    }
    const found = await this.userOf(memberUser);
    return { type: 'u', id: Number(found.id), name: found.username };
  }

  /** The user a member_user names by user_id or username. */
  private async userOf(memberUser: unknown): Promise<User> {
    if (!isObject(memberUser)) throw apiError('BAD_REQUEST', 'member_user must be an object with user_id or username');
    const { user_id: userId, username } = memberUser;
    if (userId !== undefined && userId !== null && userId !== 0) {
      if (typeof userId !== 'number' || !Number.isSafeInteger(userId) || userId < 1) {
        throw apiError('BAD_REQUEST', `member_user.user_id must be a positive integer, not ${JSON.stringify(userId)}`);
      }
      const user = await this.users.byId(userId);
      if (!user) throw apiError('NOT_FOUND', `user ${userId} does not exist`);
      return user;
    }
    if (typeof username !== 'string') throw apiError('BAD_REQUEST', 'member_user.username must be a string');
    const user = await this.users.byUsername(username);
    if (!user) throw apiError('NOT_FOUND', `user ${username} does not exist`);
    return user;
  }

  /** PUT …/members/{mid} with a RoleRequest body. */
  async updateRole(project: ProjectRefLike, memberId: number, body: Record<string, unknown>, actor: string): Promise<void> {
    const role = checkRole(body.role_id);
    const member = await this.find(project, memberId);
    if (!(await this.store.updateRole(project.id, memberId, role, nowIso(), audit(actor, 'update', project, member.entity_name)))) {
      throw apiError('NOT_FOUND', `project ${project.name} has no member ${memberId}`);
    }
  }

  async remove(project: ProjectRefLike, memberId: number, actor: string): Promise<void> {
    const member = await this.find(project, memberId);
    if (!(await this.store.delete(project.id, memberId, audit(actor, 'delete', project, member.entity_name)))) {
      throw apiError('NOT_FOUND', `project ${project.name} has no member ${memberId}`);
    }
  }
}
