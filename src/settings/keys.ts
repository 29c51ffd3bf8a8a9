import type { Config } from '../config/schema.js';

/** Harbor's authentication modes that Berth implements. */
export const authModes = ['db_auth', 'ldap_auth', 'oidc_auth'] as const;
export type AuthMode = (typeof authModes)[number];

/** LDAP search scopes, Harbor's numbers: 0 base, 1 one level, 2 subtree. */
export type LdapScope = 0 | 1 | 2;

/**
 * Every system setting, under Harbor's /configurations key. Values come from the database
 * (PUT /configurations) when set there, else from the configuration file, else the default.
 */
export interface SystemSettings {
  auth_mode: AuthMode;
  primary_auth_mode: boolean;

  ldap_url: string;
  /** Berth extension: upgrade an ldap:// connection with StartTLS before binding. */
  ldap_start_tls: boolean;
  ldap_search_dn: string;
  /** Secret: never returned by GET /configurations. */
  ldap_search_password: string;
  ldap_base_dn: string;
  ldap_filter: string;
  ldap_uid: string;
  ldap_scope: LdapScope;
  ldap_timeout: number;
  ldap_verify_cert: boolean;
  /** Berth extension: PEM of a CA to trust for ldaps:// and StartTLS besides the system's. */
  ldap_ca_cert: string;
  ldap_group_base_dn: string;
  ldap_group_search_filter: string;
  ldap_group_attribute_name: string;
  ldap_group_search_scope: LdapScope;
  ldap_group_admin_dn: string;
  ldap_group_membership_attribute: string;
  ldap_group_attach_parallel: boolean;

  oidc_name: string;
  oidc_endpoint: string;
  oidc_client_id: string;
  /** Secret: never returned by GET /configurations. */
  oidc_client_secret: string;
  oidc_groups_claim: string;
  oidc_admin_group: string;
  oidc_group_filter: string;
  /** Comma-separated, must include openid. */
  oidc_scope: string;
  oidc_user_claim: string;
  oidc_verify_cert: boolean;
  oidc_auto_onboard: boolean;
  /** JSON object of extra parameters for the authorization request. */
  oidc_extra_redirect_parms: string;
  oidc_logout: boolean;

  self_registration: boolean;
  project_creation_restriction: 'everyone' | 'adminonly';
  /** Registry token lifetime, minutes. */
  token_expiration: number;
  /** Default robot lifetime, days; -1 never expires. */
  robot_token_duration: number;
  robot_name_prefix: string;
  /** Default storage limit of new projects, bytes; -1 unlimited. */
  storage_per_project: number;
  quota_per_project_enable: boolean;
  read_only: boolean;
  notification_enable: boolean;
  /** Portal session timeout, minutes. */
  session_timeout: number;
  /** JSON text {message, type, closable, fromDate, toDate} shown by the portal; '' for none. */
  banner_message: string;
  audit_log_forward_endpoint: string;
  skip_audit_log_database: boolean;
  /** Comma-separated audit event types not written to the database. */
  disabled_audit_log_event_types: string;
  scanner_skip_update_pulltime: boolean;
}

export type SettingKey = keyof SystemSettings;

/** Keys whose values are write-only. */
export const secretKeys: ReadonlySet<SettingKey> = new Set<SettingKey>(['ldap_search_password', 'oidc_client_secret']);

/**
 * Berth's defaults, with the configuration file's older keys for the same settings
 * (auth.*, quota.*, webhooks.enabled, audit.*); settings/file.ts adds its `configurations` map.
 */
export function defaultSettings(config: Config): SystemSettings {
  return {
    auth_mode: 'db_auth',
    primary_auth_mode: false,

    ldap_url: '',
    ldap_start_tls: false,
    ldap_search_dn: '',
    ldap_search_password: '',
    ldap_base_dn: '',
    ldap_filter: '',
    ldap_uid: 'cn',
    ldap_scope: 2,
    ldap_timeout: 5,
    ldap_verify_cert: true,
    ldap_ca_cert: '',
    ldap_group_base_dn: '',
    ldap_group_search_filter: '',
    ldap_group_attribute_name: 'cn',
    ldap_group_search_scope: 2,
    ldap_group_admin_dn: '',
    ldap_group_membership_attribute: 'memberof',
    ldap_group_attach_parallel: false,

    oidc_name: '',
    oidc_endpoint: '',
    oidc_client_id: '',
    oidc_client_secret: '',
    oidc_groups_claim: '',
    oidc_admin_group: '',
    oidc_group_filter: '',
    oidc_scope: 'openid,offline_access',
    oidc_user_claim: '',
    oidc_verify_cert: true,
    oidc_auto_onboard: false,
    oidc_extra_redirect_parms: '',
    oidc_logout: false,

    self_registration: config.auth.self_registration,
    project_creation_restriction: config.auth.project_creation_restriction,
    token_expiration: config.auth.token_lifetime_minutes,
    robot_token_duration: config.auth.robot_token_duration_days,
    robot_name_prefix: config.auth.robot_name_prefix,
    storage_per_project: config.quota.storage_per_project,
    quota_per_project_enable: true,
    read_only: false,
    notification_enable: config.webhooks.enabled,
    session_timeout: config.auth.session_timeout_minutes,
    banner_message: '',
    audit_log_forward_endpoint: config.audit.forward_endpoint,
    skip_audit_log_database: config.audit.skip_database,
    disabled_audit_log_event_types: '',
    scanner_skip_update_pulltime: false,
  };
}
