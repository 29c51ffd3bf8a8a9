import { arrayOf, bool, dateTime, int, object, ref, str, type SharedSchema } from '../../http/schema-helpers.js';

/** Harbor's replication policy definitions (documentation; fields and types from Harbor's swagger). */

const registryObject = (description: string) => ({
  type: 'object',
  description: `${description}: Harbor's Registry object (see /registries); this Berth itself is the "Local" registry with id 0`,
  additionalProperties: true,
});

export const ReplicationFilter: SharedSchema = {
  $id: 'ReplicationFilter',
  description:
    'A filter: name (doublestar on the repository), tag (doublestar), label (a list of label names) or resource (image or artifact)',
  ...object({
    type: str('name, tag, label or resource'),
    value: { description: 'A string for name, tag and resource filters; a list of label names for label filters' },
    decoration: str('matches (default) or excludes; tag and label filters only'),
  }),
};

export const ReplicationTriggerSettings: SharedSchema = {
  $id: 'ReplicationTriggerSettings',
  description: 'Settings of a scheduled trigger',
  ...object({ cron: str('Six-field cron (seconds first, and 0), evaluated in UTC, e.g. "0 0 2 * * *"') }),
};

export const ReplicationTrigger: SharedSchema = {
  $id: 'ReplicationTrigger',
  description: 'When the policy runs',
  ...object({
    type: str('manual, scheduled or event_based (on push and delete in this Berth)'),
    trigger_settings: ref('ReplicationTriggerSettings'),
  }),
};

export const ReplicationPolicy: SharedSchema = {
  $id: 'ReplicationPolicy',
  description: 'A replication policy: this Berth on one side, a registry endpoint on the other',
  ...object({
    id: int('Id of the policy'),
    name: str('Unique name'),
    description: str('Description'),
    src_registry: registryObject('The source (absent, null or {"id":0}: this Berth, push-based)'),
    dest_registry: registryObject('The destination (absent, null or {"id":0}: this Berth, pull-based)'),
    dest_namespace: str('Destination namespace (empty: the source path)'),
    dest_namespace_replace_count: int('How many leading path components dest_namespace replaces: -1 (default) all but the last, 0 none'),
    trigger: ref('ReplicationTrigger'),
    filters: arrayOf(ref('ReplicationFilter')),
    replicate_deletion: bool('Replicate deletions (event-based policies)'),
    deletion: bool('Deprecated spelling of replicate_deletion'),
    override: bool('Overwrite a destination tag that points at another digest'),
    enabled: bool('Whether the policy runs (a disabled policy cannot be started: 412)'),
    creation_time: dateTime('When it was created'),
    update_time: dateTime('When it last changed'),
    speed: int('Bandwidth limit per task in KB/s; 0 or negative: unlimited'),
    copy_by_chunk: bool('Upload blobs in chunks'),
    single_active_replication: bool('Skip an execution while another of this policy runs (not with event_based)'),
  }),
};

export const replicationPolicySchemas = [ReplicationFilter, ReplicationTriggerSettings, ReplicationTrigger, ReplicationPolicy];
