import { open, type FileHandle } from 'node:fs/promises';

/**
 * Group commit for SQLite in WAL mode.
 *
 * With `synchronous = FULL` every COMMIT waits for an fsync of the write-ahead log, and
 * better-sqlite3 waits on the event loop's thread: a push of one artifact (about ten commits)
 * held every other request for as many fsyncs. The database runs with `synchronous = NORMAL`
 * instead (a commit writes the log without syncing it), and a request that wrote waits for
 * `durable()` before it is answered: an fsync of the log, on libuv's thread pool, that started
 * after its commit. Concurrent requests share one fsync. What a client was told is stored is
 * thus on disk as with FULL (the log holds the commit frame; SQLite replays it after a power
 * loss), while the thread goes on serving. Checkpoints sync the log and the database file
 * themselves, as with FULL.
 */
export class WalSync {
  private handle: FileHandle | null = null;
  /** Commits reported (`committed`) and the count an fsync has covered. */
  private committed = 0;
  private synced = 0;
  private running: Promise<void> | null = null;
  private waiters: Array<{ upTo: number; resolve: () => void; reject: (err: unknown) => void }> = [];
  /** fsyncs done: fewer than the commits they covered when requests overlap. */
  syncs = 0;

  constructor(private readonly walFile: string) {}

  /** Resolves once everything committed before the call is on disk. */
  durable(): Promise<void> {
    const upTo = ++this.committed;
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ upTo, resolve, reject }));
    this.running ??= this.drain();
    return done;
  }

  private async drain(): Promise<void> {
    try {
      while (this.waiters.length > 0) {
        const upTo = this.committed;
        try {
          this.handle ??= await open(this.walFile, 'r');
          await this.handle.sync();
          this.syncs++;
          this.synced = upTo;
          this.settle((w) => w.resolve());
        } catch (err) {
          // Not known to be on disk: every commit waiting now is told so (its request fails).
          this.synced = upTo;
          this.settle((w) => w.reject(err));
        }
      }
    } finally {
      this.running = null;
    }
  }

  private settle(answer: (w: WalSync['waiters'][number]) => void): void {
    const ready = this.waiters.filter((w) => w.upTo <= this.synced);
    this.waiters = this.waiters.filter((w) => w.upTo > this.synced);
    for (const w of ready) answer(w);
  }

  async close(): Promise<void> {
    await this.running;
    await this.handle?.close();
    this.handle = null;
  }
}
