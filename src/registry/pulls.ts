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

/** Pulls (artifact, tag and user) and audit records written per transaction at most. */
export const pullChunk = { pulls: 50, audits: 200 };

/** Lets whatever is waiting run (requests, their queries) before the next chunk is written. */
const yieldToReaders = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Pull times, counts and pull audit records, gathered in memory and written every few
 * seconds, so that a pull never waits for a database write and concurrent pulls of one
 * repository never queue behind one row lock. A batch is written in short transactions of
 * a few dozen artifacts or a few hundred audit records each, yielding to the event loop
 * between them: on SQLite, whose writes run on the event loop and whose one connection a
 * transaction holds, one transaction for thousands of pulls stalled every reader for tens of
 * milliseconds. Each chunk counts its own pulls, so counts stay exact. A crash loses at most
 * the last interval's pull records; never a push or a delete.
 */
export class PullRecorder {
  private pending = new Map<string, PendingPull>();
  private audits: AuditEntry[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly store: RegistryStore,
    private readonly options: {
      intervalMs: number;
      auditPulls: boolean;
      onError: (err: unknown) => void;
      /**
       * Pulls that leave pull time and count alone (Harbor's scanner_skip_update_pulltime: a
       * scanner's pulls, while the setting is on); their audit record is still written.
       */
      skipsPullTime?: (username: string) => boolean;
    },
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
    if (this.options.skipsPullTime?.(pull.username)) {
      // Neither time nor count changes, nor is a pull event raised.
    } else if (entry) {
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
    if (this.pending.size === 0 && this.audits.length === 0) return;
    const batch = [...this.pending.values()];
    const audits = this.audits;
    this.pending = new Map();
    this.audits = [];
    this.flushing = this.write(batch, audits).finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  /** Writes a batch chunk by chunk; a chunk that fails is reported and the rest still written. */
  private async write(pending: PendingPull[], audits: AuditEntry[]): Promise<void> {
    // In artifact and time order across chunks too, so that an artifact's latest pull is written last.
    const batch = [...pending].sort((a, b) => a.artifactId - b.artifactId || (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
    const chunks = Math.max(Math.ceil(batch.length / pullChunk.pulls), Math.ceil(audits.length / pullChunk.audits));
    for (let i = 0; i < chunks; i++) {
      if (i > 0) await yieldToReaders();
      await this.store
        .recordPulls(
          batch.slice(i * pullChunk.pulls, (i + 1) * pullChunk.pulls),
          audits.slice(i * pullChunk.audits, (i + 1) * pullChunk.audits),
        )
        .catch(this.options.onError);
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flushing;
    await this.flush();
  }
}
