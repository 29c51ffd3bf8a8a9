import type { Entry } from 'ldapts';
import type { SystemSettings } from '../settings/keys.js';
import { attributeValues, DirectoryError, scopeOf, withSession, type DirectorySession } from './client.js';
import { andEquals, isAttributeName, isUnderDn, normalizeDn, normalizeFilter, parseDn, sameDn } from './dn.js';

/** A person as the directory describes them. */
export interface DirectoryUser {
  dn: string;
  /** The ldap_uid attribute's value, as the directory spells it. */
  username: string;
  realname: string;
  email: string;
  /** The membership attribute's values (memberOf): the groups the user is directly in. */
  groupDns: string[];
}

export interface DirectoryGroup {
  /** The ldap_group_attribute_name attribute's value (cn), or the DN when the group has none. */
  name: string;
  dn: string;
}

export interface SignedIn {
  user: DirectoryUser;
  /** The user's groups, direct and nested, that are under the group base DN and match the group filter. */
  groups: DirectoryGroup[];
  /** In ldap_group_admin_dn, directly or through nested groups. */
  admin: boolean;
}

/** How deep nested groups are followed (a group in a group in a group …). */
export const nestedGroupDepth = 10;
/** At most this many groups are read for one user, however the directory is shaped. */
const maxGroupsRead = 500;
/** At most this many users or groups answer a search of the directory. */
export const searchLimit = 500;

const emailPattern = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** The LDAP side of Berth, for one reading of the settings: people, their groups, binds. */
export class Directory {
  constructor(private readonly settings: SystemSettings) {}

  private get uidAttribute(): string {
    const uid = this.settings.ldap_uid.trim() || 'uid';
    if (!isAttributeName(uid)) throw new DirectoryError(`ldap_uid "${uid}" is not an attribute name`);
    return uid;
  }

  private get membershipAttribute(): string {
    const name = this.settings.ldap_group_membership_attribute.trim() || 'memberof';
    if (!isAttributeName(name)) throw new DirectoryError(`ldap_group_membership_attribute "${name}" is not an attribute name`);
    return name;
  }

  private get groupNameAttribute(): string {
    const name = this.settings.ldap_group_attribute_name.trim() || 'cn';
    if (!isAttributeName(name)) throw new DirectoryError(`ldap_group_attribute_name "${name}" is not an attribute name`);
    return name;
  }

  /** Where groups live: ldap_group_base_dn, else ldap_base_dn (as Harbor). */
  private get groupBaseDn(): string {
    return this.settings.ldap_group_base_dn.trim() || this.settings.ldap_base_dn.trim();
  }

  private userOf(entry: Entry, typed: string): DirectoryUser {
    const first = (name: string) => attributeValues(entry, name)[0] ?? '';
    const username = first(this.uidAttribute) || typed;
    const mail = first('mail') || first('email');
    return {
      dn: entry.dn,
      username,
      realname: first('displayName') || first('cn') || username,
      email: emailPattern.test(mail) ? mail : emailPattern.test(username) ? username : '',
      groupDns: attributeValues(entry, this.membershipAttribute),
    };
  }

  /** Users whose ldap_uid equals `username` (every user when it is empty), under ldap_filter. */
  async findUsers(session: DirectorySession, username: string, sizeLimit = searchLimit): Promise<DirectoryUser[]> {
    const uid = this.uidAttribute;
    const filter =
      username === ''
        ? andEquals(this.settings.ldap_filter, uid, '*', { escaped: true })
        : andEquals(this.settings.ldap_filter, uid, username);
    const entries = await session.search(this.settings.ldap_base_dn.trim(), {
      scope: scopeOf(this.settings.ldap_scope),
      filter,
      attributes: [uid, 'cn', 'displayName', 'mail', 'email', this.membershipAttribute],
      sizeLimit,
    });
    return entries.map((entry) => this.userOf(entry, username));
  }

