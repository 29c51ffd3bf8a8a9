/**
 * Debian version order (deb-version(7)): epoch, then upstream version, then revision, each
 * compared as alternating runs of non-digits and digits. In a non-digit run `~` sorts before
 * everything (even the end), letters before other characters.
 */
export function compareDpkg(a: string, b: string): number {
  const x = splitDpkg(a);
  const y = splitDpkg(b);
  if (x.epoch !== y.epoch) return x.epoch < y.epoch ? -1 : 1;
  return compareDpkgPart(x.upstream, y.upstream) || compareDpkgPart(x.revision, y.revision);
}

function splitDpkg(version: string): { epoch: bigint; upstream: string; revision: string } {
  let rest = version.trim();
  let epoch = 0n;
  const colon = rest.indexOf(':');
  if (colon > 0 && /^\d+$/.test(rest.slice(0, colon))) {
    epoch = BigInt(rest.slice(0, colon));
    rest = rest.slice(colon + 1);
  }
  const dash = rest.lastIndexOf('-');
  return dash >= 0 ? { epoch, upstream: rest.slice(0, dash), revision: rest.slice(dash + 1) } : { epoch, upstream: rest, revision: '' };
}

function weight(s: string, i: number): number {
  if (i >= s.length) return 0;
  const c = s.charCodeAt(i);
  if (c === 0x7e) return -1; // ~
  if (c >= 0x30 && c <= 0x39) return 0;
  if ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) return c;
  return c + 256;
}

const isDigit = (s: string, i: number) => i < s.length && s.charCodeAt(i) >= 0x30 && s.charCodeAt(i) <= 0x39;

function compareDpkgPart(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while ((i < a.length && !isDigit(a, i)) || (j < b.length && !isDigit(b, j))) {
      const wa = weight(a, i);
      const wb = weight(b, j);
      if (wa !== wb) return wa < wb ? -1 : 1;
      i++;
      j++;
    }
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    const startA = i;
    const startB = j;
    while (isDigit(a, i)) i++;
    while (isDigit(b, j)) j++;
    const da = a.slice(startA, i);
    const db = b.slice(startB, j);
    if (da.length !== db.length) return da.length < db.length ? -1 : 1;
    if (da !== db) return da < db ? -1 : 1;
  }
  return 0;
}
