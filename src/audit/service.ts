import type { Paging } from '../lib/paging.js';
import type { QueryTerm } from '../lib/query.js';
import type { AuditRow, AuditScope, AuditStore } from './store.js';

/** AuditLog, as Harbor's /audit-logs and /projects/{name}/logs answer. */
export function auditLogView(row: AuditRow) {
  return {
    id: row.id,
    username: row.username,
    resource: row.resource,
    resource_type: row.resource_type,
    operation: row.operation,
    op_time: row.op_time,
  };
}

/** AuditLogExt, as /auditlog-exts answers (with the result of the operation). */
export function auditLogExtView(row: AuditRow) {
  return {
    ...auditLogView(row),
    operation_description: `${row.operation} ${row.resource_type} ${row.resource}`,
    operation_result: row.result === 'success',
  };
}

/** The event types Berth records, in Harbor's naming (operation_resourcetype). */
export const auditEventTypes = [
  'create_artifact',
  'delete_artifact',
  'pull_artifact',
  'create_project',
  'update_project',
  'delete_project',
  'delete_repository',
  'create_tag',
  'delete_tag',
  'create_user',
  'update_user',
  'delete_user',
  'login_user',
  'logout_user',
  'create_robot',
  'update_robot',
  'delete_robot',
  'create_member',
  'update_member',
  'delete_member',
];

export class AuditService {
  constructor(private readonly store: AuditStore) {}

  list(scope: AuditScope, terms: QueryTerm[], sort: string | undefined, paging: Paging) {
    return this.store.list(scope, terms, sort, paging);
  }
}
