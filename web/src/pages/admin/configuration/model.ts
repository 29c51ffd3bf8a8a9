// The system settings as Harbor's /configurations serves them ({key: {value, editable}}), the
// form's draft of them, which keys changed, and what the form checks before sending.

export interface ConfigItem {
  value: unknown;
  editable: boolean;
}
export type Configurations = Record<string, ConfigItem | undefined>;
export type Value = string | number | boolean;
export type Draft = Record<string, Value>;
export type FieldErrors = Record<string, string>;

export const configurationsKey = ['configurations'];

/** Write-only: never answered by GET, sent only when something was typed. */
export const secretKeys = new Set(['ldap_search_password', 'oidc_client_secret']);

export const authModeLabels: Record<string, string> = { db_auth: 'Database', ldap_auth: 'LDAP', oidc_auth: 'OIDC' };

export const scopeOptions = [
  { value: '0', label: 'Base (the entry itself)' },
  { value: '1', label: 'One level' },
  { value: '2', label: 'Subtree' },
];

/** The keys each tab edits: its errors mark the tab, and its changes are the ones it counts. */
export const ldapKeys = [
  'ldap_url',
  'ldap_start_tls',
  'ldap_verify_cert',
  'ldap_ca_cert',
  'ldap_search_dn',
  'ldap_search_password',
  'ldap_base_dn',
  'ldap_filter',
  'ldap_uid',
  'ldap_scope',
  'ldap_timeout',
  'ldap_group_base_dn',
  'ldap_group_search_filter',
  'ldap_group_attribute_name',
  'ldap_group_admin_dn',
  'ldap_group_membership_attribute',
  'ldap_group_search_scope',
];
export const oidcKeys = [
  'oidc_name',
  'oidc_endpoint',
  'oidc_client_id',
  'oidc_client_secret',
  'oidc_groups_claim',
  'oidc_admin_group',
  'oidc_group_filter',
  'oidc_scope',
  'oidc_user_claim',
  'oidc_verify_cert',
  'oidc_auto_onboard',
  'oidc_extra_redirect_parms',
  'oidc_logout',
  'primary_auth_mode',
];
export const authKeys = ['auth_mode', 'self_registration', ...ldapKeys, ...oidcKeys];
export const systemKeys = [
  'project_creation_restriction',
  'token_expiration',
  'robot_token_duration',
  'robot_name_prefix',
  'storage_per_project',
  'read_only',
  'notification_enable',
  'session_timeout',
  'banner_message',
  'audit_log_forward_endpoint',
  'skip_audit_log_database',
  'disabled_audit_log_event_types',
  'scanner_skip_update_pulltime',
];

/** The banner as Harbor stores it in banner_message: JSON text; dates as MM/DD/YYYY. */
export interface Banner {
  message: string;
  type: 'info' | 'warning' | 'success' | 'danger';
  closable: boolean;
  fromDate: string;
  toDate: string;
}

export const bannerTypes: Banner['type'][] = ['info', 'warning', 'success', 'danger'];
export const bannerColors: Record<Banner['type'], string> = { info: 'blue', warning: 'yellow', success: 'green', danger: 'red' };

export function parseBanner(text: unknown): Banner {
  const empty: Banner = { message: '', type: 'info', closable: false, fromDate: '', toDate: '' };
  if (typeof text !== 'string' || text.trim() === '') return empty;
  try {
    const raw = JSON.parse(text) as Partial<Record<keyof Banner, unknown>>;
    return {
      message: typeof raw.message === 'string' ? raw.message : '',
      type: bannerTypes.includes(raw.type as Banner['type']) ? (raw.type as Banner['type']) : 'info',
      closable: raw.closable === true,
      fromDate: typeof raw.fromDate === 'string' ? raw.fromDate : '',
      toDate: typeof raw.toDate === 'string' ? raw.toDate : '',
    };
  } catch {
    // A plain string, as a hand-written setting may be.
    return { ...empty, message: text };
  }
}

/** '' when there is no message: nothing to show. */
export function serializeBanner(banner: Banner): string {
  if (banner.message.trim() === '') return '';
  const { message, type, closable, fromDate, toDate } = banner;
  return JSON.stringify({ message, type, closable, fromDate, toDate });
}

/** MM/DD/YYYY (Harbor's) ⇄ YYYY-MM-DD (a date input's). */
export function toInputDate(harbor: string): string {
  const m = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(harbor.trim());
  if (m) return `${m[3]}-${m[1]!.padStart(2, '0')}-${m[2]!.padStart(2, '0')}`;
  const d = harbor ? new Date(harbor) : null;
  return d && !Number.isNaN(d.getTime()) ? d.toISOString().slice(0, 10) : '';
}
export function fromInputDate(input: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(input);
  return m ? `${m[2]}/${m[3]}/${m[1]}` : '';
}

/** Midnight at the start of a banner date, local time; null when there is none. */
function dayStart(date: string): Date | null {
  const input = toInputDate(date);
  if (!input) return null;
  const [y, mo, d] = input.split('-').map(Number);
  return new Date(y!, mo! - 1, d!);
}

/** Whether `now` lies within the banner's days (from the start of fromDate to the end of toDate). */
export function bannerShowing(banner: Banner, now = new Date()): boolean {
  if (!banner.message.trim()) return false;
  const from = dayStart(banner.fromDate);
  const to = dayStart(banner.toDate);
  if (from && now < from) return false;
  if (to && now.getTime() >= to.getTime() + 24 * 3600 * 1000) return false;
  return true;
}

