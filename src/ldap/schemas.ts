import { arrayOf, bool, int, object, str, type SharedSchema } from '../http/schema-helpers.js';

/** Harbor's LDAP definitions (documentation only: see server/openapi.ts). */

export const LdapConf: SharedSchema = {
  $id: 'LdapConf',
  description: 'LDAP settings to try instead of the stored ones (each one given replaces the stored value)',
  ...object({
    ldap_url: str('ldap://host:port or ldaps://host:port'),
    ldap_search_dn: str('DN to bind as for searches; empty for an anonymous search'),
    ldap_search_password: str("The search DN's password; empty or absent uses the stored one"),
    ldap_base_dn: str('Where users are searched'),
    ldap_filter: str('Filter every user must match, such as (objectClass=person)'),
    ldap_uid: str('Attribute holding the username (uid, sAMAccountName, …)'),
    ldap_scope: int('0 base, 1 one level, 2 subtree', { enum: [0, 1, 2] }),
    ldap_connection_timeout: int('Seconds to wait for the directory'),
    ldap_verify_cert: bool("Verify the directory's TLS certificate"),
    ldap_start_tls: bool('Berth extension: upgrade an ldap:// connection with StartTLS'),
    ldap_ca_cert: str('Berth extension: PEM of a CA to trust besides the system ones'),
  }),
};

export const LdapPingResult: SharedSchema = {
  $id: 'LdapPingResult',
  description: 'Whether Berth could connect and bind with the settings, and what happened',
  ...object({ success: bool('Connected, bound and found the base DN'), message: str('What happened, or what went wrong') }),
};

export const LdapUser: SharedSchema = {
  $id: 'LdapUser',
  description: 'A person in the directory',
  ...object({
    username: str('The ldap_uid attribute'),
    realname: str('displayName, else cn'),
    email: str('mail (or email)'),
  }),
};

export const LdapImportUsers: SharedSchema = {
  $id: 'LdapImportUsers',
  description: 'Users to onboard from the directory',
  ...object({ ldap_uid_list: arrayOf(str('A username (ldap_uid value)')) }, ['ldap_uid_list']),
};

export const LdapFailedImportUser: SharedSchema = {
  $id: 'LdapFailedImportUser',
  description: 'A uid that could not be imported',
  ...object({ uid: str('The uid as given'), error: str('empty_uid, unknown_user, failed_search_user or "failed to import user: <uid>"') }),
};

export const ldapSchemas = [LdapConf, LdapPingResult, LdapUser, LdapImportUsers, LdapFailedImportUser];
