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

/**
 * The operation in words. Two records carry more than a name in `resource`: a password
 * change (`<username>:password`) and a label on an artifact (`<repository>@<digest>:<label>`).
 */
export function describeOperation(row: Pick<AuditRow, 'operation' | 'resource_type' | 'resource'>): string {
  if (row.resource_type === 'user' && row.resource.endsWith(':password')) {
    return `change password of user ${row.resource.slice(0, -':password'.length)}`;
  }
  const label = row.resource_type === 'artifact-label' ? /^(.+@[a-z0-9]+:[a-f0-9]+):(.+)$/.exec(row.resource) : null;
  if (label)
    return `${row.operation === 'delete' ? 'remove' : 'add'} label ${label[2]} ${row.operation === 'delete' ? 'from' : 'to'} ${label[1]}`;
  return `${row.operation} ${row.resource_type} ${row.resource}`;
}

/** AuditLogExt, as /auditlog-exts answers (with the result of the operation). */
export function auditLogExtView(row: AuditRow) {
  return {
    ...auditLogView(row),
    operation_description: describeOperation(row),
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
