/**
 * Maven's version order (ComparableVersion). A version is split on `.`, `-` and changes
 * between digits and letters into numbers, qualifiers and nested lists (`-` and a digit/letter
 * change start a sub-list); trailing "null" items (0, "", ga, final, release) are dropped.
 * Qualifiers order alpha < beta < milestone < rc = cr < snapshot < release < sp, then any
 * other word alphabetically; a number is newer than a qualifier, a list newer than a qualifier
 * and older than a number.
 */
type Item = { kind: 'int'; value: bigint } | { kind: 'str'; value: string } | { kind: 'list'; items: Item[] };

const qualifiers = ['alpha', 'beta', 'milestone', 'rc', 'snapshot', '', 'sp'];
const aliases: Record<string, string> = { ga: '', final: '', release: '', cr: 'rc' };
const releaseIndex = String(qualifiers.indexOf(''));

function comparableQualifier(value: string): string {
  const i = qualifiers.indexOf(value);
  return i === -1 ? `${qualifiers.length}-${value}` : String(i);
}

function stringItem(value: string, followedByDigit: boolean): Item {
  if (followedByDigit && value.length === 1) {
    if (value === 'a') value = 'alpha';
    else if (value === 'b') value = 'beta';
    else if (value === 'm') value = 'milestone';
  }
  return { kind: 'str', value: aliases[value] ?? value };
}

function isNull(item: Item): boolean {
  if (item.kind === 'int') return item.value === 0n;
  if (item.kind === 'str') return comparableQualifier(item.value) === releaseIndex;
  return item.items.length === 0;
}

function parseItem(isDigit: boolean, text: string): Item {
  return isDigit ? { kind: 'int', value: BigInt(text) } : stringItem(text, false);
}

function normalize(list: Item[]): void {
  for (let i = list.length - 1; i >= 0; i--) {
    const last = list[i];
    if (isNull(last)) list.splice(i, 1);
    else if (last.kind !== 'list') break;
  }
}

export function parseMaven(version: string): Item {
  const text = version.trim().toLowerCase();
  const root: Item & { kind: 'list' } = { kind: 'list', items: [] };
  let list = root;
  const stack = [root];
  const open = () => {
    const next: Item & { kind: 'list' } = { kind: 'list', items: [] };
    list.items.push(next);
    list = next;
    stack.push(next);
  };
  let isDigit = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '.' || c === '-') {
      list.items.push(i === start ? { kind: 'int', value: 0n } : parseItem(isDigit, text.slice(start, i)));
      start = i + 1;
      if (c === '-') open();
    } else if (c >= '0' && c <= '9') {
      if (!isDigit && i > start) {
        list.items.push(stringItem(text.slice(start, i), true));
        start = i;
        open();
      }
      isDigit = true;
    } else {
      if (isDigit && i > start) {
        list.items.push(parseItem(true, text.slice(start, i)));
        start = i;
        open();
      }
      isDigit = false;
    }
  }
  if (text.length > start) list.items.push(parseItem(isDigit, text.slice(start)));
  while (stack.length > 0) normalize(stack.pop()!.items);
  return root;
}

function compareItem(a: Item, b: Item | null): number {
  if (a.kind === 'int') {
    if (b === null) return a.value === 0n ? 0 : 1;
    if (b.kind === 'int') return a.value === b.value ? 0 : a.value < b.value ? -1 : 1;
    return 1;
  }
  if (a.kind === 'str') {
    if (b === null) return cmp(comparableQualifier(a.value), releaseIndex);
    if (b.kind === 'str') return cmp(comparableQualifier(a.value), comparableQualifier(b.value));
    return -1;
  }
  if (b === null) return a.items.length === 0 ? 0 : compareItem(a.items[0], null);
  if (b.kind === 'int') return -1;
  if (b.kind === 'str') return 1;
  const n = Math.max(a.items.length, b.items.length);
  for (let i = 0; i < n; i++) {
    const l = a.items[i] ?? null;
    const r = b.items[i] ?? null;
    const result = l === null ? (r === null ? 0 : -compareItem(r, l)) : compareItem(l, r);
    if (result !== 0) return result;
  }
  return 0;
}

const cmp = (a: string, b: string) => (a === b ? 0 : a < b ? -1 : 1);

export function compareMavenParsed(a: Item, b: Item): number {
  return compareItem(a, b);
}

export function compareMaven(a: string, b: string): number {
  return compareItem(parseMaven(a), parseMaven(b));
}
