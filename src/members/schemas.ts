import { int, object, pathParams, ref, str, type SharedSchema } from '../http/schema-helpers.js';
import { projectNameOrId } from '../projects/schemas.js';
import { UserGroup } from '../usergroups/schemas.js';

/** The project members API's definitions, in Harbor's names (documentation only: see server/openapi.ts). */

const roleId = (description: string) =>
  int(`${description}: 1 project admin, 2 developer, 3 guest, 4 maintainer, 5 limited guest`, { enum: [1, 2, 3, 4, 5] });

export const ProjectMemberEntity: SharedSchema = {
  $id: 'ProjectMemberEntity',
  description: 'A member of a project and their role',
  ...object({
    id: int('Id of the membership (the mid of the member endpoints)'),
    project_id: int('Id of the project'),
    entity_name: str('Username of a user member, name of a group member'),
    role_name: str('Name of the role, such as projectAdmin or developer'),
    role_id: int('Id of the role'),
    entity_id: int('Id of the user, or of the user group'),
    entity_type: str('u for a user, g for a user group'),
  }),
};

export const UserEntity: SharedSchema = {
  $id: 'UserEntity',
  description: 'A user named by id or by username',
  ...object({ user_id: int('Id of the user'), username: str('Username, used when user_id is not given') }),
};

export const ProjectMember: SharedSchema = {
  $id: 'ProjectMember',
  description: 'A user (member_user) or a user group (member_group) to add to a project, with a role',
  ...object({ role_id: roleId('Role of the new member'), member_user: ref('UserEntity'), member_group: ref('UserGroup') }),
};

export const RoleRequest: SharedSchema = {
  $id: 'RoleRequest',
  description: "A member's new role",
  ...object({ role_id: roleId('The role') }),
};

export const memberSchemas = [ProjectMemberEntity, UserEntity, UserGroup, ProjectMember, RoleRequest];

export const memberParams = pathParams({ ...projectNameOrId, mid: int('Id of the membership', { minimum: 1 }) });
