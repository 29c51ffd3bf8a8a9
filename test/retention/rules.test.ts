import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api } from '../helpers/api.js';
import { testDialect } from '../helpers/database.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { createProject, daysAgo, digestsOf, push, rule, run, savePolicy, setTimes, tagsOf } from './helpers.js';

/**
 * Every template and selector against repositories whose push and pull times the test sets,
 * through the API (dry runs: the task log says what would go), then real runs that remove
 * exactly what their dry run listed.
 */
describe(`retention rules (${testDialect()})`, () => {
  let server: TestServer;
  let projectId: number;
  let policyId: number;
  const a: Record<string, string> = {};

  before(async () => {
    server = await startServer({ yaml: { 'jobs.poll_interval_ms': 20 } });
    projectId = await createProject(server, 'keep');
    a.v1 = await push(server, 'keep/app', 'v1');
    a.v2 = await push(server, 'keep/app', 'v2');
    a.latest = await push(server, 'keep/app', 'latest');
    const tag = await api(server, 'POST', `/projects/keep/repositories/app/artifacts/${a.latest}/tags`, {
      auth: server.admin.authorization,
      body: { name: 'dev' },
    });
    assert.equal(tag.status, 201, JSON.stringify(tag.body));
    a.untagged = await push(server, 'keep/app', null);
    a.release = await push(server, 'keep/app', 'release-1');
    a.other = await push(server, 'keep/other', 'v1');
    await setTimes(server, 'keep/app', a.v1, { push: daysAgo(10), pull: daysAgo(1) });
    await setTimes(server, 'keep/app', a.v2, { push: daysAgo(5), pull: daysAgo(8) });
    await setTimes(server, 'keep/app', a.latest, { push: daysAgo(2), pull: null });
    await setTimes(server, 'keep/app', a.untagged, { push: daysAgo(1), pull: daysAgo(3) });
    await setTimes(server, 'keep/app', a.release, { push: daysAgo(30), pull: null });
    await setTimes(server, 'keep/other', a.other, { push: daysAgo(40), pull: null });
    policyId = await savePolicy(server, projectId, [rule('always', null)]);
  });
  after(async () => {
    await server?.stop();
  });

  const name = (digest: string) => Object.entries(a).find(([, d]) => d === digest)?.[0] ?? digest;

  /** Dry-runs the rules; returns the names retention would keep in keep/app and asserts the rest would go. */
  async function retainedBy(rules: unknown[], repo = 'app', extra: Record<string, unknown> = {}): Promise<string[]> {
    await savePolicy(server, projectId, rules, extra);
    const result = await run(server, policyId, true);
    assert.equal(result.execution.status, 'Success');
    assert.equal(result.execution.dry_run, true);
    const task = result.tasks.find((t) => t.repository === repo);
    assert.ok(task, `a task for ${repo}: ${JSON.stringify(result.tasks)}`);
    const log = result.logs.get(repo)!;
    const kept: string[] = [];
    for (const line of log.split('\n')) {
      const m = /^(sha256:[0-9a-f]{64}).*\s(RETAIN|DEL)\s/.exec(line);
      if (m && m[2] === 'RETAIN') kept.push(name(m[1]));
    }
    assert.equal(task.retained, kept.length, 'the task counts what its log retains');
    return kept.sort();
  }

  test('latestPushedK keeps the K most recently pushed', async () => {
    assert.deepEqual(await retainedBy([rule('latestPushedK', 2)]), ['latest', 'untagged']);
  });

  test('latestPulledN keeps the N most recently pulled', async () => {
    assert.deepEqual(await retainedBy([rule('latestPulledN', 2)]), ['untagged', 'v1']);
  });

  test('nDaysSinceLastPush keeps what was pushed within N days', async () => {
    assert.deepEqual(await retainedBy([rule('nDaysSinceLastPush', 6)]), ['latest', 'untagged', 'v2']);
  });

  test('nDaysSinceLastPull keeps what was pulled within N days; never pulled is not', async () => {
    assert.deepEqual(await retainedBy([rule('nDaysSinceLastPull', 5)]), ['untagged', 'v1']);
  });

  test('always keeps everything its selectors take', async () => {
    assert.deepEqual(await retainedBy([rule('always', null)]), ['latest', 'release', 'untagged', 'v1', 'v2']);
  });

  test('tag selector matches (doublestar) without untagged', async () => {
    assert.deepEqual(await retainedBy([rule('always', null, { tags: 'v*', untagged: false })]), ['v1', 'v2']);
    assert.deepEqual(await retainedBy([rule('always', null, { tags: '{release-*,dev}', untagged: false })]), ['latest', 'release']);
  });

  test('tag selector excludes: artifacts with a tag outside the pattern', async () => {
    assert.deepEqual(await retainedBy([rule('always', null, { tags: 'v*', tagDecoration: 'excludes', untagged: false })]), [
      'latest',
      'release',
    ]);
  });

  test('the untagged decoration takes untagged artifacts', async () => {
    assert.deepEqual(await retainedBy([rule('always', null, { tags: 'nothing-matches', untagged: true })]), ['untagged']);
  });

  test('rules combine with "or"; a disabled rule retains nothing', async () => {
    assert.deepEqual(await retainedBy([rule('latestPushedK', 1), rule('nDaysSinceLastPull', 2, { untagged: false })]), ['untagged', 'v1']);
    assert.deepEqual(await retainedBy([rule('latestPushedK', 1), rule('always', null, { disabled: true })]), ['untagged']);
  });

  test('repository selectors: repoMatches and repoExcludes decide which repositories have a task', async () => {
    await savePolicy(server, projectId, [rule('always', null, { repos: 'oth*' })]);
    let result = await run(server, policyId, true);
    assert.deepEqual(
      result.tasks.map((t) => t.repository),
      ['other'],
    );
    await savePolicy(server, projectId, [rule('always', null, { repos: 'oth*', repoDecoration: 'repoExcludes' })]);
    result = await run(server, policyId, true);
    assert.deepEqual(
      result.tasks.map((t) => t.repository),
      ['app'],
    );
  });

  test('label selectors: withLabels and withoutLabels', async () => {
    const auth = server.admin.authorization;
    const label = await api(server, 'POST', '/labels', { auth, body: { name: 'gold', scope: 'g', color: '#ffcc00' } });
    assert.equal(label.status, 201, JSON.stringify(label.body));
    const labelId = Number(label.headers.get('location')!.split('/').pop());
    const add = await api(server, 'POST', `/projects/keep/repositories/app/artifacts/${a.v2}/labels`, { auth, body: { id: labelId } });
    assert.equal(add.status, 200, JSON.stringify(add.body));
    assert.deepEqual(await retainedBy([rule('always', null, { labels: { decoration: 'withLabels', names: 'gold' } })]), ['v2']);
    assert.deepEqual(
      await retainedBy([rule('always', null, { untagged: false, labels: { decoration: 'withoutLabels', names: 'gold' } })]),
      ['latest', 'release', 'v1'],
    );
  });

  test('a dry run changes nothing', async () => {
    await retainedBy([rule('latestPushedK', 1)]);
    assert.equal((await digestsOf(server, 'keep/app')).size, 5);
  });
});

