import type { AuditEntry } from '../events/audit.js';
import { nowIso } from '../lib/clock.js';
import { apiError } from '../lib/errors.js';
import type { Paging } from '../lib/paging.js';
import type { SettingsReader } from '../settings/settings.js';
import type { NewGroup, UserGroupRow, UserGroupStore } from './store.js';
import { isUniqueViolation } from '../db/errors.js';

/** Harbor's group types. */
export const groupTypes = { ldap: 1, http: 2, oidc: 3 } as const;
export type GroupType = (typeof groupTypes)[keyof typeof groupTypes];

/** A group a sign-in reports for a user: an LDAP group by DN (name from its attribute), an OIDC group by name. */
export interface SignInGroup {
  name: string;
  ldapDn?: string;
}

/** How a ProjectMember body names a group (Harbor's UserGroup). */
export interface MemberGroupSpec {
  id?: unknown;
  group_name?: unknown;
  group_type?: unknown;
  ldap_group_dn?: unknown;
}

/** UserGroup, as Harbor's API shows a group. */
export interface UserGroupView {
  id: number;
  group_name: string;
  group_type: number;
  ldap_group_dn: string;
}

export type LdapGroupLookup = (dn: string) => Promise<{ name: string; dn: string } | null>;

const maxNameLength = 255;
const maxDnLength = 1024;

export function userGroupView(g: UserGroupRow): UserGroupView {
  return { id: g.id, group_name: g.group_name, group_type: g.group_type, ldap_group_dn: g.ldap_group_dn };
}

export function isGroupType(value: unknown): value is GroupType {
  return value === 1 || value === 2 || value === 3;
}

/** What makes a group unique within its type: the DN in lower case for LDAP, else the name. */
export function groupKey(groupType: number, name: string, dn: string): string {
  return groupType === groupTypes.ldap ? dn.trim().toLowerCase() : name;
}

/** A DN is a comma-separated list of attribute=value pairs; anything else cannot name an LDAP entry. */
function isDnSyntax(dn: string): boolean {
  return /^\s*[A-Za-z][\w.-]*\s*=/.test(dn) && dn.split(/(?<!\\),/).every((rdn) => /^\s*[A-Za-z0-9][\w.-]*\s*=/.test(rdn));
}

function optionalString(value: unknown, field: string): string {
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw apiError('BAD_REQUEST', `${field} must be a string`);
  return value.trim();
}

function checkName(name: string): string {
  if (name === '') throw apiError('BAD_REQUEST', 'group_name is required');
  if (name.length > maxNameLength) throw apiError('BAD_REQUEST', `group_name must be at most ${maxNameLength} characters`);
  return name;
}

function checkDn(dn: string): string {
  if (dn === '') throw apiError('BAD_REQUEST', 'ldap_group_dn is required for an LDAP group (group_type 1)');
  if (dn.length > maxDnLength) throw apiError('BAD_REQUEST', `ldap_group_dn must be at most ${maxDnLength} characters`);
  if (!isDnSyntax(dn)) throw apiError('BAD_REQUEST', `invalid DN syntax. DN: ${dn}`);
  return dn;
}

function checkType(value: unknown): GroupType {
  if (!isGroupType(value)) {
    throw apiError('BAD_REQUEST', `group_type must be 1 (LDAP), 2 (HTTP) or 3 (OIDC), not ${JSON.stringify(value) ?? 'nothing'}`);
  }
  return value;
}

function duplicate(name: string, groupType: number, dn: string) {
  return apiError('CONFLICT', `duplicate user group, group name:${name}, group type: ${groupType}, ldap group DN: ${dn}`);
}

function notFound(id: number) {
  return apiError('NOT_FOUND', `the user group with id ${id} is not found`);
}

function audit(actor: string, operation: 'create' | 'update' | 'delete', name: string): AuditEntry {
  return { username: actor, operation, resourceType: 'user_group', resource: name };
}

/** User groups: Harbor's /usergroups rules, and the groups sign-ins report. */
export class UserGroupService {
  constructor(
    private readonly store: UserGroupStore,
    private readonly settings: SettingsReader | undefined,
    private readonly ldapGroupByDn: LdapGroupLookup | undefined,
  ) {}

