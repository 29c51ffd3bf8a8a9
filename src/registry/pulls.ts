import type { AuditEntry } from '../events/audit.js';
import { nowIso } from '../lib/clock.js';
import type { RegistryStore } from './store.js';

export interface Pull {
  artifactId: number;
  projectId: number;
  tag: string | null;
  /** What the audit log names: repo:tag or repo@digest. */
  resource: string;
  username: string;
}

interface PendingPull {
  artifactId: number;
  tag: string | null;
  /** Who pulled: the PULL_ARTIFACT event (webhooks) names them, so one user's pulls are counted apart from another's. */
  operator: string;
  time: string;
  count: number;
}

/**
 * Pull times, counts and pull audit records, gathered in memory and written in one
 * transaction every few seconds, so that a pull never waits for a database write and
 * concurrent pulls of one repository never queue behind one row lock. A crash loses at
 * most the last interval's pull records; never a push or a delete.
 */
export class PullRecorder {
  private pending = new Map<string, PendingPull>();
  private audits: AuditEntry[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly store: RegistryStore,
    private readonly options: { intervalMs: number; auditPulls: boolean; onError: (err: unknown) => void },
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.flush(), this.options.intervalMs);
    this.timer.unref();
  }

  record(pull: Pull): void {
    const time = nowIso();
    const key = `${pull.artifactId}\0${pull.tag ?? ''}\0${pull.username}`;
    const entry = this.pending.get(key);
    if (entry) {
      entry.count += 1;
      entry.time = time;
    } else {
      this.pending.set(key, { artifactId: pull.artifactId, tag: pull.tag, operator: pull.username, time, count: 1 });
    }
    if (this.options.auditPulls) {
      this.audits.push({
        username: pull.username,
        operation: 'pull',
        resourceType: 'artifact',
        resource: pull.resource,
        projectId: pull.projectId,
        time,
      });
    }
  }

  /** Writes every pull recorded before the call (waiting out a batch already being written). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.pending.size === 0) return;
    const batch = [...this.pending.values()];
    const audits = this.audits;
    this.pending = new Map();
    this.audits = [];
    this.flushing = this.store
      .recordPulls(batch, audits)
      .catch(this.options.onError)
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
