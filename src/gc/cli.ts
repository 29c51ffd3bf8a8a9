import type { JobQueue } from '../jobs/queue.js';
import { JobRunner } from '../jobs/runner.js';
import { isAppError } from '../lib/errors.js';
import type { GcRun, GcService } from './service.js';

export interface GcCommandOptions {
  dryRun?: boolean;
  deleteUntagged?: boolean;
  removeEmptyRepositories?: boolean;
  workers?: number;
  json?: boolean;
}

export interface Output {
  out(text: string): void;
  err(text: string): void;
}

/** Exit codes of `berth gc`: 0 the run succeeded, 3 it could not start or did not end well (2, a bad option, is main.ts's). */
export const gcExit = { done: 0, failed: 3 } as const;

/**
 * `berth gc`: one garbage collection against the configured database and storage. It is the
 * server's GARBAGE_COLLECTION job, queued like a manual run (it shows in the history, and is
 * refused while another run is pending or running), run by a job runner in this process; a
 * server sharing the database may pick it up instead, and this command then follows it.
 * Ctrl-C stops the run. The caller (main.ts) assembles Berth and closes it after.
 */
export async function runGcCommand(
  berth: { gc: GcService; jobs: { queue: JobQueue } },
  options: GcCommandOptions,
  output: Output,
): Promise<number> {
  let runner: JobRunner | undefined;
  try {
    let id: number;
    try {
      const parameters = berth.gc.parseParameters({
        dry_run: options.dryRun ?? false,
        delete_untagged: options.deleteUntagged ?? false,
        remove_empty_repositories: options.removeEmptyRepositories ?? false,
        workers: options.workers ?? 1,
      });
      if (await berth.jobs.queue.isPaused('GARBAGE_COLLECTION')) {
        output.err('berth gc: the GARBAGE_COLLECTION job queue is paused; nothing was started');
        return gcExit.failed;
      }
      id = await berth.gc.start(parameters, 'berth gc');
    } catch (err) {
      if (!isAppError(err)) throw err;
      output.err(`berth gc: ${err.message}`);
      return gcExit.failed;
    }
    runner = new JobRunner(berth.jobs.queue, { concurrency: 1, pollIntervalMs: 100, stopTimeoutMs: 5000 });
    runner.register('GARBAGE_COLLECTION', (ctx) => berth.gc.handle(ctx));
    await runner.start();
    const interrupt = () => {
      output.err('berth gc: stopping…');
      void berth.gc.stop(id).catch(() => undefined);
    };
    process.once('SIGINT', interrupt);
    process.once('SIGTERM', interrupt);
    let run: GcRun | undefined;
    let shown = '';
    for (;;) {
      run = await berth.gc.get(id);
      if (run && !['Pending', 'Running'].includes(run.status)) break;
      const line = `gc ${id}: ${(run?.status ?? 'Pending').toLowerCase()}`;
      if (!options.json && line !== shown) output.err(line);
      shown = line;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
    if (options.json) output.out(JSON.stringify({ id, status: run.status, ...run.jobParameters }, null, 2));
    else output.out(report(run, (await berth.gc.log(id)) ?? ''));
    return run.status === 'Success' ? gcExit.done : gcExit.failed;
  } finally {
    await runner?.stop().catch(() => undefined);
  }
}

function report(run: GcRun, log: string): string {
  const p = run.jobParameters as Record<string, number | boolean>;
  const dry = p.dry_run === true;
  const mib = (bytes: number) => (bytes / 1048576).toFixed(1);
  return [
    `gc ${run.id}: ${run.status}${dry ? ' (dry run: nothing was changed)' : ''}`,
    `  ${dry ? 'would free' : 'freed'}:  ${p.freed_space ?? 0} bytes (${mib(Number(p.freed_space ?? 0))} MiB) in ${p.purged_blobs ?? 0} blob(s)`,
    `  untagged artifacts ${dry ? 'to delete' : 'deleted'}: ${p.purged_manifests ?? 0}; unused links removed: ${p.purged_links ?? 0}; empty repositories ${dry ? 'to remove' : 'removed'}: ${p.removed_repositories ?? 0}`,
    `  blobs in use again: ${p.kept_blobs ?? 0}; blobs that failed: ${p.failed_blobs ?? 0}; mark ${p.mark_ms ?? 0} ms, sweep ${p.sweep_ms ?? 0} ms`,
    ...(run.status === 'Success' ? [] : ['', log.trimEnd()]),
  ].join('\n');
}
