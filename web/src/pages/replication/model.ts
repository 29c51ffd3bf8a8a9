// Shapes of Harbor's registry endpoints and replication API (/registries, /replication/…), as
// the administration's Registries and Replications pages and the New project dialog read them.
import { api } from '../../api/client';

/** Harbor's Registry (a registry endpoint); the credential's secret is never answered. */
export interface Registry {
  id: number;
  name: string;
  url: string;
  type: string;
  description?: string;
  insecure?: boolean;
  ca_certificate?: string | null;
  credential?: { type?: string; access_key?: string; access_secret?: string };
  /** 'healthy' | 'unhealthy' | 'unknown', as the last ping found it. */
  status?: string;
  creation_time?: string;
  update_time?: string;
}

/** Harbor's RegistryInfo: what an endpoint supports (filters, triggers, copy by chunk). */
export interface RegistryInfo {
  type?: string;
  description?: string;
  supported_resource_filters?: Array<{ type: string; style?: string; values?: string[] }>;
  supported_triggers?: string[];
  supported_copy_by_chunk?: boolean;
}

/** Harbor's RegistryProviderInfo, per adapter type (/replication/adapterinfos). */
export interface AdapterInfo {
  endpoint_pattern?: { endpoint_type?: string; endpoints?: Array<{ key: string; value: string }> };
  credential_pattern?: { access_key_type?: string; access_key_data?: string; access_secret_type?: string; access_secret_data?: string };
}

export interface ReplicationFilter {
  type: string;
  value: string | string[];
  decoration?: string;
}

export interface ReplicationPolicy {
  id: number;
  name: string;
  description?: string;
  /** Null or id 0: this Berth (a push-based policy). */
  src_registry?: Registry | null;
  /** Null or id 0: this Berth (a pull-based policy). */
  dest_registry?: Registry | null;
  dest_namespace?: string;
  dest_namespace_replace_count?: number;
  trigger?: { type: string; trigger_settings?: { cron?: string } };
  filters?: ReplicationFilter[] | null;
  replicate_deletion?: boolean;
  deletion?: boolean;
  override?: boolean;
  enabled?: boolean;
  speed?: number;
  copy_by_chunk?: boolean;
  single_active_replication?: boolean;
  creation_time?: string;
  update_time?: string;
}

export interface ReplicationExecution {
  id: number;
  policy_id: number;
  status: string;
  status_text?: string;
  trigger: string;
  start_time?: string;
  end_time?: string;
  total: number;
  failed: number;
  succeed: number;
  in_progress: number;
  stopped: number;
}

export interface ReplicationTask {
  id: number;
  execution_id: number;
  status: string;
  job_id?: string;
  operation?: string;
  resource_type?: string;
  src_resource?: string;
  dst_resource?: string;
  start_time?: string;
  end_time?: string;
}

export const replicationKeys = {
  registries: ['registries'] as const,
  adapters: ['replication', 'adapters'] as const,
  policies: ['replication', 'policies'] as const,
  executions: ['replication', 'executions'] as const,
};

/** Harbor's names for the adapter types Berth has; any other type shows as its id. */
const adapterNames: Record<string, string> = {
  harbor: 'Harbor',
  'docker-registry': 'Docker Registry',
  'docker-hub': 'Docker Hub',
  'github-ghcr': 'GitHub GHCR',
  quay: 'Quay',
  'google-gcr': 'Google GCR',
  'aws-ecr': 'AWS ECR',
  'azure-acr': 'Azure ACR',
  'jfrog-artifactory': 'JFrog Artifactory',
  gitlab: 'GitLab',
};

export function adapterName(type: string | undefined): string {
  if (!type) return '—';
  return adapterNames[type] ?? type;
}

/** Whether a policy side is this Berth (Harbor answers the local registry as null or id 0). */
export function isLocal(registry: Registry | null | undefined): boolean {
  return !registry || !registry.id;
}

/** Every registry endpoint (the editors' choices): pages of 100 until the last. */
export async function allRegistries(): Promise<Registry[]> {
  const all: Registry[] = [];
  for (let page = 1; page < 50; page++) {
    const { items, total } = await api.list<Registry>('/registries', { page, pageSize: 100 });
    all.push(...items);
    if (items.length < 100 || all.length >= total) break;
  }
  return all;
}

/** Harbor's flattening levels of the destination namespace. */
export const flatteningChoices = [
  { value: '-1', label: 'Flatten all levels' },
  { value: '0', label: 'No flattening' },
  { value: '1', label: 'Flatten 1 level' },
  { value: '2', label: 'Flatten 2 levels' },
  { value: '3', label: 'Flatten 3 levels' },
];

export const triggerNames: Record<string, string> = { manual: 'Manual', scheduled: 'Scheduled', event_based: 'Event based' };

/** Replication statuses (Harbor's words) and their colors. */
export const replicationStatusColor: Record<string, string> = {
  Pending: 'gray',
  InProgress: 'blue',
  Succeed: 'green',
  Failed: 'red',
  Stopped: 'orange',
};

export function executionActive(status: string): boolean {
  return status === 'InProgress' || status === 'Pending';
}

/** "1 h 2 min", "34 s", or "—" while unfinished. */
export function duration(start: string | undefined, end: string | undefined): string {
  if (!start || !end || end.startsWith('0001-01-01')) return '—';
  const seconds = Math.max(0, Math.round((new Date(end).getTime() - new Date(start).getTime()) / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}
