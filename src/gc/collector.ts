import type { JobLogLevel } from '../jobs/queue.js';
import type { BlobStore } from '../storage/blobstore.js';
import type { BlobRow, GcStore, LinkRow, OnUnlinked, UntaggedArtifact } from './store.js';

/** What a run is asked to do (Harbor's parameters, and Berth's remove_empty_repositories). */
export interface GcParameters {
  /** Delete untagged artifacts first (not accessories, not an index's children). */
  delete_untagged: boolean;
  /** Report what would be freed; change nothing. */
  dry_run: boolean;
  /** Sweeps (and untagged deletes) running at once. */
  workers: number;
  /** Delete repositories left with no artifact (Berth's addition). */
  remove_empty_repositories: boolean;
  /**
   * List the blob store for objects without a row (Berth's addition). Without it a run lists
   * the store when no run has for a day: such objects are rare (a publish whose transaction
   * failed), and listing a bucket is the one cost of a run that grows with the whole store.
   */
  scan_orphans: boolean;
}

/** What a run did (or, in a dry run, would do). Harbor's three first, then Berth's. */
export interface GcResults {
  /** Bytes of the blobs swept. */
  freed_space: number;
  /** Blobs swept. */
  purged_blobs: number;
  /** Untagged artifacts deleted (with their accessories). */
  purged_manifests: number;
  /** Repository links removed: blobs uploaded or mounted that no artifact of the repository uses. */
  purged_links: number;
  /** Stored objects with no row (an upload whose transaction failed after publishing), removed; in freed_space too. */
  purged_orphans: number;
  /** Whether this run listed the blob store for them. */
  store_listed: boolean;
  /** Empty repositories removed. */
  removed_repositories: number;
  /** Blobs marked as garbage that were in use again by the time the sweep locked them. */
  kept_blobs: number;
  /** Blobs the sweep could not remove (storage or database errors); the next run tries again. */
  failed_blobs: number;
  /** Untagged artifacts found tagged, listed in an index, or gone when their delete ran. */
  kept_artifacts: number;
  /** Milliseconds spent finding garbage (untagged artifacts, unused links, unused blobs). */
  mark_ms: number;
  /** Milliseconds spent removing it. */
  sweep_ms: number;
}

export function emptyResults(): GcResults {
  return {
    freed_space: 0,
    purged_blobs: 0,
    purged_manifests: 0,
    purged_links: 0,
    purged_orphans: 0,
    store_listed: false,
    removed_repositories: 0,
    kept_blobs: 0,
    failed_blobs: 0,
    kept_artifacts: 0,
    mark_ms: 0,
    sweep_ms: 0,
  };
}

export interface CollectorDeps {
  store: GcStore;
  blobs: BlobStore;
  /** Deletes an artifact through the registry's deletion path; false when it no longer qualifies. */
  deleteUntagged(artifact: UntaggedArtifact, operator: string): Promise<boolean>;
  /** Quota usage: called in the transaction that removed a repository's links. */
  onUnlinked: OnUnlinked;
  /** Whether this run lists the blob store for objects without a row (decided by the service). */
  listStore?: boolean;
  /**
   * Yielding to pushes and pulls: while `busy()`, the run's steps (a query, a batch swept)
   * go one at a time, each followed by a pause `factor` times as long as it took, so the run
   * works at most 1/(factor+1) of the time: on SQLite its queries share the thread that
   * answers requests, on PostgreSQL and S3 the database's and the store's CPU. Idle, it runs
   * at full speed.
   */
  pace?: { busy(): boolean; factor: number };
}

export interface CollectContext {
  signal: AbortSignal;
  log(message: string, level?: JobLogLevel): Promise<void>;
  /** Called with the counts so far after each step, so that a stopped run still reports them. */
  progress?(results: GcResults): Promise<void>;
}

/** Thrown when a run is stopped between two steps; the results so far are in it. */
export class GcStopped extends Error {
  constructor(readonly results: GcResults) {
    super('garbage collection was stopped');
    this.name = 'GcStopped';
  }
}

const sweepBatch = 250;
const linkBatch = 200;

