import { allWebhookEventTypes, webhookEventTypes, type RenderContext, type RenderedDelivery, type WebhookEventType } from '../types.js';
import { renderCloudEvents } from './cloudevents.js';
import { renderDefault } from './default.js';
import { renderSlack } from './slack.js';

/**
 * Renders one delivery of an outbox event for one target: Slack targets get Harbor's Slack
 * message, http targets the Default or CloudEvents format. Pure and deterministic (same context,
 * same bytes), so the body is rendered once and stored; every attempt sends it unchanged.
 * Throws for an event type that is not a webhook event type.
 */
export function renderDelivery(ctx: RenderContext): RenderedDelivery {
  if (!allWebhookEventTypes.includes(ctx.event.type as WebhookEventType)) throw new Error(`not a webhook event type: ${ctx.event.type}`);
  if (ctx.target.type === 'slack') return renderSlack(ctx);
  return ctx.target.payloadFormat === 'CloudEvents' ? renderCloudEvents(ctx) : renderDefault(ctx);
}

/**
 * Why Harbor sends no webhook for this event, or null when it does: a tag retention run that
 * was a dry run or deleted nothing (Harbor's RetentionHandler returns before any policy).
 */
export function webhookSkipReason(event: { type: string; payload: any }): string | null {
  if (event.type === webhookEventTypes.tagRetention) {
    if (event.payload?.dry_run) return 'a dry run of tag retention is not notified';
    if (!Array.isArray(event.payload?.deleted) || event.payload.deleted.length === 0) return 'tag retention deleted nothing';
  }
  return null;
}

export { cloudEventTypes } from './cloudevents.js';