describe(`retention real runs (${testDialect()})`, () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ yaml: { 'jobs.poll_interval_ms': 20 } });
  });
  after(async () => {
    await server?.stop();
  });

  test('a real run removes exactly what its dry run listed, through the registry (audit log)', async () => {
    const projectId = await createProject(server, 'real');
    const digests: string[] = [];
    for (let i = 0; i < 6; i++) {
      const d = await push(server, 'real/svc', `t${i}`);
      await setTimes(server, 'real/svc', d, { push: daysAgo(20 - i) });
      digests.push(d);
    }
    const policyId = await savePolicy(server, projectId, [rule('latestPushedK', 2), rule('always', null, { tags: 't0', untagged: false })]);
    const dry = await run(server, policyId, true);
    const real = await run(server, policyId, false);
    assert.equal(real.execution.status, 'Success');
    assert.equal(real.execution.dry_run, false);
    assert.deepEqual([...real.actions].sort(), [...dry.actions].sort(), 'the same rows, the same decisions');
    const gone = [...dry.actions]
      .filter(([, action]) => action === 'DEL')
      .map(([d]) => d)
      .sort();
    assert.deepEqual(gone, [digests[1], digests[2], digests[3]].sort());
    assert.deepEqual([...(await digestsOf(server, 'real/svc'))].sort(), [digests[0], digests[4], digests[5]].sort());
    assert.deepEqual(
      real.tasks.map((t) => [t.repository, t.total, t.retained]),
      [['svc', 6, 3]],
    );
    const audit = await api(server, 'GET', '/audit-logs?page_size=100', { auth: server.admin.authorization });
    for (const d of gone) {
      assert.ok(
        (audit.body as any[]).some((e) => e.operation === 'delete' && e.resource === `real/svc@${d}`),
        `the audit log has the removal of ${d}`,
      );
    }
  });

  test('acting on tags (Berth, Harbor #16157) removes only unretained tags; an artifact goes when none is left', async () => {
    const projectId = await createProject(server, 'bytag');
    const shared = await push(server, 'bytag/web', 'stable');
    for (const t of ['dev', 'pr-1']) {
      const res = await api(server, 'POST', `/projects/bytag/repositories/web/artifacts/${shared}/tags`, {
        auth: server.admin.authorization,
        body: { name: t },
      });
      assert.equal(res.status, 201);
    }
    const old = await push(server, 'bytag/web', 'pr-2');
    const policyId = await savePolicy(server, projectId, [rule('always', null, { tags: 'stable', untagged: false })], { act_on: 'tags' });
    const saved = await api(server, 'GET', `/retentions/${policyId}`, { auth: server.admin.authorization });
    assert.equal(saved.body.act_on, 'tags');
    const dry = await run(server, policyId, true);
    assert.equal(dry.actions.get(shared), 'DEL TAGS dev,pr-1');
    assert.equal(dry.actions.get(old), 'DEL');
    const real = await run(server, policyId, false);
    assert.deepEqual([...real.actions].sort(), [...dry.actions].sort());
    assert.deepEqual([...(await digestsOf(server, 'bytag/web'))], [shared]);
    assert.deepEqual(await tagsOf(server, 'bytag/web'), ['stable']);
  });
});
