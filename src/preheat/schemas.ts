import { arrayOf, bool, int, object, str, type SharedSchema } from '../http/schema-helpers.js';

/** Harbor's preheat definitions (documentation: route schemas neither validate nor serialise). */

const open = (schema: Record<string, unknown>) => ({ ...schema, additionalProperties: true });

export const PreheatProviderMetadata: SharedSchema = {
  $id: 'PreheatProviderMetadata',
  description: "A P2P provider Berth has a driver for (Harbor's Metadata)",
  ...object({
    id: str("Provider id: dragonfly or kraken (an instance's vendor)"),
    name: str('Display name'),
    icon: str('Logo URL'),
    maintainers: arrayOf(str('Maintainer')),
    version: str('The provider API the driver speaks'),
    source: str("The provider's project"),
  }),
};

export const PreheatInstance: SharedSchema = {
  $id: 'PreheatInstance',
  description: 'A P2P provider instance (a Dragonfly manager, a Kraken proxy); auth_info is accepted, never answered',
  ...object({
    id: int('Instance id'),
    name: str('Unique name: letters and digits separated by single ".", "_" or "-"'),
    description: str('Description'),
    vendor: str('dragonfly or kraken'),
    endpoint: str('The http(s) URL of the provider'),
    auth_mode: str('NONE, BASIC, OAUTH or CUSTOM'),
    auth_info: open({
      type: 'object',
      description:
        'BASIC: {"username","password"}; OAUTH: {"token"} (e.g. a Dragonfly personal access token); CUSTOM: {"<header>": "<value>"}. Sealed at rest; on update, omitted or empty keeps the stored one unless auth_mode is NONE',
    }),
    status: str('Healthy, Unhealthy or Unknown: the last ping or health check'),
    enabled: bool('Whether policies may use it'),
    default: bool('The default instance (one at most)'),
    insecure: bool('Skip TLS verification'),
    setup_timestamp: int('When it was created, seconds since the epoch'),
  }),
};

export const PreheatPolicy: SharedSchema = {
  $id: 'PreheatPolicy',
  description: "A project's preheat policy; filters, trigger and extra_attrs are JSON text as in Harbor (JSON values are accepted too)",
  ...object({
    id: int('Policy id'),
    name: str('Unique in the project'),
    description: str('Description'),
    project_id: int('The project (taken from the path)'),
    provider_id: int('The instance preheating with this policy'),
    provider_name: str("The instance's name"),
    filters: str(
      'JSON list of {"type","value"}: repository and tag (doublestar patterns; the repository without its project), label (names separated by commas, all required), signature (true: signed only), vulnerability (severity code 0–5: only artifacts scanned below it)',
    ),
    trigger: str('JSON: {"type":"manual"|"scheduled"|"event_based","trigger_setting":{"cron":"…"}}'),
    enabled: bool('Disabled policies neither run on push nor on schedule, and refuse manual runs'),
    extra_attrs: str('JSON: Dragonfly {"scope":"single_seed_peer"|"all_seed_peers"|"all_peers","cluster_ids":[…]}'),
    creation_time: str('Creation time'),
    update_time: str('Last update time'),
  }),
};

const metrics = object({
  task_count: int('Tasks'),
  success_task_count: int('Succeeded'),
  error_task_count: int('Failed'),
  pending_task_count: int('Pending'),
  running_task_count: int('Running'),
  scheduled_task_count: int('Scheduled (always 0)'),
  stopped_task_count: int('Stopped'),
});

export const PreheatExecution: SharedSchema = {
  $id: 'PreheatExecution',
  description: 'One run of a preheat policy',
  ...object({
    id: int('Execution id'),
    vendor_type: str('P2P_PREHEAT'),
    vendor_id: int('The policy'),
    status: str('Pending, Running, Success, Error or Stopped'),
    status_message: str('Why it failed, or "no artifacts to preheat"'),
    metrics,
    trigger: str('manual, scheduled or event_based'),
    extra_attrs: open({ type: 'object', description: '{"totalCount", "trigger", "triggerSetting"}' }),
    start_time: str('Start time'),
    end_time: str('End time (0001-01-01T00:00:00Z while running, as Harbor)'),
  }),
};

export const PreheatTask: SharedSchema = {
  $id: 'PreheatTask',
  description: 'One artifact under one tag sent to the provider',
  ...object({
    id: int('Task id'),
    execution_id: int('Execution id'),
    status: str('Pending, Running, Success, Error or Stopped'),
    status_message: str('Why it failed'),
    run_count: int('Attempts'),
    extra_attrs: open({ type: 'object', description: '{"artifact": "<repository>:<tag>", "digest", "kind"}' }),
    creation_time: str('Creation time'),
    update_time: str('Last update time'),
    start_time: str('Start time'),
    end_time: str('End time'),
  }),
};

export const ProviderUnderProject: SharedSchema = {
  $id: 'ProviderUnderProject',
  description: 'An instance a project policy may choose',
  ...object({
    id: int('Instance id'),
    provider: str('"<vendor> <name>-<endpoint>"'),
    enabled: bool('Enabled'),
    default: bool('Default'),
  }),
};

export const preheatSchemas = [
  PreheatProviderMetadata,
  PreheatInstance,
  PreheatPolicy,
  PreheatExecution,
  PreheatTask,
  ProviderUnderProject,
];
