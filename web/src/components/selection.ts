import { useState } from 'react';

/**
 * Rows chosen in a DataTable, kept across its pages (by key, with the row as it was shown):
 * what a bulk action works on.
 */
export interface Selection<T> {
  rows: ReadonlyMap<string | number, T>;
  has(key: string | number): boolean;
  set(rows: T[], on: boolean): void;
  clear(): void;
  /** Forgets the given keys (done with them). */
  drop(keys: Array<string | number>): void;
  /** Keeps the chosen rows as the table shows them now (a row's state changed since it was chosen). */
  refresh(rows: T[]): void;
}

export function useSelection<T>(rowKey: (row: T) => string | number): Selection<T> {
  const [rows, setRows] = useState<ReadonlyMap<string | number, T>>(new Map());
  return {
    rows,
    has: (key) => rows.has(key),
    set(list, on) {
      setRows((current) => {
        const next = new Map(current);
        for (const row of list) {
          if (on) next.set(rowKey(row), row);
          else next.delete(rowKey(row));
        }
        return next;
      });
    },
    clear: () => setRows(new Map()),
    refresh(list) {
      if (!list.some((row) => rows.has(rowKey(row)) && rows.get(rowKey(row)) !== row)) return;
      setRows((current) => {
        const next = new Map(current);
        for (const row of list) if (next.has(rowKey(row))) next.set(rowKey(row), row);
        return next;
      });
    },
    drop(keys) {
      setRows((current) => {
        const next = new Map(current);
        for (const key of keys) next.delete(key);
        return next;
      });
    },
  };
}
