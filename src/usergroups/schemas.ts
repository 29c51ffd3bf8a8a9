import { int, pathParams, object, str, type SharedSchema } from '../http/schema-helpers.js';

/** The user groups API's definitions, in Harbor's names (documentation only: see server/openapi.ts). */

export const UserGroup: SharedSchema = {
  $id: 'UserGroup',
  description: 'A user group: an LDAP group (by DN), an HTTP group or an OIDC group (by name)',
  ...object({
    id: int('Id of the group'),
    group_name: str('Name of the group'),
    group_type: int('1 LDAP, 2 HTTP, 3 OIDC', { enum: [1, 2, 3] }),
    ldap_group_dn: str('DN of an LDAP group (group_type 1)'),
  }),
};

export const UserGroupSearchItem: SharedSchema = {
  $id: 'UserGroupSearchItem',
  description: 'A user group found by name',
  ...object({
    id: int('Id of the group'),
    group_name: str('Name of the group'),
    group_type: int('1 LDAP, 2 HTTP, 3 OIDC'),
  }),
};

export const userGroupSchemas = [UserGroup, UserGroupSearchItem];

export const groupParams = pathParams({ group_id: int('Id of the group', { minimum: 1 }) });
