/*
 * The doublestar matcher (lib/doublestar.ts): a table of Harbor's doublestar semantics, bad
 * patterns, and a property against a brute-force reference matcher written here from the
 * same rules (braces expanded, then a plain recursive match).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { compileDoublestar, matchDoublestar } from '../../src/lib/doublestar.js';

const cases: Array<[pattern: string, name: string, matches: boolean]> = [
  // literals and stars
  ['library/app', 'library/app', true],
  ['library/app', 'library/ap', false],
  ['library/app', 'library/appx', false],
  ['*', 'app', true],
  ['*', '', true],
  ['*', 'a/b', false],
  ['library/*', 'library/app', true],
  ['library/*', 'library/a/b', false],
  ['library/*', 'library', false],
  ['v*', 'v1.2.3', true],
  ['v*', 'latest', false],
  ['*-rc*', '1.0-rc2', true],
  ['*a*a*b', 'xaxaxb', true],
  ['.*', '.hidden', true],
  ['*', '.hidden', true],
  // `?`
  ['v?', 'v1', true],
  ['v?', 'v', false],
  ['v?', 'v12', false],
  ['a?b', 'a/b', false],
  ['?', 'é', true],
  ['??', '😀', false],
  // `**`
  ['**', '', true],
  ['**', 'a', true],
  ['**', 'a/b/c', true],
  ['a/**', 'a', true],
  ['a/**', 'a/', true],
  ['a/**', 'a/b', true],
  ['a/**', 'a/b/c', true],
  ['a/**', 'ab', false],
  ['a/**', 'b/a', false],
  ['a/**/b', 'a/b', true],
  ['a/**/b', 'a/x/b', true],
  ['a/**/b', 'a/x/y/b', true],
  ['a/**/b', 'a/xb', false],
  ['a/**/b', 'a/x/y/bc', false],
  ['**/b', 'b', true],
  ['**/b', 'x/y/b', true],
  ['**/b', 'xb', false],
  ['**/*', 'a', true],
  ['**/*', 'a/b/c', true],
  ['library/**/*-dev', 'library/team/app-dev', true],
  ['library/**/*-dev', 'library/app-dev', true],
  ['library/**/*-dev', 'library/team/app-prod', false],
  ['**/**/a', 'a', true],
  ['**/**', 'a', true],
  ['**/**', '', true],
  ['a/**/**', 'a/b/c', true],
  ['a/**/**', 'a', false],
  ['**/**/a', 'x/y/z/a', true],
  // `**` not a whole segment is `*`
  ['a**', 'abc', true],
  ['a**', 'ab/c', false],
  ['**a', 'ba', true],
  ['**a', 'x/a', false],
  ['a/**b', 'a/xb', true],
  ['a/**b', 'a/x/b', false],
  ['a/***', 'a/b', true],
  ['a/***', 'a/b/c', false],
  ['***', 'a/b', false],
  // classes
  ['[abc]', 'b', true],
  ['[abc]', 'd', false],
  ['[a-c]x', 'bx', true],
  ['[a-c]x', 'dx', false],
  ['v[0-9].[0-9]', 'v1.2', true],
  ['[^a]', 'b', true],
  ['[^a]', 'a', false],
  ['[!a]', 'b', true],
  ['[!a]', 'a', false],
  ['[^a]', '/', false],
  ['x[^a]y', 'x/y', false],
  ['[/]', '/', false],
  ['[-a]', '-', true],
  ['[a-]', '-', true],
  ['[a-]', 'b', false],
  ['[a-c-e]', '-', true],
  ['[a-c-e]', 'd', false],
  ['[\\]]', ']', true],
  ['[\\-a]', '-', true],
  ['[a\\-c]', 'b', false],
  ['[*]', '*', true],
  ['[*]', 'a', false],
  ['[{]', '{', true],
  ['[,]', ',', true],
  ['{[,],b}', ',', true],
  ['[c-a]', 'b', false],
  [']', ']', true],
  // escapes
  ['\\*', '*', true],
  ['\\*', 'a', false],
  ['\\?', '?', true],
  ['\\[a]', '[a]', true],
  ['\\{a,b\\}', '{a,b}', true],
  ['\\\\', '\\', true],
  ['a\\b', 'ab', true],
  ['\\**', '*abc', true],
  // braces
  ['{a,b}', 'a', true],
  ['{a,b}', 'b', true],
  ['{a,b}', 'c', false],
  ['{a}', 'a', true],
  ['{a}', '{a}', false],
  ['{}', '', true],
  ['{}x', 'x', true],
  ['{a,}', '', true],
  ['{a,}b', 'ab', true],
  ['{a,}b', 'b', true],
  ['{a,{b,c}}', 'c', true],
  ['{a,{b,{c,d*}}}x', 'dddx', true],
  ['{a,{b,{c,d*}}}x', 'ex', false],
  ['{v1.*,latest}', 'v1.2', true],
  ['{v1.*,latest}', 'v2.0', false],
  ['{library,team}/*', 'team/app', true],
  ['{library,team}/*', 'other/app', false],
  ['x/{**/a,b}', 'x/a', true],
  ['x/{**/a,b}', 'x/y/z/a', true],
  ['x/{**/a,b}', 'x/b', true],
  ['x/{**/a,b}', 'x/y/b', false],
  ['{a/**,b}', 'a', true],
  ['{a/**,b}', 'a/x/y', true],
  ['{**}', 'a/b', true],
  ['{a\\,b,c}', 'a,b', true],
  ['{a\\,b,c}', 'a', false],
  ['{a\\}b,c}', 'a}b', true],
  ['a,b', 'a,b', true],
  // code points
  ['é*', 'été', true],
  ['[α-ω]', 'λ', true],
  ['😀?', '😀x', true],
];

