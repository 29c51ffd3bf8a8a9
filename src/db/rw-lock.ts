export type LockMode = 'shared' | 'exclusive';

/** Reader-writer locks by key: acquire resolves, once every key is held, with the function that releases them. */
export interface RwLock {
  acquire(keys: string[], mode: LockMode): Promise<() => void>;
}

interface Waiter {
  mode: LockMode;
  grant: () => void;
}

interface Entry {
  shared: number;
  exclusive: boolean;
  waiters: Waiter[];
}

/** Reader-writer locks by key in this process, first come first served (a waiting writer holds back later readers). */
export class KeyedRwLock implements RwLock {
  private readonly entries = new Map<string, Entry>();

  /** Locks every key (in sorted order); resolves with the function that releases them all. */
  async acquire(keys: string[], mode: LockMode): Promise<() => void> {
    const sorted = [...new Set(keys)].sort();
    for (const key of sorted) await this.lockOne(key, mode);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const key of sorted.reverse()) this.unlockOne(key, mode);
    };
  }

  /** Keys with a holder or a waiter (for tests). */
  get size(): number {
    return this.entries.size;
  }

  private lockOne(key: string, mode: LockMode): Promise<void> | void {
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { shared: 0, exclusive: false, waiters: [] };
      this.entries.set(key, entry);
    }
    if (entry.waiters.length === 0 && compatible(entry, mode)) {
      take(entry, mode);
      return;
    }
    const e = entry;
    return new Promise<void>((resolve) => e.waiters.push({ mode, grant: resolve }));
  }

  private unlockOne(key: string, mode: LockMode): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    if (mode === 'shared') entry.shared -= 1;
    else entry.exclusive = false;
    while (entry.waiters.length > 0 && compatible(entry, entry.waiters[0].mode)) {
      const next = entry.waiters.shift()!;
      take(entry, next.mode);
      next.grant();
    }
    if (entry.shared === 0 && !entry.exclusive && entry.waiters.length === 0) this.entries.delete(key);
  }
}

function compatible(entry: Entry, mode: LockMode): boolean {
  return mode === 'shared' ? !entry.exclusive : !entry.exclusive && entry.shared === 0;
}

function take(entry: Entry, mode: LockMode): void {
  if (mode === 'shared') entry.shared += 1;
  else entry.exclusive = true;
}
