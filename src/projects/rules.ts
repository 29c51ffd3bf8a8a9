import { compileDoublestar } from '../lib/doublestar.js';
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

/**
 * Keys only proxy cache projects (created with registry_id) carry: Harbor's, and Berth's
 * `proxy_cache_freshness_seconds` (how long a tag's manifest is served without asking the upstream).
 */
export const proxyCacheKeys: readonly string[] = [
  'proxy_speed_kb',
  'max_upstream_conn',
  'proxy_cache_local_on_not_found',
  'proxy_referrer_api',
  'proxy_cache_filter_pattern',
  'proxy_cache_filter_kind',
  'proxy_cache_freshness_seconds',
];
/** The longest freshness window a proxy cache project may set: one week. */
export const maxProxyFreshnessSeconds = 7 * 24 * 3600;

function bad(message: string) {
  return apiError('BAD_REQUEST', message);
}

/** What a client sent, shortened for an error message. */
export function shown(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
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

/** `proxy`: the project is (or is being created as) a proxy cache project. */
export function checkMetadataKey(key: string, proxy = false): void {
  if (metadataKeys.includes(key)) return;
  if (proxyCacheKeys.includes(key)) {
    if (proxy) return;
    throw bad(`metadata ${key} applies only to proxy cache projects (created with registry_id)`);
  }
  if (key === 'retention_id') throw bad("metadata retention_id is set by the project's retention policy, not by hand");
  throw bad(`invalid metadata key "${shown(key)}"; allowed: ${[...metadataKeys, ...(proxy ? proxyCacheKeys : [])].join(', ')}`);
}

/** Go's strconv.ParseInt(raw, 10, 32), as Harbor checks proxy_speed_kb and max_upstream_conn. */
function parseInt32(raw: string): number | null {
  if (!/^[+-]?\d+$/.test(raw)) return null;
  const n = Number(raw);
  return n >= -(2 ** 31) && n < 2 ** 31 ? n : null;
}

/** A proxy cache key's value, checked; Harbor's messages where Harbor has one. */
function normalizeProxyMetadata(key: string, value: string): string {
  switch (key) {
    case 'proxy_speed_kb':
    case 'max_upstream_conn': {
      const n = parseInt32(value);
      if (n === null) {
        throw bad(
          key === 'proxy_speed_kb'
            ? `metadata.proxy_speed_kb should by an int32, but got: '${shown(value)}'`
            : `metadata.max_upstream_conn should be an int, but got '${shown(value)}'`,
        );
      }
      // Harbor's values: -1 (or 0) is no limit; KB/s per upstream blob transfer, connections per artifact.
      return String(n);
    }
    case 'proxy_referrer_api': {
      const flag = parseBool(value);
      if (flag === null) throw bad(`invalid value for metadata ${key}: "${shown(value)}"; use "true" or "false"`);
      if (flag) throw bad('metadata.proxy_referrer_api "true" is not supported: Berth answers the referrers API from what it has cached');
      return 'false';
    }
    case 'proxy_cache_local_on_not_found': {
      const flag = parseBool(value);
      if (flag === null) throw bad(`invalid value for metadata ${key}: "${shown(value)}"; use "true" or "false"`);
      return String(flag);
    }
    case 'proxy_cache_freshness_seconds': {
      if (!/^\d+$/.test(value) || Number(value) > maxProxyFreshnessSeconds) {
        throw bad(
          `metadata.proxy_cache_freshness_seconds must be a whole number of seconds from 0 to ${maxProxyFreshnessSeconds}, not "${shown(value)}"`,
        );
      }
      return String(Number(value));
    }
    case 'proxy_cache_filter_kind':
      if (value !== 'doublestar' && value !== 'regex') {
        throw bad(`metadata.proxy_cache_filter_kind should be "doublestar" or "regex", but got: "${shown(value)}"`);
      }
      return value;
    default:
      if (value.length > 1024) throw bad(`metadata.${key} must be at most 1024 characters`);
      return value;
  }
}

/** A proxy cache project's repository filter: both keys checked together, as Harbor does. */
export function checkProxyFilter(metadata: Record<string, string>): void {
  const pattern = metadata.proxy_cache_filter_pattern ?? '';
  const kind = metadata.proxy_cache_filter_kind ?? '';
  if (pattern === '' && kind === '') return;
  if (kind !== 'doublestar' && kind !== 'regex') {
    throw bad(`metadata.proxy_cache_filter_kind should be "doublestar" or "regex", but got: "${shown(kind)}"`);
  }
  if (pattern === '') throw bad(`metadata.proxy_cache_filter_pattern is invalid for kind "${kind}": the pattern is empty`);
  try {
    if (kind === 'regex') new RegExp(pattern);
    else compileDoublestar(pattern);
  } catch (err) {
    throw bad(`metadata.proxy_cache_filter_pattern is invalid for kind "${kind}": ${(err as Error).message}`);
  }
}

/** Checks one metadata pair and returns the value as Harbor stores it ("true"/"false", lower-case severity). */
export function normalizeMetadata(key: string, value: unknown, proxy = false): string {
  checkMetadataKey(key, proxy);
  if (typeof value !== 'string') throw bad(`metadata ${key} must be a string, such as "true", not ${shown(value)}`);
  if (proxyCacheKeys.includes(key)) return normalizeProxyMetadata(key, value);
  if (key === 'severity') {
    const severity = value.toLowerCase();
    if (!severities.includes(severity))
      throw bad(`invalid value for metadata severity: "${shown(value)}"; use one of ${severities.join(', ')}`);
    return severity;
  }
  const flag = parseBool(value);
  if (flag === null) throw bad(`invalid value for metadata ${key}: "${shown(value)}"; use "true" or "false"`);
  return String(flag);
}

/** A metadata object from a request: each pair checked; null and "" mean "not given", as in Harbor. */
export function parseMetadata(value: unknown, where = 'metadata', proxy = false): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw bad(`${where} must be a JSON object of string values`);
  const out: Record<string, string> = {};
  for (const [key, raw] of Object.entries(value as Record<string, unknown>)) {
    if (raw === null || raw === '') continue;
    out[key] = normalizeMetadata(key, raw, proxy);
  }
  if (proxy) checkProxyFilter(out);
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
  /** The upstream registry endpoint of a proxy cache project (create only; undefined when not given). */
  registryId: number | undefined;
}

