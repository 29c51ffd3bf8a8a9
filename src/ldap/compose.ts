import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { AccessGuard } from '../auth/guard.js';
import type { UserIdentity } from '../auth/principals.js';
import type { SettingsReader } from '../settings/settings.js';
import type { UserGroups } from '../usergroups/compose.js';
import type { UserService } from '../users/service.js';
import { registerLdapRoutes } from './routes.js';
import { LdapService } from './service.js';

export interface LdapDeps {
  settings: SettingsReader;
  users: UserService;
  groups: Pick<UserGroups, 'setUserGroups'>;
  logger: Logger;
}

export interface Ldap {
  /**
   * ldap_auth: binds as the user found by ldap_uid/ldap_filter; on success onboards the user,
   * records their groups and admin-group standing, and returns them; null when wrong.
   */
  verifyPassword(username: string, password: string): Promise<UserIdentity | null>;
  /** The LDAP group with this DN (for /usergroups type 1), or null. */
  groupByDn(dn: string): Promise<{ name: string; dn: string } | null>;
  /** /ldap/ping, /ldap/users/search, /ldap/users/import, /ldap/groups/search. */
  registerApiRoutes(api: FastifyInstance, routeDeps: { guard: AccessGuard }): Promise<void>;
}

export function createLdap(deps: LdapDeps): Ldap {
  const service = new LdapService(deps);
  return {
    verifyPassword: (username, password) => service.verifyPassword(username, password),
    groupByDn: (dn) => service.groupByDn(dn),
    async registerApiRoutes(api, routeDeps) {
      await registerLdapRoutes(api, { ldap: service, guard: routeDeps.guard });
    },
  };
}
