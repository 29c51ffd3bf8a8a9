/**
 * The JSON shapes of the Harbor API v2.0 definitions Berth answers with: for each
 * definition, its fields and their JSON types as Harbor's API reference declares them.
 * `checkShape` compares a response against them; compat.test.ts cross-checks this table
 * against the reference itself whenever that file is at hand, so it cannot drift.
 *
 * Type notation, one string per field:
 *   string, integer, number, boolean   JSON scalars (an integer must be a whole number)
 *   date-time                          a string holding an RFC 3339 time
 *   object                             any JSON object
 *   Name                               the definition Name (checked recursively)
 *   T[]                                an array of T
 *   {T}                                an object whose every value is a T
 *   T | null                           T, or null where Harbor declares the field x-nullable
 * A definition is either its fields, or one type (for the map-like definitions).
 */
export type Definition = Readonly<Record<string, string>> | string;

export const harborDefinitions: Readonly<Record<string, Definition>> = {
  // Artifacts.
  Artifact: {
    id: 'integer',
    type: 'string',
    media_type: 'string',
    manifest_media_type: 'string',
    artifact_type: 'string',
    project_id: 'integer',
    repository_id: 'integer',
    repository_name: 'string',
    digest: 'string',
    size: 'integer',
    icon: 'string',
    push_time: 'date-time',
    pull_time: 'date-time',
    extra_attrs: 'ExtraAttrs',
    annotations: 'Annotations',
    references: 'Reference[]',
    tags: 'Tag[]',
    addition_links: 'AdditionLinks',
    labels: 'Label[]',
    scan_overview: 'ScanOverview',
    sbom_overview: 'SBOMOverview',
    accessories: 'Accessory[]',
    inherited_accessories: 'Accessory[]',
  },
  // Harbor documents object values, yet fills it from the artifact's config with strings,
  // numbers and objects alike: any object passes.
  ExtraAttrs: 'object',
  Annotations: '{string}',
  AdditionLinks: '{AdditionLink}',
  AdditionLink: { href: 'string', absolute: 'boolean' },
  Tag: {
    id: 'integer',
    repository_id: 'integer',
    artifact_id: 'integer',
    name: 'string',
    push_time: 'date-time',
    pull_time: 'date-time',
    immutable: 'boolean',
  },
  Reference: {
    parent_id: 'integer',
    child_id: 'integer',
    child_digest: 'string',
    platform: 'Platform',
    annotations: 'Annotations',
    urls: 'string[]',
  },
  // The two dotted keys are spelt with the quotes in Harbor's reference.
  Platform: {
    architecture: 'string',
    os: 'string',
    "'os.version'": 'string',
    "'os.features'": 'string[]',
    variant: 'string',
  },
  Accessory: {
    id: 'integer',
    artifact_id: 'integer',
    subject_artifact_id: 'integer',
    subject_artifact_digest: 'string',
    subject_artifact_repo: 'string',
    size: 'integer',
    digest: 'string',
    type: 'string',
    icon: 'string',
    creation_time: 'date-time',
  },
  ScanOverview: '{NativeReportSummary}',
  NativeReportSummary: {
    report_id: 'string',
    scan_status: 'string',
    severity: 'string',
    duration: 'integer',
    summary: 'VulnerabilitySummary',
    start_time: 'date-time',
    end_time: 'date-time',
    complete_percent: 'integer',
    scanner: 'Scanner',
  },
  VulnerabilitySummary: { total: 'integer', fixable: 'integer', summary: '{integer}' },
  SBOMOverview: {
    start_time: 'date-time',
    end_time: 'date-time',
    scan_status: 'string',
    sbom_digest: 'string',
    report_id: 'string',
    duration: 'integer',
    scanner: 'Scanner',
  },
  Scanner: { name: 'string', vendor: 'string', version: 'string' },
  Icon: { 'content-type': 'string', content: 'string' },
  Label: {
    id: 'integer',
    name: 'string',
    description: 'string',
    color: 'string',
    scope: 'string',
    project_id: 'integer',
    creation_time: 'date-time',
    update_time: 'date-time',
  },

  // Repositories and search.
  Repository: {
    id: 'integer',
    project_id: 'integer',
    name: 'string',
    description: 'string',
    artifact_count: 'integer',
    pull_count: 'integer',
    creation_time: 'date-time | null',
    update_time: 'date-time',
  },
  Search: { project: 'Project[]', repository: 'SearchRepository[]' },
  SearchRepository: {
    project_id: 'integer',
    project_name: 'string',
    project_public: 'boolean',
    repository_name: 'string',
    pull_count: 'integer',
    artifact_count: 'integer',
  },
  Statistic: {
    private_project_count: 'integer',
    private_repo_count: 'integer',
    public_project_count: 'integer',
    public_repo_count: 'integer',
    total_project_count: 'integer',
    total_repo_count: 'integer',
    total_storage_consumption: 'integer',
  },

  // Projects and members.
  Project: {
    project_id: 'integer',
    owner_id: 'integer',
    name: 'string',
    registry_id: 'integer',
    creation_time: 'date-time',
    update_time: 'date-time',
    deleted: 'boolean',
    owner_name: 'string',
    togglable: 'boolean',
    current_user_role_id: 'integer',
    current_user_role_ids: 'integer[]',
    repo_count: 'integer',
    metadata: 'ProjectMetadata',
    cve_allowlist: 'CVEAllowlist',
  },
  ProjectMetadata: {
    public: 'string',
    enable_content_trust: 'string | null',
    enable_content_trust_cosign: 'string | null',
    prevent_vul: 'string | null',
    severity: 'string | null',
    auto_scan: 'string | null',
    auto_sbom_generation: 'string | null',
    reuse_sys_cve_allowlist: 'string | null',
    retention_id: 'string | null',
    proxy_speed_kb: 'string | null',
    max_upstream_conn: 'string | null',
    proxy_cache_local_on_not_found: 'string | null',
    proxy_referrer_api: 'string | null',
    proxy_cache_filter_pattern: 'string | null',
    proxy_cache_filter_kind: 'string | null',
  },
  CVEAllowlist: {
    id: 'integer',
    project_id: 'integer',
    expires_at: 'integer | null',
    items: 'CVEAllowlistItem[]',
    creation_time: 'date-time',
    update_time: 'date-time',
  },
  CVEAllowlistItem: { cve_id: 'string' },
  ProjectDeletable: { deletable: 'boolean', message: 'string' },
  ProjectSummary: {
    repo_count: 'integer',
    project_admin_count: 'integer',
    maintainer_count: 'integer',
    developer_count: 'integer',
    guest_count: 'integer',
    limited_guest_count: 'integer',
    quota: 'ProjectSummaryQuota',
    registry: 'Registry',
  },
  ProjectSummaryQuota: { hard: 'ResourceList', used: 'ResourceList' },
  ResourceList: '{integer}',
  Registry: {
    id: 'integer',
    url: 'string',
    name: 'string',
    credential: 'RegistryCredential',
    type: 'string',
    insecure: 'boolean',
    ca_certificate: 'string | null',
    description: 'string',
    status: 'string',
    creation_time: 'date-time',
    update_time: 'date-time',
  },
  RegistryCredential: { type: 'string', access_key: 'string', access_secret: 'string' },
  RegistryInfo: {
    type: 'string',
    description: 'string',
    supported_resource_filters: 'FilterStyle[]',
    supported_triggers: 'string[]',
    supported_copy_by_chunk: 'boolean',
  },
  FilterStyle: { type: 'string', style: 'string', values: 'string[]' },

  // Replication policies and executions.
  ReplicationPolicy: {
    id: 'integer',
    name: 'string',
    description: 'string',
    src_registry: 'Registry',
    dest_registry: 'Registry',
    dest_namespace: 'string',
    dest_namespace_replace_count: 'integer',
    trigger: 'ReplicationTrigger',
    filters: 'ReplicationFilter[]',
    replicate_deletion: 'boolean',
    deletion: 'boolean',
    override: 'boolean',
    enabled: 'boolean',
    creation_time: 'date-time',
    update_time: 'date-time',
    speed: 'integer',
    copy_by_chunk: 'boolean',
    single_active_replication: 'boolean',
  },
  // Harbor gives `value` no type (a string, or a list of label names); check it apart.
  ReplicationFilter: { type: 'string', value: 'object', decoration: 'string' },
  ReplicationTrigger: { type: 'string', trigger_settings: 'ReplicationTriggerSettings' },
  ReplicationTriggerSettings: { cron: 'string' },
  ReplicationExecution: {
    id: 'integer',
    policy_id: 'integer',
    status: 'string',
    trigger: 'string',
    start_time: 'date-time',
    end_time: 'date-time',
    status_text: 'string',
    total: 'integer',
    failed: 'integer',
    succeed: 'integer',
    in_progress: 'integer',
    stopped: 'integer',
  },
  ReplicationTask: {
    id: 'integer',
    execution_id: 'integer',
    status: 'string',
    job_id: 'string',
    operation: 'string',
    resource_type: 'string',
    src_resource: 'string',
    dst_resource: 'string',
    start_time: 'date-time',
    end_time: 'date-time',
  },
  // P2P preheat.
  Metadata: { id: 'string', name: 'string', icon: 'string', maintainers: 'string[]', version: 'string', source: 'string' },
  Instance: {
    id: 'integer',
    name: 'string',
    description: 'string',
    vendor: 'string',
    endpoint: 'string',
    auth_mode: 'string',
    auth_info: '{string}',
    status: 'string',
    enabled: 'boolean',
    default: 'boolean',
    insecure: 'boolean',
    setup_timestamp: 'integer',
  },
  PreheatPolicy: {
    id: 'integer',
    name: 'string',
    description: 'string',
    project_id: 'integer',
    provider_id: 'integer',
    provider_name: 'string',
    filters: 'string',
    trigger: 'string',
    enabled: 'boolean',
    extra_attrs: 'string',
    creation_time: 'date-time',
    update_time: 'date-time',
  },
  Execution: {
    id: 'integer',
    vendor_type: 'string',
    vendor_id: 'integer',
    status: 'string',
    status_message: 'string',
    metrics: 'Metrics',
    trigger: 'string',
    extra_attrs: 'ExtraAttrs',
    start_time: 'string',
    end_time: 'string',
  },
  Metrics: {
    task_count: 'integer',
    success_task_count: 'integer',
    error_task_count: 'integer',
    pending_task_count: 'integer',
    running_task_count: 'integer',
    scheduled_task_count: 'integer',
    stopped_task_count: 'integer',
  },
  Task: {
    id: 'integer',
    execution_id: 'integer',
    status: 'string',
    status_message: 'string',
    run_count: 'integer',
    extra_attrs: 'ExtraAttrs',
    creation_time: 'string',
    update_time: 'string',
    start_time: 'string',
    end_time: 'string',
  },
  ProviderUnderProject: { id: 'integer', provider: 'string', enabled: 'boolean', default: 'boolean' },
  // Webhooks.
  WebhookTargetObject: {
    type: 'string',
    address: 'string',
    auth_header: 'string',
    skip_cert_verify: 'boolean',
    payload_format: 'PayloadFormatType',
  },
  PayloadFormatType: 'string',
  WebhookPolicy: {
    id: 'integer',
    name: 'string',
    description: 'string',
    project_id: 'integer',
    targets: 'WebhookTargetObject[]',
    event_types: 'string[]',
    creator: 'string',
    creation_time: 'date-time',
    update_time: 'date-time',
    enabled: 'boolean',
  },
  WebhookLastTrigger: {
    policy_name: 'string',
    event_type: 'string',
    enabled: 'boolean',
    creation_time: 'date-time',
    last_trigger_time: 'date-time',
  },
  WebhookJob: {
    id: 'integer',
    policy_id: 'integer',
    event_type: 'string',
    notify_type: 'string',
    status: 'string',
    job_detail: 'string',
    creation_time: 'date-time',
    update_time: 'date-time',
  },
  SupportedWebhookEventTypes: { event_type: 'EventType[]', notify_type: 'NotifyType[]', payload_formats: 'PayloadFormat[]' },
  EventType: 'string',
  NotifyType: 'string',
  PayloadFormat: { notify_type: 'NotifyType', formats: 'PayloadFormatType[]' },
  ProjectMemberEntity: {
    id: 'integer',
    project_id: 'integer',
    entity_name: 'string',
    role_name: 'string',
    role_id: 'integer',
    entity_id: 'integer',
    entity_type: 'string',
  },

  // Users and permissions.
  UserResp: {
    email: 'string',
    realname: 'string',
    comment: 'string',
    user_id: 'integer',
    username: 'string',
    sysadmin_flag: 'boolean',
    admin_role_in_auth: 'boolean',
    oidc_user_meta: 'OIDCUserInfo',
    creation_time: 'date-time',
    update_time: 'date-time',
  },
  OIDCUserInfo: {
    id: 'integer',
    user_id: 'integer',
    subiss: 'string',
    secret: 'string',
    creation_time: 'date-time',
    update_time: 'date-time',
  },
  UserSearchRespItem: { user_id: 'integer', username: 'string' },
  Permission: { resource: 'string', action: 'string' },

  // LDAP.
  LdapPingResult: { success: 'boolean', message: 'string' },
  LdapUser: { username: 'string', realname: 'string', email: 'string' },
  LdapFailedImportUser: { uid: 'string', error: 'string' },

  // Robot accounts.
  Robot: {
    id: 'integer',
    name: 'string',
    description: 'string',
    secret: 'string',
    level: 'string',
    duration: 'integer | null',
    editable: 'boolean',
    disable: 'boolean',
    expires_at: 'integer',
    permissions: 'RobotPermission[]',
    creator_type: 'string',
    creator_ref: 'integer',
    creation_time: 'date-time',
    update_time: 'date-time',
  },
  RobotPermission: { kind: 'string', namespace: 'string', access: 'Access[]' },
  Access: { resource: 'string', action: 'string', effect: 'string' },
  RobotCreated: { id: 'integer', name: 'string', secret: 'string', creation_time: 'date-time', expires_at: 'integer' },
  RobotSec: { secret: 'string' },

  // Audit logs.
  AuditLog: {
    id: 'integer',
    username: 'string',
    resource: 'string',
    resource_type: 'string',
    operation: 'string',
    op_time: 'date-time',
  },
  AuditLogExt: {
    id: 'integer',
    username: 'string',
    resource: 'string',
    resource_type: 'string',
    operation: 'string',
    operation_description: 'string',
    operation_result: 'boolean',
    op_time: 'date-time',
  },
  AuditLogEventType: { event_type: 'string' },

  // System settings (/configurations).
  ConfigurationsResponse: {
    auth_mode: 'StringConfigItem',
    primary_auth_mode: 'BoolConfigItem',
    ldap_base_dn: 'StringConfigItem',
    ldap_filter: 'StringConfigItem',
    ldap_group_base_dn: 'StringConfigItem',
    ldap_group_admin_dn: 'StringConfigItem',
    ldap_group_attribute_name: 'StringConfigItem',
    ldap_group_search_filter: 'StringConfigItem',
    ldap_group_search_scope: 'IntegerConfigItem',
    ldap_group_attach_parallel: 'BoolConfigItem',
    ldap_scope: 'IntegerConfigItem',
    ldap_search_dn: 'StringConfigItem',
    ldap_timeout: 'IntegerConfigItem',
    ldap_uid: 'StringConfigItem',
    ldap_url: 'StringConfigItem',
    ldap_verify_cert: 'BoolConfigItem',
    ldap_group_membership_attribute: 'StringConfigItem',
    project_creation_restriction: 'StringConfigItem',
    read_only: 'BoolConfigItem',
    self_registration: 'BoolConfigItem',
    token_expiration: 'IntegerConfigItem',
    uaa_client_id: 'StringConfigItem',
    uaa_client_secret: 'StringConfigItem',
    uaa_endpoint: 'StringConfigItem',
    uaa_verify_cert: 'BoolConfigItem',
    http_authproxy_endpoint: 'StringConfigItem',
    http_authproxy_tokenreview_endpoint: 'StringConfigItem',
    http_authproxy_admin_groups: 'StringConfigItem',
    http_authproxy_admin_usernames: 'StringConfigItem',
    http_authproxy_verify_cert: 'BoolConfigItem',
    http_authproxy_skip_search: 'BoolConfigItem',
    http_authproxy_server_certificate: 'StringConfigItem',
    oidc_name: 'StringConfigItem',
    oidc_endpoint: 'StringConfigItem',
    oidc_client_id: 'StringConfigItem',
    oidc_groups_claim: 'StringConfigItem',
    oidc_admin_group: 'StringConfigItem',
    oidc_group_filter: 'StringConfigItem',
    oidc_scope: 'StringConfigItem',
    oidc_user_claim: 'StringConfigItem',
    oidc_verify_cert: 'BoolConfigItem',
    oidc_auto_onboard: 'BoolConfigItem',
    oidc_extra_redirect_parms: 'StringConfigItem',
    oidc_logout: 'BoolConfigItem',
    robot_token_duration: 'IntegerConfigItem',
    robot_name_prefix: 'StringConfigItem',
    notification_enable: 'BoolConfigItem',
    quota_per_project_enable: 'BoolConfigItem',
    storage_per_project: 'IntegerConfigItem',
    audit_log_forward_endpoint: 'StringConfigItem',
    skip_audit_log_database: 'BoolConfigItem',
    scanner_skip_update_pulltime: 'BoolConfigItem',
    scan_all_policy: 'object',
    session_timeout: 'IntegerConfigItem',
    banner_message: 'StringConfigItem',
    disabled_audit_log_event_types: 'StringConfigItem',
  },
  BoolConfigItem: { value: 'boolean', editable: 'boolean' },
  StringConfigItem: { value: 'string', editable: 'boolean' },
  IntegerConfigItem: { value: 'integer', editable: 'boolean' },

  // System.
  GeneralInfo: {
    banner_message: 'string | null',
    current_time: 'date-time | null',
    registry_url: 'string | null',
    external_url: 'string | null',
    auth_mode: 'string | null',
    primary_auth_mode: 'boolean | null',
    project_creation_restriction: 'string | null',
    self_registration: 'boolean | null',
    has_ca_root: 'boolean | null',
    harbor_version: 'string | null',
    registry_storage_provider_name: 'string | null',
    read_only: 'boolean | null',
    notification_enable: 'boolean | null',
    authproxy_settings: 'AuthproxySetting | null',
    oidc_provider_name: 'string | null',
  },
  AuthproxySetting: {
    endpoint: 'string',
    tokenreivew_endpoint: 'string',
    skip_search: 'boolean',
    verify_cert: 'boolean',
    server_certificate: 'string',
  },
  SystemInfo: { storage: 'Storage[]' },
  Storage: { total: 'integer', free: 'integer' },
  OverallHealthStatus: { status: 'string', components: 'ComponentHealthStatus[]' },
  ComponentHealthStatus: { name: 'string', status: 'string', error: 'string' },

  // Job service and schedules.
  WorkerPool: {
    pid: 'integer',
    worker_pool_id: 'string',
    start_at: 'date-time',
    heartbeat_at: 'date-time',
    concurrency: 'integer',
    host: 'string',
  },
  Worker: {
    id: 'string',
    pool_id: 'string',
    job_name: 'string',
    job_id: 'string',
    start_at: 'date-time | null',
    check_in: 'string',
    checkin_at: 'date-time | null',
  },
  JobQueue: { job_type: 'string', count: 'integer', latency: 'integer', paused: 'boolean' },
  ScheduleTask: { id: 'integer', vendor_type: 'string', vendor_id: 'integer', cron: 'string', update_time: 'date-time' },
  SchedulerStatus: { paused: 'boolean' },

  // Garbage collection.
  GCHistory: {
    id: 'integer',
    job_name: 'string',
    job_kind: 'string',
    job_parameters: 'string',
    schedule: 'ScheduleObj',
    job_status: 'string',
    deleted: 'boolean',
    creation_time: 'date-time',
    update_time: 'date-time',
  },
  ScheduleObj: { type: 'string', cron: 'string', next_scheduled_time: 'date-time' },

  // Audit log purge.
  ExecHistory: {
    id: 'integer',
    job_name: 'string',
    job_kind: 'string',
    job_parameters: 'string',
    schedule: 'ScheduleObj',
    job_status: 'string',
    deleted: 'boolean',
    creation_time: 'date-time',
    update_time: 'date-time',
  },

  // Errors.
  Errors: { errors: 'Error[]' },
  Error: { code: 'string', message: 'string' },
};

