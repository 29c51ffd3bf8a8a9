import { authModes, type SettingKey, type SystemSettings } from './keys.js';

/** A setting refused: the key and why. */
export class SettingError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(`${key}: ${message}`);
    this.name = 'SettingError';
  }
}

/** Harbor's keys for authentication modes and settings Berth does not implement. */
const unsupportedKeys = /^(uaa_|http_authproxy_)/;
const unsupportedModes = new Set(['uaa_auth', 'http_auth']);

/** Harbor's limit on durations (ten digits, as its portal allows). */
const maxDuration = 9_999_999_999;

type Check = (value: unknown) => unknown;

const fail = (message: string): never => {
  throw new Error(message);
};

const bool: Check = (v) => (typeof v === 'boolean' ? v : fail('must be true or false'));
const text: Check = (v) => (typeof v === 'string' ? v : fail('must be a string'));
const nonEmpty: Check = (v) => (typeof v === 'string' && v.trim() !== '' ? v : fail('must be a non-empty string'));
const integer =
  (min: number, max: number, extra = ''): Check =>
  (v) =>
    typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : fail(`must be an integer from ${min} to ${max}${extra}`);
const oneOf =
  <T>(values: readonly T[], message: string): Check =>
  (v) =>
    values.includes(v as T) ? v : fail(message);

function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

const ldapUrl: Check = (v) => {
  const s = text(v) as string;
  if (s === '') return s;
  if (!/^ldaps?:\/\/[^\s/]+\/?$/i.test(s)) fail('must be ldap://host[:port] or ldaps://host[:port]');
  return s;
};

const oidcEndpoint: Check = (v) => {
  const s = text(v) as string;
  if (s === '') return s;
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    return fail('must be the https URL of the OIDC provider');
  }
  if (url.protocol === 'https:') return s;
  // Plain http only to this machine: a provider reached over the network must be https.
  if (url.protocol === 'http:' && isLoopback(url.hostname)) return s;
  return fail('must be an https URL (http is accepted only for localhost and 127.0.0.1)');
};

const oidcScope: Check = (v) => {
  const s = text(v) as string;
  const scopes = s.split(',').map((x) => x.trim());
  return scopes.includes('openid') ? s : fail('must be a comma-separated list of scopes that includes openid');
};

const jsonObjectOrEmpty =
  (what: string, stringValues: boolean): Check =>
  (v) => {
    const s = text(v) as string;
    if (s.trim() === '') return s;
    let parsed: unknown;
    try {
      parsed = JSON.parse(s);
    } catch {
      return fail(`must be ${what} as JSON text, or empty`);
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) fail(`must be ${what} as JSON text, or empty`);
    if (stringValues && Object.values(parsed as object).some((x) => typeof x !== 'string')) fail('every value must be a string');
    return s;
  };

const syslogEndpoint: Check = (v) => {
  const s = (text(v) as string).trim();
  if (s === '') return s;
  const match = /^(?:tcp:\/\/)?(?:\[[0-9a-fA-F:.]+\]|[^:/\s[\]]+):(\d{1,5})$/i.exec(s);
  if (!match || Number(match[1]) < 1 || Number(match[1]) > 65535) fail('must be host:port of a syslog server (TCP), or empty');
  return s;
};

const pemOrEmpty: Check = (v) => {
  const s = text(v) as string;
  if (s.trim() === '' || s.includes('-----BEGIN CERTIFICATE-----')) return s;
  return fail('must be PEM certificates (-----BEGIN CERTIFICATE-----), or empty');
};

/** Harbor's <operation>_<resource_type> names, comma-separated (create_user,delete_robot). */
const eventTypeList: Check = (v) => {
  const s = text(v) as string;
  const items = s.split(',').map((x) => x.trim());
  if (s.trim() === '' || items.every((x) => /^[a-z]+_[a-z_]+$/.test(x))) return s;
  return fail('must be comma-separated event types such as create_user,delete_robot, or empty');
};

