// An audit record in words, for the audit log pages: the server records a few operations
// with more than a name in `resource` (src/audit/service.ts, describeOperation).

export interface AuditRecordFields {
  operation: string;
  resource_type: string;
  resource: string;
}

export interface AuditWords {
  /** What was done: "create", "change password", "add label", … */
  operation: string;
  /** To what: a name, "stable on library/app@sha256:…", … */
  resource: string;
}

const labelOnArtifact = /^(.+@[a-z0-9]+:[a-f0-9]+):(.+)$/;

export function auditWords(record: AuditRecordFields): AuditWords {
  if (record.resource_type === 'user' && record.resource.endsWith(':password')) {
    return { operation: 'change password', resource: record.resource.slice(0, -':password'.length) };
  }
  if (record.resource_type === 'artifact-label') {
    const match = labelOnArtifact.exec(record.resource);
    const operation = record.operation === 'delete' ? 'remove label' : 'add label';
    // Records written before labels were named hold the label's id.
    if (match) return { operation, resource: /^\d+$/.test(match[2]) ? `label #${match[2]} on ${match[1]}` : `${match[2]} on ${match[1]}` };
  }
  return { operation: record.operation, resource: record.resource };
}
