import { bool, dateTime, int, object, pathParams, str, type SharedSchema } from '../http/schema-helpers.js';

/** The audit log API's definitions, in Harbor's names (documentation only: see server/openapi.ts). */

const auditFields = {
  id: int('Id of the record'),
  username: str('Who did it (a username, a robot name, or anonymous)'),
  resource: str('What it was done to, such as library/nginx:1.25 or a username'),
  resource_type: str('The kind of resource, such as artifact, project, user, robot or member'),
  operation: str('What was done: create, delete, pull, update, login or logout'),
};

export const AuditLog: SharedSchema = {
  $id: 'AuditLog',
  description: 'One recorded operation',
  ...object({ ...auditFields, op_time: dateTime('When it happened') }),
};

export const AuditLogExt: SharedSchema = {
  $id: 'AuditLogExt',
  description: 'One recorded operation, with a description and whether it succeeded',
  ...object({
    ...auditFields,
    operation_description: str('The operation in words'),
    operation_result: bool('Whether the operation succeeded (a failed login is recorded too)'),
    op_time: dateTime('When it happened'),
  }),
};

export const AuditLogEventType: SharedSchema = {
  $id: 'AuditLogEventType',
  description: 'A kind of event the audit log records',
  ...object({ event_type: str('operation_resourcetype, such as create_project or login_user') }),
};

export const auditSchemas = [AuditLog, AuditLogExt, AuditLogEventType];

export const projectNameParams = pathParams({ project_name: str('Name of the project') });