// The notation, parsed.

export type Scalar = 'string' | 'integer' | 'number' | 'boolean' | 'object' | 'date-time';
export type JsonType = { scalar: Scalar } | { ref: string } | { array: JsonType } | { map: JsonType };
export interface FieldType {
  type: JsonType;
  nullable: boolean;
}

const scalars = new Set<string>(['string', 'integer', 'number', 'boolean', 'object', 'date-time']);

/** Parses one type of the notation above; throws on anything else. */
export function parseType(spec: string): FieldType {
  const nullable = spec.endsWith(' | null');
  return { type: parseBare(nullable ? spec.slice(0, -' | null'.length) : spec, spec), nullable };
}

function parseBare(s: string, whole: string): JsonType {
  if (s.endsWith('[]')) return { array: parseBare(s.slice(0, -2), whole) };
  if (s.startsWith('{') && s.endsWith('}')) return { map: parseBare(s.slice(1, -1), whole) };
  if (scalars.has(s)) return { scalar: s as Scalar };
  if (/^[A-Z][A-Za-z0-9]*$/.test(s)) return { ref: s };
  throw new Error(`"${whole}" is not a type of the shape notation`);
}

/** A parsed type written back in the notation (canonical, for comparisons and messages). */
export function typeText(t: JsonType): string {
  if ('scalar' in t) return t.scalar;
  if ('ref' in t) return t.ref;
  if ('array' in t) return `${typeText(t.array)}[]`;
  return `{${typeText(t.map)}}`;
}

