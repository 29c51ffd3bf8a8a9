import type { StoredAffected, StoredRange } from './record.js';
import { versionOrder, type VersionOrder } from './versions/index.js';

export interface Verdict {
  affected: boolean;
  /** The lowest `fixed` above the installed version, '' when none. */
  fixed: string;
}

type Event = StoredRange['events'][number];

function eventVersion(e: Event): string {
  return e.introduced ?? e.fixed ?? e.last_affected ?? e.limit ?? '';
}

/** Orders events by version ("0" first, "*" last); null when some version cannot be read. */
function sortEvents(events: Event[], order: VersionOrder): Event[] | null {
  const key = (e: Event) => eventVersion(e);
  let unreadable = false;
  const sorted = [...events].sort((x, y) => {
    const a = key(x);
    const b = key(y);
    if (a === b) return 0;
    if (a === '0' && x.introduced !== undefined) return -1;
    if (b === '0' && y.introduced !== undefined) return 1;
    if (a === '*') return 1;
    if (b === '*') return -1;
    const c = order(a, b);
    if (c === null) unreadable = true;
    return c ?? 0;
  });
  return unreadable ? null : sorted;
}

/** v < bound, where "0" introduced is below everything and "*" above. */
function below(order: VersionOrder, v: string, bound: string): boolean | null {
  if (bound === '*') return true;
  const c = order(v, bound);
  return c === null ? null : c < 0;
}

function inRange(version: string, range: StoredRange, order: VersionOrder): boolean {
  const limits = range.events.filter((e) => e.limit !== undefined);
  if (limits.length > 0 && !limits.some((e) => below(order, version, e.limit!) === true)) return false;
  const events = sortEvents(range.events, order);
  if (events === null) return false;
  let affected = false;
  for (const e of events) {
    if (e.introduced !== undefined) {
      if (e.introduced === '0' || (order(version, e.introduced) ?? -1) >= 0) affected = true;
    } else if (e.fixed !== undefined) {
      if ((order(version, e.fixed) ?? -1) >= 0) affected = false;
    } else if (e.last_affected !== undefined) {
      if ((order(version, e.last_affected) ?? -1) > 0) affected = false;
    }
  }
  return affected;
}

/**
 * Whether an installed version is affected by one OSV affected entry (the version is listed
 * in versions[], or some ECOSYSTEM/SEMVER range holds it, evaluated as the OSV schema says),
 * and the lowest fixed version above it.
 */
export function evaluate(ecosystemBase: string, version: string, data: StoredAffected): Verdict {
  let affected = data.versions?.includes(version) ?? false;
  let fixed = '';
  for (const range of data.ranges ?? []) {
    const order = versionOrder(ecosystemBase, range.type);
    if (order === null || order(version, version) === null) continue;
    if (!affected && inRange(version, range, order)) affected = true;
    for (const e of range.events) {
      if (e.fixed === undefined) continue;
      const c = order(e.fixed, version);
      if (c === null || c <= 0) continue;
      if (fixed === '' || (order(e.fixed, fixed) ?? 0) < 0) fixed = e.fixed;
    }
  }
  return { affected, fixed: affected ? fixed : '' };
}
