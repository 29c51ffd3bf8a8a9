import { LRUCache } from 'lru-cache';

/**
 * Reads of the data path kept while the database says nothing changed (`changeStamp` of the
 * SQLite handle: this process's writes, and PRAGMA data_version for every other connection).
 * An entry is used only under the stamp it was read under, so a read never sees an older
 * state than the database has committed: no time-to-live, no window. Without a stamp
 * (PostgreSQL, where other instances commit where this one cannot see), every read goes to
 * the database. Values are shared between callers and must not be changed.
 */
export class StampedReadCache<V extends object> {
  private readonly entries: LRUCache<string, { stamp: number; value: V }> | null;

  constructor(
    private readonly changeStamp: (() => number) | undefined,
    max = 10_000,
  ) {
    this.entries = changeStamp ? new LRUCache({ max }) : null;
  }

  async get(key: string, load: () => Promise<V | undefined>): Promise<V | undefined> {
    if (this.entries === null) return load();
    // The stamp before the read: a change committed while the read waits for the connection
    // leaves the entry under an older stamp, never used.
    const stamp = this.changeStamp!();
    const hit = this.entries.get(key);
    if (hit !== undefined && hit.stamp === stamp) return hit.value;
    const value = await load();
    if (value === undefined) this.entries.delete(key);
    else this.entries.set(key, { stamp, value });
    return value;
  }
}
