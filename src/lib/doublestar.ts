/*
 * Doublestar patterns, as Harbor matches repository names and tags (Go's
 * github.com/bmatcuk/doublestar v4, `doublestar.Match`), in time linear in the name.
 *
 * Syntax: `*` any run of characters other than `/`; `?` one character other than `/`;
 * `[abc]`, `[a-z]`, `[^…]` or `[!…]` one character of a class (never `/`; `-` first or last
 * is itself, `\` escapes inside); `{a,b,…}` alternatives, which may nest and hold any of
 * these (`{a}` is a choice of one, `{}` and `{a,}` offer the empty string); `\c` the
 * character c; anything else itself. `**` as a whole path segment crosses segments:
 * `**` alone matches everything, `**` then `/` matches zero or more segments (`a/**` then `/b`
 * matches `a/b` and `a/x/y/b`), and `/**` at the end matches the name before it and all that
 * lies beneath (`a/**` matches `a`, `a/` and `a/x/y`). Elsewhere `**` is `*`. Dotfiles are
 * not special. An unclosed `[` or `{`, a `}` that closes nothing, an empty class `[]` and a
 * trailing lone `\` are errors, as doublestar's ValidatePattern has them.
 *
 * Differences from picomatch (which Berth used before, with dot: true): `*` and `**` match
 * the empty name, `{a}` and `{}` are alternatives rather than literal braces, `[!a]` negates,
 * `[]a]` is an error, not a class holding `]`, `**` before braces is `*` (`**{a,b}` is not
 * `**` then `/a`), `*` then `/**` matches `x` as `a/**` matches `a` (in both), and a trailing `/` or a
 * leading `./` on the name is not ignored. Differences
 * from doublestar itself, at rare edges (repository names have no empty segment and never
 * end in `/`, tags have no `/`): a pattern ending in `/**` then `/` does not match the name
 * without its trailing slash; `**` is a whole segment only by what stands beside it in its
 * own alternative or around the braces that hold it (doublestar decides on the expanded
 * text, with quirks at the edge of a brace); where the name ends and the rest of the
 * pattern can match the empty string, it matches (doublestar only takes `*`, `**`, `/**`,
 * `**` then `/`, and braces of those there: its `**` then `/*` does not match the empty
 * name); and a `}` that closes nothing is an error even where doublestar's Match would take
 * it literally on a name that matches.
 *
 * The pattern is compiled to a small nondeterministic automaton (Thompson's construction;
 * alternatives are split nodes) that is run with a set of states per character of the name,
 * so a match costs O(pattern × name) however many stars the pattern holds; a backtracking
 * regular expression is exponential in the number of stars on a name that does not match.
 */

const SLASH = 0x2f;

type Item =
  | { t: 'char'; c: number }
  | { t: 'one' }
  | { t: 'class'; negate: boolean; ranges: Array<[number, number]> }
  | { t: 'stars'; n: number }
  | { t: 'alt'; alts: Item[][] };

type Resolved =
  | { t: 'char'; c: number }
  | { t: 'one' }
  | { t: 'class'; negate: boolean; ranges: Array<[number, number]> }
  | { t: 'star' }
  /** `**` standing alone at the end: anything, `/` included. */
  | { t: 'any' }
  /** `**` then `/` at the start of a segment: zero or more segments, each with its `/`. */
  | { t: 'segments' }
  /** `/**` at the end: nothing, or `/` and anything. */
  | { t: 'tail' }
  | { t: 'alt'; alts: Resolved[][] };

class Parser {
  private i = 0;
  constructor(private readonly p: number[]) {}

  parse(): Item[] {
    const items = this.sequence(0);
    if (this.i < this.p.length) throw new Error('a "}" closes no "{"');
    return items;
  }

