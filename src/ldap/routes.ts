import type { FastifyInstance } from 'fastify';
import type { AccessGuard } from '../auth/guard.js';
import { displayName } from '../auth/identity.js';
import { queryOf } from '../http/api-helpers.js';
import { addSchemas, arrayOf, empty, object, ok, operation, ref, str, type OperationDoc } from '../http/schema-helpers.js';
import { apiError } from '../lib/errors.js';
import { groupTypes } from '../usergroups/compose.js';
import { UserGroup } from '../usergroups/schemas.js';
import { ldapSchemas } from './schemas.js';
import type { LdapService, PingSettings } from './service.js';

export interface LdapRouteDeps {
  ldap: LdapService;
  guard: AccessGuard;
}

const stringKeys = [
  'ldap_url',
  'ldap_search_dn',
  'ldap_search_password',
  'ldap_base_dn',
  'ldap_filter',
  'ldap_uid',
  'ldap_ca_cert',
] as const;
const booleanKeys = ['ldap_verify_cert', 'ldap_start_tls'] as const;

/** The LdapConf of a ping: the fields given, each checked; null for no body (the stored settings). */
function pingSettingsOf(body: unknown): PingSettings | null {
  if (body === undefined || body === null || body === '') return null;
  if (typeof body !== 'object' || Array.isArray(body)) throw apiError('BAD_REQUEST', 'the body must be an LdapConf JSON object');
  const input = body as Record<string, unknown>;
  const settings: PingSettings = {};
  for (const key of stringKeys) {
    const value = input[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string') throw apiError('BAD_REQUEST', `${key} must be a string`);
    settings[key] = value;
  }
  for (const key of booleanKeys) {
    const value = input[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'boolean') throw apiError('BAD_REQUEST', `${key} must be true or false`);
    settings[key] = value;
  }
  if (input.ldap_scope !== undefined && input.ldap_scope !== null) {
    if (input.ldap_scope !== 0 && input.ldap_scope !== 1 && input.ldap_scope !== 2) {
      throw apiError('BAD_REQUEST', 'ldap_scope must be 0 (base), 1 (one level) or 2 (subtree)');
    }
    settings.ldap_scope = input.ldap_scope;
  }
  const timeout = input.ldap_connection_timeout;
  if (timeout !== undefined && timeout !== null) {
    if (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 1 || timeout > 600) {
      throw apiError('BAD_REQUEST', 'ldap_connection_timeout must be a whole number of seconds from 1 to 600');
    }
    settings.ldap_timeout = timeout;
  }
  return settings;
}

function uidListOf(body: unknown): string[] {
  const list = (body as { ldap_uid_list?: unknown } | null)?.ldap_uid_list;
  if (
    typeof body !== 'object' ||
    body === null ||
    Array.isArray(body) ||
    !Array.isArray(list) ||
    list.some((uid) => typeof uid !== 'string')
  ) {
    throw apiError('BAD_REQUEST', 'the body must be {"ldap_uid_list": [<uid>, …]} with each uid a string');
  }
  return list as string[];
}

/** Harbor's /ldap/…: system administrators (and system robots given ldap-user) only. */
export async function registerLdapRoutes(app: FastifyInstance, deps: LdapRouteDeps): Promise<void> {
  const { ldap, guard } = deps;
  addSchemas(app, [...ldapSchemas, UserGroup]);
  const doc = (op: Omit<OperationDoc, 'tags'>) => operation({ tags: ['Ldap'], ...op });

  app.post(
    '/ldap/ping',
    {
      schema: doc({
        operationId: 'PingLdap',
        summary: 'Try LDAP settings: connect, bind as the search DN, find the base DN',
        description:
          'Without a body, the stored settings; with an LdapConf body, its fields over the stored settings (an empty or absent ldap_search_password uses the stored one). The directory’s refusals are answered as success false with a message, not as errors.',
        body: ref('LdapConf'),
        response: { 200: ok(ref('LdapPingResult'), 'What happened') },
        errors: [400, 401, 403, 500],
      }),
    },
    async (req) => {
      guard.requireSystem(req.identity, 'configuration', 'read');
      return ldap.ping(pingSettingsOf(req.body));
    },
  );

  app.get(
    '/ldap/users/search',
    {
      schema: doc({
        operationId: 'SearchLdapUser',
        summary: 'Find people in the directory',
        description: `Users whose ldap_uid equals username (every user when it is absent, at most 500), under ldap_base_dn and ldap_filter. 503 when the directory cannot be used.`,
        querystring: object({ username: str('The ldap_uid value to look for') }),
        response: { 200: ok(arrayOf(ref('LdapUser')), 'The users found') },
        errors: [400, 401, 403, 500, 503],
      }),
    },
    async (req) => {
      guard.requireSystem(req.identity, 'ldap-user', 'list');
      const username = queryOf(req).username ?? '';
      const users = await ldap.searchUsers(username);
      return users.map((u) => ({ username: u.username, realname: u.realname, email: u.email }));
    },
  );

  app.post(
    '/ldap/users/import',
    {
      schema: doc({
        operationId: 'ImportLdapUser',
        summary: 'Onboard people from the directory before they first sign in',
        description:
          'Each uid the directory knows becomes a Berth user (an existing one is left as it is). 404 with the uids that failed and why when any did; the others are imported all the same.',
        body: ref('LdapImportUsers'),
        response: { 200: empty('Every user imported'), 404: ok(arrayOf(ref('LdapFailedImportUser')), 'Some uids failed') },
        errors: [400, 401, 403, 500, 503],
      }),
    },
    async (req, reply) => {
      guard.requireSystem(req.identity, 'ldap-user', 'create');
      const failed = await ldap.importUsers(uidListOf(req.body), displayName(req.identity));
      if (failed.length > 0) return reply.code(404).send(failed);
      return reply.code(200).send();
    },
  );

  app.get(
    '/ldap/groups/search',
    {
      schema: doc({
        operationId: 'SearchLdapGroup',
        summary: 'Find groups in the directory by name or by DN',
        description:
          'groupname: groups under the group base DN whose ldap_group_attribute_name equals it; else groupdn: that group, when it is under the group base DN and matches the group filter. 404 when none is found; 400 for a groupdn that is not a DN.',
        querystring: object({ groupname: str('Group name (cn)'), groupdn: str('Group DN') }),
        response: { 200: ok(arrayOf(ref('UserGroup')), 'The groups found (no id: the group need not be known to Berth yet)') },
        errors: [400, 401, 403, 404, 500, 503],
      }),
    },
    async (req) => {
      guard.requireSystem(req.identity, 'ldap-user', 'list');
      const query = queryOf(req);
      const name = query.groupname ?? '';
      const dn = query.groupdn ?? '';
      const groups = await ldap.searchGroups({ name, dn });
      if (groups.length === 0) throw apiError('NOT_FOUND', `no LDAP group found with group name "${name}" or group DN "${dn}"`);
      return groups.map((g) => ({ group_name: g.name, group_type: groupTypes.ldap, ldap_group_dn: g.dn }));
    },
  );
}
