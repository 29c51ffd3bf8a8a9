import type { FastifyInstance } from 'fastify';
import type { AccessGuard } from '../auth/guard.js';
import type { Config } from '../config/schema.js';
import type { Db } from '../db/index.js';
import type { Dispatcher } from '../events/outbox.js';
import type { JobQueue } from '../jobs/queue.js';
import type { JobContext, JobRunner } from '../jobs/runner.js';
import type { Scheduler } from '../jobs/scheduler.js';
import type { ProjectService } from '../projects/service.js';
import { webhookDeliveryHandler, webhookJobOptions } from './delivery.js';
import { registerWebhookRoutes } from './routes.js';
import { closeDeliveryConnections } from './sender.js';
import { WebhookService } from './service.js';
import { WebhookStore } from './store.js';
import { webhookEventHandler, webhookSubscriber } from './subscriber.js';
import { webhookJobType, type WebhookJobPayload } from './types.js';

/** The scheduled job that deletes ended executions older than `sweepAfterDays`. */
export const webhookSweepJob = 'webhook.sweep';
/** Harbor keeps webhook executions by its own task sweeper; Berth keeps them two weeks. */
export const sweepAfterDays = 14;

export interface WebhooksDeps {
  db: Db;
  queue: JobQueue;
  runner: JobRunner;
  scheduler: Scheduler;
  dispatcher: Dispatcher;
  projects: ProjectService;
  /** config.webhooks */
  config: Config['webhooks'];
  /** The notification_enable setting, read per event; config.enabled when not given. */
  enabled?: () => boolean;
  /** server.external_url, for the links in payloads; else the URL the server listens on. */
  externalUrl?: string | undefined;
}

/** Webhooks assembled for the server (app.ts makes one call). */
export function createWebhooks(deps: WebhooksDeps) {
  const { config } = deps;
  const store = new WebhookStore(deps.db);
  let listenUrl = '';
  const urls = () => {
    const externalUrl = (deps.externalUrl || listenUrl).replace(/\/+$/, '');
    let registryHost = '';
    try {
      registryHost = externalUrl ? new URL(externalUrl).host : '';
    } catch {
      registryHost = externalUrl;
    }
    return { registryHost, externalUrl };
  };
  const service = new WebhookService(store, { timeoutSeconds: config.timeout_seconds, urls });

  const handlers: Record<string, (ctx: JobContext) => Promise<unknown>> = {
    [webhookJobType]: webhookDeliveryHandler(store, {
      timeoutSeconds: config.timeout_seconds,
      retryBaseSeconds: config.retry_base_seconds,
      retryMaxSeconds: config.retry_max_seconds,
    }) as (ctx: JobContext) => Promise<unknown>,
    [webhookSweepJob]: async (ctx: JobContext) => {
      const before = new Date(Date.now() - sweepAfterDays * 24 * 3600_000).toISOString();
      const removed = await store.sweep(before);
      await ctx.log(`removed ${removed} webhook execution(s) that ended before ${before}`);
      return removed;
    },
  };
  for (const [type, handle] of Object.entries(handlers))
    deps.runner.register(type, handle, type === webhookJobType ? webhookJobOptions(store) : {});
  // Deliveries run in slots of their own: receivers that hang until the timeout take no slot from GC, scans
  // and the rest, and a burst of deliveries shares its commits (on SQLite each is a flush on the pushes' thread).
  if (deps.runner.concurrency > 0) deps.runner.dedicateSlots(webhookJobType, config.concurrency);
  deps.dispatcher.subscribe(
    webhookSubscriber,
    webhookEventHandler(store, deps.queue, {
      get enabled() {
        return deps.enabled ? deps.enabled() : config.enabled;
      },
      maxAttempts: config.max_attempts,
      urls,
    }),
    { start: 'latest' },
  );

  return {
    store,
    service,
    handlers,
    /** Defines the sweeper's schedule. */
    async start(): Promise<void> {
      await deps.scheduler.define({ name: webhookSweepJob, jobType: webhookSweepJob, cron: '17 4 * * *' });
    },
    /** Closes the receivers' pooled connections (shutdown). */
    close(): void {
      closeDeliveryConnections();
    },
    /** The URL the server listens on: payload links use it when server.external_url is not set. */
    setListenUrl(url: string): void {
      listenUrl = url;
    },
    /** Routes under /api/v2.0. */
    async registerApiRoutes(api: FastifyInstance, routeDeps: { guard: AccessGuard }): Promise<void> {
      await registerWebhookRoutes(api, {
        webhooks: service,
        projects: deps.projects,
        guard: routeDeps.guard,
        jobLog: (jobId) => deps.queue.logText(jobId),
      });
    },
  };
}

export type Webhooks = ReturnType<typeof createWebhooks>;
export type { WebhookJobPayload };
