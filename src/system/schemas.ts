import { arrayOf, bool, dateTime, int, object, ref, str, type SharedSchema } from '../http/schema-helpers.js';

/** The system API's definitions, in Harbor's names (documentation only: see server/openapi.ts). */

const health = (description: string) => str(description, { enum: ['healthy', 'unhealthy'] });

export const ComponentHealthStatus: SharedSchema = {
  $id: 'ComponentHealthStatus',
  description: 'The health of one component',
  ...object({
    name: str('The component: core, database or storage'),
    status: health('Whether the component works'),
    error: str('Why the component is unhealthy'),
  }),
};

export const OverallHealthStatus: SharedSchema = {
  $id: 'OverallHealthStatus',
  description: 'The health of Berth: healthy only when every component is',
  ...object({ status: health('healthy when every component is'), components: arrayOf(ref('ComponentHealthStatus')) }),
};

export const GeneralInfo: SharedSchema = {
  $id: 'GeneralInfo',
  description:
    'Facts about this registry. Anonymous callers get only what a sign-in page needs; the fields from registry_url on need a signed-in caller. The settings among them (auth_mode, self_registration, banner_message, read_only, …) are those of /configurations.',
  ...object({
    auth_mode: str("How users authenticate: db_auth (accounts in Berth's database), ldap_auth or oidc_auth"),
    primary_auth_mode: bool('Whether the authentication mode is the primary one'),
    self_registration: bool('Whether anyone may create an account for themself'),
    harbor_version: str('The version of the server, such as berth-0.1.0'),
    banner_message: str('A message to show on every page of the portal; empty for none'),
    current_time: dateTime("The server's current time"),
    oidc_provider_name: str('The name of the OIDC provider; only while the authentication mode is oidc_auth'),
    registry_url: str('Host (and port) to push to and pull from'),
    external_url: str('Base URL of the registry'),
    project_creation_restriction: str('Who may create projects', { enum: ['everyone', 'adminonly'] }),
    has_ca_root: bool('Whether a CA certificate can be downloaded'),
    registry_storage_provider_name: str('Where blobs are stored, such as filesystem or s3'),
    read_only: bool('Whether the registry refuses changes'),
    notification_enable: bool('Whether webhooks are enabled'),
  }),
};

export const Storage: SharedSchema = {
  $id: 'Storage',
  description: 'Size of one volume, in bytes',
  ...object({ total: int('Size of the volume'), free: int('Space left for the registry to write') }),
};

export const SystemInfo: SharedSchema = {
  $id: 'SystemInfo',
  description: 'The volumes the registry stores blobs on (empty when blobs are not on a local disk)',
  ...object({ storage: arrayOf(ref('Storage')) }),
};

export const systemSchemas = [ComponentHealthStatus, OverallHealthStatus, GeneralInfo, Storage, SystemInfo];
