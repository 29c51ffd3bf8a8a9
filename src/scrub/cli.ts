import type { Config } from '../config/schema.js';
import { resolvePaths } from '../config/load.js';
import { migrate, openDatabase } from '../db/index.js';
import { isAppError } from '../lib/errors.js';
import { JobQueue } from '../jobs/queue.js';
import { JobRunner } from '../jobs/runner.js';
import { Scheduler } from '../jobs/scheduler.js';
import { openBlobStore } from '../storage/open.js';
import { createScrub } from './compose.js';
import type { FindingView, RunView } from './service.js';
import { findingsPerRun } from './store.js';

export interface ScrubCommandOptions {
  workers?: number;
  /** Report only: quarantine nothing. */
  reportOnly?: boolean;
  /** Print the run and its findings as one JSON document. */
  json?: boolean;
}

/** Exit codes of `berth scrub`. */
export const scrubExit = { healthy: 0, problems: 1, failed: 3 } as const;

export interface Output {
  out(text: string): void;
  err(text: string): void;
}

/**
 * `berth scrub`: the same SCRUB job the server runs, against the configured database and
 * storage. It is queued like any run (so it appears in the history, and waits for its turn
 * behind a scrub already running) and run by a job runner in this process; a server
 * sharing the database may pick it up instead, and this command then follows it. Ctrl-C
 * stops the run. Exits 0 when nothing is wrong, 1 when problems were found, 3 when the run
 * could not start or did not end (error, stopped).
 */
export async function runScrubCommand(config: Config, options: ScrubCommandOptions, output: Output): Promise<number> {
  const paths = resolvePaths(config);
  const database = openDatabase(config);
  const closers: Array<() => Promise<void>> = [() => database.close()];
  try {
    await migrate(database);
    const blobs = await openBlobStore(config.storage, { root: paths.storageRoot, warn: (m) => output.err(`berth scrub: ${m}`) });
    const queue = new JobQueue(database.db, database.dialect);
    await queue.clock.sync();
    const scheduler = new Scheduler(database.db, queue);
    const { service, jobType } = createScrub({ db: database.db, blobs, queue, scheduler, workers: config.scrub.workers });

    if (await queue.isPaused(jobType)) {
      output.err(
        'berth scrub: the SCRUB job queue is paused (PUT /api/v2.0/jobservice/queues/SCRUB {"action":"resume"}); nothing was started',
      );
      return scrubExit.failed;
    }
    let id: number;
    try {
      const params = service.parameters({
        ...(options.workers !== undefined && { workers: options.workers }),
        ...(options.reportOnly && { quarantine: false }),
      });
      id = await service.start('CLI', params);
    } catch (err) {
      if (!isAppError(err)) throw err;
      output.err(`berth scrub: ${err.message}`);
      return scrubExit.failed;
    }

    const runner = new JobRunner(queue, { concurrency: 1, pollIntervalMs: 100, stopTimeoutMs: 5000 });
    runner.register(jobType, service.handle);
    await runner.start();
    closers.unshift(() => runner.stop());
    const interrupt = () => {
      output.err('berth scrub: stopping…');
      void service.stop(id).catch(() => undefined);
    };
    process.once('SIGINT', interrupt);
    process.once('SIGTERM', interrupt);

    let run: RunView;
    let shown = '';
    for (;;) {
      run = await service.get(id);
      if (!['Pending', 'Running'].includes(run.job_status)) break;
      const r = run.results;
      const line = `scrub ${id}: ${run.job_status.toLowerCase()}, ${r.blobs_checked}/${r.blobs_total} blobs, ${mib(r.bytes_checked)} MiB hashed, ${r.manifests_checked}/${r.manifests_total} manifests`;
      if (!options.json && line !== shown) output.err(line);
      shown = line;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);

    const findings: FindingView[] = [];
    for (let offset = 0; ; offset += 100) {
      const page = await service.findings(id, { offset, limit: 100 });
      findings.push(...page.items);
      if (findings.length >= page.total || page.items.length === 0) break;
    }
    if (options.json) output.out(JSON.stringify({ run, findings }, null, 2));
    else output.out(report(run, findings));
    if (run.job_status !== 'Success') return scrubExit.failed;
    return run.results.problems === 0 ? scrubExit.healthy : scrubExit.problems;
  } finally {
    for (const close of closers) await close().catch(() => undefined);
  }
}

function mib(bytes: number): string {
  return (bytes / 1048576).toFixed(1);
}

function report(run: RunView, findings: FindingView[]): string {
  const r = run.results;
  const seconds = r.start_time && r.end_time ? (Date.parse(r.end_time) - Date.parse(r.start_time)) / 1000 : null;
  const lines = [
    `scrub ${run.id}: ${run.job_status}${r.message ? ` (${r.message})` : ''}${seconds !== null ? ` in ${seconds.toFixed(1)} s` : ''}`,
    `  blobs:      ${r.blobs_checked} of ${r.blobs_total} checked, ${mib(r.bytes_checked)} MiB hashed`,
    `  manifests:  ${r.manifests_checked} of ${r.manifests_total} checked`,
    `  problems:   ${r.problems} (digest mismatches ${r.digest_mismatches}, size mismatches ${r.size_mismatches}, missing objects ${r.missing_objects}, read errors ${r.read_errors}, broken references ${r.broken_references}, manifest mismatches ${r.manifest_mismatches})`,
    `  quarantined ${r.quarantined}, released ${r.released}, artifacts affected ${r.affected_artifacts}`,
  ];
  if (findings.length > 0) {
    lines.push('findings:');
    for (const f of findings) lines.push(`  ${f.kind.padEnd(24)} ${f.message}`);
    if (findings.length >= findingsPerRun) lines.push(`  (only the first ${findingsPerRun} findings are kept; the counts above are exact)`);
  }
  return lines.join('\n');
}