  private authMode(): string {
    return this.settings?.current().auth_mode ?? 'db_auth';
  }

  /** GET /usergroups: in ldap_auth only LDAP groups, as Harbor lists them. */
  async list(filter: { groupName?: string; ldapDn?: string }, paging: Paging) {
    const types = this.authMode() === 'ldap_auth' ? [groupTypes.ldap] : undefined;
    const page = await this.store.list({ types, nameContains: filter.groupName, ldapDn: filter.ldapDn }, paging);
    return { items: page.items.map(userGroupView), total: page.total };
  }

  /** GET /usergroups/search: every type, names containing `groupname`. */
  async search(groupname: string | undefined, paging: Paging) {
    if (!groupname) throw apiError('BAD_REQUEST', 'need to provide groupname to search user group');
    const page = await this.store.list({ nameContains: groupname }, paging);
    return { items: page.items.map((g) => ({ id: g.id, group_name: g.group_name, group_type: g.group_type })), total: page.total };
  }

  async get(id: number): Promise<UserGroupView> {
    const group = await this.store.byId(id);
    if (!group) throw notFound(id);
    return userGroupView(group);
  }

  byId(id: number): Promise<UserGroupRow | undefined> {
    return this.store.byId(id);
  }

  /** POST /usergroups; returns the new group's id. */
  async create(body: Record<string, unknown>, actor: string): Promise<number> {
    const groupType = checkType(body.group_type);
    let name = optionalString(body.group_name, 'group_name');
    let dn = '';
    if (groupType === groupTypes.ldap) {
      dn = checkDn(optionalString(body.ldap_group_dn, 'ldap_group_dn'));
      if (this.authMode() === 'ldap_auth' && this.ldapGroupByDn) {
        const found = await this.ldapGroupByDn(dn);
        if (!found) throw apiError('BAD_REQUEST', `LDAP Group DN is not found: DN:${dn}`);
        if (name === '') name = found.name.slice(0, maxNameLength);
      }
    }
    checkName(name);
    if ((await this.store.byName(name, groupType)).length > 0) throw duplicate(name, groupType, dn);
    const key = groupKey(groupType, name, dn);
    const id = await this.store.insert(
      { group_name: name, group_type: groupType, ldap_group_dn: dn, group_key: key },
      nowIso(),
      audit(actor, 'create', name),
    );
    if (id === null) throw duplicate(name, groupType, dn);
    return id;
  }

  /** PUT /usergroups/{id}: only the name changes. */
  async rename(id: number, body: Record<string, unknown>, actor: string): Promise<void> {
    const name = checkName(optionalString(body.group_name, 'group_name'));
    const group = await this.store.byId(id);
    if (!group) throw notFound(id);
    if (name === group.group_name) return;
    if ((await this.store.byName(name, group.group_type)).some((g) => g.id !== id)) {
      throw duplicate(name, group.group_type, group.ldap_group_dn);
    }
    const key = groupKey(group.group_type, name, group.ldap_group_dn);
    let renamed: boolean;
    try {
      renamed = await this.store.rename(id, name, key, nowIso(), audit(actor, 'update', name));
    } catch (err) {
      if (isUniqueViolation(err)) throw duplicate(name, group.group_type, group.ldap_group_dn);
      throw err;
    }
    if (!renamed) throw notFound(id);
  }

  /** DELETE /usergroups/{id}: the group leaves every project and every user's list with it. */
  async remove(id: number, actor: string): Promise<void> {
    const group = await this.store.byId(id);
    if (!group) throw notFound(id);
    const projects = await this.store.projectMemberships(id);
    const entries: AuditEntry[] = [
      audit(actor, 'delete', group.group_name),
      ...projects.map((p): AuditEntry => ({
        username: actor,
        operation: 'delete',
        resourceType: 'member',
        resource: `${p.project_name}:${group.group_name}`,
        projectId: p.project_id,
      })),
    ];
    if (!(await this.store.delete(id, entries))) throw notFound(id);
  }

