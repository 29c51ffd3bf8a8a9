// Shapes of Harbor's webhook API (/projects/{p}/webhook/…) as the project's Webhooks tab reads
// them, Harbor portal's names for the event types, and the policy body the editor sends.
import { segment } from '../../api/client';
import type { PreheatExecution, PreheatTask } from '../preheat/model';
import type { Project } from './model';

/** Harbor's WebhookTargetObject. */
export interface WebhookTarget {
  type: string;
  address: string;
  auth_header?: string;
  skip_cert_verify: boolean;
  payload_format?: string;
}

/** Harbor's WebhookPolicy. */
export interface WebhookPolicy {
  id: number;
  name: string;
  description?: string;
  project_id: number;
  targets: WebhookTarget[];
  event_types: string[];
  creator?: string;
  creation_time?: string;
  update_time?: string;
  enabled: boolean;
}

/** Harbor's SupportedWebhookEventTypes. */
export interface WebhookMetadata {
  event_type?: string[];
  notify_type?: string[];
  payload_formats?: Array<{ notify_type: string; formats: string[] }>;
}

/** Harbor's WebhookLastTrigger: per policy and event type, when it last fired. */
export interface WebhookLastTrigger {
  policy_name: string;
  event_type: string;
  enabled: boolean;
  creation_time?: string;
  last_trigger_time?: string;
}

/** An execution (one event for one policy): Harbor's Execution, the event in extra_attrs. */
export type WebhookExecution = PreheatExecution;
/** A task (one target's delivery): Harbor's Task, what was sent and answered in extra_attrs. */
export type WebhookTask = PreheatTask;

export const webhookKeys = {
  metadata: (projectId: number) => ['webhooks', 'metadata', projectId] as const,
  policies: (projectId: number) => ['webhooks', 'policies', projectId] as const,
  lastTrigger: (projectId: number) => ['webhooks', 'lasttrigger', projectId] as const,
  executions: (projectId: number) => ['webhooks', 'executions', projectId] as const,
};

export const webhookBase = (project: Project) => `/projects/${segment(project.name)}/webhook`;
export const policiesPath = (project: Project) => `${webhookBase(project)}/policies`;
export const policyPath = (project: Project, id: number) => `${policiesPath(project)}/${segment(id)}`;
export const executionPath = (project: Project, policyId: number, executionId: number) =>
  `${policyPath(project, policyId)}/executions/${segment(executionId)}`;

/** Harbor portal's words for the event types. */
const eventTypeText: Record<string, string> = {
  PUSH_ARTIFACT: 'Artifact pushed',
  PULL_ARTIFACT: 'Artifact pulled',
  DELETE_ARTIFACT: 'Artifact deleted',
  SCANNING_COMPLETED: 'Scanning finished',
  SCANNING_FAILED: 'Scanning failed',
  SCANNING_STOPPED: 'Scanning stopped',
  QUOTA_EXCEED: 'Quota exceed',
  QUOTA_WARNING: 'Quota near threshold',
  REPLICATION: 'Replication status changed',
  TAG_RETENTION: 'Tag retention finished',
};

export function eventText(type: string | undefined): string {
  if (!type) return '—';
  return eventTypeText[type] ?? type;
}

/** What the editor falls back to while /webhook/events loads or when it fails. */
export const defaultMetadata: Required<WebhookMetadata> = {
  event_type: Object.keys(eventTypeText),
  notify_type: ['http', 'slack'],
  payload_formats: [{ notify_type: 'http', formats: ['Default', 'CloudEvents'] }],
};

export const formatText: Record<string, string> = { Default: 'Default', CloudEvents: 'CloudEvents' };

/** "http · CloudEvents", "slack": what a target sends. */
export function targetKind(t: WebhookTarget): string {
  return t.type === 'http' ? `http · ${formatText[t.payload_format || 'Default'] ?? t.payload_format}` : t.type;
}

export interface TargetDraft {
  type: string;
  address: string;
  authHeader: string;
  verifyCert: boolean;
  payloadFormat: string;
}

export interface PolicyDraft {
  name: string;
  description: string;
  eventTypes: string[];
  targets: TargetDraft[];
}

export const emptyTarget: TargetDraft = { type: 'http', address: '', authHeader: '', verifyCert: true, payloadFormat: 'Default' };

export const emptyPolicyDraft: PolicyDraft = { name: '', description: '', eventTypes: [], targets: [emptyTarget] };

export function draftOf(p: WebhookPolicy): PolicyDraft {
  return {
    name: p.name,
    description: p.description ?? '',
    eventTypes: [...(p.event_types ?? [])],
    targets: p.targets?.length
      ? p.targets.map((t) => ({
          type: t.type || 'http',
          address: t.address ?? '',
          authHeader: t.auth_header ?? '',
          verifyCert: !t.skip_cert_verify,
          payloadFormat: t.payload_format || 'Default',
        }))
      : [emptyTarget],
  };
}

/** Harbor's policy body; a slack target has no auth header and no format of its own. */
export function bodyOf(d: PolicyDraft, project: Project, base?: WebhookPolicy) {
  return {
    ...(base ? { id: base.id } : {}),
    name: d.name.trim(),
    description: d.description.trim(),
    project_id: project.project_id,
    event_types: d.eventTypes,
    targets: d.targets.map((t) => ({
      type: t.type,
      address: t.address.trim(),
      ...(t.type === 'http' ? { auth_header: t.authHeader, payload_format: t.payloadFormat || 'Default' } : {}),
      skip_cert_verify: !t.verifyCert,
    })),
    enabled: base ? base.enabled : true,
  };
}

/** A value of a task's or execution's extra_attrs, or undefined when it is absent or empty. */
export function attr(row: { extra_attrs?: Record<string, unknown> } | undefined, ...keys: string[]): unknown {
  for (const key of keys) {
    const value = row?.extra_attrs?.[key];
    if (value !== undefined && value !== null && value !== '') return value;
  }
  return undefined;
}

/** A payload kept as JSON text (or as an object) shown indented; other text as it is. */
export function prettyPayload(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value !== 'string') return JSON.stringify(value, null, 2);
  try {
    return JSON.stringify(JSON.parse(value), null, 2);
  } catch {
    return value;
  }
}

/** 1234 ms → "1.23 s", 87 → "87 ms". */
export function formatMs(ms: unknown): string {
  const n = Number(ms);
  if (ms === undefined || !Number.isFinite(n)) return '—';
  return n < 1000 ? `${Math.round(n)} ms` : `${(n / 1000).toFixed(2)} s`;
}
