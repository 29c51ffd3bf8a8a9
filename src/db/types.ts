import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

/** Table types. Times are ISO-8601 UTC strings; booleans are 0/1 integers (portable to PostgreSQL). */
export interface ProjectsTable {
  id: Generated<number>;
  name: string;
  public: number;
  owner_id: number | null;
  /** Bytes; -1 is unlimited. */
  storage_limit: Generated<number>;
  created_at: string;
  updated_at: string;
  /** (018) The registry endpoint a proxy-cache project mirrors; null for an ordinary project. */
  registry_id: number | null;
}

export interface ProjectMetadataTable {
  project_id: number;
  name: string;
  value: string;
}

export interface UsersTable {
  id: Generated<number>;
  username: string;
  email: string;
  realname: string;
  comment: string;
  password_hash: string;
  sysadmin: number;
  /** 1 when the user was in the LDAP/OIDC admin group at their last sign-in. */
  group_admin: Generated<number>;
  creation_time: string;
  update_time: string;
}

export interface ProjectMembersTable {
  id: Generated<number>;
  project_id: number;
  /** 'u' user or 'g' group. */
  entity_type: string;
  entity_id: number;
  role_id: number;
  creation_time: string;
  update_time: string;
}

export interface RobotsTable {
  id: Generated<number>;
  name: string;
  description: string;
  level: string;
  project_id: number | null;
  secret_hash: string;
  /** JSON: RobotPermission[] as Harbor's API shows it. */
  permissions: string;
  duration: number;
  /** Unix seconds; -1 never. */
  expires_at: number;
  disabled: number;
  creator_type: string;
  creator_ref: number;
  creation_time: string;
  update_time: string;
}

export interface SessionsTable {
  id_hash: string;
  user_id: number;
  csrf_token: string;
  /** Unix milliseconds. */
  expires_at: number;
  created_at: string;
}

/** Failed-login counters per account name (009_login_attempts); times in Unix milliseconds. */
export interface LoginAttemptsTable {
  name_hash: string;
  window_start: number;
  failures: number;
  pending: number;
  locked_until: number;
}

export interface AuditLogsTable {
  id: Generated<number>;
  project_id: number | null;
  username: string;
  operation: string;
  resource_type: string;
  resource: string;
  result: string;
  client_ip: string;
  op_time: string;
  /** (021) The writing transaction's id (0 on SQLite): the forwarder's order. */
  tx_id: Generated<number>;
}

export interface RepositoriesTable {
  id: Generated<number>;
  project_id: number;
  name: string;
  description: string;
  pull_count: Generated<number>;
  created_at: string;
  updated_at: string;
}

export interface BlobsTable {
  digest: string;
  size: number;
  created_at: string;
  /** (008) Set while a scrub holds the stored object for wrong or missing; see src/scrub/. */
  quarantined_at: ColumnType<string | null, string | null | undefined, string | null>;
  quarantine_reason: ColumnType<string | null, string | null | undefined, string | null>;
  quarantine_run_id: ColumnType<number | null, number | null | undefined, number | null>;
  /** (008) Bumped when a re-push replaces the object (a heal). */
  generation: Generated<number>;
}

