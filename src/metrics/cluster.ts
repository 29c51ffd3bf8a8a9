import type { Worker } from 'node:cluster';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue, type Registry } from 'prom-client';

type MetricJson = MetricObjectWithValues<MetricValue<string>>;

/**
 * Metrics with workers (server.workers): each worker counts what it serves in its own
 * registry, and whichever worker a scrape reaches answers with the whole cluster's. It asks
 * the primary, which asks every worker that is serving for its registry (as JSON, over the
 * cluster channel) and adds them up with prom-client's AggregatorRegistry: counters and
 * histograms summed, the database-wide gauges taken once (their `aggregator`, harbor.ts).
 */

type MetricsMessage =
  | { berth: 'metrics'; id: number }
  | { berth: 'metrics-text'; id: number; text?: string; error?: string }
  | { berth: 'metrics-json'; id: number }
  | { berth: 'metrics-of-worker'; id: number; metrics?: MetricJson[]; error?: string };

function isMetricsMessage(message: unknown): message is MetricsMessage {
  const m = message as { berth?: unknown; id?: unknown } | null;
  return typeof m === 'object' && m !== null && typeof m.berth === 'string' && m.berth.startsWith('metrics') && typeof m.id === 'number';
}

/** Requests over the cluster channel, each answered once by id or failed after a timeout. */
class Pending<T> {
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (value: T) => void; reject: (err: Error) => void }>();

  ask(send: (id: number) => void, timeoutMs: number, what: string): Promise<T> {
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`${what} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, {
        resolve: (value) => (clearTimeout(timer), resolve(value)),
        reject: (err) => (clearTimeout(timer), reject(err)),
      });
      send(id);
    });
  }

  settle(id: number, value: T | undefined, error: string | undefined): void {
    const waiter = this.waiting.get(id);
    this.waiting.delete(id);
    if (error === undefined && value !== undefined) waiter?.resolve(value);
    else waiter?.reject(new Error(error ?? 'no answer'));
  }
}

/** A worker's side: answers the primary's requests for its registry; returns the text of every worker's metrics. */
export function clusterMetricsText(registry: Registry, timeoutMs = 10_000): () => Promise<string> {
  const texts = new Pending<string>();
  const send = (message: MetricsMessage) => process.send?.(message);
  process.on('message', (message: unknown) => {
    if (!isMetricsMessage(message)) return;
    if (message.berth === 'metrics-text') texts.settle(message.id, message.text, message.error);
    if (message.berth === 'metrics-json') {
      const id = message.id;
      registry.getMetricsAsJSON().then(
        (metrics) => send({ berth: 'metrics-of-worker', id, metrics }),
        (err: Error) => send({ berth: 'metrics-of-worker', id, error: err.message }),
      );
    }
  });
  return () => texts.ask((id) => send({ berth: 'metrics', id }), timeoutMs, 'the primary, gathering the workers’ metrics,');
}

/**
 * The primary's side: `serve(worker)` for each worker started, `ready(worker)` once it
 * listens (a worker still starting is not waited for).
 */
export function gatherWorkerMetrics(timeoutMs = 5000) {
  const ready = new Set<Worker>();
  const registries = new Pending<MetricJson[]>();
  const gather = async (): Promise<string> => {
    const all = await Promise.all(
      [...ready].map((worker) =>
        registries.ask((id) => worker.send({ berth: 'metrics-json', id }), timeoutMs, `worker ${worker.process.pid}`),
      ),
    );
    return AggregatorRegistry.aggregate(all).metrics();
  };
  return {
    serve(worker: Worker): void {
      worker.on('message', (message: unknown) => {
        if (!isMetricsMessage(message)) return;
        if (message.berth === 'metrics-of-worker') registries.settle(message.id, message.metrics, message.error);
        if (message.berth !== 'metrics') return;
        const id = message.id;
        const reply = (answer: MetricsMessage) => worker.isConnected() && worker.send(answer);
        gather().then(
          (text) => reply({ berth: 'metrics-text', id, text }),
          (err: Error) => reply({ berth: 'metrics-text', id, error: err.message }),
        );
      });
      worker.once('exit', () => ready.delete(worker));
    },
    ready(worker: Worker): void {
      ready.add(worker);
    },
  };
}