/** Runs `work` on every item, `workers` at a time, in order of hand-out. */
async function parallel<T>(items: T[], workers: number, signal: AbortSignal, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length && !signal.aborted) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(workers, items.length)) }, worker));
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/**
 * One garbage collection, online: pushes and pulls go on while it runs.
 *
 * 1. delete_untagged: untagged artifacts pushed before the window, through the registry's
 *    deletion path (audit, events, quota), each re-checked in its deleting transaction.
 * 2. Links: remove repository links older than the window that no artifact of their
 *    repository names (under the blobs' exclusive locks; quota usage drops with them).
 * 3. Mark: blobs older than the window that no link and no artifact holds.
 * 4. Sweep: per batch, under the blobs' exclusive locks, re-check, delete the rows and the
 *    objects; a blob referenced again since the mark is kept.
 * 5. remove_empty_repositories: repositories left with no artifact, link or upload.
 *
 * A dry run does 1 and 3 as queries only and reports what a real run would free.
 */
export async function collect(
  deps: CollectorDeps,
  params: GcParameters,
  options: { timeWindowHours: number; operator: string },
  ctx: CollectContext,
): Promise<GcResults> {
  const results = emptyResults();
  const cutoff = new Date(Date.now() - options.timeWindowHours * 3600_000).toISOString();
  const checkpoint = async () => {
    await ctx.progress?.(results);
    if (ctx.signal.aborted) throw new GcStopped(results);
  };
  await ctx.log(
    `parameters: delete_untagged=${params.delete_untagged} dry_run=${params.dry_run} workers=${params.workers} ` +
      `remove_empty_repositories=${params.remove_empty_repositories} scan_orphans=${params.scan_orphans} ` +
      `time_window=${options.timeWindowHours}h (before ${cutoff})`,
  );
  const markStarted = Date.now();
  let sweepMs = 0;
  let turn: Promise<void> = Promise.resolve();
  const paced = async <T>(work: () => Promise<T>): Promise<T> => {
    const pace = deps.pace;
    if (!pace) return work();
    // Lets the requests that arrived during the last step (a SQLite query blocks the thread) be seen first.
    await new Promise((resolve) => setImmediate(resolve));
    if (!pace.busy()) return work();
    // One step at a time while requests are served, whatever the number of workers.
    const previous = turn;
    let done!: () => void;
    turn = new Promise<void>((resolve) => (done = resolve));
    await previous;
    try {
      const started = performance.now();
      const value = await work();
      if (pace.busy()) await new Promise((resolve) => setTimeout(resolve, (performance.now() - started) * pace.factor));
      return value;
    } finally {
      done();
    }
  };
  const timed = async <T>(work: () => Promise<T>): Promise<T> => {
    const started = Date.now();
    try {
      return await work();
    } finally {
      sweepMs += Date.now() - started;
    }
  };

  // 1. Untagged artifacts.
  let simulated: SimulatedDeletion | null = null;
  if (params.delete_untagged) {
    if (params.dry_run) {
      simulated = await simulateUntagged(deps.store, cutoff);
      results.purged_manifests = simulated.artifactIds.size;
      await ctx.log(`dry run: ${simulated.artifactIds.size} untagged artifact(s) (with their accessories) would be deleted`);
    } else {
      for (let after = 0; ;) {
        const untagged = await paced(() => deps.store.untaggedArtifacts(cutoff, after));
        if (untagged.length === 0) break;
        after = untagged[untagged.length - 1].id;
        await timed(() =>
          parallel(untagged, params.workers, ctx.signal, async (artifact) => {
            try {
              if (await paced(() => deps.deleteUntagged(artifact, options.operator))) {
                results.purged_manifests += 1;
                await ctx.log(`deleted untagged artifact ${artifact.repository}@${artifact.digest}`);
              } else {
                results.kept_artifacts += 1;
              }
            } catch (err) {
              // A deadlock with a push, say: this artifact waits for the next run.
              results.kept_artifacts += 1;
              await ctx.log(
                `deleting untagged artifact ${artifact.repository}@${artifact.digest} failed: ${(err as Error).message}`,
                'WARNING',
              );
            }
          }),
        );
        await checkpoint();
      }
      await ctx.log(`deleted ${results.purged_manifests} untagged artifact(s); ${results.kept_artifacts} were in use again`);
    }
    await checkpoint();
  }

  // 2. Links no artifact of their repository uses.
  if (!params.dry_run) {
    for (let after: LinkRow | null = null; ;) {
      const links = await paced(() => deps.store.unusedLinks(cutoff, after));
      if (links.length === 0) break;
      after = links[links.length - 1];
      for (let i = 0; i < links.length; i += linkBatch) {
        try {
          results.purged_links += await timed(() =>
            paced(() => deps.store.removeLinks(links.slice(i, i + linkBatch), cutoff, deps.onUnlinked)),
          );
        } catch (err) {
          // Their blobs stay marked as in use; the next run tries again.
          await ctx.log(
            `removing ${Math.min(linkBatch, links.length - i)} link(s) failed, the next run tries again: ${(err as Error).message}`,
            'WARNING',
          );
        }
      }
      await checkpoint();
    }
    await ctx.log(`removed ${results.purged_links} repository link(s) that no artifact uses`);
  }

  // 3. Mark.
  const candidates: BlobRow[] = [];
  for (let after: string | null = null; ;) {
    const page: BlobRow[] = await paced(() =>
      params.dry_run ? deps.store.collectableBlobs(cutoff, after) : deps.store.unusedBlobs(cutoff, after),
    );
    if (page.length === 0) break;
    candidates.push(...page);
    after = page[page.length - 1].digest;
    if (ctx.signal.aborted) break;
  }
  if (simulated) {
    const known = new Set(candidates.map((c) => c.digest));
    for (const blob of simulated.freedBlobs) if (!known.has(blob.digest)) candidates.push(blob);
  }
  const candidateBytes = candidates.reduce((sum, c) => sum + c.size, 0);
  results.mark_ms = Date.now() - markStarted - sweepMs;
  await ctx.log(`${candidates.length} blob(s) eligible for deletion, ${mib(candidateBytes)}`);
  await checkpoint();

  // 4. Sweep.
  const deleteObjects = async (swept: BlobRow[]) => {
    const digests = swept.map((s) => s.digest);
    if (deps.blobs.deleteMany) await deps.blobs.deleteMany(digests);
    else for (const d of digests) await deps.blobs.delete(d);
  };
  if (params.dry_run) {
    results.purged_blobs = candidates.length;
    results.freed_space = candidateBytes;
    await ctx.log(
      `dry run: would free ${results.freed_space} bytes (${mib(results.freed_space)}) in ${results.purged_blobs} blob(s); nothing was changed`,
    );
  } else {
    const batches: BlobRow[][] = [];
    for (let i = 0; i < candidates.length; i += sweepBatch) batches.push(candidates.slice(i, i + sweepBatch));
    await timed(() =>
      parallel(batches, params.workers, ctx.signal, async (batch) => {
        try {
          const swept = await paced(() => deps.store.sweep(batch, cutoff, deleteObjects));
          results.purged_blobs += swept.length;
          results.freed_space += swept.reduce((sum, s) => sum + s.size, 0);
          results.kept_blobs += batch.length - swept.length;
        } catch (err) {
          results.failed_blobs += batch.length;
          await ctx.log(
            `sweeping ${batch.length} blob(s) from ${batch[0].digest} failed, the next run tries again: ${(err as Error).message}`,
            'WARNING',
          );
        }
      }),
    );
    await ctx.log(
      `swept ${results.purged_blobs} blob(s), freed ${results.freed_space} bytes (${mib(results.freed_space)}); ` +
        `${results.kept_blobs} were in use again, ${results.failed_blobs} failed`,
    );
    await checkpoint();
  }

  // 4b. Objects no row describes, older than the window: listed from the store, the only
  // time GC reads it (a bucket is listed a thousand keys a request).
  const orphanBatch: BlobRow[] = [];
  let orphanBytes = 0;
  const flushOrphans = async () => {
    const listed = orphanBatch.splice(0);
    const rows = await paced(() => deps.store.withRows(listed.map((o) => o.digest)));
    const orphans = listed.filter((o) => !rows.has(o.digest));
    if (orphans.length === 0) return;
    if (params.dry_run) {
      results.purged_orphans += orphans.length;
      orphanBytes += orphans.reduce((sum, o) => sum + o.size, 0);
      return;
    }
    try {
      const swept = await timed(() => paced(() => deps.store.sweepOrphans(orphans, deleteObjects)));
      results.purged_orphans += swept.length;
      orphanBytes += swept.reduce((sum, o) => sum + o.size, 0);
    } catch (err) {
      await ctx.log(
        `deleting ${orphans.length} object(s) without a row failed, the next run tries again: ${(err as Error).message}`,
        'WARNING',
      );
    }
  };
  if (deps.listStore) {
    for await (const object of deps.blobs.list()) {
      if (ctx.signal.aborted) break;
      if (object.modified.toISOString() >= cutoff) continue;
      orphanBatch.push({ digest: object.digest, size: object.size });
      if (orphanBatch.length >= 500) await flushOrphans();
    }
    await flushOrphans();
    results.store_listed = !ctx.signal.aborted;
  }
  results.freed_space += orphanBytes;
  if (deps.listStore) {
    await ctx.log(
      `${params.dry_run ? 'dry run: would delete' : 'deleted'} ${results.purged_orphans} stored object(s) without a row, ${orphanBytes} bytes`,
    );
  }
  await checkpoint();

  // 5. Empty repositories.
  if (params.remove_empty_repositories) {
    for (let after = 0; ;) {
      const empty = await paced(() => deps.store.emptyRepositories(cutoff, after, undefined, params.dry_run));
      if (empty.length === 0) break;
      after = empty[empty.length - 1].id;
      if (params.dry_run) {
        results.removed_repositories += empty.length;
        continue;
      }
      for (const repo of empty) {
        if (ctx.signal.aborted) break;
        if (await timed(() => paced(() => deps.store.removeEmptyRepository(repo, cutoff, options.operator)))) {
          results.removed_repositories += 1;
          await ctx.log(`removed empty repository ${repo.name}`);
        }
      }
      await checkpoint();
    }
    await ctx.log(
      `${params.dry_run ? 'dry run: would remove' : 'removed'} ${results.removed_repositories} empty repositor${results.removed_repositories === 1 ? 'y' : 'ies'}`,
    );
  }
  results.sweep_ms = sweepMs;
  await ctx.progress?.(results);
  return results;
}

