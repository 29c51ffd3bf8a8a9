/**
 * Quota figures and messages worded as Harbor words them, so that scripts and people who
 * match Harbor's text (`will exceed the configured upper limit of`) see the same words.
 * Pure: no I/O.
 */

/** Bytes as Harbor prints them: "512 B", "1.0 KiB", "8.3 MiB", "1.5 GiB" (binary units, one decimal). */
export function formatBytes(value: number): string {
  if (value < 1024) return `${value} B`;
  let div = 1024n;
  let exp = 0;
  for (let n = BigInt(Math.trunc(value)) / 1024n; n >= 1024n; n /= 1024n) {
    div *= 1024n;
    exp++;
  }
  // One decimal, rounded to nearest with ties to even, as Go's %.1f does for the exact
  // quotient (the divisor is a power of two, so the float it formats is exact).
  const scaled = BigInt(Math.trunc(value)) * 10n;
  let tenths = scaled / div;
  const twice = (scaled % div) * 2n;
  if (twice > div || (twice === div && tenths % 2n === 1n)) tenths += 1n;
  return `${tenths / 10n}.${tenths % 10n} ${'KMGTPE'[exp]}iB`;
}

/**
 * Harbor's refusal when an addition would take usage past the limit, as its registry sends
 * it to clients (403, code DENIED). Adding nothing to a project already over its limit (a
 * new upload after the limit was lowered) is worded as Harbor words it: "subtracting 0 B".
 */
export function exceededMessage(adding: number, used: number, hard: number): string {
  const op = adding > 0 ? 'adding' : 'subtracting';
  return (
    `${op} ${formatBytes(Math.abs(adding))} of storage resource, which when updated to current usage of ` +
    `${formatBytes(used)} will exceed the configured upper limit of ${formatBytes(hard)}.`
  );
}

/** Harbor's wording of the warning sent when usage reaches the warning threshold. */
export function warningMessage(percent: number, used: number, hard: number): string {
  return `quota usage reach ${percent}%: resource storage used ${formatBytes(used)} of ${formatBytes(hard)}`;
}

/** Harbor's largest limit: 1024 TiB. */
export const maxStorageLimit = 1024 ** 5;

/** Why a storage limit is not acceptable, or null when it is (-1 or 1 … 1024 TiB), in Harbor's terms. */
export function storageLimitProblem(value: unknown): string | null {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    return `the storage limit must be a whole number of bytes, or -1 for unlimited, not ${JSON.stringify(value) ?? String(value)}`;
  }
  if (value <= 0 && value !== -1) return `invalid non-positive value for quota limit, value=${value} (use -1 for unlimited)`;
  if (value > maxStorageLimit) return `exceeded 1024TB, which is ${maxStorageLimit} Bytes, value=${value}`;
  return null;
}
