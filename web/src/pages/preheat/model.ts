// Shapes of Harbor's P2P preheat API (/p2p/preheat/…, /projects/{p}/preheat/…) as the
// administration's Distributions page and the project's P2P Preheat tab read them.

/** Harbor's Metadata of a provider (dragonfly, kraken). */
export interface PreheatProvider {
  id: string;
  name: string;
  icon?: string;
  maintainers?: string[];
  version?: string;
  source?: string;
}

/** Harbor's Instance: one Dragonfly or Kraken. */
export interface PreheatInstance {
  id: number;
  name: string;
  description?: string;
  vendor: string;
  endpoint: string;
  auth_mode: string;
  auth_info?: Record<string, string>;
  status?: string;
  enabled: boolean;
  default: boolean;
  insecure: boolean;
  setup_timestamp?: number;
}

/** Harbor's PreheatPolicy: filters and trigger are JSON text. */
export interface PreheatPolicy {
  id: number;
  name: string;
  description?: string;
  project_id: number;
  provider_id: number;
  provider_name?: string;
  filters: string;
  trigger: string;
  enabled: boolean;
  creation_time?: string;
  update_time?: string;
}

export interface PreheatFilter {
  type: 'repository' | 'tag' | 'label' | 'signature' | 'vulnerability';
  value: unknown;
}

export interface PreheatTrigger {
  type: string;
  trigger_setting?: { cron?: string };
}

/** Harbor's ProviderUnderProject: the instances a project's policy may use. */
export interface ProjectProvider {
  id: number;
  provider: string;
  enabled: boolean;
  default: boolean;
}

/** Harbor's Execution (the task manager's shape). */
export interface PreheatExecution {
  id: number;
  vendor_type?: string;
  vendor_id?: number;
  status: string;
  status_message?: string;
  trigger: string;
  metrics?: {
    task_count?: number;
    success_task_count?: number;
    error_task_count?: number;
    pending_task_count?: number;
    running_task_count?: number;
    scheduled_task_count?: number;
    stopped_task_count?: number;
  };
  extra_attrs?: Record<string, unknown>;
  start_time?: string;
  end_time?: string;
}

export interface PreheatTask {
  id: number;
  execution_id: number;
  status: string;
  status_message?: string;
  run_count?: number;
  extra_attrs?: Record<string, unknown>;
  creation_time?: string;
  update_time?: string;
  start_time?: string;
  end_time?: string;
}

export const preheatKeys = {
  providers: ['preheat', 'providers'] as const,
  instances: ['preheat', 'instances'] as const,
  policies: (projectId: number) => ['preheat', 'policies', projectId] as const,
  executions: (projectId: number) => ['preheat', 'executions', projectId] as const,
};

/** Harbor's severity codes for the vulnerability filter: preheat only below the one chosen. */
export const severityChoices = [
  { value: '', label: 'No limit' },
  { value: '5', label: 'Critical' },
  { value: '4', label: 'High' },
  { value: '3', label: 'Medium' },
  { value: '2', label: 'Low' },
];

export function parseFilters(text: string | undefined): PreheatFilter[] {
  try {
    const parsed = JSON.parse(text || '[]');
    return Array.isArray(parsed) ? parsed : [];
  } catch {
    return [];
  }
}

export function parseTrigger(text: string | undefined): PreheatTrigger {
  try {
    const parsed = JSON.parse(text || '{}');
    return parsed && typeof parsed.type === 'string' ? parsed : { type: 'manual' };
  } catch {
    return { type: 'manual' };
  }
}

/** Harbor's task-manager statuses and their colors. */
export const preheatStatusColor: Record<string, string> = {
  Pending: 'gray',
  Scheduled: 'gray',
  Running: 'blue',
  Success: 'green',
  Error: 'red',
  Stopped: 'orange',
};

export function preheatActive(status: string): boolean {
  return status === 'Pending' || status === 'Running' || status === 'Scheduled';
}