interface SimulatedDeletion {
  artifactIds: Set<number>;
  /** Blobs those deletions would leave unused (links made before the window aside). */
  freedBlobs: BlobRow[];
}

/**
 * What delete_untagged would take along, for a dry run: the untagged artifacts with their
 * accessories, and the blobs that only they name, that no link made within the window holds
 * (a repository's links to blobs its deleted artifacts named go with them), and that are
 * older than the window.
 */
async function simulateUntagged(store: GcStore, cutoff: string): Promise<SimulatedDeletion> {
  const untagged: UntaggedArtifact[] = [];
  for (let after = 0; ;) {
    const page = await store.untaggedArtifacts(cutoff, after);
    if (page.length === 0) break;
    untagged.push(...page);
    after = page[page.length - 1].id;
  }
  const artifactIds = new Set(untagged.map((a) => a.id));
  for (const id of await store.accessoriesOf(untagged)) artifactIds.add(id);
  const named = await store.blobsNamedBy([...artifactIds]);
  const names = await store.namesOf(named);
  const { links, rows } = await store.linksAndRows(named);
  const otherwiseNamed = new Set(names.filter((n) => !artifactIds.has(n.artifactId)).map((n) => n.digest));
  const dropped = new Set(names.filter((n) => artifactIds.has(n.artifactId)).map((n) => `${n.repositoryId} ${n.digest}`));
  const kept = new Set(links.filter((l) => l.createdAt >= cutoff && !dropped.has(`${l.repositoryId} ${l.digest}`)).map((l) => l.digest));
  const freedBlobs = rows
    .filter((r) => r.createdAt < cutoff && !otherwiseNamed.has(r.digest) && !kept.has(r.digest))
    .map((r) => ({ digest: r.digest, size: r.size }));
  return { artifactIds, freedBlobs };
}
