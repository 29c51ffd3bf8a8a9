import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../db/types.js';
import { nowIso } from '../lib/clock.js';

export type AuditOperation = 'create' | 'update' | 'delete' | 'pull' | 'push' | 'login' | 'logout' | 'warning';

export interface AuditEntry {
  username: string;
  operation: AuditOperation;
  /** project, repository, artifact, tag, user, member, robot, … */
  resourceType: string;
  /** e.g. "library/app:1.0", "library/app@sha256:…", a project or user name. */
  resource: string;
  projectId?: number | null;
  result?: 'success' | 'failure';
  clientIp?: string;
  time?: string;
}

/**
 * Writes audit records. Callers pass the transaction that makes the change, so a change
 * and its record are committed together or not at all.
 */
export async function writeAudit(executor: Kysely<Database> | Transaction<Database>, entries: AuditEntry | AuditEntry[]): Promise<void> {
  const list = Array.isArray(entries) ? entries : [entries];
  if (list.length === 0) return;
  const now = nowIso();
  for (let i = 0; i < list.length; i += 200) {
    await executor
      .insertInto('audit_logs')
      .values(
        list.slice(i, i + 200).map((e) => ({
          project_id: e.projectId ?? null,
          username: e.username,
          operation: e.operation,
          resource_type: e.resourceType,
          resource: e.resource,
          result: e.result ?? 'success',
          client_ip: e.clientIp ?? '',
          op_time: e.time ?? now,
        })),
      )
      .execute();
  }
}
