import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { pushCosignSignature, pushMultiPlatform } from '../helpers/artifacts.js';
import { api, createUser } from '../helpers/api.js';
import { testDialect } from '../helpers/database.js';
import { basicAuth, startServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../jobs/databases.js';
import { createProject, daysAgo, digestsOf, policy, push, rule, run, savePolicy, setTimes } from './helpers.js';

describe(`retention API (${testDialect()})`, () => {
  let server: TestServer;
  let admin: string;
  let projectId: number;

  before(async () => {
    server = await startServer({ yaml: { 'jobs.poll_interval_ms': 20 } });
    admin = server.admin.authorization;
    projectId = await createProject(server, 'rt');
  });
  after(async () => {
    await server?.stop();
  });

  const policyRows = () => server.berth.database.db.selectFrom('retention_policies').selectAll().execute();
  const retentionId = async (id = projectId) => (await api(server, 'GET', `/projects/${id}`, { auth: admin })).body.metadata?.retention_id;

  test("metadatas lists Harbor's templates and selectors; anonymous callers get 401", async () => {
    const res = await api(server, 'GET', '/retentions/metadatas', { auth: admin });
    assert.equal(res.status, 200);
    assert.deepEqual(
      res.body.templates.map((t: any) => [t.rule_template, t.action, t.params.map((p: any) => p.unit)]),
      [
        ['latestPushedK', 'retain', ['count']],
        ['latestPulledN', 'retain', ['count']],
        ['nDaysSinceLastPush', 'retain', ['days']],
        ['nDaysSinceLastPull', 'retain', ['days']],
        ['always', 'retain', []],
      ],
    );
    assert.deepEqual(res.body.tag_selectors, [{ display_text: 'Tags', kind: 'doublestar', decorations: ['matches', 'excludes'] }]);
    assert.deepEqual(res.body.scope_selectors, [
      { display_text: 'Repositories', kind: 'doublestar', decorations: ['repoMatches', 'repoExcludes'] },
    ]);
    assert.equal((await api(server, 'GET', '/retentions/metadatas')).status, 401);
  });

  const bad: Array<[string, (p: any) => void, RegExp]> = [
    ['an unknown template', (p) => (p.rules[0].template = 'keepEverything'), /rules\[0\]\.template "keepEverything" is unknown/],
    [
      'a tag pattern with an unclosed bracket',
      (p) => (p.rules[0].tag_selectors[0].pattern = 'v[0-9'),
      /rules\[0\]\.tag_selectors\[0\]\.pattern "v\[0-9" is not a valid doublestar pattern/,
    ],
    [
      'a repository pattern with an unclosed brace',
      (p) => (p.rules[0].scope_selectors.repository[0].pattern = '{a,b'),
      /rules\[0\]\.scope_selectors\.repository\[0\]\.pattern/,
    ],
    ['more than 15 rules', (p) => (p.rules = Array.from({ length: 16 }, () => rule('always', null))), /rules: at most 15 rules, not 16/],
    [
      'a parameter that is a string',
      (p) => (p.rules[0].params = { latestPushedK: '10' }),
      /rules\[0\]\.params\.latestPushedK must be a whole number/,
    ],
    [
      'a parameter that is not whole',
      (p) => (p.rules[0].params = { latestPushedK: 1.5 }),
      /rules\[0\]\.params\.latestPushedK must be a whole number/,
    ],
    ['a missing parameter', (p) => (p.rules[0].params = {}), /rules\[0\]\.params\.latestPushedK is required/],
    [
      'a parameter of another template',
      (p) => (p.rules[0].params = { latestPushedK: 1, nDaysSinceLastPull: 3 }),
      /rules\[0\]\.params\.nDaysSinceLastPull is not a parameter of latestPushedK/,
    ],
    [
      'an unknown decoration',
      (p) => (p.rules[0].tag_selectors[0].decoration = 'contains'),
      /rules\[0\]\.tag_selectors\[0\]\.decoration must be one of matches, excludes/,
    ],
    [
      'extras that are not JSON',
      (p) => (p.rules[0].tag_selectors[0].extras = '{untagged'),
      /rules\[0\]\.tag_selectors\[0\]\.extras must be a JSON object text/,
    ],
    ['disabled that is not a boolean', (p) => (p.rules[0].disabled = 'no'), /rules\[0\]\.disabled must be true or false/],
    [
      'an invalid cron',
      (p) => (p.trigger.settings.cron = 'every day'),
      /trigger\.settings\.cron "every day" is not a valid cron expression/,
    ],
    ['an algorithm other than or', (p) => (p.algorithm = 'and'), /algorithm must be "or"/],
    ['an unknown act_on', (p) => (p.act_on = 'blobs'), /act_on must be "artifacts" or "tags"/],
    ['a scope level other than project', (p) => (p.scope.level = 'system'), /scope\.level must be "project"/],
    ['a scope ref that is no project', (p) => (p.scope.ref = 999_999), /scope\.ref: project 999999 not found/],
  ];
  for (const [what, change, message] of bad) {
    test(`POST and PUT refuse ${what} with 400 naming the field; nothing is saved`, async () => {
      const body = policy(projectId, [rule('latestPushedK', 3)]);
      change(body);
      const before = await policyRows();
      const res = await api(server, 'POST', '/retentions', { auth: admin, body });
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.body.errors[0].code, 'BAD_REQUEST');
      assert.match(res.body.errors[0].message, message);
      assert.deepEqual(await policyRows(), before, 'nothing saved');
      if (before.length === 0) assert.equal(await retentionId(), undefined, 'no retention_id');
    });
  }

  test('POST creates (201, Location, retention_id); GET answers the policy; a second POST is refused; PUT changes; bad PUT changes nothing', async () => {
    const body = policy(projectId, [rule('latestPushedK', 3, { tags: 'v*' })], {
      trigger: { kind: 'Schedule', settings: { cron: '0 0 3 * * *' } },
    });
    const res = await api(server, 'POST', '/retentions', { auth: admin, body });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const id = Number(res.headers.get('location')!.match(/^\/api\/v2\.0\/retentions\/(\d+)$/)![1]);
    assert.equal(await retentionId(), String(id));
    const got = await api(server, 'GET', `/retentions/${id}`, { auth: admin });
    assert.equal(got.status, 200);
    assert.equal(got.body.id, id);
    assert.equal(got.body.algorithm, 'or');
    assert.deepEqual(got.body.scope, { level: 'project', ref: projectId });
    assert.deepEqual(got.body.trigger, { kind: 'Schedule', settings: { cron: '0 0 3 * * *' } });
    assert.equal(got.body.act_on, 'artifacts');
    assert.deepEqual(got.body.rules[0].params, { latestPushedK: 3 });
    assert.deepEqual(got.body.rules[0].tag_selectors[0], {
      kind: 'doublestar',
      decoration: 'matches',
      pattern: 'v*',
      extras: '{"untagged":true}',
    });
    assert.deepEqual(got.body.rules[0].scope_selectors, {
      repository: [{ kind: 'doublestar', decoration: 'repoMatches', pattern: '**', extras: '' }],
    });
    const schedule = await server.berth.jobs.scheduler.get(`RETENTION:${id}`);
    assert.equal(schedule?.cron, '0 0 3 * * *');

    const again = await api(server, 'POST', '/retentions', { auth: admin, body });
    assert.equal(again.status, 400);
    assert.match(again.body.errors[0].message, /already has a retention policy/);

    const put = await api(server, 'PUT', `/retentions/${id}`, { auth: admin, body: policy(projectId, [rule('always', null)]) });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.equal((await api(server, 'GET', `/retentions/${id}`, { auth: admin })).body.rules[0].template, 'always');
    assert.equal(await server.berth.jobs.scheduler.get(`RETENTION:${id}`), undefined, 'an empty cron removes the schedule');
    const badPut = await api(server, 'PUT', `/retentions/${id}`, { auth: admin, body: policy(projectId, [rule('nope', 1)]) });
    assert.equal(badPut.status, 400);
    assert.equal((await api(server, 'GET', `/retentions/${id}`, { auth: admin })).body.rules[0].template, 'always', 'unchanged');

    const del = await api(server, 'DELETE', `/retentions/${id}`, { auth: admin });
    assert.equal(del.status, 200);
    assert.equal((await api(server, 'GET', `/retentions/${id}`, { auth: admin })).status, 404);
    assert.equal(await retentionId(), undefined);
  });

  test('permissions: developers and up manage retention (Harbor #16514); a guest or a non-member gets 403', async () => {
    const pid = await createProject(server, 'rt-perm');
    const id = await savePolicy(server, pid, [rule('always', null)]);
    const users: Record<string, string> = {};
    for (const [name, role] of [
      ['rt-dev', 2],
      ['rt-guest', 3],
    ] as const) {
      await createUser(server, name);
      const member = await api(server, 'POST', `/projects/${pid}/members`, {
        auth: admin,
        body: { role_id: role, member_user: { username: name } },
      });
      assert.equal(member.status, 201, JSON.stringify(member.body));
      users[name] = basicAuth(name, 'Passw0rd1');
    }
    await createUser(server, 'rt-stranger');
    const stranger = basicAuth('rt-stranger', 'Passw0rd1');
    assert.equal((await api(server, 'GET', `/retentions/${id}`, { auth: users['rt-dev'] })).status, 200);
    assert.equal(
      (await api(server, 'PUT', `/retentions/${id}`, { auth: users['rt-dev'], body: policy(pid, [rule('latestPushedK', 5)]) })).status,
      200,
    );
    assert.equal((await api(server, 'GET', `/retentions/${id}`, { auth: users['rt-guest'] })).status, 403);
    assert.equal(
      (await api(server, 'PUT', `/retentions/${id}`, { auth: users['rt-guest'], body: policy(pid, [rule('always', null)]) })).status,
      403,
    );
    assert.equal(
      (await api(server, 'POST', `/retentions/${id}/executions`, { auth: users['rt-guest'], body: { dry_run: true } })).status,
      403,
    );
    assert.equal((await api(server, 'GET', `/retentions/${id}`, { auth: stranger })).status, 403);
    assert.equal((await api(server, 'GET', `/retentions/${id}`)).status, 401);
    assert.equal((await api(server, 'GET', '/retentions/999999', { auth: admin })).status, 404);
    assert.equal(
      (await api(server, 'GET', `/retentions/${id}`, { auth: admin })).body.rules[0].template,
      'latestPushedK',
      "only the developer's change landed",
    );
  });

  test("executions, tasks and logs have Harbor's shapes, with paging headers", async () => {
    const pid = await createProject(server, 'rt-shape');
    for (const repo of ['a', 'b']) {
      for (let i = 0; i < 3; i++) await push(server, `rt-shape/${repo}`, `t${i}`);
    }
    const id = await savePolicy(server, pid, [rule('latestPushedK', 1)]);
    const result = await run(server, id, true);
    const e = result.execution;
    assert.deepEqual(Object.keys(e).sort(), ['dry_run', 'end_time', 'id', 'policy_id', 'start_time', 'status', 'trigger']);
    assert.equal(e.policy_id, id);
    assert.equal(e.trigger, 'MANUAL');
    assert.equal(e.status, 'Success');
    assert.ok(Date.parse(e.end_time) >= Date.parse(e.start_time));
    assert.deepEqual(
      result.tasks.map((t) => [t.repository, t.status, t.status_code, t.total, t.retained]),
      [
        ['a', 'Success', 3, 3, 1],
        ['b', 'Success', 3, 3, 1],
      ],
    );
    assert.deepEqual(Object.keys(result.tasks[0]).sort(), [
      'end_time',
      'execution_id',
      'id',
      'job_id',
      'repository',
      'retained',
      'start_time',
      'status',
      'status_code',
      'status_revision',
      'total',
    ]);
    assert.equal(typeof result.tasks[0].job_id, 'string');
    const list = await api(server, 'GET', `/retentions/${id}/executions/${e.id}/tasks?page=1&page_size=1`, { auth: admin });
    assert.equal(list.headers.get('x-total-count'), '2');
    assert.match(list.headers.get('link') ?? '', /rel="next"/);
    const log = await fetch(`${server.url}/api/v2.0/retentions/${id}/executions/${e.id}/tasks/${result.tasks[0].id}`, {
      headers: { authorization: admin },
    });
    assert.match(log.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await log.text();
    assert.match(text, /^Dry run: nothing was removed/);
    assert.match(text, /Digest\s+Tags\s+PushedTime\s+PulledTime\s+Retention\s+Reason/);
    assert.equal((text.match(/ DEL /g) ?? []).length, 2);
    const executions = await api(server, 'GET', `/retentions/${id}/executions`, { auth: admin });
    assert.equal(executions.headers.get('x-total-count'), '1');
    assert.equal((await api(server, 'GET', `/retentions/${id}/executions/999999/tasks`, { auth: admin })).status, 404);
    assert.equal((await api(server, 'GET', `/retentions/${id}/executions/${e.id}/tasks/999999`, { auth: admin })).status, 404);
    const badAction = await api(server, 'PATCH', `/retentions/${id}/executions/${e.id}`, { auth: admin, body: { action: 'pause' } });
    assert.equal(badAction.status, 400);
    assert.match(badAction.body.errors[0].message, /action must be "stop"/);
    assert.equal(
      (await api(server, 'PATCH', `/retentions/${id}/executions/${e.id}`, { auth: admin, body: { action: 'stop' } })).status,
      200,
    );
    assert.equal((await api(server, 'POST', `/retentions/${id}/executions`, { auth: admin, body: { dry_run: 'yes' } })).status, 400);
  });

  test('stop: an execution whose tasks have not run ends Stopped and removes nothing', async () => {
    const pid = await createProject(server, 'rt-stop');
    for (let i = 0; i < 3; i++) await push(server, 'rt-stop/x', `t${i}`);
    const id = await savePolicy(server, pid, [rule('latestPushedK', 1)]);
    const queue = server.berth.jobs.queue;
    await queue.setPaused('RETENTION_TASK', true);
    try {
      const res = await api(server, 'POST', `/retentions/${id}/executions`, { auth: admin, body: { dry_run: false } });
      const eid = Number(res.headers.get('location')!.split('/').pop());
      await waitFor(
        async () => (await api(server, 'GET', `/retentions/${id}/executions/${eid}/tasks`, { auth: admin })).body,
        (tasks: any[]) => tasks.length === 1,
        'the task to be created',
      );
      const stop = await api(server, 'PATCH', `/retentions/${id}/executions/${eid}`, { auth: admin, body: { action: 'stop' } });
      assert.equal(stop.status, 200);
      const executions = (await api(server, 'GET', `/retentions/${id}/executions`, { auth: admin })).body;
      assert.equal(executions[0].status, 'Stopped');
      assert.ok(executions[0].end_time);
      const tasks = (await api(server, 'GET', `/retentions/${id}/executions/${eid}/tasks`, { auth: admin })).body;
      assert.equal(tasks[0].status, 'Stopped');
    } finally {
      await queue.setPaused('RETENTION_TASK', false);
    }
    assert.equal((await digestsOf(server, 'rt-stop/x')).size, 3);
  });

  test('a cron trigger starts SCHEDULE executions', async () => {
    const pid = await createProject(server, 'rt-cron');
    await push(server, 'rt-cron/x', 'only');
    const id = await savePolicy(server, pid, [rule('always', null)], { trigger: { kind: 'Schedule', settings: { cron: '* * * * * *' } } });
    const executions = await waitFor(
      async () => (await api(server, 'GET', `/retentions/${id}/executions`, { auth: admin })).body as any[],
      (list) => list.some((e) => e.trigger === 'SCHEDULE' && e.status === 'Success'),
      'a scheduled execution',
    );
    assert.equal(executions.find((e) => e.trigger === 'SCHEDULE').dry_run, false);
    await savePolicy(server, pid, [rule('always', null)]);
    assert.equal((await digestsOf(server, 'rt-cron/x')).size, 1);
  });

  test('never removed: accessories of retained artifacts, children of retained indexes, artifacts with immutable tags', async () => {
    const pid = await createProject(server, 'rt-safe');
    const signed = await push(server, 'rt-safe/app', 'keep');
    await setTimes(server, 'rt-safe/app', signed, { push: daysAgo(0) });
    const signature = await pushCosignSignature(server, 'rt-safe/app', signed);
    const index = await pushMultiPlatform(server, 'rt-safe/app', 'multi');
    const locked = await push(server, 'rt-safe/app', 'v1.0');
    const doomed = await push(server, 'rt-safe/app', 'scratch');
    const immutable = await api(server, 'POST', `/projects/${pid}/immutabletagrules`, {
      auth: admin,
      body: {
        action: 'immutable',
        template: 'immutable_template',
        disabled: false,
        tag_selectors: [{ kind: 'doublestar', decoration: 'matches', pattern: 'v*' }],
        scope_selectors: { repository: [{ kind: 'doublestar', decoration: 'repoMatches', pattern: '**' }] },
      },
    });
    assert.equal(immutable.status, 201, JSON.stringify(immutable.body));
    const id = await savePolicy(server, pid, [rule('always', null, { tags: '{keep,multi}', untagged: false })]);
    const result = await run(server, id, false);
    assert.equal(result.execution.status, 'Success', result.logs.get('app'));
    const left = await digestsOf(server, 'rt-safe/app');
    assert.ok(left.has(signed) && left.has(signature.digest), 'the retained artifact keeps its signature');
    assert.ok(
      left.has(index.digest) && index.images.every((i: { digest: string }) => left.has(i.digest)),
      'the retained index keeps its children',
    );
    assert.ok(left.has(locked), 'the artifact with an immutable tag stays');
    assert.match(result.logs.get('app')!, new RegExp(`${locked}.*RETAIN.*immutable tag`));
    assert.ok(!left.has(doomed), 'the rest goes');
  });
});
