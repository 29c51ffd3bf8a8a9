import { arrayOf, bool, dateTime, int, object, pathParams, ref, str, type SharedSchema } from '../http/schema-helpers.js';

/** The robot accounts API's definitions, in Harbor's names (documentation only: see server/openapi.ts). */

const duration = (description: string) => int(`${description}: days the robot is valid, -1 for ever`);

export const Access: SharedSchema = {
  $id: 'Access',
  description: 'One action on one resource, such as pull on repository',
  ...object({
    resource: str('The resource, such as repository, artifact or project'),
    action: str('The action, such as pull, push, list or create'),
    effect: str('allow (the default) or deny'),
  }),
};

export const RobotPermission: SharedSchema = {
  $id: 'RobotPermission',
  description: 'What a robot may do in one namespace',
  ...object({
    kind: str('project or system', { enum: ['project', 'system'] }),
    namespace: str('A project name, * for every project, or / for kind system'),
    access: arrayOf(ref('Access')),
  }),
};

export const Robot: SharedSchema = {
  $id: 'Robot',
  description: 'A robot account (never its secret)',
  ...object({
    id: int('Id of the robot'),
    name: str('Full name, such as robot$ci or robot$myproject+ci'),
    description: str('Free-form note'),
    level: str('system or project', { enum: ['system', 'project'] }),
    duration: duration('Lifetime'),
    editable: bool('Whether the robot may be changed'),
    disable: bool('Whether the robot is disabled'),
    expires_at: int('When the robot expires, in seconds since the epoch; -1 for never'),
    permissions: arrayOf(ref('RobotPermission')),
    creator_type: str('Who created the robot: local (a user) or robot'),
    creator_ref: int('Id of the user or robot that created it'),
    creation_time: dateTime('When the robot was created'),
    update_time: dateTime('When the robot was last changed'),
  }),
};

export const RobotCreate: SharedSchema = {
  $id: 'RobotCreate',
  description: 'A new robot account. A project robot holds exactly one permission, of kind project, naming its project.',
  ...object(
    {
      name: str('Short name: lower-case letters and digits joined by single ".", "_" or "-"'),
      description: str('Free-form note'),
      secret: str('The secret to use (same rules as a password); generated when left out'),
      level: str('system or project', { enum: ['system', 'project'] }),
      disable: bool('Create the robot disabled'),
      duration: duration('Lifetime (the configured default when left out)'),
      permissions: arrayOf(ref('RobotPermission')),
    },
    ['name', 'level', 'permissions'],
  ),
};

export const RobotCreated: SharedSchema = {
  $id: 'RobotCreated',
  description: 'The new robot, with its secret: the only time the secret is shown',
  ...object({
    id: int('Id of the robot'),
    name: str('Full name, such as robot$ci'),
    secret: str('The secret, to use as the password'),
    creation_time: dateTime('When the robot was created'),
    expires_at: int('When the robot expires, in seconds since the epoch; -1 for never'),
  }),
};

export const RobotSec: SharedSchema = {
  $id: 'RobotSec',
  description: "A robot's secret",
  ...object({ secret: str('The secret') }),
};

export const Permissions: SharedSchema = {
  $id: 'Permissions',
  description: 'The (resource, action) pairs a robot may be given, at system and at project level',
  ...object({
    system: arrayOf(object({ resource: str('The resource'), action: str('The action') }), 'System level (system administrators only)'),
    project: arrayOf(object({ resource: str('The resource'), action: str('The action') }), 'Project level'),
  }),
};

export const robotSchemas = [Access, RobotPermission, Robot, RobotCreate, RobotCreated, RobotSec, Permissions];

export const robotIdParams = pathParams({ robot_id: int('Id of the robot', { minimum: 1 }) });
