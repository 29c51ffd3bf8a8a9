import { apiError } from '../lib/errors.js';
import { allWebhookEventTypes, type NotifyType, type PayloadFormat, type WebhookEventType } from './types.js';

/** A webhook policy's fields as a client gives them (Harbor's WebhookPolicy), checked. */
export interface PolicyInput {
  name: string;
  description: string;
  enabled: boolean;
  eventTypes: WebhookEventType[];
  targets: TargetInput[];
}

/** One target as stored (Harbor's EventTarget plus payload_format). */
export interface TargetInput {
  type: NotifyType;
  address: string;
  auth_header: string;
  skip_cert_verify: boolean;
  /** Empty for slack targets, as Harbor stores them. */
  payload_format: PayloadFormat | '';
}

export const notifyTypes: readonly NotifyType[] = ['http', 'slack'];
export const payloadFormats: readonly PayloadFormat[] = ['Default', 'CloudEvents'];

const bad = (message: string) => apiError('BAD_REQUEST', message);

/**
 * Harbor's utils.ParseEndpoint and the handler's SSRF rule: trimmed, no trailing slash, http
 * assumed without a scheme, only http and https, then rebuilt from scheme, host and path (a query,
 * fragment or user info is dropped, as Harbor drops them).
 */
export function normaliseAddress(raw: string): string {
  const trimmed = raw.trim().replace(/\/+$/, '');
  if (trimmed === '') throw bad('empty URL');
  const at = trimmed.indexOf('://');
  if (at >= 0) {
    const scheme = trimmed.slice(0, at);
    if (scheme !== 'http' && scheme !== 'https') throw bad(`invalid scheme: ${scheme}`);
  }
  const withScheme = at >= 0 ? trimmed : `http://${trimmed}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw bad(`parse "${withScheme}": invalid URL`);
  }
  if (url.hostname === '') throw bad(`parse "${withScheme}": no host`);
  const path = url.pathname === '/' ? '' : url.pathname;
  return `${url.protocol}//${url.host}${path}`;
}

function text(body: Record<string, unknown>, key: string, max: number): string {
  const value = body[key];
  if (value === undefined || value === null) return '';
  if (typeof value !== 'string') throw bad(`${key} must be a string`);
  if (value.length > max) throw bad(`${key} is longer than ${max} characters`);
  return value;
}

/**
 * Checks a policy body as Harbor's handler does (validateEventTypes, then validateTargets, with
 * its messages); Berth also requires a name, which Harbor's portal always sends. `forTest`
 * (the test send) needs only targets.
 */
export function parsePolicy(body: Record<string, unknown>, options: { forTest?: boolean } = {}): PolicyInput {
  const name = text(body, 'name', 255).trim();
  if (!options.forTest && name === '') throw bad('name is required');
  const description = text(body, 'description', 1024);
  if (body.enabled !== undefined && typeof body.enabled !== 'boolean') throw bad('enabled must be true or false');
  const enabled = body.enabled !== false;

  const rawTypes = body.event_types ?? [];
  if (!Array.isArray(rawTypes)) throw bad('event_types must be a list of event types');
  if (rawTypes.length === 0 && !options.forTest) throw bad('empty event type');
  const eventTypes: WebhookEventType[] = [];
  for (const t of rawTypes) {
    if (typeof t !== 'string' || !allWebhookEventTypes.includes(t as WebhookEventType)) throw bad(`unsupported event type ${String(t)}`);
    if (!eventTypes.includes(t as WebhookEventType)) eventTypes.push(t as WebhookEventType);
  }

  const rawTargets = body.targets ?? [];
  if (!Array.isArray(rawTargets)) throw bad('targets must be a list of targets');
  if (rawTargets.length === 0) throw bad(`empty notification target with policy ${name}`);
  if (rawTargets.length > 20) throw bad('a policy has at most 20 targets');
  const targets = rawTargets.map((raw): TargetInput => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad('each target must be an object');
    const t = raw as Record<string, unknown>;
    const address = normaliseAddress(text(t, 'address', 2048));
    const type = text(t, 'type', 32);
    if (!notifyTypes.includes(type as NotifyType)) throw bad(`unsupported target type ${type} with policy ${name}`);
    const format = text(t, 'payload_format', 32);
    if (format !== '' && type === 'slack') throw bad('set payload format is not allowed for slack');
    if (format !== '' && !payloadFormats.includes(format as PayloadFormat)) throw bad(`unsupported payload format type: ${format}`);
    if (t.skip_cert_verify !== undefined && typeof t.skip_cert_verify !== 'boolean') throw bad('skip_cert_verify must be true or false');
    return {
      type: type as NotifyType,
      address,
      auth_header: text(t, 'auth_header', 4096),
      skip_cert_verify: t.skip_cert_verify === true,
      payload_format: type === 'http' ? ((format || 'Default') as PayloadFormat) : '',
    };
  });
  return { name, description, enabled, eventTypes, targets };
}