const ldapScope = oneOf([0, 1, 2], 'must be 0 (base), 1 (one level) or 2 (subtree)');

/** How each key's value is checked: type first, then its allowed values. */
const checks: Record<SettingKey, Check> = {
  auth_mode: (v) => {
    if (typeof v === 'string' && unsupportedModes.has(v)) fail(`${v} is not supported by Berth; use db_auth, ldap_auth or oidc_auth`);
    return oneOf(authModes, 'must be db_auth, ldap_auth or oidc_auth')(v);
  },
  primary_auth_mode: bool,

  ldap_url: ldapUrl,
  ldap_start_tls: bool,
  ldap_search_dn: text,
  ldap_search_password: text,
  ldap_base_dn: text,
  ldap_filter: text,
  ldap_uid: nonEmpty,
  ldap_scope: ldapScope,
  ldap_timeout: integer(1, 3600),
  ldap_verify_cert: bool,
  ldap_ca_cert: pemOrEmpty,
  ldap_group_base_dn: text,
  ldap_group_search_filter: text,
  ldap_group_attribute_name: text,
  ldap_group_search_scope: ldapScope,
  ldap_group_admin_dn: text,
  ldap_group_membership_attribute: text,
  ldap_group_attach_parallel: bool,

  oidc_name: text,
  oidc_endpoint: oidcEndpoint,
  oidc_client_id: text,
  oidc_client_secret: text,
  oidc_groups_claim: text,
  oidc_admin_group: text,
  oidc_group_filter: text,
  oidc_scope: oidcScope,
  oidc_user_claim: text,
  oidc_verify_cert: bool,
  oidc_auto_onboard: bool,
  oidc_extra_redirect_parms: jsonObjectOrEmpty('an object of parameter names to string values', true),
  oidc_logout: bool,

  self_registration: bool,
  project_creation_restriction: oneOf(['everyone', 'adminonly'], 'must be everyone or adminonly'),
  token_expiration: integer(1, maxDuration, ' (minutes)'),
  robot_token_duration: (v) => (v === -1 ? v : integer(1, maxDuration, ' (days), or -1 for never')(v)),
  robot_name_prefix: nonEmpty,
  storage_per_project: (v) => (v === -1 ? v : integer(1, 1024 ** 5, ' (bytes), or -1 for unlimited')(v)),
  quota_per_project_enable: bool,
  read_only: bool,
  notification_enable: bool,
  session_timeout: integer(1, maxDuration, ' (minutes)'),
  banner_message: jsonObjectOrEmpty('an object {message, type, closable, fromDate, toDate}', false),
  audit_log_forward_endpoint: syslogEndpoint,
  skip_audit_log_database: bool,
  disabled_audit_log_event_types: eventTypeList,
  scanner_skip_update_pulltime: bool,
};

/** The keys Berth knows. */
export function isSettingKey(key: string): key is SettingKey {
  return Object.hasOwn(checks, key);
}

/**
 * Checks a set of changes (PUT /configurations, the configuration file's `configurations`)
 * against `current`, the values they apply to. Returns the changes typed; throws a
 * SettingError naming the first key refused.
 */
export function validateSettings(input: Record<string, unknown>, current: SystemSettings): Partial<SystemSettings> {
  const changes: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    if (!isSettingKey(key)) {
      if (unsupportedKeys.test(key)) throw new SettingError(key, 'Berth does not support this authentication mode, nor its settings');
      throw new SettingError(key, 'not a configuration key Berth knows');
    }
    try {
      changes[key] = checks[key](value);
    } catch (err) {
      throw new SettingError(key, (err as Error).message);
    }
  }
  const next = { ...current, ...changes } as SystemSettings;
  if (
    ('skip_audit_log_database' in changes || 'audit_log_forward_endpoint' in changes) &&
    next.skip_audit_log_database &&
    next.audit_log_forward_endpoint === ''
  ) {
    throw new SettingError('skip_audit_log_database', 'needs audit_log_forward_endpoint: the audit records would be kept nowhere');
  }
  return changes as Partial<SystemSettings>;
}
