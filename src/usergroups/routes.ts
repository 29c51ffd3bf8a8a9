import type { FastifyInstance, FastifyRequest } from 'fastify';
import { requireAuthenticated, type AccessGuard } from '../auth/guard.js';
import { displayName } from '../auth/identity.js';
import { bodyOf, created, idParam, pagingOf, queryOf, sendPage } from '../http/api-helpers.js';
import {
  addSchemas,
  createdWithLocation,
  empty,
  object,
  ok,
  operation,
  page,
  pagingQuery,
  ref,
  str,
  type OperationDoc,
} from '../http/schema-helpers.js';
import { groupParams, userGroupSchemas } from './schemas.js';
import type { UserGroupService } from './service.js';

export interface UserGroupRouteDeps {
  groups: UserGroupService;
  guard: AccessGuard;
}

/** Harbor's /usergroups…: system administrators manage groups; any signed-in caller may search them by name. */
export async function registerUserGroupRoutes(app: FastifyInstance, deps: UserGroupRouteDeps): Promise<void> {
  const { groups, guard } = deps;
  addSchemas(app, userGroupSchemas);
  const doc = (op: Omit<OperationDoc, 'tags'>) => operation({ tags: ['usergroup'], ...op });
  const groupId = (req: FastifyRequest) => idParam((req.params as { group_id?: string }).group_id, 'group_id');
  const allow = (req: FastifyRequest, action: string) => guard.requireSystem(req.identity, 'user-group', action);

  app.get(
    '/usergroups',
    {
      schema: doc({
        operationId: 'listUserGroups',
        summary: 'List user groups',
        description:
          'System administrators only. In ldap_auth only LDAP groups are listed, as Harbor does. group_name matches part of the name in any case; ldap_group_dn matches a DN exactly (any case).',
        querystring: object({
          group_name: str('Only groups whose name contains this'),
          ldap_group_dn: str('Only the LDAP group with this DN'),
          ...pagingQuery,
        }),
        response: { 200: page(ref('UserGroup'), 'One page of groups') },
        errors: [400, 401, 403, 500],
      }),
    },
    async (req, reply) => {
      allow(req, 'list');
      const paging = pagingOf(req);
      const q = queryOf(req);
      const result = await groups.list({ groupName: q.group_name || undefined, ldapDn: q.ldap_group_dn || undefined }, paging);
      return sendPage(req, reply, paging, result);
    },
  );

  app.post(
    '/usergroups',
    {
      schema: doc({
        operationId: 'createUserGroup',
        summary: 'Create a user group',
        description:
          'group_type 1 (LDAP) needs ldap_group_dn; in ldap_auth the DN must exist in LDAP (400 otherwise) and the group takes its LDAP name when group_name is empty. Types 2 and 3 need group_name. 409 when a group of the same type has the name or the DN.',
        body: ref('UserGroup'),
        response: { 201: createdWithLocation('The group was created') },
        errors: [400, 401, 403, 409, 500],
      }),
    },
    async (req, reply) => {
      allow(req, 'create');
      const id = await groups.create(bodyOf(req), displayName(req.identity));
      return created(reply, `${req.url.split('?')[0]!.replace(/\/+$/, '')}/${id}`);
    },
  );

  app.get(
    '/usergroups/search',
    {
      schema: doc({
        operationId: 'searchUserGroups',
        summary: 'Search user groups by name',
        description: 'Open to every signed-in caller. groupname (required) matches part of the name in any case.',
        querystring: object({ groupname: str('Part of the group name'), ...pagingQuery }, ['groupname']),
        response: { 200: page(ref('UserGroupSearchItem'), 'One page of groups') },
        errors: [400, 401, 500],
      }),
    },
    async (req, reply) => {
      requireAuthenticated(req.identity);
      const paging = pagingOf(req);
      return sendPage(req, reply, paging, await groups.search(queryOf(req).groupname || undefined, paging));
    },
  );

  app.get(
    '/usergroups/:group_id',
    {
      schema: doc({
        operationId: 'getUserGroup',
        summary: 'Get a user group',
        params: groupParams,
        response: { 200: ok(ref('UserGroup'), 'The group') },
        errors: [400, 401, 403, 404, 500],
      }),
    },
    async (req) => {
      allow(req, 'read');
      return groups.get(groupId(req));
    },
  );

  app.put(
    '/usergroups/:group_id',
    {
      schema: doc({
        operationId: 'updateUserGroup',
        summary: 'Rename a user group (only group_name changes)',
        params: groupParams,
        body: ref('UserGroup'),
        response: { 200: empty('The group was renamed') },
        errors: [400, 401, 403, 404, 409, 500],
      }),
    },
    async (req, reply) => {
      allow(req, 'update');
      await groups.rename(groupId(req), bodyOf(req), displayName(req.identity));
      return reply.code(200).send();
    },
  );

  app.delete(
    '/usergroups/:group_id',
    {
      schema: doc({
        operationId: 'deleteUserGroup',
        summary: 'Delete a user group',
        description: "The group's project memberships and its users' membership of it go with it.",
        params: groupParams,
        response: { 200: empty('The group was deleted') },
        errors: [400, 401, 403, 404, 500],
      }),
    },
    async (req, reply) => {
      allow(req, 'delete');
      await groups.remove(groupId(req), displayName(req.identity));
      return reply.code(200).send();
    },
  );
}