test('doublestar: the table of patterns and names', () => {
  for (const [pattern, name, matches] of cases) {
    assert.equal(matchDoublestar(pattern, name), matches, `${JSON.stringify(pattern)} against ${JSON.stringify(name)}`);
  }
});

test('doublestar: bad patterns are errors that say what is wrong', () => {
  const bad: Array<[string, RegExp]> = [
    ['[', /"\[" is not closed/],
    ['a[bc', /"\[" is not closed/],
    ['[^', /"\[" is not closed/],
    ['[a\\', /"\[" is not closed/],
    ['[]', /class "\[\]" is empty/],
    ['[]a]', /class "\[\]" is empty/],
    ['[!]', /class "\[\]" is empty/],
    ['{', /"\{" is not closed/],
    ['{a,b', /"\{" is not closed/],
    ['{a,{b}', /"\{" is not closed/],
    ['a}', /"\}" closes no "\{"/],
    ['{a}}', /"\}" closes no "\{"/],
    ['\\{a}', /"\}" closes no "\{"/],
    ['\\', /unfinished escape/],
    ['a\\', /unfinished escape/],
    ['a\\\\\\', /unfinished escape/],
  ];
  for (const [pattern, message] of bad) {
    assert.throws(() => compileDoublestar(pattern), message, JSON.stringify(pattern));
  }
  // A doubled backslash at the end is an escaped backslash, not an unfinished escape.
  assert.equal(matchDoublestar('a\\\\', 'a\\'), true);
});

test('doublestar: a compiled pattern is cached and reusable', () => {
  const test1 = compileDoublestar('library/**');
  assert.equal(compileDoublestar('library/**'), test1);
  assert.equal(test1('library/a/b'), true);
  assert.equal(test1('other/a'), false);
  assert.equal(test1('library/c'), true);
});

test('doublestar: many stars on a long name that does not match', () => {
  // A backtracking matcher takes seconds here; the automaton answers at once.
  assert.equal(matchDoublestar(`${'*a'.repeat(100)}b`, 'a'.repeat(500)), false);
  assert.equal(matchDoublestar(`${'**/'.repeat(50)}b`, 'a/'.repeat(200)), false);
  assert.equal(matchDoublestar(`${'{*a,a*}'.repeat(30)}b`, 'a'.repeat(300)), false);
  assert.equal(matchDoublestar(`${'*a'.repeat(100)}`, 'a'.repeat(500)), true);
});

// The reference: braces expanded into every flat pattern, each matched recursively.

/** Every flat pattern the braces of `pattern` stand for (escapes and classes kept as written). */
function expand(pattern: string): string[] {
  let i = 0;
  const skipClass = () => {
    // at '[': to just after its closing ']' (a ']' first, after the negation, belongs to it)
    i++;
    if (pattern[i] === '^' || pattern[i] === '!') i++;
    i++;
    while (i < pattern.length && pattern[i] !== ']') i += pattern[i] === '\\' ? 2 : 1;
    i++;
  };
  // Finds the first top-level '{', its alternatives and its closing '}'.
  while (i < pattern.length) {
    const c = pattern[i];
    if (c === '\\') i += 2;
    else if (c === '[') skipClass();
    else if (c === '{') break;
    else i++;
  }
  if (i >= pattern.length) return [pattern];
  const open = i++;
  let depth = 1;
  let from = i;
  const alts: string[] = [];
  while (depth > 0) {
    const c = pattern[i];
    if (c === '\\') i += 2;
    else if (c === '[') skipClass();
    else if (c === '{') (depth++, i++);
    else if (c === '}') {
      if (--depth === 0) alts.push(pattern.slice(from, i));
      i++;
    } else if (c === ',' && depth === 1) {
      alts.push(pattern.slice(from, i));
      from = ++i;
    } else i++;
  }
  const before = pattern.slice(0, open);
  const after = pattern.slice(i);
  return alts.flatMap((alt) => expand(before + alt + after));
}