// Checking a value.

/** RFC 3339: a date, `T`, a time with optional fraction, and `Z` or an offset. */
const rfc3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return `${Number.isInteger(value) ? 'integer' : 'number'} ${value}`;
  const text = JSON.stringify(value);
  const sample = text.length > 40 ? `${text.slice(0, 37)}...` : text;
  return typeof value === 'object' ? 'object' : `${typeof value} ${sample}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkType(value: unknown, type: JsonType, at: string, problems: string[]): void {
  if ('ref' in type) {
    checkDefinition(value, type.ref, at, problems);
    return;
  }
  if ('array' in type) {
    if (!Array.isArray(value)) {
      problems.push(`${at}: ${typeText(type)} expected, got ${describe(value)}`);
      return;
    }
    value.forEach((item, i) => checkType(item, type.array, `${at}[${i}]`, problems));
    return;
  }
  if ('map' in type) {
    if (!isObject(value)) {
      problems.push(`${at}: ${typeText(type)} expected, got ${describe(value)}`);
      return;
    }
    for (const [key, item] of Object.entries(value)) checkType(item, type.map, `${at}[${JSON.stringify(key)}]`, problems);
    return;
  }
  const ok = (() => {
    switch (type.scalar) {
      case 'string':
        return typeof value === 'string';
      case 'date-time':
        return typeof value === 'string' && rfc3339.test(value) && !Number.isNaN(Date.parse(value));
      case 'integer':
        return typeof value === 'number' && Number.isInteger(value);
      case 'number':
        return typeof value === 'number' && Number.isFinite(value);
      case 'boolean':
        return typeof value === 'boolean';
      case 'object':
        return isObject(value);
    }
  })();
  if (!ok)
    problems.push(`${at}: ${type.scalar === 'date-time' ? 'RFC 3339 date-time string' : type.scalar} expected, got ${describe(value)}`);
}

function checkDefinition(value: unknown, name: string, at: string, problems: string[]): void {
  const definition = harborDefinitions[name];
  if (definition === undefined) throw new Error(`${name} is not in harborDefinitions`);
  if (typeof definition === 'string') {
    checkType(value, parseType(definition).type, at, problems);
    return;
  }
  if (!isObject(value)) {
    problems.push(`${at}: ${name} object expected, got ${describe(value)}`);
    return;
  }
  for (const [key, field] of Object.entries(value)) {
    const spec = definition[key];
    const path = /^[A-Za-z_][\w-]*$/.test(key) ? `${at}.${key}` : `${at}[${JSON.stringify(key)}]`;
    if (spec === undefined) {
      problems.push(`${path}: not a field of Harbor's ${name}`);
      continue;
    }
    const { type, nullable } = parseType(spec);
    if (field === null) {
      if (!nullable) problems.push(`${path}: null, but Harbor's ${name}.${key} is not nullable (${spec})`);
      continue;
    }
    checkType(field, type, path, problems);
  }
}

