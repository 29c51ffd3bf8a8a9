import cluster from 'node:cluster';
import type { Config } from '../config/schema.js';
import type { JobHandler, JobRunner } from '../jobs/runner.js';
import type { BlobStore } from '../storage/blobstore.js';
import { instrumentBlobStore } from './blobstore.js';
import { clusterMetricsText } from './cluster.js';
import { registerDatabaseGauges, type DatabaseGaugeDeps } from './harbor.js';
import { MetricsListener } from './listener.js';
import type { MetricsAccess } from './routes.js';
import { BerthMetrics, type PoolStats } from './registry.js';

/** Prometheus metrics of one instance, as `app.ts` wires them (config `metrics`). */
export interface Metrics {
  metrics: BerthMetrics;
  /** The blob store, timed by operation. */
  instrument(store: BlobStore): BlobStore;
  /** Times every job handler registered on the runner from now on (attempts by type and outcome). */
  watchRunner(runner: JobRunner): void;
  /** The database-wide gauges (Harbor's exporter names, job queue, GC, replication, scans). */
  watchDatabase(deps: Omit<DatabaseGaugeDeps, 'cacheSeconds'>): void;
  /**
   * How the main port serves the metrics (a system administrator's Basic credentials, the token,
   * or anyone with `public`), or undefined when they have a port of their own.
   */
  mainPort(isSysadmin: (authorization: string) => Promise<boolean>): MetricsAccess | undefined;
  /** Starts the listener of `metrics.port` when there is one; returns its base URL, or null. */
  listen(host: string, onError: (err: unknown) => void): Promise<string | null>;
  close(): Promise<void>;
  /** The base URL of the listener of its own, once listening; null on the main port. */
  readonly url: string | null;
}

/** The metrics `config.metrics` asks for, or null when they are off (nothing is counted then). */
export function createMetrics(config: Config['metrics'], options: { pool?: () => PoolStats } = {}): Metrics | null {
  if (!config.enabled) return null;
  // SQLite: one connection, always there, never waited for (queries run one at a time in the process).
  const metrics = new BerthMetrics({ pool: options.pool ?? (() => ({ total: 1, idle: 1, waiting: 0, max: 1 })) });
  // A worker of several (server.workers) answers a scrape with every worker's metrics.
  if (cluster.isWorker) metrics.text = clusterMetricsText(metrics.registry);
  let listener: MetricsListener | null = null;
  let url: string | null = null;
  const timed =
    (type: string, handler: JobHandler): JobHandler =>
    async (ctx) => {
      const start = process.hrtime.bigint();
      let ok = false;
      try {
        const result = await handler(ctx);
        ok = true;
        return result;
      } finally {
        metrics.observeJob(type, ok, Number(process.hrtime.bigint() - start) / 1e9);
      }
    };
  return {
    metrics,
    instrument: (store) => instrumentBlobStore(store, (operation, seconds, failed) => metrics.observeBlob(operation, seconds, failed)),
    watchRunner(runner) {
      const register = runner.register.bind(runner);
      runner.register = (type, handler, options) => register(type, timed(type, handler), options);
    },
    watchDatabase: (deps) => registerDatabaseGauges(metrics.registry, { ...deps, cacheSeconds: config.cache_seconds }),
    mainPort(isSysadmin) {
      if (config.port !== 0) return undefined;
      return { path: config.path, token: config.token, open: config.public, isSysadmin };
    },
    async listen(host, onError) {
      if (config.port === 0) return null;
      listener = new MetricsListener(metrics, { path: config.path, token: config.token, open: config.token === undefined }, onError);
      url = await listener.listen(host, config.port);
      return url;
    },
    async close() {
      await listener?.close();
      listener = null;
    },
    get url() {
      return url;
    },
  };
}
