import { webhookEventTypes, type RenderContext, type RenderedDelivery } from '../types.js';
import { harborPayload } from './harbor-payload.js';

/** Harbor's CloudEvents types (src/pkg/notifier/formats/cloudevents.go). */
export const cloudEventTypes: Record<string, string> = {
  [webhookEventTypes.deleteArtifact]: 'harbor.artifact.deleted',
  [webhookEventTypes.pullArtifact]: 'harbor.artifact.pulled',
  [webhookEventTypes.pushArtifact]: 'harbor.artifact.pushed',
  [webhookEventTypes.quotaExceed]: 'harbor.quota.exceeded',
  [webhookEventTypes.quotaWarning]: 'harbor.quota.warned',
  [webhookEventTypes.replication]: 'harbor.replication.status.changed',
  [webhookEventTypes.scanningFailed]: 'harbor.scan.failed',
  [webhookEventTypes.scanningCompleted]: 'harbor.scan.completed',
  [webhookEventTypes.scanningStopped]: 'harbor.scan.stopped',
  [webhookEventTypes.tagRetention]: 'harbor.tag_retention.finished',
};

/**
 * CloudEvents 1.0 in structured mode, as Harbor 2.8+ sends it: the event_data of the Default
 * payload as `data`, Harbor's `operator` and `requestid` extensions, attributes in the order
 * the CloudEvents Go SDK writes them. The id is the delivery's, the same on every attempt.
 */
export function renderCloudEvents(ctx: RenderContext): RenderedDelivery {
  const type = cloudEventTypes[ctx.event.type];
  if (!type) throw new Error(`no CloudEvents type for event type ${ctx.event.type}`);
  const payload = harborPayload(ctx);
  const event = {
    specversion: '1.0',
    id: ctx.deliveryId,
    source: `/projects/${ctx.project.id}/webhook/policies/${ctx.policy.id}`,
    type,
    datacontenttype: 'application/json',
    time: new Date(payload.occur_at * 1000).toISOString().replace('.000Z', 'Z'),
    data: payload.event_data,
    operator: payload.operator,
    // Harbor puts the triggering request's X-Request-Id here; Berth has none, and names the
    // outbox event instead, so the deliveries of one event to several targets can be matched.
    requestid: typeof ctx.event.payload?.request_id === 'string' ? ctx.event.payload.request_id : String(ctx.event.id),
  };
  return {
    body: JSON.stringify(event),
    headers: { 'Content-Type': 'application/cloudevents+json', 'X-Berth-Delivery-Id': ctx.deliveryId },
  };
}
