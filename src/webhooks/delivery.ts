import type { JobContext } from '../jobs/runner.js';
import { RetryLaterError } from '../jobs/runner.js';
import { nowIso } from '../lib/clock.js';
import { sendDelivery } from './sender.js';
import { describeOutcome } from './service.js';
import type { WebhookStore } from './store.js';
import type { WebhookJobPayload } from './types.js';

export interface DeliveryOptions {
  timeoutSeconds: number;
  retryBaseSeconds: number;
  retryMaxSeconds: number;
}

/** Seconds before the retry that follows attempt `attempt` (1-based): base, twice that, … up to the cap. */
export function retryDelaySeconds(attempt: number, options: Pick<DeliveryOptions, 'retryBaseSeconds' | 'retryMaxSeconds'>): number {
  return Math.min(options.retryBaseSeconds * 2 ** Math.max(0, attempt - 1), options.retryMaxSeconds);
}

/**
 * The WEBHOOK job: one attempt to send a task's stored request. The task row records every
 * attempt (run count, status code, duration, response excerpt); a failure retries on the
 * webhooks' own backoff until the job's attempts are used up, then the task is Error.
 */
export function webhookDeliveryHandler(store: WebhookStore, options: DeliveryOptions) {
  return async (ctx: JobContext<WebhookJobPayload>): Promise<void> => {
    const task = await store.task(Number(ctx.payload?.taskId));
    if (!task) {
      await ctx.log(`webhook task ${String(ctx.payload?.taskId)} no longer exists (its policy or execution was deleted); nothing to send`);
      return;
    }
    const taskId = Number(task.id);
    // A job that ran to the end once may run again (an instance died before recording it): never send twice on purpose.
    if (task.status === 'Success') return;
    const started = nowIso();
    await store.updateTask(taskId, {
      status: 'Running',
      run_count: ctx.attempt,
      start_time: task.start_time ?? started,
      update_time: started,
    });
    const format = task.notify_type === 'slack' ? 'slack' : task.payload_format;
    await ctx.log(
      `${task.event_type}: POST ${task.address} (${format}), delivery ${task.delivery_id}, attempt ${ctx.attempt} of ${ctx.maxAttempts}`,
    );
    const outcome = await sendDelivery({
      address: task.address,
      body: task.body,
      headers: JSON.parse(task.headers) as Record<string, string>,
      ...(task.auth_header && { authHeader: task.auth_header }),
      skipCertVerify: task.skip_cert_verify === 1,
      timeoutMs: options.timeoutSeconds * 1000,
    });
    const ended = nowIso();
    const record = {
      status_code: outcome.statusCode,
      duration_ms: Math.round(outcome.durationMs),
      response: outcome.response,
      update_time: ended,
    };
    const said = describeOutcome(outcome);
    if (outcome.ok) {
      await store.updateTask(taskId, { ...record, status: 'Success', status_message: '', end_time: ended });
      await store.settleExecution(Number(task.execution_id), ended);
      await ctx.log(`delivered: HTTP ${outcome.statusCode} in ${Math.round(outcome.durationMs)} ms`);
      return;
    }
    const last = ctx.attempt >= ctx.maxAttempts;
    const delay = retryDelaySeconds(ctx.attempt, options);
    const message = last
      ? `not delivered after ${ctx.attempt} attempt(s): ${said}`
      : `attempt ${ctx.attempt} failed: ${said}; retrying in ${delay} s`;
    await store.updateTask(taskId, {
      ...record,
      status: last ? 'Error' : 'Pending',
      status_message: message,
      end_time: last ? ended : null,
    });
    await store.settleExecution(Number(task.execution_id), ended);
    await ctx.log(`${said} after ${Math.round(outcome.durationMs)} ms`, last ? 'ERROR' : 'WARNING');
    throw new RetryLaterError(said, delay * 1000);
  };
}
