import { apiError } from '../../lib/errors.js';

/**
 * Harbor's CVEAllowlist body, checked: ids are trimmed, none empty, none twice; `expires_at`
 * is Unix seconds or null (never). Pure, so a bad body is refused before anything is written.
 */
export interface AllowlistInput {
  items: string[];
  expiresAt: number | null;
}

/** What a pull check needs: the ids, and whether the list no longer applies. */
export interface EffectiveAllowlist {
  ids: Set<string>;
  expired: boolean;
}

/** More than any real list; keeps one row's JSON small. */
export const maxAllowlistItems = 10_000;
const maxIdLength = 128;

function bad(message: string) {
  return apiError('BAD_REQUEST', message);
}

export function parseAllowlist(body: unknown, where = 'the CVE allowlist'): AllowlistInput {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw bad(`${where} must be a JSON object with "items"`);
  const { items, expires_at: expiresAt } = body as Record<string, unknown>;
  if (
    expiresAt !== undefined &&
    expiresAt !== null &&
    (typeof expiresAt !== 'number' || !Number.isSafeInteger(expiresAt) || expiresAt < 0)
  ) {
    throw bad(`expires_at of ${where} must be a time in seconds since the epoch, or null for never, not ${JSON.stringify(expiresAt)}`);
  }
  if (items !== undefined && items !== null && !Array.isArray(items)) throw bad(`items of ${where} must be an array of {"cve_id": "..."}`);
  const list = (items as unknown[] | null | undefined) ?? [];
  if (list.length > maxAllowlistItems) throw bad(`${where} holds ${list.length} items; at most ${maxAllowlistItems} are allowed`);
  const seen = new Set<string>();
  for (const item of list) {
    const raw = item !== null && typeof item === 'object' ? (item as Record<string, unknown>).cve_id : undefined;
    if (typeof raw !== 'string') throw bad(`every item of ${where} must be {"cve_id": "<id>"}, not ${JSON.stringify(item)}`);
    const id = raw.trim();
    if (id === '') throw bad(`${where} holds an empty or whitespace-only CVE ID`);
    if (id.length > maxIdLength) throw bad(`CVE ID "${id.slice(0, 40)}…" in ${where} is longer than ${maxIdLength} characters`);
    if (seen.has(id)) throw bad(`duplicate CVE ID in ${where}: ${id}`);
    seen.add(id);
  }
  return { items: [...seen], expiresAt: (expiresAt as number | null | undefined) ?? null };
}

/** Harbor's IsExpired: from the second `expires_at` names, the list no longer applies. */
export function isExpired(expiresAt: number | null, nowMs = Date.now()): boolean {
  return expiresAt !== null && Math.floor(nowMs / 1000) >= expiresAt;
}
