import { bool, dateTime, int, object, pathParams, str, type SharedSchema } from '../http/schema-helpers.js';

/** The users API's definitions, in Harbor's names (documentation only: see server/openapi.ts). */

export const UserResp: SharedSchema = {
  $id: 'UserResp',
  description: 'A local user account, as the users API shows it (never its password)',
  ...object({
    user_id: int('Id of the user'),
    username: str('Login name'),
    email: str('Email address; may be empty'),
    realname: str('Full name; may be empty'),
    comment: str('Free-form note; may be empty'),
    sysadmin_flag: bool('Whether the user is a system administrator'),
    admin_role_in_auth: bool(
      'Whether an LDAP or OIDC admin group made the user an administrator at their last sign-in; shown to the user themself only (false otherwise)',
    ),
    creation_time: dateTime('When the account was created'),
    update_time: dateTime('When the account was last changed'),
    oidc_user_meta: {
      description: 'A user onboarded through OIDC: their provider subject and CLI secret (shown to the user themself only)',
      ...object({
        id: int('Id of the record (the user id)'),
        user_id: int('Id of the user'),
        subiss: str("The provider's subject followed by its issuer"),
        secret: str('The CLI secret, for docker login'),
        creation_time: dateTime('When the user was onboarded'),
        update_time: dateTime('When the record (secret or tokens) last changed'),
      }),
    },
  }),
};

export const UserSearchRespItem: SharedSchema = {
  $id: 'UserSearchRespItem',
  description: 'A user found by name: just enough to add them as a project member',
  ...object({ user_id: int('Id of the user'), username: str('Login name') }),
};

export const UserCreationReq: SharedSchema = {
  $id: 'UserCreationReq',
  description: 'A new local user account',
  ...object({
    username: str('Login name: no spaces and none of , " ~ # % $ :', { maxLength: 255 }),
    email: str('Email address (unique when given)', { maxLength: 255 }),
    realname: str('Full name', { maxLength: 255 }),
    comment: str('Free-form note', { maxLength: 1024 }),
    password: str('Password: 8 to 128 characters, with an upper-case letter, a lower-case letter and a digit'),
  }),
};

export const UserProfile: SharedSchema = {
  $id: 'UserProfile',
  description: 'The parts of a user account its owner may change; fields left out stay as they are',
  ...object({
    email: str('Email address (unique when given)'),
    realname: str('Full name'),
    comment: str('Free-form note'),
  }),
};

export const PasswordReq: SharedSchema = {
  $id: 'PasswordReq',
  description: 'A password change; the old password is required when users change their own',
  ...object({ old_password: str('The current password'), new_password: str('The new password') }),
};

export const UserSysAdminFlag: SharedSchema = {
  $id: 'UserSysAdminFlag',
  description: 'Whether a user is a system administrator',
  ...object({ sysadmin_flag: bool('true to grant system administration, false to take it away') }),
};

export const userSchemas = [UserResp, UserSearchRespItem, UserCreationReq, UserProfile, PasswordReq, UserSysAdminFlag];

export const userIdParams = pathParams({ user_id: int('Id of the user', { minimum: 1 }) });
