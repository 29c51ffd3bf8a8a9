import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { matcherOf, parseRuleInput } from '../../src/immutability/rules.js';

const rule = (tag: string, repo = '**', options: { tagDecoration?: string; repoDecoration?: string; disabled?: boolean } = {}) =>
  parseRuleInput({
    disabled: options.disabled ?? false,
    tag_selectors: [{ kind: 'doublestar', decoration: options.tagDecoration ?? 'matches', pattern: tag }],
    scope_selectors: { repository: [{ kind: 'doublestar', decoration: options.repoDecoration ?? 'repoMatches', pattern: repo }] },
  });

describe('immutability rule matching (doublestar)', () => {
  test('tag patterns: *, ?, {a,b}, [..] and excludes', () => {
    const m = matcherOf([rule('v*'), rule('release-{stable,lts}'), rule('rc?'), rule('build-[0-9]*')]);
    for (const tag of ['v1', 'v1.2.3', 'release-stable', 'release-lts', 'rc1', 'build-7a']) assert.equal(m('p/app', tag), true, tag);
    for (const tag of ['latest', 'release-beta', 'rc10', 'build-x', '1v']) assert.equal(m('p/app', tag), false, tag);
    const except = matcherOf([rule('dev-*', '**', { tagDecoration: 'excludes' })]);
    assert.equal(except('p/app', 'v1'), true);
    assert.equal(except('p/app', 'dev-1'), false);
  });

  test('repository patterns see the name without the project; * stays in one segment, ** crosses', () => {
    const oneLevel = matcherOf([rule('**', 'team/*')]);
    assert.equal(oneLevel('proj/team/app', 'x'), true);
    assert.equal(oneLevel('proj/team/app/sub', 'x'), false);
    assert.equal(oneLevel('proj/app', 'x'), false);
    const deep = matcherOf([rule('**', 'team/**')]);
    assert.equal(deep('proj/team/app/sub', 'x'), true);
    const named = matcherOf([rule('**', '{api,web}')]);
    assert.equal(named('proj/api', 'x'), true);
    assert.equal(named('proj/db', 'x'), false);
    const excluded = matcherOf([rule('**', 'scratch/**', { repoDecoration: 'repoExcludes' })]);
    assert.equal(excluded('proj/scratch/a', 'x'), false);
    assert.equal(excluded('proj/app', 'x'), true);
  });

  test('disabled rules protect nothing; any enabled rule is enough', () => {
    assert.equal(matcherOf([rule('**', '**', { disabled: true })])('p/a', 'v1'), false);
    assert.equal(matcherOf([])('p/a', 'v1'), false);
    const m = matcherOf([rule('v*', 'a'), rule('prod', 'b')]);
    assert.equal(m('p/a', 'v1'), true);
    assert.equal(m('p/b', 'prod'), true);
    assert.equal(m('p/a', 'prod'), false);
  });

  test('a pattern refused today but saved before (a "}" that closes nothing) matches nothing; pushes go on', () => {
    assert.throws(() => rule('v1}'), /not a valid doublestar pattern/);
    const stored = { disabled: false, tag_selectors: [{ kind: 'doublestar', decoration: 'matches', pattern: 'v1}' }] };
    const m = matcherOf([
      { ...stored, scope_selectors: { repository: [{ kind: 'doublestar', decoration: 'repoMatches', pattern: '**' }] } },
    ] as never);
    assert.equal(m('p/a', 'v1}'), false);
    assert.equal(m('p/a', 'v1'), false);
  });
});
