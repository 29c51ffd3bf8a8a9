import type { Worker } from 'node:cluster';
import { KeyedRwLock, type LockMode, type RwLock } from './rw-lock.js';

/**
 * The blob locks of SQLite when several processes serve (server.workers): the lock table
 * lives in the cluster's primary, and workers take and give back locks over the cluster's
 * IPC channel. The primary gives back whatever a worker held when that worker ends, so a
 * worker killed mid-push never leaves a digest locked.
 */

type LockMessage =
  { berth: 'lock'; id: number; keys: string[]; mode: LockMode } | { berth: 'locked'; id: number } | { berth: 'unlock'; id: number };

function isLockMessage(message: unknown): message is LockMessage {
  return typeof message === 'object' && message !== null && 'berth' in message && typeof (message as { id?: unknown }).id === 'number';
}

interface Channel {
  send?: (message: LockMessage) => boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
}

/** A worker's side: each acquire is a request to the primary, answered once every key is held. */
export class ClusterLockClient implements RwLock {
  private nextId = 0;
  private readonly granted = new Map<number, () => void>();

  constructor(private readonly channel: Channel = process as Channel) {
    channel.on('message', (message) => {
      if (!isLockMessage(message) || message.berth !== 'locked') return;
      const grant = this.granted.get(message.id);
      this.granted.delete(message.id);
      grant?.();
    });
  }

  acquire(keys: string[], mode: LockMode): Promise<() => void> {
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.granted.set(id, () => {
        let released = false;
        resolve(() => {
          if (released) return;
          released = true;
          this.send({ berth: 'unlock', id });
        });
      });
      try {
        this.send({ berth: 'lock', id, keys, mode });
      } catch (err) {
        this.granted.delete(id);
        reject(err);
      }
    });
  }

  private send(message: LockMessage): void {
    if (!this.channel.send) throw new Error('not a cluster worker: no channel to the primary');
    this.channel.send(message);
  }
}

/** The primary's side: one lock table for every worker. */
export class ClusterLockServer {
  private readonly locks = new KeyedRwLock();

  /** Answers `worker`'s lock requests until it ends, then gives back what it held. */
  serve(worker: Pick<Worker, 'on' | 'send' | 'isConnected'>): void {
    const held = new Map<number, () => void>();
    let ended = false;
    worker.on('message', (message: unknown) => {
      if (!isLockMessage(message)) return;
      if (message.berth === 'lock') {
        void this.locks.acquire(message.keys, message.mode).then((release) => {
          // Granted after the worker ended: nobody will give it back.
          if (ended) return release();
          held.set(message.id, release);
          if (worker.isConnected()) worker.send({ berth: 'locked', id: message.id });
        });
      } else if (message.berth === 'unlock') {
        held.get(message.id)?.();
        held.delete(message.id);
      }
    });
    worker.on('exit', () => {
      ended = true;
      for (const release of held.values()) release();
      held.clear();
    });
  }

  /** Digests locked or waited for (for tests). */
  get size(): number {
    return this.locks.size;
  }
}
