import type { Executor, Job, JobLogLevel } from '../jobs/queue.js';
import type { JobContext, JobTypeOptions } from '../jobs/runner.js';
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
 * The WEBHOOK job type's registration: its task is marked Running (with the attempt as run count)
 * in the transaction that claims the job, not in a commit of its own.
 */
export function webhookJobOptions(store: WebhookStore): JobTypeOptions {
  return {
    whenClaimed: async (job: Job, tx: Executor) => {
      const taskId = Number((job.payload as WebhookJobPayload | null)?.taskId);
      if (Number.isSafeInteger(taskId)) await store.markTaskRunning(tx, taskId, job.attempts, nowIso());
    },
  };
}

/**
 * The WEBHOOK job: one attempt to send a task's stored request. The task row records every
 * attempt (run count, status code, duration, response excerpt); a failure retries on the
 * webhooks' own backoff until the job's attempts are used up, then the task is Error.
 *
 * Its bookkeeping costs no commit of its own on top of the job's: the attempt's result, the
 * execution's status and its log lines are written in the transaction that records the job's
 * outcome (which the runner shares between jobs that end together). On SQLite every commit
 * is a flush on the thread that also serves pushes, so these commits set the push rate of a
 * project with webhooks (docs/PERFORMANCE.md, Webhooks).
 */
export function webhookDeliveryHandler(store: WebhookStore, options: DeliveryOptions) {
  return async (ctx: JobContext<WebhookJobPayload>): Promise<void> => {
    // A context made by hand (a test) may lack the runner's outcome hooks: then written at once.
    const log = async (message: string, level?: JobLogLevel) =>
      ctx.logWithOutcome ? ctx.logWithOutcome(message, level) : ctx.log(message, level);
    const withOutcome = async (write: (tx: Executor) => Promise<void>) => (ctx.withOutcome ? ctx.withOutcome(write) : write(store.db));
    const task = await store.task(Number(ctx.payload?.taskId));
    if (!task) {
      await log(`webhook task ${String(ctx.payload?.taskId)} no longer exists (its policy or execution was deleted); nothing to send`);
      return;
    }
    const taskId = Number(task.id);
    // A job that ran to the end once may run again (an instance died before recording it): never send twice on purpose.
    if (task.status === 'Success') return;
    const format = task.notify_type === 'slack' ? 'slack' : task.payload_format;
    await log(
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
      run_count: ctx.attempt,
      start_time: task.start_time ?? ended,
      status_code: outcome.statusCode,
      duration_ms: Math.round(outcome.durationMs),
      response: outcome.response,
      update_time: ended,
    };
    const said = describeOutcome(outcome);
    const executionId = Number(task.execution_id);
    if (outcome.ok) {
      await log(`delivered: HTTP ${outcome.statusCode} in ${Math.round(outcome.durationMs)} ms`);
      await withOutcome(async (tx) => {
        await store.updateTask(taskId, { ...record, status: 'Success', status_message: '', end_time: ended }, tx);
        await store.settleExecution(executionId, ended, tx);
      });
      return;
    }
    const last = ctx.attempt >= ctx.maxAttempts;
    const delay = retryDelaySeconds(ctx.attempt, options);
    const message = last
      ? `not delivered after ${ctx.attempt} attempt(s): ${said}`
      : `attempt ${ctx.attempt} failed: ${said}; retrying in ${delay} s`;
    await log(`${said} after ${Math.round(outcome.durationMs)} ms`, last ? 'ERROR' : 'WARNING');
    await withOutcome(async (tx) => {
      await store.updateTask(
        taskId,
        { ...record, status: last ? 'Error' : 'Pending', status_message: message, end_time: last ? ended : null },
        tx,
      );
      await store.settleExecution(executionId, ended, tx);
    });
    throw new RetryLaterError(said, delay * 1000);
  };
}