/** Harbor's registry_id: null or absent for an ordinary project, else an id above 0. */
export function parseRegistryId(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw bad(
      `${typeof value === 'number' ? value : shown(JSON.stringify(value))} is invalid value of registry_id, it should be greater than 0`,
    );
  }
  return value;
}

/**
 * `proxy` on update: the project is a proxy cache project (its proxy keys may be set). On
 * create a body with registry_id is a proxy cache project. Harbor ignores enable_content_trust
 * (Notary) for proxy cache projects, and so does Berth.
 */
export function parseProjectRequest(body: Record<string, unknown>, mode: 'create' | 'update', proxy = false): ProjectRequest {
  const name = mode === 'create' ? checkProjectName(body.project_name) : optionalName(body.project_name);
  if (body.public !== undefined && body.public !== null && typeof body.public !== 'boolean') throw bad('public must be true or false');
  const registryId = parseRegistryId(body.registry_id);
  const isProxy = mode === 'create' ? registryId !== undefined : proxy;
  const metadata = parseMetadata(body.metadata, 'metadata', isProxy);
  if (isProxy) delete metadata.enable_content_trust;
  if (metadata.public === undefined && typeof body.public === 'boolean') metadata.public = String(body.public);

  if (body.retention_days !== undefined && body.retention_days !== null) {
    throw bad("retention_days is not a field of Harbor's ProjectReq; give the project a tag retention policy instead");
  }
  // Checked by the allowlists seam (scanning policies), which knows the project it is for.
  const cveAllowlist = body.cve_allowlist === null ? undefined : body.cve_allowlist;
  return {
    name,
    metadata,
    storageLimit: mode === 'create' ? parseStorageLimit(body.storage_limit) : undefined,
    cveAllowlist,
    registryId: mode === 'create' ? registryId : undefined,
  };
}

function optionalName(value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw bad('project_name must be a string');
  return value;
}

function parseStorageLimit(value: unknown): number | undefined {
  if (value === undefined || value === null || value === 0) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || (value < 1 && value !== -1) || value > maxStorageLimit) {
    throw bad(
      `storage_limit must be -1 (unlimited) or a positive number of bytes up to 1024 TiB (${maxStorageLimit}), not ${shown(value)}`,
    );
  }
  return value;
}
