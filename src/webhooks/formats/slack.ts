import type { RenderContext, RenderedDelivery } from '../types.js';
import { harborPayload } from './harbor-payload.js';

const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });

/**
 * Harbor's Slack message (SlackBodyTemplate in src/pkg/notifier/handler/notification/
 * slack_handler.go): the same blocks and texts, with the event data as tab-indented JSON in a
 * code block. Built as JSON rather than by text template, so the body is valid JSON whatever
 * the data holds (Harbor's template leaves the newlines of the indented data unescaped); a
 * top-level `text` is the notification's fallback, and the date's fallback is the real time.
 */
export function renderSlack(ctx: RenderContext): RenderedDelivery {
  const payload = harborPayload(ctx);
  const when = new Date(payload.occur_at * 1000).toISOString().replace('.000Z', 'Z');
  const message = {
    text: `Harbor webhook events: ${payload.type}${payload.operator ? ` by ${payload.operator}` : ''}`,
    blocks: [
      section('*Harbor webhook events*'),
      section(`*event_type:* ${payload.type}`),
      section(`*occur_at:* <!date^${payload.occur_at}^{date} at {time}|${when}>`),
      section(`*operator:* ${payload.operator}`),
      section('*event_data:*'),
      section('```' + JSON.stringify(payload.event_data, null, '\t') + '```'),
    ],
  };
  return {
    body: JSON.stringify(message),
    headers: { 'Content-Type': 'application/json', 'X-Berth-Delivery-Id': ctx.deliveryId },
  };
}