  /** Items up to the end, or (inside braces) up to the `,` or `}` that ends an alternative. */
  private sequence(depth: number): Item[] {
    const { p } = this;
    const items: Item[] = [];
    while (this.i < p.length) {
      const c = p[this.i];
      if (c === 0x5c /* \ */) {
        if (this.i + 1 >= p.length) throw new Error('it ends with an unfinished escape "\\"');
        items.push({ t: 'char', c: p[this.i + 1] });
        this.i += 2;
      } else if (c === 0x2a /* * */) {
        let n = 0;
        while (p[this.i] === 0x2a) {
          n++;
          this.i++;
        }
        items.push({ t: 'stars', n });
      } else if (c === 0x3f /* ? */) {
        items.push({ t: 'one' });
        this.i++;
      } else if (c === 0x5b /* [ */) {
        items.push(this.charClass());
      } else if (c === 0x7b /* { */) {
        this.i++;
        const alts: Item[][] = [];
        for (;;) {
          alts.push(this.sequence(depth + 1));
          if (this.i >= p.length) throw new Error('a "{" is not closed');
          const end = p[this.i++];
          if (end === 0x7d /* } */) break;
        }
        items.push({ t: 'alt', alts });
      } else if (c === 0x7d /* } */) {
        if (depth === 0) throw new Error('a "}" closes no "{"');
        return items;
      } else if (c === 0x2c /* , */ && depth > 0) {
        return items;
      } else {
        items.push({ t: 'char', c });
        this.i++;
      }
    }
    return items;
  }

  private charClass(): Item {
    const { p } = this;
    const unclosed = () => new Error('a "[" is not closed');
    this.i++;
    const negate = p[this.i] === 0x5e /* ^ */ || p[this.i] === 0x21; /* ! */
    if (negate) this.i++;
    if (this.i >= p.length) throw unclosed();
    if (p[this.i] === 0x5d /* ] */) throw new Error('a character class "[]" is empty');
    const ranges: Array<[number, number]> = [];
    const member = (): number => {
      if (p[this.i] === 0x5c) {
        if (this.i + 1 >= p.length) throw unclosed();
        this.i += 2;
        return p[this.i - 1];
      }
      return p[this.i++];
    };
    while (this.i < p.length && p[this.i] !== 0x5d) {
      const lo = member();
      // `-` between two members is a range; first or last it is itself.
      if (p[this.i] === 0x2d && this.i + 1 < p.length && p[this.i + 1] !== 0x5d) {
        this.i++;
        ranges.push([lo, member()]);
      } else {
        ranges.push([lo, lo]);
      }
    }
    if (this.i >= p.length) throw unclosed();
    this.i++;
    return { t: 'class', negate, ranges };
  }
}

type Follow = 'end' | 'slash' | 'other';
const isSlash = (item: Item | undefined) => item?.t === 'char' && item.c === SLASH;

/** Decides what each run of stars is: a whole-segment `**` or a `*`. */
function resolve(items: Item[], segmentStart: boolean, follow: Follow): Resolved[] {
  const out: Resolved[] = [];
  for (let k = 0; k < items.length; k++) {
    const item = items[k];
    const starts = k === 0 ? segmentStart : isSlash(items[k - 1]);
    const next = k + 1 < items.length ? (isSlash(items[k + 1]) ? 'slash' : 'other') : follow;
    if (item.t === 'stars') {
      if (item.n === 2 && starts && next === 'slash' && k + 1 < items.length) {
        out.push({ t: 'segments' });
        k++; // its `/` is part of it: zero segments take no `/` either
      } else if (item.n === 2 && starts && next === 'end' && k > 0 && out[out.length - 1].t === 'char') {
        out.pop(); // the `/` before it (not one a `**/` before took)
        out.push({ t: 'tail' });
      } else if (item.n === 2 && starts && next !== 'other') {
        // `**` alone, or at the edge of braces with the `/` outside them.
        out.push({ t: 'any' });
      } else {
        out.push({ t: 'star' });
      }
    } else if (item.t === 'alt') {
      out.push({ t: 'alt', alts: item.alts.map((alt) => resolve(alt, starts, next)) });
    } else {
      out.push(item);
    }
  }
  return out;
}

// The automaton: a node tests one character and goes on to `next`, or is a split (epsilon
// moves to each of `to`), or is the accepting node.
interface TestNode {
  kind: 0;
  test: (c: number) => boolean;
  next: number;
}
interface SplitNode {
  kind: 1;
  to: number[];
}
interface MatchNode {
  kind: 2;
}
type Node = TestNode | SplitNode | MatchNode;

const notSlash = (c: number) => c !== SLASH;
const anything = () => true;

class Builder {
  readonly nodes: Node[] = [{ kind: 2 }];

  private test(test: (c: number) => boolean, next: number): number {
    this.nodes.push({ kind: 0, test, next });
    return this.nodes.length - 1;
  }

