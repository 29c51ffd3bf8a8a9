import { bool, object, type SharedSchema } from '../http/schema-helpers.js';

/** The /configurations definitions, in Harbor's names (documentation only: see server/openapi.ts). */

export const ConfigurationValue: SharedSchema = {
  $id: 'ConfigurationValue',
  description: 'One setting: its value and whether PUT /configurations may change it',
  ...object({ value: { description: 'The value: a string, number or boolean' }, editable: bool('Whether the setting may be changed now') }),
};

export const ConfigurationsResponse: SharedSchema = {
  $id: 'ConfigurationsResponse',
  description:
    'Every system setting under its Harbor key, as {value, editable}. Secrets (ldap_search_password, oidc_client_secret) are never returned.',
  type: 'object',
  additionalProperties: { $ref: 'ConfigurationValue#' },
};

export const Configurations: SharedSchema = {
  $id: 'Configurations',
  description:
    'Some system settings to change, under their Harbor keys (see docs/AUTHENTICATION.md). A key left out keeps its value; an unknown key or a bad value is refused with 400 and nothing changes.',
  type: 'object',
  additionalProperties: true,
};

export const configurationSchemas = [ConfigurationValue, ConfigurationsResponse, Configurations];
