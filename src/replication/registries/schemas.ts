import { arrayOf, bool, dateTime, int, object, ref, str, type SharedSchema } from '../../http/schema-helpers.js';

/** The /registries definitions, in Harbor's names (documentation only: see server/openapi.ts). */

const credentialType = str('Credential type: basic (user name and password), oauth or secret', { enum: ['basic', 'oauth', 'secret'] });

export const RegistryCredential: SharedSchema = {
  $id: 'RegistryCredential',
  description: 'The credential Berth uses with the registry. The secret is stored sealed (AES-256-GCM) and answered as "*****".',
  ...object({
    type: credentialType,
    access_key: str('Access key, e.g. the user name for basic'),
    access_secret: str('Access secret, e.g. the password for basic; answered as "*****" when one is stored'),
  }),
};

export const Registry: SharedSchema = {
  $id: 'Registry',
  description: 'A registry endpoint: another registry replication copies from or to, or a proxy-cache project mirrors.',
  ...object({
    id: int('The registry ID'),
    url: str('Base URL of the registry (scheme://host[:port][/path])'),
    name: str('Unique name, at most 64 characters'),
    credential: ref('RegistryCredential'),
    type: str("Adapter type, e.g. 'harbor', 'docker-registry', 'docker-hub' (see /replication/adapters)"),
    insecure: bool("Do not verify the registry's TLS certificate"),
    ca_certificate: str("PEM-encoded CA certificate(s) trusted for the registry's TLS certificate, besides the system's"),
    description: str('Description of the registry'),
    status: str('healthy or unhealthy: the outcome of the last ping (on save, on a ping of the stored registry, every 5 minutes)'),
    creation_time: dateTime('When it was created'),
    update_time: dateTime('When it last changed'),
  }),
};

const nullableFields = {
  credential_type: credentialType,
  access_key: str('The registry access key'),
  access_secret: str('The registry access secret ("*****" or absent keeps the stored one)'),
  insecure: bool("Do not verify the registry's TLS certificate"),
  ca_certificate: str('PEM-encoded CA certificate(s); "" removes them'),
};

export const RegistryUpdate: SharedSchema = {
  $id: 'RegistryUpdate',
  description:
    'New values for a registry; absent or null fields keep theirs. A new url without a new access_secret drops the stored secret. The result must answer a ping.',
  ...object({
    name: str('The registry name'),
    description: str('Description of the registry'),
    url: str('The registry URL'),
    ...nullableFields,
  }),
};

export const RegistryPing: SharedSchema = {
  $id: 'RegistryPing',
  description:
    'Settings to test: a stored registry by id (its url, insecure and ca_certificate are used; type and credential may be overridden), or type and url with an optional credential.',
  ...object({
    id: int('A stored registry to ping'),
    type: str('Adapter type'),
    url: str('The registry URL'),
    ...nullableFields,
  }),
};

export const FilterStyle: SharedSchema = {
  $id: 'FilterStyle',
  description: 'A replication filter the registry supports, and how a form shows it.',
  ...object({
    type: str('name, tag, label or resource'),
    style: str('input, radio or list'),
    values: arrayOf(str('A value to choose from')),
  }),
};

export const RegistryInfo: SharedSchema = {
  $id: 'RegistryInfo',
  description: 'What the registry supports as a replication source or destination.',
  ...object({
    type: str('The adapter type'),
    description: str('The description'),
    supported_resource_filters: arrayOf(ref('FilterStyle')),
    supported_triggers: arrayOf(str('manual, scheduled or event_based (event_based: only registry 0, Berth itself)')),
    supported_copy_by_chunk: bool('Whether blobs can be copied in chunks (present only when true)'),
  }),
};

export const RegistryProviderInfo: SharedSchema = {
  $id: 'RegistryProviderInfo',
  description: "An adapter's endpoint and credential patterns (how a form asks for them).",
  ...object({
    endpoint_pattern: object({
      endpoint_type: str('EndpointPatternTypeStandard, EndpointPatternTypeFix or EndpointPatternTypeList'),
      endpoints: arrayOf(object({ key: str('The endpoint key'), value: str('The endpoint URL') })),
    }),
    credential_pattern: object({
      access_key_type: str('The access key type'),
      access_key_data: str('The access key data'),
      access_secret_type: str('The access secret type'),
      access_secret_data: str('The access secret data'),
    }),
  }),
};

export const registrySchemas = [
  RegistryCredential,
  Registry,
  RegistryUpdate,
  RegistryPing,
  FilterStyle,
  RegistryInfo,
  RegistryProviderInfo,
];