export interface RepositoryBlobsTable {
  repository_id: number;
  digest: string;
  created_at: string;
  /** (006) Set when the artifacts that referenced the blob were deleted: still served, no longer counted for the quota. */
  released_at: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface ArtifactsTable {
  id: Generated<number>;
  repository_id: number;
  digest: string;
  media_type: string;
  artifact_type: string | null;
  /** Manifest bytes plus every blob it names (for an index: plus its children). */
  size: number;
  manifest: Uint8Array;
  subject_digest: string | null;
  annotations: string | null;
  push_time: string;
  pull_time: string | null;
  /** What its processor calls it: IMAGE, CHART, CNAB, WASM, … (Harbor's `type`). */
  type: Generated<string>;
  config_media_type: string | null;
  /** JSON object the processor extracted (Harbor's `extra_attrs`). */
  extra_attrs: string | null;
  /** Digest of the icon /icons serves for it. */
  icon: string | null;
  /** For an accessory (signature, SBOM, …): the digest of its subject in the same repository. */
  accessory_of: string | null;
  accessory_type: string | null;
}

export interface LabelsTable {
  id: Generated<number>;
  name: string;
  description: string;
  color: string;
  /** 'g' global or 'p' project. */
  scope: string;
  /** 0 for global labels. */
  project_id: number;
  creation_time: string;
  update_time: string;
}

export interface ArtifactLabelsTable {
  artifact_id: number;
  label_id: number;
  creation_time: string;
}

export interface TagsTable {
  id: Generated<number>;
  repository_id: number;
  artifact_id: number;
  name: string;
  push_time: string;
  pull_time: string | null;
}

export interface ArtifactBlobsTable {
  artifact_id: number;
  digest: string;
}

export interface ArtifactReferencesTable {
  parent_id: number;
  child_id: number;
  child_digest: string;
  platform: string | null;
  annotations: string | null;
}

/** (006) A digest a project holds (a link in one of its repositories, or an artifact's manifest), once per project. */
export interface ProjectBlobsTable {
  project_id: number;
  digest: string;
  size: number;
  created_at: string;
}

/** (006) Part of a project's storage usage; the usage is the sum of its rows (src/quotas/usage.ts). */
export interface QuotaUsageTable {
  project_id: number;
  shard: number;
  used: number;
  updated_at: string;
}

/** (006) Quota state written only when the limit changes, usage crosses the warning threshold or a push is refused. */
export interface ProjectQuotasTable {
  project_id: number;
  warned: Generated<number>;
  /** When the limit was last changed; null: never. */
  updated_at: ColumnType<string | null, string | null | undefined, string | null>;
  refused_at: ColumnType<string | null, string | null | undefined, string | null>;
  refused_resource: ColumnType<string | null, string | null | undefined, string | null>;
  refused_message: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface UploadsTable {
  id: string;
  repository_id: number;
  digest_algorithm: string;
  size: number;
  created_at: string;
  updated_at: string;
}

export interface SettingsTable {
  name: string;
  value: string;
  created_at: string;
}

export interface JobsTable {
  id: Generated<number>;
  type: string;
  /** JSON. */
  payload: string;
  /** pending | running | success | error | stopped */
  status: string;
  /** Attempts started; also the fencing token of the current lease. */
  attempts: Generated<number>;
  max_attempts: number;
  /** Attempts lost with their pool (lease lapsed) and given back, uncounted (queue.ts). */
  lost_attempts: Generated<number>;
  cancel_requested: Generated<number>;
  /** When a pending job may next run. */
  run_at: string;
  /** The pool holding a running job's lease, and until when. */
  locked_by: string | null;
  locked_until: string | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
}

export interface JobLogsTable {
  id: Generated<number>;
  job_id: number;
  time: string;
  /** DEBUG, INFO, WARNING or ERROR. */
  level: string;
  message: string;
}

export interface JobQueuesTable {
  /** A job type, or '*' for every queue. */
  job_type: string;
  paused: number;
  updated_at: string;
}

export interface JobPoolsTable {
  id: string;
  pid: number;
  host: string;
  concurrency: number;
  started_at: string;
  heartbeat_at: string;
}

export interface SchedulesTable {
  id: Generated<number>;
  name: string;
  job_type: string;
  vendor_id: Generated<number>;
  cron: string;
  /** JSON: the payload of every job it starts. */
  payload: string;
  paused: Generated<number>;
  next_run_at: string | null;
  last_run_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface EventsTable {
  id: Generated<number>;
  /** The writing transaction's id (PostgreSQL); 0 on SQLite. */
  tx_id: Generated<number>;
  type: string;
  /** JSON. */
  payload: string;
  created_at: string;
}

export interface EventCursorsTable {
  subscriber: string;
  last_tx_id: number;
  last_event_id: number;
  updated_at: string;
}

/** (010) A tag immutability rule; selectors are JSON as Harbor's API sends them. */
export interface ImmutableRulesTable {
  id: Generated<number>;
  project_id: number;
  priority: number;
  disabled: number;
  tag_selectors: string;
  scope_selectors: string;
  created_at: string;
  updated_at: string;
}

/** A setting changed through /configurations (Harbor's key; JSON value). */
export interface ConfigurationsTable {
  name: string;
  value: string;
  update_time: string;
}

export interface UserGroupsTable {
  id: Generated<number>;
  group_name: string;
  /** 1 LDAP, 2 HTTP, 3 OIDC. */
  group_type: number;
  ldap_group_dn: string;
  /** Lower-case DN for LDAP groups, the name otherwise; unique per type. */
  group_key: string;
  creation_time: string;
  update_time: string;
}

/** The groups a user belonged to at their last LDAP/OIDC sign-in (or was put in). */
export interface UserGroupMembersTable {
  user_id: number;
  group_id: number;
}

export interface OidcUsersTable {
  user_id: number;
  subiss: string;
  /** Sealed CLI secret. */
  secret: string;
  /** Sealed JSON token set. */
  token: string;
  token_expires_at: number;
  creation_time: string;
  update_time: string;
}

/** Whole-table counts, striped (migration 025_counts; db/counts.ts). */
export interface RowCountsTable {
  name: string;
  stripe: number;
  n: number;
}

export interface Database {
  row_counts: RowCountsTable;
  projects: ProjectsTable;
  project_metadata: ProjectMetadataTable;
  cve_allowlists: CveAllowlistsTable;
  cve_export_executions: CveExportExecutionsTable;
  cve_export_chunks: CveExportChunksTable;
  users: UsersTable;
  project_members: ProjectMembersTable;
  robots: RobotsTable;
  sessions: SessionsTable;
  login_attempts: LoginAttemptsTable;
  audit_logs: AuditLogsTable;
  repositories: RepositoriesTable;
  blobs: BlobsTable;
  repository_blobs: RepositoryBlobsTable;
  artifacts: ArtifactsTable;
  tags: TagsTable;
  artifact_blobs: ArtifactBlobsTable;
  artifact_references: ArtifactReferencesTable;
  uploads: UploadsTable;
  project_blobs: ProjectBlobsTable;
  quota_usage: QuotaUsageTable;
  project_quotas: ProjectQuotasTable;
  labels: LabelsTable;
  artifact_labels: ArtifactLabelsTable;
  settings: SettingsTable;
  jobs: JobsTable;
  job_logs: JobLogsTable;
  job_queues: JobQueuesTable;
  job_pools: JobPoolsTable;
  schedules: SchedulesTable;
  events: EventsTable;
  gc_runs: GcRunsTable;
  scrub_runs: ScrubRunsTable;
  scrub_findings: ScrubFindingsTable;
  event_cursors: EventCursorsTable;
  retention_policies: RetentionPoliciesTable;
  immutable_rules: ImmutableRulesTable;
  retention_executions: RetentionExecutionsTable;
  retention_tasks: RetentionTasksTable;
  scan_all_runs: ScanAllRunsTable;
  scanner_registrations: ScannerRegistrationsTable;
  project_scanners: ProjectScannersTable;
  scanner_adapter_scans: ScannerAdapterScansTable;
  scan_reports: ScanReportsTable;
  scan_vulnerabilities: ScanVulnerabilitiesTable;
  vuln_advisories: VulnAdvisoriesTable;
  vuln_affected: VulnAffectedTable;
  vulndb_sources: VulnDbSourcesTable;
  proxy_fetches: ProxyFetchesTable;
  registries: RegistriesTable;
  replication_policies: ReplicationPoliciesTable;
  replication_executions: ReplicationExecutionsTable;
  replication_tasks: ReplicationTasksTable;
  preheat_instances: PreheatInstancesTable;
  preheat_policies: PreheatPoliciesTable;
  preheat_executions: PreheatExecutionsTable;
  preheat_tasks: PreheatTasksTable;
  webhook_policies: WebhookPoliciesTable;
  webhook_executions: WebhookExecutionsTable;
  webhook_tasks: WebhookTasksTable;
  configurations: ConfigurationsTable;
  user_groups: UserGroupsTable;
  user_group_members: UserGroupMembersTable;
  oidc_users: OidcUsersTable;
  audit_forward_cursors: AuditForwardCursorsTable;
  audit_purge_runs: AuditPurgeRunsTable;
  trust_keys: TrustKeysTable;
  signature_verifications: SignatureVerificationsTable;
}

export type Project = Selectable<ProjectsTable>;
export type Repository = Selectable<RepositoriesTable>;
export type User = Selectable<UsersTable>;
export type Robot = Selectable<RobotsTable>;
export type ProjectMember = Selectable<ProjectMembersTable>;
export type Artifact = Selectable<ArtifactsTable>;
export type NewArtifact = Insertable<ArtifactsTable>;

/** (008) One row per scrub run: its history, progress and counts. */
export interface ScrubRunsTable {
  id: Generated<number>;
  job_id: number | null;
  trigger: string;
  /** JSON. */
  parameters: string;
  status: string;
  /** 1 while the run scrubs (unique: one at a time), else null. */
  active: number | null;
  message: string | null;
  blobs_total: Generated<number>;
  blobs_checked: Generated<number>;
  bytes_checked: Generated<number>;
  manifests_total: Generated<number>;
  manifests_checked: Generated<number>;
  digest_mismatches: Generated<number>;
  size_mismatches: Generated<number>;
  missing_objects: Generated<number>;
  read_errors: Generated<number>;
  broken_references: Generated<number>;
  manifest_mismatches: Generated<number>;
  affected_artifacts: Generated<number>;
  quarantined: Generated<number>;
  released: Generated<number>;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  updated_at: string;
}

/** (008) What a scrub run found wrong. */
export interface ScrubFindingsTable {
  id: Generated<number>;
  run_id: number;
  kind: string;
  digest: string;
  repository: string | null;
  artifact_digest: string | null;
  expected_size: number | null;
  actual_size: number | null;
  actual_digest: string | null;
  quarantined: number;
  message: string;
  created_at: string;
}

/** (007) One row per garbage collection run: Harbor's GC history. */
export interface GcRunsTable {
  job_id: number;
  /** MANUAL | SCHEDULE */
  trigger: string;
  operator: string;
  /** JSON. */
  parameters: string;
  /** JSON, or null before the run records anything. */
  results: string | null;
  status: string;
  /** 1 while the run collects (unique: one at a time), else null. */
  active: number | null;
  store_listed_at: string | null;
  created_at: string;
  updated_at: string;
}

/** (011) One tag retention policy per project; `data` is Harbor's RetentionPolicy as JSON. */
export interface RetentionPoliciesTable {
  id: Generated<number>;
  project_id: number;
  data: string;
  created_at: string;
  updated_at: string;
}

/** (011) One retention execution (manual or scheduled, dry run or not). */
export interface RetentionExecutionsTable {
  id: Generated<number>;
  policy_id: number;
  job_id: number | null;
  trigger: string;
  dry_run: number;
  status: string;
  policy: string;
  start_time: string;
  end_time: string | null;
}

/** (011) One task of a retention execution: one repository. */
export interface RetentionTasksTable {
  id: Generated<number>;
  execution_id: number;
  repository: string;
  repository_id: number;
  job_id: number | null;
  status: string;
  start_time: string | null;
  end_time: string | null;
  total: Generated<number>;
  retained: Generated<number>;
  log: string | null;
}

/** (014) One scan-all run: the job that enqueues the scans, and how far it got. */
export interface ScanAllRunsTable {
  id: Generated<number>;
  job_id: number | null;
  trigger: string;
  operator: string;
  status: string;
  cursor: Generated<number>;
  enqueued: Generated<number>;
  start_time: string;
  end_time: string | null;
}

/** (014) One scan report: per (digest, scanner registration, report MIME type). */
export interface ScanReportsTable {
  id: Generated<number>;
  uuid: string;
  digest: string;
  registration_uuid: string;
  mime_type: string;
  status: string;
  severity: string | null;
  summary: string | null;
  report: string | null;
  sbom_digest: string | null;
  sbom_media_type: string | null;
  repository: string;
  job_id: number | null;
  scan_all_run_id: number | null;
  scanner: string | null;
  message: string | null;
  start_time: string;
  end_time: string | null;
  complete_percent: Generated<number>;
}

/** (014) One finding of a vulnerability report. */
export interface ScanVulnerabilitiesTable {
  id: Generated<number>;
  report_id: number;
  digest: string;
  registration_uuid: string;
  cve_id: string;
  package: string;
  version: string;
  fixed_version: string;
  severity: string;
  severity_rank: number;
  cvss_score_v3: number | null;
  cvss_score_v2: number | null;
  cvss_vector_v3: string | null;
  cvss_vector_v2: string | null;
  description: string | null;
  links: string | null;
  cwe_ids: string | null;
}

/** (013) A scanner registration (Harbor's /scanners); `url` is NULL for the built-in scanner. */
export interface ScannerRegistrationsTable {
  id: Generated<number>;
  uuid: string;
  name: string;
  description: Generated<string>;
  url: string | null;
  auth: Generated<string>;
  access_credential: string | null;
  skip_cert_verify: Generated<number>;
  use_internal_addr: Generated<number>;
  disabled: Generated<number>;
  is_default: Generated<number>;
  immutable: Generated<number>;
  builtin: number | null;
  created_at: string;
  updated_at: string;
}

/** (013) The scanner a project chose (Harbor keeps it in the project metadata `projectScanner`). */
export interface ProjectScannersTable {
  project_id: number;
  registration_uuid: string;
}

/** (013) A scan Berth's Pluggable Scanner API accepted; kept a day after it ends. */
export interface ScannerAdapterScansTable {
  id: string;
  status: string;
  request: string;
  reports: string | null;
  error: string | null;
  job_id: number | null;
  created_at: string;
  updated_at: string;
}

/** One OSV record of the vulnerability database (migration 012); `data` is the trimmed record as JSON. */
export interface VulnAdvisoriesTable {
  id: string;
  modified: string;
  data: string;
}

/** One affected package of a record, looked up by (ecosystem, package); `data` holds its ranges and versions as JSON. */
export interface VulnAffectedTable {
  advisory_id: string;
  ecosystem: string;
  package: string;
  ecosystem_full: string;
  data: string;
}

/** The last import of each OSV ecosystem folder. */
export interface VulnDbSourcesTable {
  ecosystem: string;
  source: string;
  imported_at: string;
  records: number;
  newest_modified: string | null;
}

/** (015) A CVE allowlist: a project's, or the system's (project_id 0). */
export interface CveAllowlistsTable {
  id: Generated<number>;
  project_id: number;
  /** Unix seconds; null never expires. */
  expires_at: number | null;
  /** JSON: [{"cve_id": "..."}]. */
  items: string;
  creation_time: string;
  update_time: string;
}

/** (015) One CVE export (Harbor's scan data export execution). */
export interface CveExportExecutionsTable {
  id: Generated<number>;
  job_id: number | null;
  user_id: number;
  user_name: string;
  job_name: string;
  /** JSON number[]. */
  project_ids: string;
  /** JSON: the request's filters. */
  criteria: string;
  status: string;
  status_text: Generated<string>;
  trigger: string;
  start_time: string;
  end_time: string | null;
  file_present: Generated<number>;
  file_size: Generated<number>;
  row_count: Generated<number>;
  file_digest: string | null;
}

/** (015) A piece of an export's CSV, in order of `seq`. */
export interface CveExportChunksTable {
  execution_id: number;
  seq: number;
  data: Uint8Array;
}

/** (017) A replication policy (Harbor's ReplicationPolicy); registry id 0 is Berth itself. */
export interface ReplicationPoliciesTable {
  id: Generated<number>;
  name: string;
  description: string;
  creator: string;
  src_registry_id: number;
  dest_registry_id: number;
  dest_namespace: string;
  dest_namespace_replace_count: number;
  trigger_type: string;
  cron: string;
  /** JSON: the ReplicationFilter array. */
  filters: string;
  replicate_deletion: number;
  override: number;
  enabled: number;
  speed_kb: number;
  copy_by_chunk: number;
  single_active_replication: number;
  created_at: string;
  updated_at: string;
}

/** (017) One execution of a replication policy. */
export interface ReplicationExecutionsTable {
  id: Generated<number>;
  policy_id: number;
  trigger: string;
  status: string;
  status_text: string;
  operator: string;
  job_id: number | null;
  start_time: string;
  end_time: string | null;
}

/** (017) One task of a replication execution: one artifact copied or deleted. */
export interface ReplicationTasksTable {
  id: Generated<number>;
  execution_id: number;
  status: string;
  status_text: string;
  operation: string;
  resource_type: string;
  src_resource: string;
  dst_resource: string;
  /** JSON: TaskSpec.detail. */
  spec: string;
  job_id: number | null;
  attempts: number;
  created_at: string;
  start_time: string | null;
  end_time: string | null;
}

/** (019) A P2P preheat provider instance (Dragonfly, Kraken); auth_info sealed by the secret box. */
export interface PreheatInstancesTable {
  id: Generated<number>;
  name: string;
  description: Generated<string>;
  vendor: string;
  endpoint: string;
  auth_mode: string;
  auth_info_sealed: string | null;
  enabled: number;
  is_default: number;
  insecure: number;
  status: Generated<string>;
  setup_timestamp: number;
  created_at: string;
  updated_at: string;
}

/** (019) A project's preheat policy; filters, trigger and extra_attrs are Harbor's JSON. */
export interface PreheatPoliciesTable {
  id: Generated<number>;
  project_id: number;
  name: string;
  description: Generated<string>;
  provider_id: number;
  filters: string;
  trigger: string;
  enabled: number;
  extra_attrs: string | null;
  created_at: string;
  updated_at: string;
}

/** (019) One run of a preheat policy (manual, scheduled or on push). */
export interface PreheatExecutionsTable {
  id: Generated<number>;
  policy_id: number;
  trigger: string;
  status: string;
  status_message: Generated<string>;
  job_id: number | null;
  artifact_id: number | null;
  extra_attrs: string;
  start_time: string;
  end_time: string | null;
}

/** (019) One task of a preheat execution: one artifact under one tag, sent to the provider. */
export interface PreheatTasksTable {
  id: Generated<number>;
  execution_id: number;
  status: string;
  status_message: Generated<string>;
  run_count: Generated<number>;
  repository: string;
  tag: string;
  digest: string;
  kind: string;
  job_id: number | null;
  provider_task_id: string | null;
  creation_time: string;
  update_time: string;
  start_time: string | null;
  end_time: string | null;
}

/** (020) A project's webhook policy; targets and event_types are JSON. */
export interface WebhookPoliciesTable {
  id: Generated<number>;
  project_id: number;
  name: string;
  description: Generated<string>;
  targets: string;
  event_types: string;
  creator: Generated<string>;
  enabled: number;
  created_at: string;
  updated_at: string;
}

/** (020) One outbox event handed to one webhook policy. */
export interface WebhookExecutionsTable {
  id: Generated<number>;
  policy_id: number;
  project_id: number;
  event_id: number;
  event_type: string;
  vendor_type: string;
  trigger: string;
  status: string;
  status_message: Generated<string>;
  extra_attrs: string;
  start_time: string;
  end_time: string | null;
}

/** (020) One delivery of an execution to one target: the rendered request and its last attempt. */
export interface WebhookTasksTable {
  id: Generated<number>;
  execution_id: number;
  policy_id: number;
  target_index: number;
  event_type: string;
  notify_type: string;
  address: string;
  payload_format: string;
  skip_cert_verify: number;
  auth_header: string | null;
  delivery_id: string;
  body: string;
  headers: string;
  status: string;
  status_message: Generated<string>;
  run_count: Generated<number>;
  status_code: number | null;
  duration_ms: number | null;
  response: string | null;
  job_id: number | null;
  creation_time: string;
  update_time: string;
  start_time: string | null;
  end_time: string | null;
}

/** (016) A registry endpoint (Harbor's Registry); access_secret is sealed (auth/secret-box.ts). */
export interface RegistriesTable {
  id: Generated<number>;
  name: string;
  description: Generated<string>;
  type: string;
  url: string;
  insecure: Generated<number>;
  ca_certificate: string | null;
  credential_type: string | null;
  access_key: string | null;
  access_secret: string | null;
  status: Generated<string>;
  status_message: Generated<string>;
  status_time: string | null;
  created_at: string;
  updated_at: string;
}

/** (018) A blob being fetched from a proxy project's upstream: the single-flight across instances. */
export interface ProxyFetchesTable {
  digest: string;
  owner: string;
  repository: string;
  started_at: string;
  /** Unix ms on the database's clock; an expired row's fetch is taken over. */
  expires_at: number;
}

/** (022) A project's trusted key, CA certificates or Sigstore trusted root (src/signatures/). */
export interface TrustKeysTable {
  id: Generated<number>;
  project_id: number;
  name: string;
  /** cosign | notation-ca | sigstore-root */
  type: string;
  pem: string;
  /** sha256 hex of the key material. */
  fingerprint: string;
  created_at: string;
}

/** (022) A cached verification result of one signature for one subject against one set of trusted keys. */
export interface SignatureVerificationsTable {
  cache_key: string;
  signature_digest: string;
  verified: number;
  signer: string | null;
  key_name: string | null;
  reason: string | null;
  checked_at: string;
}

/** (021) How far the audit syslog forwarder got, and the instance holding the right to forward. */
export interface AuditForwardCursorsTable {
  name: string;
  last_tx_id: number;
  last_id: number;
  holder: string;
  /** Database clock, Unix ms. */
  held_until: number;
  forwarded: number;
  updated_at: string;
}

/** (021) One row per audit log purge run (PURGE_AUDIT_LOG): Harbor's purge history. */
export interface AuditPurgeRunsTable {
  job_id: number;
  /** MANUAL | SCHEDULE */
  trigger: string;
  operator: string;
  /** JSON. */
  parameters: string;
  /** JSON, or null before the run records anything. */
  results: string | null;
  status: string;
  created_at: string;
  updated_at: string;
}