/**
 * What in `value` differs from Harbor's `definition`: fields Harbor does not document,
 * fields of another JSON type, null where Harbor does not allow it; nested definitions
 * checked likewise. Empty when the value has Harbor's shape. Fields Harbor documents but
 * the value leaves out are not problems (Harbor declares none of them required).
 */
export function checkShape(value: unknown, definition: string, at: string = definition): string[] {
  const problems: string[] = [];
  checkDefinition(value, definition, at, problems);
  return problems;
}

/** Every definition a type names, for the table's own consistency check. */
export function refsOf(t: JsonType): string[] {
  if ('ref' in t) return [t.ref];
  if ('array' in t) return refsOf(t.array);
  if ('map' in t) return refsOf(t.map);
  return [];
}

// Comparing the table with Harbor's reference (a Swagger 2.0 document).

type SwaggerSchema = {
  $ref?: string;
  type?: string;
  format?: string;
  items?: SwaggerSchema;
  properties?: Record<string, SwaggerSchema>;
  additionalProperties?: SwaggerSchema | boolean;
  'x-nullable'?: boolean;
};

function swaggerType(schema: SwaggerSchema): string {
  if (schema.$ref) return schema.$ref.replace('#/definitions/', '');
  if (schema.type === 'array') return `${swaggerType(schema.items ?? {})}[]`;
  if (schema.type === 'object' || schema.properties || schema.additionalProperties) {
    return typeof schema.additionalProperties === 'object' ? `{${swaggerType(schema.additionalProperties)}}` : 'object';
  }
  if (schema.type === 'string' && schema.format === 'date-time') return 'date-time';
  return schema.type ?? 'object';
}