  private split(to: number[]): number {
    this.nodes.push({ kind: 1, to });
    return this.nodes.length - 1;
  }

  /** A loop of `test` before `next`: (test)* next. */
  private loop(test: (c: number) => boolean, next: number): number {
    const at = this.split([]);
    const body = this.test(test, at);
    (this.nodes[at] as SplitNode).to = [body, next];
    return at;
  }

  /** The start of `items` followed by the node `next` (built from the end backwards). */
  sequence(items: Resolved[], next: number): number {
    let at = next;
    for (let k = items.length - 1; k >= 0; k--) at = this.item(items[k], at);
    return at;
  }

  private item(item: Resolved, next: number): number {
    switch (item.t) {
      case 'char': {
        const c = item.c;
        return this.test((x) => x === c, next);
      }
      case 'one':
        return this.test(notSlash, next);
      case 'class': {
        const { negate, ranges } = item;
        return this.test((x) => x !== SLASH && ranges.some(([lo, hi]) => lo <= x && x <= hi) !== negate, next);
      }
      case 'star':
        return this.loop(notSlash, next);
      case 'any':
        return this.loop(anything, next);
      case 'segments': {
        // ([^/]* /)* next
        const at = this.split([]);
        const segment = this.loop(
          notSlash,
          this.test((x) => x === SLASH, at),
        );
        (this.nodes[at] as SplitNode).to = [next, segment];
        return at;
      }
      case 'tail':
        // (/ .*)? next
        return this.split([next, this.test((x) => x === SLASH, this.loop(anything, next))]);
      case 'alt':
        return this.split(item.alts.map((alt) => this.sequence(alt, next)));
    }
  }
}

function compile(pattern: string): (name: string) => boolean {
  const points = Array.from(pattern, (ch) => ch.codePointAt(0)!);
  const items = resolve(new Parser(points).parse(), true, 'end');
  const builder = new Builder();
  const start = builder.sequence(items, 0);
  const nodes = builder.nodes;
  const size = nodes.length;

  return (name: string): boolean => {
    // Two state lists and a stamp per node: a node is in the list being built when its
    // stamp is the current step.
    const stamp = new Int32Array(size).fill(-1);
    let current = new Int32Array(size);
    let next = new Int32Array(size);
    const stack = new Int32Array(size);
    let step = 0;
    let count = 0;
    // Adds `from` and all it reaches by epsilon moves to `list` (a node is stamped when it
    // is first seen, so each is pushed at most once a step).
    const add = (list: Int32Array, n: number, from: number): number => {
      if (stamp[from] === step) return n;
      stamp[from] = step;
      let top = 0;
      stack[top++] = from;
      while (top > 0) {
        const at = stack[--top];
        const node = nodes[at];
        if (node.kind === 1) {
          for (const to of node.to) {
            if (stamp[to] === step) continue;
            stamp[to] = step;
            stack[top++] = to;
          }
        } else {
          list[n++] = at;
        }
      }
      return n;
    };
    count = add(current, 0, start);
    for (const ch of name) {
      const c = ch.codePointAt(0)!;
      step++;
      let n = 0;
      for (let k = 0; k < count; k++) {
        const node = nodes[current[k]];
        if (node.kind === 0 && node.test(c)) n = add(next, n, node.next);
      }
      if (n === 0) return false;
      [current, next] = [next, current];
      count = n;
    }
    for (let k = 0; k < count; k++) if (current[k] === 0) return true;
    return false;
  };
}

const cache = new Map<string, (name: string) => boolean>();
const cacheMax = 2000;

/**
 * The test of a doublestar pattern against a whole name (compiled once, cached); throws an
 * Error saying what is wrong with a pattern that does not compile. The empty pattern matches
 * only the empty name.
 */
export function compileDoublestar(pattern: string): (name: string) => boolean {
  let test = cache.get(pattern);
  if (!test) {
    test = compile(pattern);
    if (cache.size >= cacheMax) cache.clear();
    cache.set(pattern, test);
  }
  return test;
}

/** Whether `name` matches the doublestar `pattern` (throws on a pattern that does not compile). */
export function matchDoublestar(pattern: string, name: string): boolean {
  return compileDoublestar(pattern)(name);
}
