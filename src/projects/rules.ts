import { apiError } from '../lib/errors.js';

/**
 * Harbor's rules for project names and metadata, and the parsing of its ProjectReq body.
 * Pure: no I/O, so every rule is checked before anything is written.
 */
export const projectNamePattern = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
export const maxProjectNameLength = 255;
/** Harbor's largest storage limit: 1024 TiB. */
const maxStorageLimit = 1024 ** 5;

/** Metadata keys a project may carry, with how their values are checked. */
const booleanKeys = [
  'public',
  'enable_content_trust',
  'enable_content_trust_cosign',
  'prevent_vul',
  'auto_scan',
  'auto_sbom_generation',
  'reuse_sys_cve_allowlist',
] as const;
const severities = ['none', 'low', 'medium', 'high', 'critical'];
export const metadataKeys: readonly string[] = [...booleanKeys, 'severity'];

/** Keys Harbor gives only to proxy cache projects, which Berth does not have yet. */
const proxyCacheKeys = [
  'proxy_speed_kb',
  'max_upstream_conn',
  'proxy_cache_local_on_not_found',
  'proxy_referrer_api',
  'proxy_cache_filter_pattern',
  'proxy_cache_filter_kind',
];

function bad(message: string) {
  return apiError('BAD_REQUEST', message);
}

/** What a client sent, shortened for an error message. */
export function shown(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  return text.length > 100 ? `${text.slice(0, 100)}…` : text;
}

export function checkProjectName(value: unknown): string {
  if (value === undefined || value === null || value === '') throw bad('project_name is required');
  if (typeof value !== 'string') throw bad('project_name must be a string');
  if (value.length > maxProjectNameLength) throw bad(`project_name must be at most ${maxProjectNameLength} characters`);
  if (!projectNamePattern.test(value)) {
    throw bad(
      `project_name "${shown(value)}" is not valid: use lower-case letters and digits, ` +
        'joined by single ".", "_" or "-" (not at the start or the end)',
    );
  }
  return value;
}

/** Go's strconv.ParseBool, which Harbor uses for boolean metadata. */
function parseBool(raw: string): boolean | null {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(raw)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(raw)) return false;
  return null;
}

export function checkMetadataKey(key: string): void {
  if (metadataKeys.includes(key)) return;
  if (proxyCacheKeys.includes(key)) throw bad(`metadata ${key} applies only to proxy cache projects, which Berth does not support yet`);
  if (key === 'retention_id') throw bad('metadata retention_id is set by the project\'s retention policy, not by hand');
  throw bad(`invalid metadata key "${shown(key)}"; allowed: ${metadataKeys.join(', ')}`);
}

/** Checks one metadata pair and returns the value as Harbor stores it ("true"/"false", lower-case severity). */
export function normalizeMetadata(key: string, value: unknown): string {
  checkMetadataKey(key);
  if (typeof value !== 'string') throw bad(`metadata ${key} must be a string, such as "true", not ${shown(value)}`);
  if (key === 'severity') {
    const severity = value.toLowerCase();
    if (!severities.includes(severity)) throw bad(`invalid value for metadata severity: "${shown(value)}"; use one of ${severities.join(', ')}`);
    return severity;
  }
  const flag = parseBool(value);
  if (flag === null) throw bad(`invalid value for metadata ${key}: "${shown(value)}"; use "true" or "false"`);
  return String(flag);
}

/** A metadata object from a request: each pair checked; null and "" mean "not given", as in Harbor. */
export function parseMetadata(value: unknown, where = 'metadata'): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw bad(`${where} must be a JSON object of string values`);
  const out: Record<string, string> = {};
  for (const [key, raw] of Object.entries(value as Record<string, unknown>)) {
    if (raw === null || raw === '') continue;
    out[key] = normalizeMetadata(key, raw);
  }
  return out;
}

/** A ProjectReq body, checked. `public` is folded into metadata.public (metadata wins, as in Harbor). */
export interface ProjectRequest {
  /** Present on create; on update only when the body names the project. */
  name: string | undefined;
  metadata: Record<string, string>;
  /** Bytes, -1 unlimited; undefined when not given (or 0, which Harbor reads as "the default"). */
  storageLimit: number | undefined;
  /** The body's `cve_allowlist` as sent (undefined when absent or null). */
  cveAllowlist: unknown;
}

export function parseProjectRequest(body: Record<string, unknown>, mode: 'create' | 'update'): ProjectRequest {
  const name = mode === 'create' ? checkProjectName(body.project_name) : optionalName(body.project_name);
  if (body.public !== undefined && body.public !== null && typeof body.public !== 'boolean') throw bad('public must be true or false');
  const metadata = parseMetadata(body.metadata);
  if (metadata.public === undefined && typeof body.public === 'boolean') metadata.public = String(body.public);

  if (body.registry_id !== undefined && body.registry_id !== null) throw bad('proxy cache projects (registry_id) are not supported yet');
  if (body.retention_days !== undefined && body.retention_days !== null) {
    throw bad('retention_days is only supported when creating a proxy cache project');
  }
  // Checked by the allowlists seam (scanning policies), which knows the project it is for.
  const cveAllowlist = body.cve_allowlist === null ? undefined : body.cve_allowlist;
  return { name, metadata, storageLimit: mode === 'create' ? parseStorageLimit(body.storage_limit) : undefined, cveAllowlist };
}

function optionalName(value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw bad('project_name must be a string');
  return value;
}

function parseStorageLimit(value: unknown): number | undefined {
  if (value === undefined || value === null || value === 0) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || (value < 1 && value !== -1) || value > maxStorageLimit) {
    throw bad(`storage_limit must be -1 (unlimited) or a positive number of bytes up to 1024 TiB (${maxStorageLimit}), not ${shown(value)}`);
  }
  return value;
}