function swaggerField(schema: SwaggerSchema): string {
  return `${swaggerType(schema)}${schema['x-nullable'] ? ' | null' : ''}`;
}

/** The table's `object` stands for any object, whatever Harbor declares inside it. */
function sameType(mine: string, harbor: string): boolean {
  if (mine === harbor) return true;
  const m = parseType(mine);
  const h = harbor.endsWith(' | null') === m.nullable ? harbor.replace(/ \| null$/, '') : null;
  return h !== null && typeText(m.type) === 'object' && (h === 'object' || h.startsWith('{'));
}

/**
 * Where the table and Harbor's reference disagree: a definition or field the reference
 * lacks, a field of another type, or a field of a listed definition the table leaves out.
 */
export function compareWithSwagger(swaggerDefinitions: Record<string, SwaggerSchema>): string[] {
  const problems: string[] = [];
  for (const [name, definition] of Object.entries(harborDefinitions)) {
    const harbor = swaggerDefinitions[name];
    if (!harbor) {
      problems.push(`${name}: no such definition in Harbor's reference`);
      continue;
    }
    if (typeof definition === 'string') {
      if (harbor.properties) problems.push(`${name}: listed as ${definition}, but Harbor's has fields`);
      else if (!sameType(definition, swaggerType(harbor)))
        problems.push(`${name}: listed as ${definition}, Harbor says ${swaggerType(harbor)}`);
      continue;
    }
    const properties = harbor.properties ?? {};
    for (const [field, spec] of Object.entries(definition)) {
      const documented = properties[field];
      if (!documented) problems.push(`${name}.${field}: not in Harbor's ${name}`);
      else if (!sameType(spec, swaggerField(documented)))
        problems.push(`${name}.${field}: listed as ${spec}, Harbor says ${swaggerField(documented)}`);
    }
    for (const field of Object.keys(properties)) {
      if (!(field in definition))
        problems.push(`${name}.${field}: in Harbor's ${name} (${swaggerField(properties[field])}) but not listed`);
    }
  }
  return problems;
}
