/*
 * P2P preheat's shapes: provider instances, policies (filters, trigger), executions, tasks
 * and the two jobs. Harbor's names on the API; camel case inside Berth.
 */

/** Harbor's auth modes for an instance (provider/auth/cred.go). */
export const authModes = ['NONE', 'BASIC', 'OAUTH', 'CUSTOM'] as const;
export type AuthMode = (typeof authModes)[number];

/** A provider instance as the drivers need it (credential opened). */
export interface Instance {
  id: number;
  name: string;
  description: string;
  vendor: string;
  endpoint: string;
  authMode: AuthMode;
  /** BASIC: {username, password}; OAUTH: {token}; CUSTOM: {<header name>: <value>}; NONE: {}. */
  authInfo: Record<string, string>;
  enabled: boolean;
  default: boolean;
  insecure: boolean;
  /** Healthy | Unhealthy | Unknown: the last ping's answer. */
  status: string;
  /** Seconds since the epoch. */
  setupTimestamp: number;
}

/** Harbor's filter types, in the order Harbor applies them. */
export const filterTypes = ['repository', 'tag', 'label', 'signature', 'vulnerability'] as const;
export type FilterType = (typeof filterTypes)[number];

export type Filter =
  /** A doublestar pattern on the repository name without the project ("app/web"). */
  | { type: 'repository'; value: string }
  /** A doublestar pattern on the tag. */
  | { type: 'tag'; value: string }
  /** Label names, comma-separated: the artifact must carry every one. */
  | { type: 'label'; value: string }
  /** true: only artifacts with a cosign or notation signature. */
  | { type: 'signature'; value: boolean }
  /** Harbor's severity code (0 None … 5 Critical): only artifacts whose scanned severity is below it. */
  | { type: 'vulnerability'; value: number };

export type TriggerType = 'manual' | 'scheduled' | 'event_based';

export interface Trigger {
  type: TriggerType;
  /** Set for scheduled triggers (6-field cron as Harbor writes it, or 5-field). */
  cron: string;
}

export interface Policy {
  id: number;
  projectId: number;
  name: string;
  description: string;
  providerId: number;
  filters: Filter[];
  trigger: Trigger;
  enabled: boolean;
  /** Vendor attributes (Dragonfly: scope, cluster_ids), or null. */
  extraAttrs: Record<string, unknown> | null;
  creationTime: string;
  updateTime: string;
}

/** Harbor's task-framework statuses (jobservice), used for executions and tasks alike. */
export type RunStatus = 'Pending' | 'Running' | 'Success' | 'Error' | 'Stopped';
export const endedStatuses: RunStatus[] = ['Success', 'Error', 'Stopped'];

/** Harbor's vendor type of preheat executions (job.P2PPreheatVendorType). */
export const preheatVendorType = 'P2P_PREHEAT';

/** Job types (payloads below). */
export const preheatJobTypes = {
  /** Plans an execution: finds the matching artifacts, writes one task each and enqueues them. */
  execution: 'PREHEAT',
  /** Sends one artifact under one tag to the provider and follows the preheat to its end. */
  task: 'PREHEAT_TASK',
} as const;

export interface PreheatJobPayload {
  /** Manual runs: the execution row exists already. */
  executionId?: number;
  /** Scheduled and event-based runs: the execution is created by the job (only when something matches, for a push). */
  policyId?: number;
  trigger?: TriggerType;
  /** Event-based runs: the pushed artifact (only it is considered). */
  artifactId?: number;
}

export interface PreheatTaskPayload {
  taskId: number;
}

/** One artifact under one tag, as the filters see it (Harbor's selector.Candidate). */
export interface Candidate {
  artifactId: number;
  repositoryId: number;
  /** Full name, e.g. library/app/web. */
  repository: string;
  /** Without the project, e.g. app/web (what the repository filter matches). */
  repositoryInProject: string;
  digest: string;
  mediaType: string;
  tag: string;
  labels: string[];
  signed: boolean;
  /** Harbor's severity code of the artifact's scan (99 when not scanned successfully). */
  severity: number;
  /** Harbor's kind: 'image'. */
  kind: string;
}

/** What a driver is asked to preheat (Harbor's PreheatImage). */
export interface PreheatImage {
  type: 'image';
  /** The manifest URL the provider pulls: <registry>/v2/<repository>/manifests/<tag>. */
  url: string;
  /** Headers for that pull (Authorization: Bearer <pull token>). */
  headers: Record<string, string>;
  /** Full repository name. */
  repository: string;
  tag: string;
  digest: string;
  mediaType: string;
  /** For an index: its image manifests (Kraken is notified of each; Dragonfly resolves the index itself). */
  children: Array<{ digest: string; mediaType: string }>;
  extraAttrs: Record<string, unknown> | null;
}

/** What a driver answers about a preheat (Harbor's PreheatingStatus). */
export interface PreheatStatus {
  /** The provider's id for it (Dragonfly's job id; Kraken's event id). */
  taskId: string;
  status: 'Pending' | 'Running' | 'Success' | 'Fail';
  /** What the provider reported (Dragonfly: the peers that hold the blobs). */
  message?: string;
  /** Why it failed. */
  error?: string;
}

/** Harbor's provider Metadata (/p2p/preheat/providers). */
export interface ProviderMetadata {
  id: string;
  name: string;
  icon: string;
  maintainers: string[];
  version: string;
  source: string;
}
