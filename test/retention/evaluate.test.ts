import assert from 'node:assert/strict';
import { test } from 'node:test';
import { evaluate, type RepositoryArtifact } from '../../src/retention/evaluate.js';
import { parsePolicy } from '../../src/retention/policy.js';
import { policy, rule, type RuleOptions } from './helpers.js';

/** The decision alone (pure): what the API tests cannot set up cheaply. */

const day = 86_400_000;
const now = Date.parse('2026-12-01T00:00:00Z');
const at = (daysAgo: number) => new Date(now - daysAgo * day).toISOString();

function artifact(id: number, tags: string[], o: Partial<RepositoryArtifact> = {}): RepositoryArtifact {
  return {
    id,
    digest: `sha256:${String(id).padStart(64, '0')}`,
    pushTime: at(id),
    pullTime: null,
    accessoryOf: null,
    tags: tags.map((name) => ({ name, pushTime: at(id), pullTime: null })),
    labels: [],
    parents: [],
    ...o,
  };
}

function decide(
  artifacts: RepositoryArtifact[],
  rules: Array<[string, number | null, RuleOptions?]>,
  actOn: 'artifacts' | 'tags' = 'artifacts',
  immutable: string[] = [],
) {
  const parsed = parsePolicy(
    policy(
      1,
      rules.map(([t, p, o]) => rule(t, p, o)),
      { act_on: actOn },
    ),
  );
  const plan = evaluate(
    artifacts,
    parsed.rules.map((r, i) => ({ rule: r, number: i + 1 })),
    { actOn, now, immutable: (a) => new Set(a.tags.map((t) => t.name).filter((t) => immutable.includes(t))) },
  );
  const out: Record<number, string> = {};
  for (const d of plan.decisions)
    out[d.artifact.id] = d.remove ? 'DEL' : d.removeTags.length ? `DEL TAGS ${d.removeTags.join(',')}` : 'RETAIN';
  return { out, plan };
}

test('acting on tags: each tag has its own push time; an immutable tag keeps its artifact, other tags go', () => {
  const shared = artifact(1, ['a', 'b', 'locked']);
  shared.tags[0].pushTime = at(0.5);
  const { out } = decide([shared, artifact(2, ['c']), artifact(3, [])], [['latestPushedK', 1, { untagged: false }]], 'tags', ['locked']);
  assert.deepEqual(out, { 1: 'DEL TAGS b', 2: 'DEL', 3: 'DEL' });
});

test('a tagged child of a retained index stays; of a removed index it is a candidate like any other', () => {
  const index = artifact(1, ['multi']);
  const child = artifact(2, ['amd64'], { parents: [1] });
  const untaggedChild = artifact(3, [], { parents: [1] });
  let { out, plan } = decide([index, child, untaggedChild], [['always', null, { tags: 'multi', untagged: false }]]);
  assert.deepEqual(out, { 1: 'RETAIN', 2: 'RETAIN' }, 'the untagged child is no candidate: it follows its index');
  assert.equal(plan.total, 2);
  assert.match(plan.decisions.find((d) => d.artifact.id === 2)!.reasons.join(), /listed by a retained index/);
  ({ out } = decide([index, child, untaggedChild], [['always', null, { tags: 'nothing', untagged: false }]]));
  assert.deepEqual(out, { 1: 'DEL', 2: 'DEL' });
});

test('accessories are never candidates; latestPushedK 0 retains nothing; disabled rules are ignored', () => {
  const subject = artifact(1, ['v1']);
  const signature = artifact(2, [], { accessoryOf: subject.digest });
  assert.deepEqual(decide([subject, signature], [['latestPushedK', 0]]).out, { 1: 'DEL' });
  assert.deepEqual(
    decide(
      [subject, signature],
      [
        ['always', null, { disabled: true }],
        ['latestPushedK', 1],
      ],
    ).out,
    { 1: 'RETAIN' },
  );
});

test('latestPulledN puts never-pulled artifacts last; ties go to the newest id', () => {
  const pulled = artifact(5, ['p'], { pullTime: at(30) });
  const { out } = decide([artifact(1, ['x']), artifact(2, ['y']), pulled], [['latestPulledN', 2]]);
  assert.deepEqual(out, { 1: 'DEL', 2: 'RETAIN', 5: 'RETAIN' });
});
