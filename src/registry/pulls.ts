import { nowIso } from '../lib/clock.js';
import type { RegistryStore } from './store.js';

interface PendingPull {
  artifactId: number;
  tag: string | null;
  time: string;
  count: number;
}

/**
 * Pull times and counts, gathered in memory and written in one transaction every few
 * seconds, so that a pull never waits for a database write and concurrent pulls of one
 * repository never queue behind one row lock.
 */
export class PullRecorder {
  private pending = new Map<string, PendingPull>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly store: RegistryStore,
    private readonly intervalMs = 5000,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.flush(), this.intervalMs);
    this.timer.unref();
  }

  record(artifactId: number, tag: string | null): void {
    const key = `${artifactId}\0${tag ?? ''}`;
    const entry = this.pending.get(key);
    if (entry) {
      entry.count += 1;
      entry.time = nowIso();
    } else {
      this.pending.set(key, { artifactId, tag, time: nowIso(), count: 1 });
    }
  }

  async flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (this.pending.size === 0) return;
    const batch = [...this.pending.values()];
    this.pending = new Map();
    this.flushing = this.store
      .recordPulls(batch)
      .catch(this.onError)
      .finally(() => {
        this.flushing = null;
      });
    return this.flushing;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flushing;
    await this.flush();
  }
}
