/**
 * Fuzzing of the policy bodies that carry text to parse: retention and immutability selectors
 * (doublestar patterns), replication filters and cron, preheat's JSON-text filters and
 * trigger, webhook targets, CVE allowlists, cron expressions. Each body is accepted or
 * refused with a 400 BAD_REQUEST naming the field, never another exception, in bounded time.
 * Bodies are valid examples with one field replaced by a generated value.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { matcherOf, parseRuleInput } from '../../src/immutability/rules.js';
import { nextTick } from '../../src/jobs/scheduler.js';
import { compileDoublestar as compilePreheatPattern } from '../../src/preheat/filters.js';
import { parsePolicy as parsePreheatPolicy } from '../../src/preheat/policy.js';
import { patternTest as replicationPatternTest } from '../../src/replication/engine/filters.js';
import { checkCron, parsePolicy as parseReplicationPolicy } from '../../src/replication/policies/rules.js';
import { compilePattern as compileRetentionPattern, parsePolicy as parseRetentionPolicy } from '../../src/retention/policy.js';
import { AppError } from '../../src/lib/errors.js';
import { parseAllowlist } from '../../src/scanning/policy/allowlist-rules.js';
import { parsePolicy as parseWebhookPolicy } from '../../src/webhooks/policy.js';
import { anyJson, appError, bounded, hostileString, params, prototypeKeys, returnsOrRefuses } from './fuzz.js';

const badRequest = appError('BAD_REQUEST');

const doublestar = (decoration: string, pattern = '**') => ({ kind: 'doublestar', decoration, pattern });
const examples: Record<string, { parse: (body: any) => unknown; body: Record<string, unknown> }> = {
  retention: {
    parse: parseRetentionPolicy,
    body: {
      algorithm: 'or',
      scope: { level: 'project', ref: 1 },
      rules: [
        {
          template: 'latestPushedK',
          action: 'retain',
          params: { latestPushedK: 3 },
          tag_selectors: [doublestar('matches', 'v*'), { kind: 'label', decoration: 'withLabels', pattern: 'a,b' }],
          scope_selectors: { repository: [doublestar('repoMatches')] },
        },
      ],
      trigger: { kind: 'Schedule', settings: { cron: '0 0 0 * * *' } },
    },
  },
  immutability: {
    parse: parseRuleInput,
    body: { tag_selectors: [doublestar('matches', 'release-*')], scope_selectors: { repository: [doublestar('repoMatches')] } },
  },
  replication: {
    parse: parseReplicationPolicy,
    body: {
      name: 'p',
      src_registry: { id: 0 },
      dest_registry: { id: 1 },
      filters: [
        { type: 'name', value: 'library/**' },
        { type: 'tag', value: 'v{1,2}.*', decoration: 'matches' },
        { type: 'label', value: ['a'] },
        { type: 'resource', value: 'image' },
      ],
      dest_namespace: 'ns',
      trigger: { type: 'scheduled', trigger_settings: { cron: '0 0 * * * *' } },
      speed: 10,
    },
  },
  preheat: {
    parse: parsePreheatPolicy,
    body: {
      name: 'p',
      provider_id: 1,
      filters: JSON.stringify([
        { type: 'repository', value: '**' },
        { type: 'tag', value: 'v*' },
        { type: 'label', value: 'a,b' },
        { type: 'vulnerability', value: 3 },
      ]),
      trigger: JSON.stringify({ type: 'scheduled', trigger_setting: { cron: '0 0 * * * *' } }),
    },
  },
  webhook: {
    // The route checks that the body is an object (bodyOf) before parsing it.
    parse: (body) => {
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new AppError('BAD_REQUEST', 400, 'not an object');
      return parseWebhookPolicy(body);
    },
    body: {
      name: 'w',
      event_types: ['PUSH_ARTIFACT'],
      targets: [{ type: 'http', address: 'http://127.0.0.1:9/hook', payload_format: 'CloudEvents' }],
    },
  },
  allowlist: { parse: parseAllowlist, body: { items: [{ cve_id: 'CVE-2024-1' }], expires_at: 100 } },
};

/** Every path to a value inside a JSON document (object keys and array indexes). */
function paths(value: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> {
  if (typeof value !== 'object' || value === null) return [prefix];
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
  return [prefix, ...entries.flatMap(([k, v]) => paths(v, [...prefix, k]))];
}

function replaced(doc: unknown, path: Array<string | number>, value: unknown): unknown {
  if (path.length === 0) return value;
  const copy: any = Array.isArray(doc) ? [...doc] : { ...(doc as object) };
  const [head, ...rest] = path;
  Object.defineProperty(copy, head, { value: replaced(copy[head], rest, value), enumerable: true, writable: true, configurable: true });
  return copy;
}

/** Patterns that parse: the doublestar syntax, including its errors (unclosed brackets, escapes). */
const pattern = hostileString('ab*?/[]{},!^\\-.', 200);

const value = fc.oneof(
  { weight: 3, arbitrary: anyJson },
  { weight: 3, arbitrary: pattern },
  { weight: 1, arbitrary: fc.constantFrom(...prototypeKeys) },
  { weight: 1, arbitrary: hostileString('0 *,/-?LW#', 60) },
  { weight: 1, arbitrary: anyJson.map((v) => JSON.stringify(v)) },
);

for (const [name, { parse, body }] of Object.entries(examples)) {
  test(`${name}: the valid example parses; any field replaced is parsed or a 400`, () => {
    parse(structuredClone(body));
    const where = paths(body);
    fc.assert(
      fc.property(fc.constantFrom(...where), value, fc.constantFrom(...prototypeKeys, 'x'), fc.boolean(), (path, v, extraKey, extra) => {
        let doc = replaced(body, path, v);
        // A key beside the replaced one, in an object (JSON gives no array an own "constructor").
        if (extra && path.length > 0 && typeof path[path.length - 1] === 'string') doc = replaced(doc, [...path.slice(0, -1), extraKey], v);
        returnsOrRefuses(`${name} parsePolicy`, () => parse(doc), badRequest);
      }),
      params(1000),
    );
  });
}

test('preheat: any text in filters and trigger is parsed or a 400', () => {
  const text = fc.oneof(
    hostileString('[]{}":,typevalue0129*\\ ', 500),
    anyJson.map((v) => JSON.stringify(v)),
    fc
      .array(
        fc.record({ type: fc.constantFrom('repository', 'tag', 'label', 'signature', 'vulnerability', ...prototypeKeys), value: anyJson }),
      )
      .map((v) => JSON.stringify(v)),
  );
  fc.assert(
    fc.property(text, text, (filters, trigger) => {
      returnsOrRefuses('preheat parsePolicy', () => parsePreheatPolicy({ ...examples.preheat.body, filters, trigger }), badRequest);
    }),
    params(1000),
  );
});

test('cron: any expression gives a next tick, none, or an Error; Harbor replication cron a 400', () => {
  const field = fc.oneof(
    fc.constantFrom('*', '0', '*/5', '1-5', '1,2', '?', 'L', 'MON', 'JAN', '5W', '1#2', '59', '60', '-1', '*/0', '99999999999'),
    hostileString('0123456789*/,-?LW#', 30),
  );
  const cron = fc.oneof(
    fc.array(field, { minLength: 1, maxLength: 7 }).map((f) => f.join(' ')),
    hostileString('0123456789*/,-?LW# ', 300),
  );
  const after = new Date('2026-01-01T00:00:00Z');
  fc.assert(
    fc.property(cron, (text) => {
      const outcome = returnsOrRefuses(
        'nextTick',
        () => nextTick(text, after),
        (err) => err instanceof Error,
      );
      if (outcome.ok && outcome.value !== null) assert.ok(outcome.value.getTime() > after.getTime());
      returnsOrRefuses('checkCron', () => checkCron(text), badRequest);
    }),
    params(1000),
  );
});

test('regression: a retention selector kind naming a member of Object.prototype is a 400', () => {
  // `kind in allowed` found Object.prototype's "constructor", "toString"…: allowed[kind].includes
  // then threw TypeError, a 500.
  for (const kind of prototypeKeys) {
    const body = structuredClone(examples.retention.body) as any;
    body.rules[0].tag_selectors[1].kind = kind;
    assert.throws(() => parseRetentionPolicy(body), badRequest, kind);
  }
});

test(
  // A backtracking matcher (a regular expression per star) is exponential in the number of
  // stars on a name that does not match; lib/doublestar runs an automaton instead.
  'doublestar patterns match in bounded time',
  () => {
    const rule = {
      disabled: false,
      tag_selectors: [doublestar('matches', `${'*a'.repeat(7)}b`)],
      scope_selectors: { repository: [doublestar('repoMatches')] },
    };
    const matcher = matcherOf([rule as never]);
    bounded('an immutability rule', () => matcher('library/app', 'a'.repeat(36)));
    // Every other caller of the matcher, with far more stars and a longer name.
    const stars = `${'*a'.repeat(40)}b`;
    const name = 'a'.repeat(255);
    assert.equal(
      bounded('a retention selector', () => compileRetentionPattern(stars)(name)),
      false,
    );
    assert.equal(
      bounded('a replication filter', () => replicationPatternTest(`{x,${stars}}`)(name)),
      false,
    );
    assert.equal(
      bounded('a preheat filter', () => compilePreheatPattern(`**/${stars}`)(`library/${name}`)),
      false,
    );
  },
);
