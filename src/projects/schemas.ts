import { arrayOf, bool, dateTime, int, object, pathParams, ref, str, type JsonSchema, type SharedSchema } from '../http/schema-helpers.js';

/** The projects API's definitions, in Harbor's names (documentation only: see server/openapi.ts). */

const flag = (description: string) => str(`${description}: "true" or "false"`);

export const ProjectMetadata: SharedSchema = {
  $id: 'ProjectMetadata',
  description: 'Project settings. Every value is a string; booleans are "true" or "false".',
  ...object({
    public: flag('Whether anyone, even anonymous, may pull from the project'),
    enable_content_trust: flag('Whether only signed (Notary) images may be pulled'),
    enable_content_trust_cosign: flag('Whether only images signed with cosign may be pulled'),
    prevent_vul: flag('Whether images with vulnerabilities at or above `severity` may not be pulled'),
    severity: str('The severity from which pulls are refused when prevent_vul is on', {
      enum: ['none', 'low', 'medium', 'high', 'critical'],
    }),
    auto_scan: flag('Whether images are scanned when they are pushed'),
    auto_sbom_generation: flag('Whether an SBOM is generated when an image is pushed'),
    reuse_sys_cve_allowlist: flag("Whether the system's CVE allowlist applies instead of the project's"),
    proxy_cache_local_on_not_found: flag('Proxy cache projects: whether a cached artifact is still served after the upstream removed it'),
    proxy_cache_filter_pattern: str('Proxy cache projects: only repositories matching this pattern are proxied (empty: all)'),
    proxy_cache_filter_kind: str('Proxy cache projects: how proxy_cache_filter_pattern matches', { enum: ['doublestar', 'regex'] }),
    proxy_cache_freshness_seconds: str(
      "Proxy cache projects (Berth's own): for how many seconds a tag's manifest is served from the cache without asking the upstream; 0 (default from proxy_cache.freshness_seconds) asks every time",
    ),
    proxy_speed_kb: str('Proxy cache projects: KB/s each blob transfer from the upstream may use; -1 or 0 for no limit'),
    max_upstream_conn: str('Proxy cache projects: upstream connections per artifact (Berth fetches each blob once at a time); -1 or 0 for no limit'),
    proxy_referrer_api: str('Proxy cache projects: whether the referrers API is proxied; Berth accepts only "false"'),
  }),
};

export const CVEAllowlistItem: SharedSchema = {
  $id: 'CVEAllowlistItem',
  description: 'A vulnerability that does not block pulls',
  ...object({ cve_id: str('The CVE id, such as CVE-2024-1234') }),
};

export const CVEAllowlist: SharedSchema = {
  $id: 'CVEAllowlist',
  description:
    "Vulnerabilities ignored when deciding whether a pull is refused: the system's (project_id 0) or a project's own, used when its metadata reuse_sys_cve_allowlist is \"false\"",
  ...object({
    id: int('Id of the allowlist'),
    project_id: int('Id of the project'),
    expires_at: int('When the allowlist stops applying, in seconds since the epoch; null for never', { nullable: true }),
    items: arrayOf(ref('CVEAllowlistItem')),
    creation_time: dateTime('When the allowlist was created'),
    update_time: dateTime('When the allowlist was last changed'),
  }),
};

export const Project: SharedSchema = {
  $id: 'Project',
  description: 'A project: a namespace of repositories with its members, settings and quota',
  ...object({
    project_id: int('Id of the project'),
    owner_id: int('Id of the user who created the project (0 when none)'),
    owner_name: str('Username of the owner (only when with_detail is true)'),
    name: str('Name of the project'),
    registry_id: int('Id of the upstream registry of a proxy cache project; absent for a normal project'),
    creation_time: dateTime('When the project was created'),
    update_time: dateTime('When the project was last changed'),
    deleted: bool('Always false: deleted projects are not shown'),
    togglable: bool('Whether the caller may change the project public or private'),
    current_user_role_id: int(
      "The caller's highest role in the project: 1 project admin, 4 maintainer, 2 developer, 3 guest, 5 limited guest, 0 none",
    ),
    current_user_role_ids: arrayOf(int('A role id'), 'Every role the caller holds in the project'),
    repo_count: int('Number of repositories (empty ones too)'),
    metadata: ref('ProjectMetadata'),
    cve_allowlist: ref('CVEAllowlist'),
  }),
};

