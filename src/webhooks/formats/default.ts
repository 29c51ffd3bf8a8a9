import type { RenderContext, RenderedDelivery } from '../types.js';
import { harborPayload } from './harbor-payload.js';

/** Harbor's Default format: its notification payload as JSON (src/pkg/notifier/formats/default.go). */
export function renderDefault(ctx: RenderContext): RenderedDelivery {
  return {
    body: JSON.stringify(harborPayload(ctx)),
    headers: { 'Content-Type': 'application/json', 'X-Berth-Delivery-Id': ctx.deliveryId },
  };
}
