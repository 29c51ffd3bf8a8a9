import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { testDialect } from '../helpers/database.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { createProject, daysAgo, digestsOf, push, rule, run, savePolicy, setTimes } from './helpers.js';

/** TAG_RETENTION in the outbox: Harbor's rule, one per task that removed something, none for a dry run. */
describe(`TAG_RETENTION events (${testDialect()})`, () => {
  let server: TestServer;
  let projectId: number;
  let policyId: number;
  const d: Record<string, string> = {};

  async function retentionEvents() {
    const rows = await server.berth.database.db
      .selectFrom('events')
      .select('payload')
      .where('type', '=', 'TAG_RETENTION')
      .orderBy('id')
      .execute();
    return rows.map((r) => JSON.parse(r.payload));
  }

  before(async () => {
    server = await startServer({ yaml: { 'jobs.poll_interval_ms': 20 } });
    projectId = await createProject(server, 'retev');
    d.v1 = await push(server, 'retev/app', 'v1');
    d.v2 = await push(server, 'retev/app', 'v2');
    d.v3 = await push(server, 'retev/app', 'v3');
    d.only = await push(server, 'retev/lib', 'x1');
    await setTimes(server, 'retev/app', d.v1, { push: daysAgo(3) });
    await setTimes(server, 'retev/app', d.v2, { push: daysAgo(2) });
    await setTimes(server, 'retev/app', d.v3, { push: daysAgo(1) });
    policyId = await savePolicy(server, projectId, [rule('latestPushedK', 1)]);
  });
  after(async () => {
    await server.stop();
  });

  test('a dry run writes none', async () => {
    const r = await run(server, policyId, true);
    assert.equal(r.execution.status, 'Success');
    assert.equal(r.actions.get(d.v1), 'DEL');
    assert.deepEqual(await retentionEvents(), []);
  });

  test('a run: one event for the repository that lost artifacts, none for the one that lost nothing', async () => {
    const r = await run(server, policyId, false);
    assert.equal(r.execution.status, 'Success');
    assert.deepEqual(await digestsOf(server, 'retev/app'), new Set([d.v3]));
    const events = await retentionEvents();
    assert.equal(events.length, 1, JSON.stringify(events));
    const e = events[0];
    const task = r.tasks.find((t) => t.repository === 'app');
    assert.ok(task, JSON.stringify(r.tasks));
    assert.equal(e.project_id, projectId);
    assert.equal(e.policy_id, policyId);
    assert.equal(e.execution_id, r.execution.id);
    assert.equal(e.task_id, task.id);
    assert.equal(e.repository, 'retev/app');
    assert.equal(e.status, 'Success');
    assert.equal(e.trigger, 'MANUAL');
    assert.equal(e.dry_run, false);
    assert.equal(e.total, 3);
    assert.equal(e.retained, 1);
    assert.equal(e.operator, 'admin');
    const deleted = [...e.deleted].sort((x: any, y: any) => x.tags[0].localeCompare(y.tags[0]));
    assert.deepEqual(deleted, [
      { repository: 'retev/app', digest: d.v1, tags: ['v1'] },
      { repository: 'retev/app', digest: d.v2, tags: ['v2'] },
    ]);
    // Harbor's retention_rule entries.
    assert.equal(e.rules.length, 1);
    assert.equal(e.rules[0].template, 'latestPushedK');
    assert.deepEqual(e.rules[0].params, { latestPushedK: 1 });
    assert.equal(e.rules[0].tag_selectors[0].pattern, '**');
    assert.equal(e.rules[0].scope_selectors.repository[0].pattern, '**');
    assert.match(e.occurred_at, /^\d{4}-\d\d-\d\dT/);
  });

  test('a run that removes nothing writes none', async () => {
    const before = (await retentionEvents()).length;
    const r = await run(server, policyId, false);
    assert.equal(r.execution.status, 'Success');
    assert.equal((await retentionEvents()).length, before);
  });
});
