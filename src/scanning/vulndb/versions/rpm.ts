/**
 * RPM version order: epoch, then version, then release, each by rpmvercmp — segments of
 * digits or of letters (anything else only separates); `~` sorts before everything, even the
 * end; `^` after the end but before any other segment; a number beats letters.
 */
export function compareRpm(a: string, b: string): number {
  const x = splitEvr(a);
  const y = splitEvr(b);
  if (x.epoch !== y.epoch) return x.epoch < y.epoch ? -1 : 1;
  const version = rpmvercmp(x.version, y.version);
  if (version !== 0 || x.release === null || y.release === null) return version;
  return rpmvercmp(x.release, y.release);
}

function splitEvr(evr: string): { epoch: bigint; version: string; release: string | null } {
  let rest = evr.trim();
  let epoch = 0n;
  const colon = rest.indexOf(':');
  if (colon > 0 && /^\d+$/.test(rest.slice(0, colon))) {
    epoch = BigInt(rest.slice(0, colon));
    rest = rest.slice(colon + 1);
  }
  const dash = rest.lastIndexOf('-');
  return dash >= 0 ? { epoch, version: rest.slice(0, dash), release: rest.slice(dash + 1) } : { epoch, version: rest, release: null };
}

const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
const isAlpha = (c: string | undefined) => c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'));
const isSeparator = (c: string | undefined) => c !== undefined && !isDigit(c) && !isAlpha(c) && c !== '~' && c !== '^';

export function rpmvercmp(a: string, b: string): number {
  if (a === b) return 0;
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    while (isSeparator(a[i])) i++;
    while (isSeparator(b[j])) j++;
    if (a[i] === '~' || b[j] === '~') {
      if (a[i] !== '~') return 1;
      if (b[j] !== '~') return -1;
      i++;
      j++;
      continue;
    }
    if (a[i] === '^' || b[j] === '^') {
      if (i >= a.length) return -1;
      if (j >= b.length) return 1;
      if (a[i] !== '^') return 1;
      if (b[j] !== '^') return -1;
      i++;
      j++;
      continue;
    }
    if (i >= a.length || j >= b.length) break;
    const numeric = isDigit(a[i]);
    const inSegment = numeric ? isDigit : isAlpha;
    let ei = i;
    let ej = j;
    while (ei < a.length && inSegment(a[ei])) ei++;
    while (ej < b.length && inSegment(b[ej])) ej++;
    // b has a segment of the other kind here: numbers are newer than letters.
    if (ej === j) return numeric ? 1 : -1;
    let sa = a.slice(i, ei);
    let sb = b.slice(j, ej);
    if (numeric) {
      sa = sa.replace(/^0+/, '');
      sb = sb.replace(/^0+/, '');
      if (sa.length !== sb.length) return sa.length < sb.length ? -1 : 1;
    }
    if (sa !== sb) return sa < sb ? -1 : 1;
    i = ei;
    j = ej;
  }
  if (i >= a.length && j >= b.length) return 0;
  return i >= a.length ? -1 : 1;
}
