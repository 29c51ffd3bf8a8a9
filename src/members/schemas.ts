import { int, object, pathParams, ref, str, type SharedSchema } from '../http/schema-helpers.js';
import { projectNameOrId } from '../projects/schemas.js';

/** The project members API's definitions, in Harbor's names (documentation only: see http/openapi.ts). */

const roleId = (description: string) =>
  int(`${description}: 1 project admin, 2 developer, 3 guest, 4 maintainer, 5 limited guest`, { enum: [1, 2, 3, 4, 5] });

export const ProjectMemberEntity: SharedSchema = {
  $id: 'ProjectMemberEntity',
  description: 'A member of a project and their role',
  ...object({
    id: int('Id of the membership (the mid of the member endpoints)'),
    project_id: int('Id of the project'),
    entity_name: str('Username of the member'),
    role_name: str('Name of the role, such as projectAdmin or developer'),
    role_id: int('Id of the role'),
    entity_id: int('Id of the user'),
    entity_type: str('u for a user (groups are not supported yet)'),
  }),
};

export const UserEntity: SharedSchema = {
  $id: 'UserEntity',
  description: 'A user named by id or by username',
  ...object({ user_id: int('Id of the user'), username: str('Username, used when user_id is not given') }),
};

export const UserGroup: SharedSchema = {
  $id: 'UserGroup',
  description: 'A user group (not supported yet: adding a group is refused)',
  ...object({
    id: int('Id of the group'),
    group_name: str('Name of the group'),
    group_type: int('1 LDAP, 2 HTTP, 3 OIDC'),
    ldap_group_dn: str('DN of an LDAP group'),
  }),
};

export const ProjectMember: SharedSchema = {
  $id: 'ProjectMember',
  description: 'A user to add to a project, with a role',
  ...object({ role_id: roleId('Role of the new member'), member_user: ref('UserEntity'), member_group: ref('UserGroup') }),
};

export const RoleRequest: SharedSchema = {
  $id: 'RoleRequest',
  description: "A member's new role",
  ...object({ role_id: roleId('The role') }),
};

export const memberSchemas = [ProjectMemberEntity, UserEntity, UserGroup, ProjectMember, RoleRequest];

export const memberParams = pathParams({ ...projectNameOrId, mid: int('Id of the membership', { minimum: 1 }) });