/** The form's values from the server's answer; secrets start empty, the banner normalised. */
export function draftOf(conf: Configurations | undefined): Draft {
  const draft: Draft = {};
  for (const [key, item] of Object.entries(conf ?? {})) {
    const value = item?.value;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') draft[key] = value;
  }
  for (const key of secretKeys) draft[key] = '';
  draft.banner_message = serializeBanner(parseBanner(draft.banner_message));
  return draft;
}

/** The keys whose value differs from the saved one, secrets only when typed. */
export function changesOf(saved: Draft, draft: Draft): Draft {
  const changes: Draft = {};
  for (const [key, value] of Object.entries(draft)) {
    if (secretKeys.has(key) ? value === '' : Object.is(value, saved[key])) continue;
    changes[key] = value;
  }
  return changes;
}

const text = (draft: Draft, key: string) => String(draft[key] ?? '').trim();

function whole(draft: Draft, key: string, min: number, what: string, errors: FieldErrors, allowNever = false): void {
  const value = draft[key];
  const n = typeof value === 'number' ? value : Number.NaN;
  if (allowNever && n === -1) return;
  if (!Number.isInteger(n) || n < min)
    errors[key] = `Enter a whole number of ${what}, at least ${min}${allowNever ? ' (or -1 for never)' : ''}.`;
}

function required(draft: Draft, key: string, message: string, errors: FieldErrors): boolean {
  if (text(draft, key) !== '') return true;
  errors[key] = message;
  return false;
}

/** What the form refuses before sending: required fields of the chosen mode, minimums, address schemes. */
export function validate(draft: Draft): FieldErrors {
  const errors: FieldErrors = {};
  if (draft.auth_mode === 'ldap_auth') {
    if (required(draft, 'ldap_url', 'Enter the LDAP server address.', errors) && !/^ldaps?:\/\/[^\s/]+\/?$/i.test(text(draft, 'ldap_url')))
      errors.ldap_url = 'Enter ldap://host[:port] or ldaps://host[:port].';
    if (draft.ldap_start_tls === true && /^ldaps:/i.test(text(draft, 'ldap_url')))
      errors.ldap_start_tls = 'StartTLS upgrades ldap:// connections; an ldaps:// address is encrypted already.';
    required(draft, 'ldap_base_dn', 'Enter the base DN to search users under.', errors);
    required(draft, 'ldap_uid', 'Enter the attribute holding the username (uid, cn, sAMAccountName).', errors);
    whole(draft, 'ldap_timeout', 1, 'seconds', errors);
    const ca = text(draft, 'ldap_ca_cert');
    if (ca && !ca.includes('-----BEGIN CERTIFICATE-----')) errors.ldap_ca_cert = 'Paste a PEM certificate (-----BEGIN CERTIFICATE-----).';
  }
  if (draft.auth_mode === 'oidc_auth') {
    required(draft, 'oidc_name', 'Enter the provider name shown on the sign-in page.', errors);
    if (
      required(draft, 'oidc_endpoint', 'Enter the provider address.', errors) &&
      !/^https?:\/\/[^\s/]+/i.test(text(draft, 'oidc_endpoint'))
    )
      errors.oidc_endpoint = 'Enter an https:// (or http://) address.';
    required(draft, 'oidc_client_id', 'Enter the client ID registered at the provider.', errors);
    const scopes = text(draft, 'oidc_scope')
      .split(',')
      .map((s) => s.trim());
    if (!scopes.includes('openid')) errors.oidc_scope = 'The scopes must include openid (comma-separated).';
    const extra = text(draft, 'oidc_extra_redirect_parms');
    if (extra) {
      let parsed: unknown = null;
      try {
        parsed = JSON.parse(extra);
      } catch {
        // reported below
      }
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
        errors.oidc_extra_redirect_parms = 'Enter a JSON object, such as {"prompt":"login"}.';
    }
  }
  whole(draft, 'token_expiration', 1, 'minutes', errors);
  whole(draft, 'robot_token_duration', 1, 'days', errors, true);
  whole(draft, 'session_timeout', 1, 'minutes', errors);
  if ('robot_name_prefix' in draft) required(draft, 'robot_name_prefix', 'Enter the prefix of robot account names.', errors);
  const storage = draft.storage_per_project;
  if (typeof storage === 'number' && storage !== -1 && !(storage > 0))
    errors.storage_per_project = 'Enter an amount above 0, or choose unlimited.';
  const endpoint = text(draft, 'audit_log_forward_endpoint');
  if (endpoint && !/^(tcp:\/\/)?[^\s:/]+:\d{1,5}$/i.test(endpoint))
    errors.audit_log_forward_endpoint = 'Enter host:port of the syslog server (TCP).';
  if (draft.skip_audit_log_database === true && !endpoint)
    errors.skip_audit_log_database = 'Records can skip the database only while they are forwarded: enter an endpoint first.';
  const banner = parseBanner(draft.banner_message);
  if (banner.fromDate && banner.toDate && toInputDate(banner.fromDate) > toInputDate(banner.toDate))
    errors.banner_message = 'The banner ends before it starts.';
  return errors;
}

/** The key a server's message names, to show the message under that field. */
export function keyNamedIn(message: string, keys: string[]): string | undefined {
  return [...keys].sort((a, b) => b.length - a.length).find((key) => message.includes(key));
}