  /**
   * Stores the groups of one type not yet known and returns every group's row. LDAP groups
   * are keyed by DN; one whose name another LDAP group already has is named by its DN instead
   * (Harbor's rule, so names stay unique).
   */
  private async ensureGroups(groupType: GroupType, groups: SignInGroup[]): Promise<UserGroupRow[]> {
    const wanted = new Map<string, NewGroup>();
    for (const g of groups) {
      const dn = groupType === groupTypes.ldap ? (g.ldapDn ?? '').trim() : '';
      if (groupType === groupTypes.ldap && dn === '') continue;
      const name = ((g.name ?? '').trim() || dn).slice(0, maxNameLength);
      if (name === '') continue;
      const key = groupKey(groupType, name, dn);
      if (!wanted.has(key)) wanted.set(key, { group_name: name, group_type: groupType, ldap_group_dn: dn, group_key: key });
    }
    const list = [...wanted.values()];
    if (groupType === groupTypes.ldap) {
      for (const g of list) {
        const sameName = await this.store.byName(g.group_name, groupType);
        if (sameName.some((other) => other.group_key !== g.group_key)) g.group_name = g.ldap_group_dn.slice(0, maxNameLength);
      }
    }
    return this.store.ensure(list, nowIso());
  }

  async setUserGroups(userId: number, groupType: GroupType, groups: SignInGroup[]): Promise<number[]> {
    checkType(groupType);
    const rows = await this.ensureGroups(groupType, groups);
    const ids = rows.map((r) => r.id);
    await this.store.replaceMemberships(userId, groupType, ids);
    return ids;
  }

  groupIdsOf(userId: number): Promise<number[]> {
    return this.store.groupIdsOf(userId);
  }

  /**
   * The group a ProjectMember body's member_group names: by id; by LDAP DN (a group not yet
   * known is looked up in LDAP and stored, in ldap_auth); or by name and type (an OIDC group
   * not yet known is stored in oidc_auth, since the provider cannot be searched).
   */
  async memberGroup(spec: MemberGroupSpec): Promise<UserGroupRow> {
    const { id } = spec;
    if (id !== undefined && id !== null && id !== 0) {
      if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) {
        throw apiError('BAD_REQUEST', `member_group.id must be a positive integer, not ${JSON.stringify(id)}`);
      }
      const group = await this.store.byId(id);
      if (!group) throw apiError('NOT_FOUND', `user group ${id} does not exist`);
      return group;
    }
    const mode = this.authMode();
    const dn = optionalString(spec.ldap_group_dn, 'member_group.ldap_group_dn');
    const name = optionalString(spec.group_name, 'member_group.group_name');
    if (dn !== '') {
      checkDn(dn);
      const known = await this.store.byKey(groupTypes.ldap, groupKey(groupTypes.ldap, name, dn));
      if (known) return known;
      if (mode !== 'ldap_auth' || !this.ldapGroupByDn) {
        throw apiError('NOT_FOUND', `no user group has the LDAP DN ${dn} (LDAP is searched only when auth_mode is ldap_auth)`);
      }
      const found = await this.ldapGroupByDn(dn);
      if (!found) throw apiError('NOT_FOUND', `LDAP Group DN is not found: DN:${dn}`);
      const [row] = await this.ensureGroups(groupTypes.ldap, [{ name: name || found.name, ldapDn: dn }]);
      if (!row) throw apiError('NOT_FOUND', `LDAP Group DN is not found: DN:${dn}`);
      return row;
    }
    if (name !== '') {
      const given = spec.group_type;
      const groupType =
        given === undefined || given === null || given === 0
          ? mode === 'ldap_auth'
            ? groupTypes.ldap
            : mode === 'oidc_auth'
              ? groupTypes.oidc
              : undefined
          : checkType(given);
      const [known] = await this.store.byName(name, groupType);
      if (known) return known;
      if (groupType === groupTypes.oidc && mode === 'oidc_auth') {
        const [row] = await this.ensureGroups(groupTypes.oidc, [{ name }]);
        if (row) return row;
      }
      throw apiError('NOT_FOUND', `user group ${name} does not exist`);
    }
    throw apiError('BAD_REQUEST', 'member_group must name a group by id, ldap_group_dn or group_name');
  }
}
