import { randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { Database } from '../db/types.js';
import type { OutboxEvent, SubscriberHandler } from '../events/outbox.js';
import type { JobQueue } from '../jobs/queue.js';
import { nowIso } from '../lib/clock.js';
import { renderDelivery, webhookSkipReason } from './formats/index.js';
import { storedEventTypes, storedTargets, targetSpec } from './service.js';
import type { SubscribedPolicy, WebhookStore } from './store.js';
import { allWebhookEventTypes, webhookJobType, type RenderedDelivery, type WebhookEventType, type WebhookJobPayload } from './types.js';

/** The outbox subscriber's name (its cursor is stored under it). */
export const webhookSubscriber = 'webhooks';

export interface SubscriberOptions {
  /** The notification_enable setting, read per event so that a switch needs no restart. */
  enabled: boolean;
  maxAttempts: number;
  urls(): { registryHost: string; externalUrl: string };
}

/**
 * Turns an outbox event into deliveries, in the dispatcher's transaction: per enabled policy of
 * the event's project that names its type, one execution; per target, the request rendered once
 * (with its delivery id) into a task and a WEBHOOK job. Everything commits with the cursor, so
 * each event makes its deliveries exactly once; the jobs then deliver at least once.
 */
export function webhookEventHandler(store: WebhookStore, queue: JobQueue, options: SubscriberOptions): SubscriberHandler {
  // A batch of events comes in one transaction: each project's policies are read once per batch.
  const batches = new WeakMap<Transaction<Database>, Map<number, SubscribedPolicy[]>>();
  const policiesOf = async (tx: Transaction<Database>, projectId: number) => {
    let seen = batches.get(tx);
    if (!seen) batches.set(tx, (seen = new Map()));
    let policies = seen.get(projectId);
    if (!policies) seen.set(projectId, (policies = await store.enabledPolicies(tx, projectId)));
    return policies;
  };
  return async (event: OutboxEvent, tx: Transaction<Database>) => {
    if (!options.enabled) return;
    if (!allWebhookEventTypes.includes(event.type as WebhookEventType)) return;
    const projectId = Number(event.payload?.project_id);
    if (!Number.isSafeInteger(projectId) || projectId < 1) return;
    // Events Harbor does not notify (a dry run of tag retention, one that deleted nothing).
    if (webhookSkipReason(event) !== null) return;
    // PULL_ARTIFACT comes with every pull: a project without policies costs one query per batch.
    const policies = (await policiesOf(tx, projectId)).filter((p) => storedEventTypes(p).includes(event.type));
    if (policies.length === 0) return;
    const { registryHost, externalUrl } = options.urls();
    const now = nowIso();
    const enriched = await withRepositoryCreation(store, tx, event);
    for (const policy of policies) {
      const project = { id: projectId, name: policy.project_name, public: Number(policy.project_public) === 1 };
      const deliveries = storedTargets(policy).map((t, index) => {
        const target = targetSpec(t);
        const deliveryId = randomUUID();
        let delivery: RenderedDelivery | undefined;
        let failure = '';
        try {
          delivery = renderDelivery({
            event: enriched,
            project,
            policy: { id: Number(policy.id), name: policy.name },
            target,
            deliveryId,
            registryHost,
            externalUrl,
          });
        } catch (err) {
          // Retrying cannot fix a payload that does not render; the task says so instead of holding up the outbox.
          failure = `the payload could not be rendered: ${err instanceof Error ? err.message : String(err)}`;
        }
        return { index, t, deliveryId, rendered: delivery, failure };
      });
      const executionId = await store.insertExecution(tx, {
        policyId: Number(policy.id),
        projectId,
        eventId: event.id,
        eventType: event.type,
        extraAttrs: { event_type: event.type, event_id: event.id, payload: deliveries.find((d) => d.rendered)?.rendered?.body ?? '' },
        now,
      });
      for (const d of deliveries) {
        const taskId = await store.insertTask(tx, {
          execution_id: executionId,
          policy_id: Number(policy.id),
          target_index: d.index,
          event_type: event.type,
          notify_type: d.t.type,
          address: d.t.address,
          payload_format: d.t.type === 'slack' ? 'Slack' : d.t.payload_format || 'Default',
          skip_cert_verify: d.t.skip_cert_verify ? 1 : 0,
          auth_header: targetSpec(d.t).authHeader ?? null,
          delivery_id: d.deliveryId,
          body: d.rendered?.body ?? '',
          headers: JSON.stringify(d.rendered?.headers ?? {}),
          status: d.rendered ? 'Pending' : 'Error',
          status_message: d.failure,
          status_code: null,
          duration_ms: null,
          response: null,
          job_id: null,
          creation_time: now,
          update_time: now,
          start_time: null,
          end_time: d.rendered ? null : now,
        });
        if (!d.rendered) continue;
        const payload: WebhookJobPayload = { taskId };
        const jobId = await queue.enqueue(webhookJobType, payload, { tx, maxAttempts: options.maxAttempts });
        await store.setTaskJob(tx, taskId, jobId);
      }
      if (deliveries.every((d) => !d.rendered)) {
        await store.failExecution(tx, executionId, deliveries[0]?.failure ?? '', now);
      }
    }
  };
}

/** The event with its repository's creation time (Harbor's `date_created`), when the payload names a repository that exists. */
async function withRepositoryCreation(store: WebhookStore, tx: Transaction<Database>, event: OutboxEvent): Promise<OutboxEvent> {
  const payload = event.payload as Record<string, unknown> | null;
  if (!payload || typeof payload.repository !== 'string' || payload.repository_created_at !== undefined) return event;
  const createdAt = await store.repositoryCreatedAt(tx, payload.repository);
  return createdAt ? { ...event, payload: { ...payload, repository_created_at: createdAt } } : event;
}