export const ProjectReq: SharedSchema = {
  $id: 'ProjectReq',
  description: 'A project to create, or the changes to make to one',
  ...object({
    project_name: str('Name: lower-case letters and digits, joined by single ".", "_" or "-". Required on create.', { maxLength: 255 }),
    public: bool('Whether the project is public; metadata.public wins when both are given', { nullable: true }),
    metadata: ref('ProjectMetadata'),
    cve_allowlist: ref('CVEAllowlist'),
    storage_limit: int('Storage quota in bytes on create: -1 for unlimited; null or 0 for the default', { nullable: true }),
    registry_id: int(
      'On create only: the registry endpoint (/registries) this project is a proxy cache of; system administrators only. Null or absent for an ordinary project',
      { nullable: true },
    ),
  }),
};

export const ResourceList: SharedSchema = {
  $id: 'ResourceList',
  description: 'An amount per resource, such as {"storage": 1073741824} (bytes; -1 for unlimited)',
  type: 'object',
  additionalProperties: { type: 'integer' },
};

export const ProjectSummaryQuota: SharedSchema = {
  $id: 'ProjectSummaryQuota',
  description: "The project's quota and how much of it is used",
  ...object({ hard: ref('ResourceList'), used: ref('ResourceList') }),
};

export const ProjectSummary: SharedSchema = {
  $id: 'ProjectSummary',
  description: 'Counts about a project; member counts and quota only for callers who may see them',
  ...object({
    repo_count: int('Number of repositories'),
    project_admin_count: int('Number of project admins'),
    maintainer_count: int('Number of maintainers'),
    developer_count: int('Number of developers'),
    guest_count: int('Number of guests'),
    limited_guest_count: int('Number of limited guests'),
    quota: ref('ProjectSummaryQuota'),
    registry: {
      type: 'object',
      description: "A proxy cache project's upstream registry endpoint (Harbor's Registry, without the credential's secret)",
      additionalProperties: true,
    },
  }),
};

export const ProjectDeletable: SharedSchema = {
  $id: 'ProjectDeletable',
  description: 'Whether a project can be deleted now',
  ...object({ deletable: bool('Whether the project can be deleted'), message: str('Why not, when it cannot') }),
};

export const Permission: SharedSchema = {
  $id: 'Permission',
  description: 'An action the caller may take on a resource',
  ...object({
    resource: str('The resource, such as /project/1/repository or repository when relative'),
    action: str('The action, such as pull or create'),
  }),
};

export const projectSchemas = [
  ProjectMetadata,
  CVEAllowlistItem,
  CVEAllowlist,
  Project,
  ProjectReq,
  ResourceList,
  ProjectSummaryQuota,
  ProjectSummary,
  ProjectDeletable,
  Permission,
];

/** The `{project_name_or_id}` path parameter, shared by every project sub-resource. */
export const projectNameOrId: Record<string, JsonSchema> = {
  project_name_or_id: str('Name or id of the project (a name when X-Is-Resource-Name is true)'),
};

export const projectParams = pathParams(projectNameOrId);

/** Harbor's X-Is-Resource-Name header, which makes an all-digit `project_name_or_id` a name. */
export const resourceNameHeader = object({
  'X-Is-Resource-Name': bool('true: project_name_or_id is a name even when it is all digits', { default: false }),
});

/** Project metadata as the metadata endpoints take and answer it: key → string value. */
export const metadataMap: JsonSchema = {
  type: 'object',
  additionalProperties: { type: 'string' },
  description: 'Metadata keys and their string values, such as {"auto_scan": "true"}',
};
