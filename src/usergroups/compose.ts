import type { FastifyInstance } from 'fastify';
import type { AccessGuard } from '../auth/guard.js';
import type { Db } from '../db/index.js';
import type { SettingsReader } from '../settings/settings.js';
import { registerUserGroupRoutes } from './routes.js';
import { UserGroupService, type GroupType, type SignInGroup } from './service.js';
import { UserGroupStore } from './store.js';

export { groupTypes, type GroupType, type SignInGroup } from './service.js';

export interface UserGroupDeps {
  db: Db;
  /** In ldap_auth mode: the LDAP group with this DN, to check a type-1 group before it is stored (Harbor's rule); null when none. */
  ldapGroupByDn?: (dn: string) => Promise<{ name: string; dn: string } | null>;
  /** The system settings: auth_mode decides which groups are listed and looked up. */
  settings?: SettingsReader;
}

export interface UserGroups {
  /**
   * Replaces the user's memberships of one group type with these groups, creating the groups
   * not yet known. Called at each LDAP/OIDC sign-in. Returns the groups' ids.
   */
  setUserGroups(userId: number, groupType: GroupType, groups: SignInGroup[]): Promise<number[]>;
  /** /usergroups…. */
  registerApiRoutes(api: FastifyInstance, routeDeps: { guard: AccessGuard }): Promise<void>;
  /** The rules behind /usergroups, for the members feature (groups as project members). */
  service: UserGroupService;
}

export function createUserGroups(deps: UserGroupDeps): UserGroups {
  const service = new UserGroupService(new UserGroupStore(deps.db), deps.settings, deps.ldapGroupByDn);
  return {
    service,
    setUserGroups: (userId, groupType, groups) => service.setUserGroups(userId, groupType, groups),
    registerApiRoutes: (api, routeDeps) => registerUserGroupRoutes(api, { groups: service, guard: routeDeps.guard }),
  };
}