  /**
   * Checks a username and password against the directory: exactly one entry must match, and
   * the directory must accept a bind as it with the password. Null when not; a DirectoryError
   * when the directory cannot answer.
   */
  async signIn(username: string, password: string): Promise<SignedIn | null> {
    if (username.trim() === '' || password === '') return null;
    return withSession(this.settings, async (session) => {
      const found = await this.findUsers(session, username, 2);
      if (found.length !== 1) return null;
      const user = found[0]!;
      if (!(await session.verifyBind(user.dn, password))) return null;
      // Groups are read as the search account: the user may not be allowed to read them.
      await session.bindAsSearcher();
      const { groups, admin } = await this.groupsOf(session, user.groupDns);
      return { user, groups, admin };
    });
  }

  /**
   * The groups of a user directly in `direct`, with the groups those are in, and so on (to
   * nestedGroupDepth levels; a group seen once is not read again, so cycles end).
   */
  async groupsOf(session: DirectorySession, direct: string[]): Promise<{ groups: DirectoryGroup[]; admin: boolean }> {
    const adminDn = this.settings.ldap_group_admin_dn.trim();
    const seen = new Set<string>();
    const groups: DirectoryGroup[] = [];
    let admin = false;
    let level = direct;
    for (let depth = 0; depth <= nestedGroupDepth && level.length > 0; depth++) {
      const fresh: string[] = [];
      for (const dn of level) {
        const key = normalizeDn(dn);
        if (key === null || seen.has(key) || seen.size >= maxGroupsRead) continue;
        seen.add(key);
        fresh.push(dn);
        if (adminDn !== '' && sameDn(dn, adminDn)) admin = true;
      }
      const read = await Promise.all(fresh.map((dn) => this.readGroup(session, dn)));
      level = [];
      for (const group of read) {
        if (!group) continue;
        if (group.listed) groups.push({ name: group.name, dn: group.dn });
        level.push(...group.parents);
      }
    }
    return { groups, admin };
  }

  /** A group entry: its name, whether it is one Berth records (base DN and filter), the groups it is in. */
  private async readGroup(
    session: DirectorySession,
    dn: string,
  ): Promise<(DirectoryGroup & { listed: boolean; parents: string[] }) | null> {
    const nameAttribute = this.groupNameAttribute;
    const [entry] = await session.search(dn, {
      scope: 'base',
      filter: '(objectClass=*)',
      attributes: [nameAttribute, this.membershipAttribute],
    });
    if (!entry) return null;
    const listed = isUnderDn(entry.dn, this.groupBaseDn) && (await this.matchesGroupFilter(session, entry.dn));
    return {
      dn: entry.dn,
      name: attributeValues(entry, nameAttribute)[0] ?? entry.dn,
      listed,
      parents: attributeValues(entry, this.membershipAttribute),
    };
  }

  private async matchesGroupFilter(session: DirectorySession, dn: string): Promise<boolean> {
    const filter = normalizeFilter(this.settings.ldap_group_search_filter);
    if (filter === '') return true;
    const entries = await session.search(dn, { scope: 'base', filter, attributes: ['1.1'] });
    return entries.length > 0;
  }

  /** The group with this DN when it is under the group base DN and matches the group filter (Harbor's rule), else null. */
  async groupByDn(session: DirectorySession, dn: string): Promise<DirectoryGroup | null> {
    if (parseDn(dn) === null) return null;
    if (!isUnderDn(dn, this.groupBaseDn)) return null;
    const nameAttribute = this.groupNameAttribute;
    const filter = normalizeFilter(this.settings.ldap_group_search_filter);
    const [entry] = await session.search(dn.trim(), { scope: 'base', filter, attributes: [nameAttribute] });
    if (!entry) return null;
    return { dn: entry.dn, name: attributeValues(entry, nameAttribute)[0] ?? entry.dn };
  }

  /** Groups under the group base DN whose name attribute equals `name`, matching the group filter. */
  async groupsByName(session: DirectorySession, name: string): Promise<DirectoryGroup[]> {
    const nameAttribute = this.groupNameAttribute;
    const entries = await session.search(this.groupBaseDn, {
      scope: scopeOf(this.settings.ldap_group_search_scope),
      filter: andEquals(this.settings.ldap_group_search_filter, nameAttribute, name),
      attributes: [nameAttribute],
      sizeLimit: searchLimit,
    });
    return entries.map((entry) => ({ dn: entry.dn, name: attributeValues(entry, nameAttribute)[0] ?? entry.dn }));
  }
}