function classMatches(body: string, c: string): boolean {
  let i = 0;
  const negate = body[0] === '^' || body[0] === '!';
  if (negate) i++;
  let hit = false;
  const read = () => (body[i] === '\\' ? ((i += 2), body[i - 1]) : body[i++]);
  while (i < body.length) {
    const lo = read();
    if (body[i] === '-' && i + 1 < body.length) {
      i++;
      const hi = read();
      if (lo <= c && c <= hi) hit = true;
    } else if (lo === c) hit = true;
  }
  return c !== '/' && hit !== negate;
}

/** Brute force over one flat pattern (ASCII only, as the property generates). */
function flatMatch(p: string, i: number, n: string, j: number): boolean {
  if (i === p.length) return j === n.length;
  const c = p[i];
  if (c === '\\') return n[j] === p[i + 1] && flatMatch(p, i + 2, n, j + 1);
  if (c === '/' && p.slice(i + 1) === '**') return j === n.length || n[j] === '/';
  if (c === '*') {
    let k = i;
    while (p[k] === '*') k++;
    const segmentStart = i === 0 || p[i - 1] === '/';
    if (k - i === 2 && segmentStart && k === p.length) return true;
    if (k - i === 2 && segmentStart && p[k] === '/') {
      // zero or more whole segments, each with its '/'
      for (let m = j; m <= n.length; m++) {
        if ((m === j || n[m - 1] === '/') && flatMatch(p, k + 1, n, m)) return true;
      }
      return false;
    }
    for (let m = j; m <= n.length; m++) {
      if (flatMatch(p, k, n, m)) return true;
      if (n[m] === '/') break;
    }
    return false;
  }
  if (j >= n.length) return false;
  if (c === '?') return n[j] !== '/' && flatMatch(p, i + 1, n, j + 1);
  if (c === '[') {
    let k = i + 1;
    if (p[k] === '^' || p[k] === '!') k++;
    k++;
    while (p[k] !== ']') k += p[k] === '\\' ? 2 : 1;
    return classMatches(p.slice(i + 1, k), n[j]) && flatMatch(p, k + 1, n, j + 1);
  }
  return c === n[j] && flatMatch(p, i + 1, n, j + 1);
}

const reference = (pattern: string, name: string) => expand(pattern).some((flat) => flatMatch(flat, 0, name, 0));

const token = fc.constantFrom('a', 'b', '/', '*', '**', '?', '[ab]', '[^a]', '[!b]', '[a-b]', '-', '\\*', '\\{', '\\,', '.');
// What may stand at either edge of an alternative: neither a star nor a slash, so that a run of
// stars is the same run, and a whole segment or not, in the braces as in their expansion. (The
// matcher decides a `**` at the edge of braces from what surrounds the braces; the table above
// has those cases.)
const edge = fc.constantFrom('a', 'b', '?', '[ab]', '[^a]', '-', '\\*', '.');
const join = (t: string[]) => t.join('');
/** Patterns with braces nested at most `depth` deep. */
function patternOf(depth: number): fc.Arbitrary<string> {
  if (depth === 0) return fc.array(token, { maxLength: 4 }).map(join);
  const braces = fc.array(altOf(depth - 1), { minLength: 1, maxLength: 3 }).map((alts) => `{${alts.join(',')}}`);
  return fc.array(fc.oneof({ weight: 4, arbitrary: token }, { weight: 1, arbitrary: braces }), { maxLength: 5 }).map(join);
}
function altOf(depth: number): fc.Arbitrary<string> {
  return fc.oneof(edge, fc.tuple(edge, patternOf(depth), edge).map(join));
}
// Short enough for the reference to expand every brace.
const pattern = patternOf(2).filter((p) => p.length <= 60);
const nameArb = fc.array(fc.constantFrom('a', 'b', '/', '-', '*', '.', '{', ','), { maxLength: 8 }).map((t) => t.join(''));

test('doublestar: agrees with a brute-force reference matcher', () => {
  fc.assert(
    fc.property(pattern, nameArb, (p, n) => {
      assert.equal(compileDoublestar(p)(n), reference(p, n), `${JSON.stringify(p)} against ${JSON.stringify(n)}`);
    }),
    { numRuns: 3000 },
  );
});

test('doublestar: a name matches a pattern made of it, with its stars and brackets escaped', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 30 }), (name) => {
      const escaped = name.replace(/[\\*?[\]{},]/g, (c) => `\\${c}`);
      assert.equal(matchDoublestar(escaped, name), true);
      assert.equal(matchDoublestar(escaped, `${name}x`), false);
    }),
  );
});
