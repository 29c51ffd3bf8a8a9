import { arrayOf, bool, int, object, pathParams, ref, str, type JsonSchema, type SharedSchema } from '../http/schema-helpers.js';
import { projectNameOrId } from '../projects/schemas.js';

/** Harbor's webhook definitions (documentation: route schemas neither validate nor serialise). */

const open = (description: string): JsonSchema => ({ type: 'object', description, additionalProperties: true });

export const WebhookTargetObject: SharedSchema = {
  $id: 'WebhookTargetObject',
  description: 'Where and how a policy delivers',
  ...object({
    type: str('http or slack'),
    address: str('http(s) URL; kept as scheme://host/path (a query or user info is dropped, as Harbor does)'),
    auth_header: str("Sent as the request's Authorization header"),
    skip_cert_verify: bool('Do not verify the receiver’s TLS certificate'),
    payload_format: str('http targets: Default (the default) or CloudEvents; not allowed for slack'),
  }),
};

export const WebhookPolicy: SharedSchema = {
  $id: 'WebhookPolicy',
  description: "A project's webhook policy",
  ...object({
    id: int('Policy id'),
    name: str('Unique in the project (required)'),
    description: str('Description'),
    project_id: int('The project (taken from the path)'),
    targets: arrayOf(ref('WebhookTargetObject'), 'At least one target'),
    event_types: arrayOf(str('An event type, such as PUSH_ARTIFACT'), 'At least one event type'),
    creator: str('Who created it'),
    creation_time: str('Creation time'),
    update_time: str('Last update time'),
    enabled: bool('Disabled policies deliver nothing'),
  }),
};

export const WebhookLastTrigger: SharedSchema = {
  $id: 'WebhookLastTrigger',
  description: 'A policy and event type, and when that event type last made a delivery',
  ...object({
    policy_name: str('The policy'),
    event_type: str('The event type'),
    enabled: bool('Whether the policy is enabled'),
    creation_time: str("The policy's creation time"),
    last_trigger_time: str('When an event of this type last made an execution (absent: never)'),
  }),
};

export const SupportedWebhookEventTypes: SharedSchema = {
  $id: 'SupportedWebhookEventTypes',
  description: 'Event types, notify types and payload formats a policy may choose',
  ...object({
    event_type: arrayOf(str('Event type')),
    notify_type: arrayOf(str('Notify type')),
    payload_formats: arrayOf(object({ notify_type: str('Notify type'), formats: arrayOf(str('Payload format')) })),
  }),
};

export const WebhookExecution: SharedSchema = {
  $id: 'WebhookExecution',
  description: "One event handed to one policy (Harbor's Execution; vendor_type WEBHOOK, trigger EVENT)",
  ...object({
    id: int('Execution id'),
    vendor_type: str('WEBHOOK'),
    vendor_id: int('The policy id'),
    status: str('Running while a delivery is pending, then Success or Error'),
    status_message: str('Why it failed'),
    metrics: open('Task counts by status'),
    trigger: str('EVENT'),
    extra_attrs: open('event_type, event_id, payload (the first target’s rendered body)'),
    start_time: str('When the event was handed over'),
    end_time: str('When its last delivery ended'),
  }),
};

export const WebhookTask: SharedSchema = {
  $id: 'WebhookTask',
  description: "One delivery to one target (Harbor's Task)",
  ...object({
    id: int('Task id'),
    execution_id: int('Execution id'),
    status: str('Pending (queued or waiting to retry), Running, Success or Error'),
    status_message: str('The last failure and the next retry'),
    run_count: int('Attempts so far'),
    extra_attrs: open(
      'event_type, address, notify_type, payload_format, delivery_id (CloudEvents id / X-Berth-Delivery-Id), status_code (last HTTP status, 0: no answer), duration_ms, response (first KiB), payload (the body sent)',
    ),
    creation_time: str('Creation time'),
    update_time: str('Last update time'),
    start_time: str('First attempt'),
    end_time: str('When it ended'),
  }),
};

export const WebhookJob: SharedSchema = {
  $id: 'WebhookJob',
  description: "Harbor's deprecated webhook job: a task",
  ...object({
    id: int('Task id'),
    policy_id: int('Policy id'),
    event_type: str('Event type'),
    notify_type: str('http or slack'),
    status: str('Task status'),
    job_detail: str('The body sent'),
    creation_time: str('Creation time'),
    update_time: str('Last update time'),
  }),
};

export const webhookSchemas = [
  WebhookTargetObject,
  WebhookPolicy,
  WebhookLastTrigger,
  SupportedWebhookEventTypes,
  WebhookExecution,
  WebhookTask,
  WebhookJob,
];

const policyId = { webhook_policy_id: int('Id of the webhook policy', { minimum: 1 }) };
const executionId = { execution_id: int('Id of the execution', { minimum: 1 }) };
export const policyParams = pathParams({ ...projectNameOrId, ...policyId });
export const executionParams = pathParams({ ...projectNameOrId, ...policyId, ...executionId });
export const taskParams = pathParams({ ...projectNameOrId, ...policyId, ...executionId, task_id: int('Id of the task', { minimum: 1 }) });
