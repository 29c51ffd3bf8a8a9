import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import { ClusterLockServer } from './db/cluster-locks.js';

/**
 * `berth serve` with server.workers above 1: this process (the primary) serves nothing
 * itself. It starts the workers — each a whole Berth, the same command run again, listening
 * on the same port through Node's cluster module — keeps SQLite's blob-lock table for them
 * (cluster-locks.ts), starts a worker again when one dies, and on SIGTERM/SIGINT stops them
 * all, each finishing its requests. Everything else the workers share is in the database,
 * as between instances over PostgreSQL (docs/ARCHITECTURE.md, "Workers").
 */
export async function runPrimary(config: Config, logger: Logger): Promise<void> {
  const count = config.server.workers;
  const locks = new ClusterLockServer();
  // With metrics on, a scrape reaching any worker is answered with every worker's (prom-client loaded only then).
  const metrics = config.metrics.enabled ? (await import('./metrics/cluster.js')).gatherWorkerMetrics() : null;
  let stopping = false;
  let quickDeaths = 0;

  // Set before the first worker starts: a signal during the start stops what has started.
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: every worker finishes its in-flight requests');
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    let failed = false;
    let left = workers.length;
    if (left === 0) process.exit(0);
    for (const worker of workers) {
      worker.once('exit', (code, exitSignal) => {
        // Ended by the signal itself: a worker still starting, before it set its handlers.
        if (code !== 0 && exitSignal !== signal) {
          failed = true;
          logger.error({ pid: worker.process.pid, code, signal: exitSignal }, `worker ${worker.process.pid} did not stop cleanly`);
        }
        if (--left === 0) process.exit(failed ? 1 : 0);
      });
      worker.process.kill(signal);
    }
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  const fork = (replacing?: number): Worker => {
    const worker = cluster.fork();
    locks.serve(worker);
    metrics?.serve(worker);
    worker.once('listening', () => {
      metrics?.ready(worker);
      if (replacing !== undefined) logger.info({ pid: worker.process.pid }, `worker ${worker.process.pid} serves in place of ${replacing}`);
    });
    const started = Date.now();
    worker.once('exit', (code, signal) => {
      if (stopping) return;
      // A worker that keeps dying at start (a bad disk, a full database) is not restarted in a tight loop.
      quickDeaths = Date.now() - started < 10_000 ? quickDeaths + 1 : 0;
      const delayMs = Math.min(30_000, 1000 * quickDeaths);
      const pid = worker.process.pid;
      logger.error({ pid, code, signal }, `worker ${pid} ended (${signal ?? `exit ${code}`}); starting another`);
      setTimeout(() => {
        if (!stopping) fork(pid);
      }, delayMs).unref();
    });
    return worker;
  };

  // The first worker migrates the database and creates admin alone; the others start once it serves.
  const first = fork();
  const served = await new Promise<boolean>((resolve) => {
    first.once('listening', () => resolve(true));
    first.once('exit', () => resolve(false));
  });
  if (stopping) return;
  if (!served) {
    stopping = true;
    logger.error('the first worker could not start; see its messages above');
    process.exit(1);
  }
  const others = Array.from({ length: count - 1 }, () => fork());
  await Promise.all(others.map((worker) => new Promise((resolve) => worker.once('listening', resolve).once('exit', resolve))));
  if (!stopping) logger.info({ workers: count, pid: process.pid }, `berth runs ${count} workers (primary ${process.pid})`);
}
