import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Seconds: from a cached manifest HEAD (well under a millisecond) to a large blob streamed for minutes. */
const requestBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const blobBuckets = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const jobBuckets = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600, 14400];

/** Sizes of the connection pool (PostgreSQL's pg.Pool; SQLite has one connection). */
export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
  max: number;
}

/**
 * The metrics of one Berth instance, in a prom-client Registry of its own (never the global
 * one: several instances may share a process). What the instance sees itself is counted here
 * as it happens (requests, /v2 bytes, jobs it ran, blob store calls); what the whole
 * deployment shares is read from the database at scrape time (harbor.ts).
 */
export class BerthMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'method' | 'route' | 'status'>;
  private readonly requestSeconds: Histogram<'method' | 'route' | 'status'>;
  private readonly received: Counter<'route'>;
  private readonly sent: Counter<'route'>;
  private readonly jobRuns: Counter<'type' | 'outcome'>;
  private readonly jobSeconds: Histogram<'type' | 'outcome'>;
  private readonly blobSeconds: Histogram<'operation'>;
  private readonly blobErrors: Counter<'operation'>;

  constructor(options: { pool?: () => PoolStats } = {}) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({
      name: 'berth_http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and status code',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.requestSeconds = new Histogram({
      name: 'berth_http_request_duration_seconds',
      help: 'Time from a request to the end of its answer, by method, route pattern and status code',
      labelNames: ['method', 'route', 'status'],
      buckets: requestBuckets,
      registers,
    });
    const requests = this.requests;
    // Harbor core's request counter (method, code, operation), derived from Berth's at scrape time.
    new Counter({
      name: 'harbor_core_http_request_total',
      help: 'The total number of requests',
      labelNames: ['method', 'code', 'operation'],
      registers,
      async collect() {
        this.reset();
        for (const v of (await requests.get()).values) {
          this.inc({ method: String(v.labels.method), code: String(v.labels.status), operation: String(v.labels.route) }, v.value);
        }
      },
    });
    this.received = new Counter({
      name: 'berth_registry_received_bytes_total',
      help: 'Body bytes received on /v2, by route pattern',
      labelNames: ['route'],
      registers,
    });
    this.sent = new Counter({
      name: 'berth_registry_sent_bytes_total',
      help: 'Body bytes sent on /v2, by route pattern',
      labelNames: ['route'],
      registers,
    });
    this.jobRuns = new Counter({
      name: 'berth_job_runs_total',
      help: 'Job attempts this instance ran, by job type and outcome (success, failure)',
      labelNames: ['type', 'outcome'],
      registers,
    });
    this.jobSeconds = new Histogram({
      name: 'berth_job_duration_seconds',
      help: 'How long job attempts ran on this instance, by job type and outcome',
      labelNames: ['type', 'outcome'],
      buckets: jobBuckets,
      registers,
    });
    this.blobSeconds = new Histogram({
      name: 'berth_blobstore_operation_duration_seconds',
      help: 'Blob store calls, by operation (a read: until its stream is open)',
      labelNames: ['operation'],
      buckets: blobBuckets,
      registers,
    });
    this.blobErrors = new Counter({
      name: 'berth_blobstore_errors_total',
      help: 'Blob store calls that failed, by operation',
      labelNames: ['operation'],
      registers,
    });
    const pool = options.pool;
    if (pool) {
      new Gauge({
        name: 'berth_db_pool_connections',
        help: 'Database connections of this instance, by state (total, idle, busy)',
        labelNames: ['state'],
        registers,
        collect() {
          const s = pool();
          this.set({ state: 'total' }, s.total);
          this.set({ state: 'idle' }, s.idle);
          this.set({ state: 'busy' }, Math.max(0, s.total - s.idle));
        },
      });
      new Gauge({
        name: 'berth_db_pool_waiting_requests',
        help: 'Queries of this instance waiting for a free database connection',
        registers,
        collect() {
          this.set(pool().waiting);
        },
      });
      new Gauge({
        name: 'berth_db_pool_max_connections',
        help: 'Connections the database pool of this instance keeps at most',
        registers,
        collect() {
          this.set(pool().max);
        },
      });
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text of every metric: this process's, or with workers the whole cluster's (cluster.ts). */
  text: () => Promise<string> = () => this.registry.metrics();

  /** One answered request; `received`/`sent` only for /v2 (undefined elsewhere). */
  observeRequest(method: string, route: string, status: number, seconds: number, received?: number, sent?: number): void {
    const labels = { method, route, status: String(status) };
    this.requests.inc(labels);
    this.requestSeconds.observe(labels, seconds);
    if (received !== undefined && received > 0) this.received.inc({ route }, received);
    if (sent !== undefined && sent > 0) this.sent.inc({ route }, sent);
  }

  /** One job attempt that ended on this instance. */
  observeJob(type: string, succeeded: boolean, seconds: number): void {
    const labels = { type, outcome: succeeded ? 'success' : 'failure' };
    this.jobRuns.inc(labels);
    this.jobSeconds.observe(labels, seconds);
  }

  /** One blob store call. */
  observeBlob(operation: string, seconds: number, failed: boolean): void {
    this.blobSeconds.observe({ operation }, seconds);
    if (failed) this.blobErrors.inc({ operation });
  }
}
