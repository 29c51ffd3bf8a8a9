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

/** Harbor's event type of a record: `<operation>_<resource_type>`, such as create_project or pull_artifact. */
export function auditEventType(entry: Pick<AuditEntry, 'operation' | 'resourceType'>): string {
  return `${entry.operation}_${entry.resourceType}`;
}

/** The event types of Harbor's disabled_audit_log_event_types (comma-separated), as a set. */
export function parseEventTypes(list: string): ReadonlySet<string> {
  return new Set(
    list
      .split(',')
      .map((x) => x.trim().toLowerCase())
      .filter((x) => x !== ''),
  );
}

/** Whether a record is written: its event type is not one of the disabled ones. */
export function isAuditRecorded(entry: Pick<AuditEntry, 'operation' | 'resourceType'>, disabled: ReadonlySet<string>): boolean {
  return disabled.size === 0 || !disabled.has(auditEventType(entry));
}

/**
 * The disabled event types (the disabled_audit_log_event_types setting). Module state rather
 * than a parameter: writeAudit is called from dozens of services inside their transactions,
 * and threading the settings through each of them would change every signature for one
 * filter. The composition root (app.ts) sets it from the settings at startup and on each
 * change; one process runs one Berth, so one value serves every writer.
 */
let disabledEventTypes: ReadonlySet<string> = new Set();

/** Sets the event types writeAudit leaves out (comma-separated, '' for none). */
export function setDisabledAuditEventTypes(list: string): void {
  disabledEventTypes = parseEventTypes(list);
}

/**
 * Writes audit records. Callers pass the transaction that makes the change, so a change
 * and its record are committed together or not at all. Records of a disabled event type are
 * left out here, the one place every record goes through (and so are not forwarded either).
 */
export async function writeAudit(executor: Kysely<Database> | Transaction<Database>, entries: AuditEntry | AuditEntry[]): Promise<void> {
  const list = (Array.isArray(entries) ? entries : [entries]).filter((e) => isAuditRecorded(e, disabledEventTypes));
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
