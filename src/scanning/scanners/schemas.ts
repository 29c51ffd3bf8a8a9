import { arrayOf, bool, dateTime, object, str, ref, type SharedSchema } from '../../http/schema-helpers.js';

/** The scanner API's definitions, in Harbor's names (documentation only: see server/openapi.ts). */

const registrationFields = {
  name: str('Unique name of the registration'),
  description: str('What the scanner is'),
  url: str('Base URL of the scanner adapter; its API is under <url>/api/v1', { format: 'uri' }),
  auth: str(
    'How Berth authenticates to the adapter: "" (none), Basic (access_credential is user:password), Bearer, or APIKey (sent in X-ScannerAdapter-API-Key)',
    {
      enum: ['', 'Basic', 'Bearer', 'APIKey'],
    },
  ),
  skip_certVerify: bool("Do not verify the adapter's TLS certificate"),
  use_internal_addr: bool('Give the adapter the internal registry address to pull from (Berth has one address: ignored)'),
  disabled: bool('A disabled registration is not used'),
};

export const ScannerRegistration: SharedSchema = {
  $id: 'ScannerRegistration',
  description: 'A registered scanner adapter. The access credential is never answered.',
  ...object({
    uuid: str('Identifier of the registration'),
    ...registrationFields,
    is_default: bool('The system default scanner'),
    create_time: dateTime('When it was registered'),
    update_time: dateTime('When it last changed'),
    immutable: bool("Berth: the built-in scanner's registration, which cannot be edited or deleted"),
    adapter: str("The adapter's scanner name (from its metadata)"),
    vendor: str("The adapter's vendor (from its metadata)"),
    version: str("The adapter's version (from its metadata)"),
    health: str('healthy when the adapter answered its metadata, else unhealthy'),
    capabilities: {
      type: 'object',
      description: 'support_vulnerability and support_sbom, from the metadata',
      additionalProperties: { type: 'boolean' },
    },
  }),
};

export const ScannerRegistrationReq: SharedSchema = {
  $id: 'ScannerRegistrationReq',
  description:
    'A registration to create or the new values of one (on update an empty access_credential keeps the stored one while auth needs one).',
  ...object({ ...registrationFields, access_credential: str('The credential auth uses; never answered') }, ['name', 'url']),
};

export const ScannerRegistrationSettings: SharedSchema = {
  $id: 'ScannerRegistrationSettings',
  description: 'Settings to test with a ping.',
  ...object(
    {
      name: registrationFields.name,
      url: registrationFields.url,
      auth: registrationFields.auth,
      access_credential: str('The credential auth uses'),
    },
    ['name', 'url'],
  ),
};

export const ScannerCapability: SharedSchema = {
  $id: 'ScannerCapability',
  description: 'What the adapter consumes and produces for one scan type.',
  ...object({
    type: str('vulnerability or sbom'),
    consumes_mime_types: arrayOf(str('An artifact manifest media type')),
    produces_mime_types: arrayOf(str('A report MIME type')),
    additional_attributes: {
      type: 'object',
      description: "As the adapter sent it (Harbor's API leaves it out): for sbom, the sbom_media_types it writes",
      additionalProperties: true,
    },
  }),
};

export const ScannerAdapterMetadata: SharedSchema = {
  $id: 'ScannerAdapterMetadata',
  description: "The adapter's metadata (GET <url>/api/v1/metadata).",
  ...object({
    scanner: object({ name: str('Scanner name'), vendor: str('Vendor'), version: str('Version') }),
    capabilities: arrayOf(ref('ScannerCapability')),
    properties: {
      type: 'object',
      description: 'Free properties, e.g. harbor.scanner-adapter/vulnerability-database-updated-at',
      additionalProperties: { type: 'string' },
    },
  }),
};

export const ScannerAdapterAccess: SharedSchema = {
  $id: 'ScannerAdapterAccess',
  description: "How another registry reaches Berth's built-in scanner through the Pluggable Scanner API (Berth's own).",
  ...object({
    url: str('The URL to register (the adapter API is under <url>/api/v1)'),
    auth: str('The auth to register: APIKey (or Bearer with the same key)'),
    api_key: str('The access credential to register'),
    api_key_source: str('configuration (scanning.adapter.api_key) or generated (kept in the database)'),
    basic_auth: bool("Whether a system administrator's Basic credentials are accepted too"),
    enabled: bool('Whether the adapter API is served'),
  }),
};

export const scannerSchemas = [
  ScannerCapability,
  ScannerRegistration,
  ScannerRegistrationReq,
  ScannerRegistrationSettings,
  ScannerAdapterMetadata,
  ScannerAdapterAccess,
];
