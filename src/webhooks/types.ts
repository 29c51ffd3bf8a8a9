/**
 * Webhooks' shared shapes: the event types Harbor names, the outbox payloads their producers
 * write, and what the payload formats are given to render one delivery.
 *
 * Flow: a feature writes an outbox event in its own transaction (`writeEvent(tx, type, payload)`,
 * payloads below, every one with `project_id`); the webhooks subscriber finds the project's
 * enabled policies for that type, renders one body per (policy, target) once, stores it with a
 * task and enqueues a WEBHOOK job in the same transaction; the job sends the stored bytes, so
 * every redelivery is byte-identical and carries the same delivery id.
 */

/** Harbor's event types, as policies and payloads name them. */
export const webhookEventTypes = {
  pushArtifact: 'PUSH_ARTIFACT',
  pullArtifact: 'PULL_ARTIFACT',
  deleteArtifact: 'DELETE_ARTIFACT',
  scanningCompleted: 'SCANNING_COMPLETED',
  scanningFailed: 'SCANNING_FAILED',
  scanningStopped: 'SCANNING_STOPPED',
  quotaExceed: 'QUOTA_EXCEED',
  quotaWarning: 'QUOTA_WARNING',
  replication: 'REPLICATION',
  tagRetention: 'TAG_RETENTION',
} as const;

export type WebhookEventType = (typeof webhookEventTypes)[keyof typeof webhookEventTypes];

export const allWebhookEventTypes: readonly WebhookEventType[] = Object.values(webhookEventTypes);

/** Target types (Harbor's notify types) and payload formats. */
export type NotifyType = 'http' | 'slack';
export type PayloadFormat = 'Default' | 'CloudEvents';

/** Job type of one delivery (payload: WebhookJobPayload). */
export const webhookJobType = 'WEBHOOK';

export interface WebhookJobPayload {
  /** The webhook task row holding the rendered request. */
  taskId: number;
}

// ---------------------------------------------------------------------------------------------
// Outbox payloads. PUSH_ARTIFACT, PULL_ARTIFACT, DELETE_ARTIFACT (src/registry/store.ts) and
// SCANNING_* (src/scanning/scans/service.ts) already exist; their shapes are repeated here for
// the formats. The three below are written by quotas, retention and replication for webhooks.
// ---------------------------------------------------------------------------------------------

export interface ArtifactEventPayload {
  project_id: number;
  repository_id?: number;
  /** Full name, `<project>/<path>`. */
  repository: string;
  artifact_id?: number;
  digest: string;
  media_type?: string;
  /** PUSH/DELETE: every tag; PULL: `tag` (the one pulled by, if any). */
  tags?: string[];
  tag?: string | null;
  operator?: string;
  occurred_at: string;
}

export interface ScanEventPayload {
  project_id: number;
  repository: string;
  digest: string;
  tag: string | null;
  scan_type: string;
  registration_uuid: string;
  reports: string[];
  status: string;
  message?: string;
  operator?: string;
  occurred_at: string;
}

/**
 * QUOTA_EXCEED (a push refused for quota; written in its own transaction after the refusal)
 * and QUOTA_WARNING (as Harbor: after every push that added bytes to a limited project whose
 * usage is then at or above quota.warning_percent of the limit; in the push's transaction).
 */
export interface QuotaEventPayload {
  project_id: number;
  repository: string;
  /** A manifest push: the artifact's digest (with tag, media_type). Absent for a blob push: Harbor's payload then has no resources. */
  digest?: string;
  tag?: string | null;
  media_type?: string;
  /** Harbor's custom_attributes.Details: the refusal or warning in words. */
  message: string;
  used_bytes: number;
  hard_bytes: number;
  operator?: string;
  occurred_at: string;
}

/**
 * TAG_RETENTION, as Harbor sends it: one per finished retention task (one repository) that
 * removed something; none for a dry run or a task that removed nothing (Harbor's handler drops
 * those). Written in the transaction that records the task's end.
 */
export interface RetentionEventPayload {
  project_id: number;
  /** The retention policy (Harbor's retention_policy_id). */
  policy_id?: number;
  execution_id: number;
  task_id?: number;
  /** The task's repository, `<project>/<path>`. */
  repository?: string;
  /** The task's status: 'Success' | 'Error' | 'Stopped'. */
  status: string;
  trigger: string;
  /** Always false: dry runs send nothing. */
  dry_run: boolean;
  total: number;
  retained: number;
  /** Artifacts deleted (whole, with their tags), or on act_on "tags" the tags removed from one that stays. */
  deleted: Array<{ repository: string; digest: string; tags: string[] }>;
  /** The policy's rules as Harbor's retention_rule entries: {template, params?, tag_selectors?, scope_selectors?}. */
  rules?: Array<Record<string, unknown>>;
  operator?: string;
  occurred_at: string;
}

/** REPLICATION: one per replication task when it ends (one artifact), for the local project it touched (none when that project does not exist). */
export interface ReplicationEventPayload {
  project_id: number;
  policy_id: number;
  policy_name: string;
  execution_id: number;
  task_id: number;
  trigger: string;
  /** 'Succeed' | 'Failed' | 'Stopped' */
  status: string;
  /** 'push' | 'pull' */
  direction: string;
  /** The artifact, as `<repository>:<tag>` or `<repository>@<digest>`, on each side. */
  src_resource: string;
  dest_resource: string;
  /** The remote registry's name, URL and type. */
  registry: { name: string; url: string; type: string };
  repository: string;
  digest: string;
  tags: string[];
  /** 'image', 'chart', … (Harbor's resource type). */
  resource_type: string;
  /** 'deletion' when the task deleted at the destination (absent: a copy). */
  operation?: string;
  /** Harbor's payload fields: the policy's description and creator, override, the remote's credential type, the execution's start. */
  description?: string;
  policy_creator?: string;
  override?: boolean;
  authentication_type?: string;
  execution_started_at?: string;
  operator?: string;
  occurred_at: string;
}

// ---------------------------------------------------------------------------------------------
// Rendering: what a payload format is given, and what it gives back.
// ---------------------------------------------------------------------------------------------

export interface WebhookTargetSpec {
  type: NotifyType;
  address: string;
  /** Sent as the Authorization header's value when set. */
  authHeader?: string;
  skipCertVerify: boolean;
  /** http targets: Default or CloudEvents; slack targets ignore it. */
  payloadFormat: PayloadFormat;
}

export interface RenderContext {
  /** The outbox event. */
  event: { id: number; type: string; payload: any; createdAt: string };
  project: { id: number; name: string; public: boolean };
  policy: { id: number; name: string };
  target: WebhookTargetSpec;
  /** Unique per (event, policy, target), chosen once; the CloudEvents id and X-Berth-Delivery-Id. */
  deliveryId: string;
  /** Host (and port) clients pull from, for resource_url: `<host>/<repository>:<tag>`. */
  registryHost: string;
  /** The server's external URL (https://host), for links. */
  externalUrl: string;
}

export interface RenderedDelivery {
  /** The exact bytes sent on every attempt. */
  body: string;
  /** Request headers besides Authorization (added from the target at send time): Content-Type, ce-* …, X-Berth-Delivery-Id. */
  headers: Record<string, string>;
}

/** The outcome of one attempt, as the task records it. */
export interface DeliveryOutcome {
  ok: boolean;
  /** 0 when no HTTP answer came (refused, timeout, TLS). */
  statusCode: number;
  durationMs: number;
  /** The first KiB of the response body, or the network error in words. */
  response: string;
}
