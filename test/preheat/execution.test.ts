import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api } from '../helpers/api.js';
import { testDialect } from '../helpers/database.js';
import { startDragonflyFake, type DragonflyFake } from '../helpers/dragonfly-fake.js';
import { startKrakenFake, type KrakenFake } from '../helpers/kraken-fake.js';
import { pushMultiPlatform } from '../helpers/artifacts.js';
import { refusedPort } from '../helpers/ports.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { JobRunner } from '../../src/jobs/runner.js';
import { waitFor } from '../jobs/databases.js';
import {
  assertShape,
  createInstance,
  createPolicy,
  createProject,
  filters,
  manual,
  push,
  runPolicy,
  taskLog,
  tasksOf,
  waitExecution,
} from './helpers.js';

/*
 * Executions against stand-ins for Dragonfly's manager and Kraken's proxy written from their
 * published API documentation (test/helpers/dragonfly-fake.ts, kraken-fake.ts): the engines
 * cannot be installed here. The Dragonfly stand-in pulls the manifest and blobs with the URL
 * and token Berth sends, so a preheat succeeds only if that pull works against the real Berth.
 */
describe(`preheat executions against Dragonfly and Kraken stand-ins (${testDialect()})`, () => {
  let server: TestServer;
  let dragonfly: DragonflyFake;
  let kraken: KrakenFake;
  const admin = () => server.admin.authorization;
  const digests: Record<string, string> = {};

  before(async () => {
    server = await startServer({ yaml: { 'jobs.poll_interval_ms': 20, 'preheat.check_interval_seconds': 0.1 } });
    dragonfly = await startDragonflyFake({ token: 'pat-123' });
    kraken = await startKrakenFake({ basic: 'kraken:s3cret' });
    await createProject(server, 'fleet');
    digests['app:v1'] = await push(server, 'fleet/app', 'v1');
    digests['app:v2'] = await push(server, 'fleet/app', 'v2');
    digests['app:dev'] = await push(server, 'fleet/app', 'dev');
    digests['tools/cli:v1'] = await push(server, 'fleet/tools/cli', 'v1');
    await createInstance(server, {
      name: 'df',
      vendor: 'dragonfly',
      endpoint: dragonfly.url,
      auth_mode: 'OAUTH',
      auth_info: { token: 'pat-123' },
    });
    await createInstance(server, {
      name: 'kr',
      vendor: 'kraken',
      endpoint: kraken.url,
      auth_mode: 'BASIC',
      auth_info: { username: 'kraken', password: 's3cret' },
    });
  });
  after(async () => {
    await server?.stop();
    await dragonfly?.close();
    await kraken?.close();
  });

  test('Dragonfly: one job per matching artifact and tag, pulled with the token Berth issued; execution, tasks and logs', async () => {
    const df = (await api(server, 'GET', '/p2p/preheat/instances/df', { auth: admin() })).body;
    await createPolicy(server, 'fleet', {
      name: 'warm-app',
      provider_id: df.id,
      filters: filters({ type: 'repository', value: 'app' }, { type: 'tag', value: 'v*' }),
      trigger: manual,
      extra_attrs: JSON.stringify({ scope: 'all_seed_peers', cluster_ids: [1, 2] }),
    });
    const id = await runPolicy(server, 'fleet', 'warm-app');
    const execution = await waitExecution(server, 'fleet', 'warm-app', id);
    assert.equal(execution.status, 'Success', JSON.stringify(execution));
    assert.equal(execution.vendor_type, 'P2P_PREHEAT');
    assert.equal(execution.trigger, 'manual');
    assert.equal(execution.extra_attrs.totalCount, 2);
    assert.deepEqual(
      { total: execution.metrics.task_count, success: execution.metrics.success_task_count, error: execution.metrics.error_task_count },
      { total: 2, success: 2, error: 0 },
    );

    // The manager got Harbor's request: type preheat, an image manifest URL, the pull token as a header, the policy's scope and clusters.
    assert.equal(dragonfly.jobs.length, 2);
    const urls = dragonfly.jobs.map((j) => j.args.url).sort();
    assert.deepEqual(urls, [`${server.url}/v2/fleet/app/manifests/v1`, `${server.url}/v2/fleet/app/manifests/v2`]);
    for (const job of dragonfly.jobs) {
      assert.equal(job.authorization, 'Bearer pat-123');
      assert.equal(job.type, 'preheat');
      assert.equal(job.args.type, 'image');
      assert.equal(job.args.scope, 'all_seed_peers');
      assert.deepEqual(job.scheduler_cluster_ids, [1, 2]);
      assert.match(job.args.headers.Authorization, /^Bearer ey/);
      assert.equal(job.state, 'SUCCESS', job.error);
      // The stand-in pulled the manifest and both blobs with that token.
      assert.equal(job.pulled.length, 3);
    }
    assert.ok(dragonfly.jobs.some((j) => j.pulled[0] === digests['app:v1']));

    // The token reaches only that repository, and only to pull.
    const token = dragonfly.jobs[0].args.headers.Authorization;
    const other = await fetch(`${server.url}/v2/fleet/tools/cli/manifests/v1`, { headers: { authorization: token } });
    assert.equal(other.status, 401);
    const put = await fetch(`${server.url}/v2/fleet/app/manifests/x`, {
      method: 'PUT',
      headers: { authorization: token, 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
      body: '{}',
    });
    assert.ok(put.status === 401 || put.status === 403, `push with the preheat token: ${put.status}`);

    assertShape(execution, 'Execution');
    const tasks = await tasksOf(server, 'fleet', 'warm-app', id);
    assert.deepEqual(tasks.map((t) => t.extra_attrs.artifact).sort(), ['fleet/app:v1', 'fleet/app:v2']);
    assertShape(tasks, 'Task');
    for (const t of tasks) {
      assert.equal(t.status, 'Success');
      assert.equal(t.run_count, 1);
      assert.equal(t.extra_attrs.kind, 'image');
      assert.match(t.extra_attrs.digest, /^sha256:/);
    }
    const log = await taskLog(server, 'fleet', 'warm-app', id, tasks[0].id);
    assert.match(log, /Preheating image 'fleet\/app:v[12]@sha256:/);
    assert.match(log, /Check health of preheat provider instance: Healthy/);
    assert.match(log, /Preheating is completed/);
    assert.match(log, /SUCCESS cluster=1 host=seed-peer-1/);

    const list = await api(server, 'GET', '/projects/fleet/preheat/policies/warm-app/executions', { auth: admin() });
    assert.equal(list.status, 200);
    assert.equal(list.headers.get('x-total-count'), '1');
    assert.equal(list.body[0].id, id);
    assertShape(list.body, 'Execution');
  });

  test('Kraken: one push notification per image manifest (an index: each of its images), with Basic auth', async () => {
    const index = await pushMultiPlatform(server, 'fleet/multi', 'v1');
    const kr = (await api(server, 'GET', '/p2p/preheat/instances/kr', { auth: admin() })).body;
    await createPolicy(server, 'fleet', {
      name: 'warm-kraken',
      provider_id: kr.id,
      filters: filters({ type: 'repository', value: '{multi,tools/**}' }, { type: 'tag', value: 'v1' }),
      trigger: manual,
    });
    const id = await runPolicy(server, 'fleet', 'warm-kraken');
    const execution = await waitExecution(server, 'fleet', 'warm-kraken', id);
    assert.equal(execution.status, 'Success', JSON.stringify(execution));
    assert.equal(execution.metrics.task_count, 2);
    const auth = `Basic ${Buffer.from('kraken:s3cret').toString('base64')}`;
    assert.ok(kraken.requests.every((r) => r.authorization === auth));
    const byRepo = (repo: string) => kraken.preheated.filter((e) => e.target.repository === repo);
    assert.deepEqual(
      byRepo('fleet/tools/cli').map((e) => e.target.digest),
      [digests['tools/cli:v1']],
    );
    assert.deepEqual(
      byRepo('fleet/multi')
        .map((e) => e.target.digest)
        .sort(),
      index.images.map((i) => i.digest).sort(),
    );
    for (const e of kraken.preheated) {
      assert.equal(e.action, 'push');
      assert.equal(e.target.tag, 'v1');
      assert.equal(e.target.url, `${server.url}/v2/${e.target.repository}/manifests/v1`);
    }
  });

  test('a provider that fails: the task ends Error with its reason, the execution Error', async () => {
    dragonfly.options.failWith = 'seed peer cannot reach the registry: connection reset';
    try {
      const id = await runPolicy(server, 'fleet', 'warm-app');
      const execution = await waitExecution(server, 'fleet', 'warm-app', id);
      assert.equal(execution.status, 'Error');
      assert.equal(execution.metrics.error_task_count, 2);
      const tasks = await tasksOf(server, 'fleet', 'warm-app', id);
      for (const t of tasks) {
        assert.equal(t.status, 'Error');
        assert.match(t.status_message, /preheat failed: seed peer cannot reach the registry: connection reset/);
      }
      assert.match(await taskLog(server, 'fleet', 'warm-app', id, tasks[0].id), /preheat job running error: preheat failed: seed peer/);
      // Lists filter and sort with Harbor's q and sort; unknown keys are 400s.
      const failed = await api(server, 'GET', '/projects/fleet/preheat/policies/warm-app/executions?q=status%3DError', { auth: admin() });
      assert.deepEqual(
        failed.body.map((e: any) => e.id),
        [id],
      );
      const ok = await api(server, 'GET', '/projects/fleet/preheat/policies/warm-app/executions?q=status%3DSuccess&sort=id', {
        auth: admin(),
      });
      assert.ok(ok.body.length >= 1 && ok.body.every((e: any) => e.status === 'Success'));
      const errorTasks = await api(
        server,
        'GET',
        `/projects/fleet/preheat/policies/warm-app/executions/${id}/tasks?q=status%3DError&sort=-id`,
        {
          auth: admin(),
        },
      );
      assert.equal(errorTasks.headers.get('x-total-count'), '2');
      assert.ok(errorTasks.body[0].id > errorTasks.body[1].id);
      assert.equal(
        (await api(server, 'GET', '/projects/fleet/preheat/policies/warm-app/executions?q=owner%3Dx', { auth: admin() })).status,
        400,
      );
      assert.equal(
        (await api(server, 'GET', `/projects/fleet/preheat/policies/warm-app/executions/${id}/tasks?sort=size`, { auth: admin() })).status,
        400,
      );
    } finally {
      delete dragonfly.options.failWith;
    }

    kraken.options.failWith = 503;
    try {
      const id = await runPolicy(server, 'fleet', 'warm-kraken');
      const execution = await waitExecution(server, 'fleet', 'warm-kraken', id);
      assert.equal(execution.status, 'Error');
      const tasks = await tasksOf(server, 'fleet', 'warm-kraken', id);
      for (const t of tasks) assert.match(t.status_message, /answered 503.*origin cluster unavailable/);
    } finally {
      delete kraken.options.failWith;
    }
  });

  test('a provider that does not answer: the execution fails before any task, saying why; a refused token fails the tasks', async () => {
    const id = await createInstance(server, { name: 'gone', vendor: 'dragonfly', endpoint: `http://127.0.0.1:${await refusedPort()}` });
    await createPolicy(server, 'fleet', {
      name: 'to-gone',
      provider_id: id,
      filters: filters({ type: 'tag', value: 'v1' }),
      trigger: manual,
    });
    const eid = await runPolicy(server, 'fleet', 'to-gone');
    const execution = await waitExecution(server, 'fleet', 'to-gone', eid);
    assert.equal(execution.status, 'Error');
    assert.match(
      execution.status_message,
      /preheat provider instance dragonfly-gone:http:\/\/127\.0\.0\.1:\d+ is not healthy: .*ECONNREFUSED/,
    );
    assert.equal(execution.metrics.task_count, 0);
    assert.equal((await api(server, 'GET', '/p2p/preheat/instances/gone', { auth: admin() })).body.status, 'Unhealthy');

    // The manager answers its health check to anyone but refuses jobs without the right personal access token.
    const wrong = await createInstance(server, {
      name: 'df-wrong',
      vendor: 'dragonfly',
      endpoint: dragonfly.url.replace('127.0.0.1', 'localhost'),
      auth_mode: 'OAUTH',
      auth_info: { token: 'not-it' },
    });
    await createPolicy(server, 'fleet', {
      name: 'wrong-token',
      provider_id: wrong,
      filters: filters({ type: 'repository', value: 'tools/cli' }),
      trigger: manual,
    });
    const jobsBefore = dragonfly.jobs.length;
    const wid = await runPolicy(server, 'fleet', 'wrong-token');
    const failed = await waitExecution(server, 'fleet', 'wrong-token', wid);
    assert.equal(failed.status, 'Error');
    const [task] = await tasksOf(server, 'fleet', 'wrong-token', wid);
    assert.match(task.status_message, /answered 401.*personal access token is invalid/);
    assert.equal(dragonfly.jobs.length, jobsBefore);
  });

  test('a stopped execution: its tasks end Stopped and the provider is asked no more', async () => {
    dragonfly.options.pendingPolls = 1_000_000;
    try {
      const id = await runPolicy(server, 'fleet', 'warm-app');
      await waitFor(
        () => tasksOf(server, 'fleet', 'warm-app', id),
        (tasks) => tasks.length === 2 && tasks.every((t) => t.status === 'Running'),
        'both tasks running',
      );
      const bad = await api(server, 'PATCH', `/projects/fleet/preheat/policies/warm-app/executions/${id}`, {
        auth: admin(),
        body: { status: 'Running' },
      });
      assert.equal(bad.status, 400);
      const stopped = await api(server, 'PATCH', `/projects/fleet/preheat/policies/warm-app/executions/${id}`, {
        auth: admin(),
        body: { status: 'Stopped' },
      });
      assert.equal(stopped.status, 200, JSON.stringify(stopped.body));
      const execution = await waitExecution(server, 'fleet', 'warm-app', id);
      assert.equal(execution.status, 'Stopped');
      const tasks = await waitFor(
        () => tasksOf(server, 'fleet', 'warm-app', id),
        (list) => list.every((t) => t.status === 'Stopped'),
        'tasks stopped',
      );
      assert.equal(tasks.length, 2);
      // A policy whose execution runs cannot be deleted; once stopped it can.
      const del = await api(server, 'DELETE', '/projects/fleet/preheat/policies/warm-app', { auth: admin() });
      assert.equal(del.status, 200, JSON.stringify(del.body));
    } finally {
      delete dragonfly.options.pendingPolls;
    }
  });

  test('a scheduled policy: a due tick starts an execution with trigger scheduled', async () => {
    const kr = (await api(server, 'GET', '/p2p/preheat/instances/kr', { auth: admin() })).body;
    await createPolicy(server, 'fleet', {
      name: 'nightly',
      provider_id: kr.id,
      filters: filters({ type: 'repository', value: 'tools/**' }),
      trigger: JSON.stringify({ type: 'scheduled', trigger_setting: { cron: '0 0 3 * * *' } }),
    });
    const policy = (await api(server, 'GET', '/projects/fleet/preheat/policies/nightly', { auth: admin() })).body;
    await server.berth.database.db
      .updateTable('schedules')
      .set({ next_run_at: new Date(Date.now() - 60_000).toISOString() })
      .where('name', '=', `PREHEAT:${policy.id}`)
      .execute();
    await server.berth.jobs.scheduler.tick();
    const [execution] = await waitFor(
      async () => (await api(server, 'GET', '/projects/fleet/preheat/policies/nightly/executions', { auth: admin() })).body as any[],
      (list) => list.length === 1 && list[0].status === 'Success',
      'the scheduled execution',
    );
    assert.equal(execution.trigger, 'scheduled');
    assert.deepEqual(execution.extra_attrs, { trigger: 'scheduled', triggerSetting: '0 0 3 * * *', totalCount: 1 });
    assert.deepEqual(
      (await tasksOf(server, 'fleet', 'nightly', execution.id)).map((t) => t.extra_attrs.artifact),
      ['fleet/tools/cli:v1'],
    );
  });

  test('a deleted project takes its policies with it; the schedule one left is removed at its next tick', async () => {
    await createProject(server, 'short-lived');
    const kr = (await api(server, 'GET', '/p2p/preheat/instances/kr', { auth: admin() })).body;
    await createPolicy(server, 'short-lived', {
      name: 'nightly',
      provider_id: kr.id,
      filters: filters({ type: 'tag', value: '**' }),
      trigger: JSON.stringify({ type: 'scheduled', trigger_setting: { cron: '0 0 3 * * *' } }),
    });
    const policy = (await api(server, 'GET', '/projects/short-lived/preheat/policies/nightly', { auth: admin() })).body;
    assert.equal((await api(server, 'DELETE', '/projects/short-lived', { auth: admin() })).status, 200);
    const db = server.berth.database.db;
    assert.equal((await db.selectFrom('preheat_policies').select('id').where('id', '=', policy.id).execute()).length, 0);
    await db
      .updateTable('schedules')
      .set({ next_run_at: new Date(Date.now() - 60_000).toISOString() })
      .where('name', '=', `PREHEAT:${policy.id}`)
      .execute();
    await server.berth.jobs.scheduler.tick();
    await waitFor(
      () => server.berth.jobs.scheduler.get(`PREHEAT:${policy.id}`),
      (s) => s === undefined,
      'the orphaned schedule removed',
    );
    assert.equal((await db.selectFrom('preheat_executions').select('id').where('policy_id', '=', policy.id).execute()).length, 0);
  });

  test('a worker that goes away mid-preheat: another one resumes the Dragonfly job it started instead of starting another', async () => {
    await createPolicy(server, 'fleet', {
      name: 'resume',
      provider_id: (await api(server, 'GET', '/p2p/preheat/instances/df', { auth: admin() })).body.id,
      filters: filters({ type: 'repository', value: 'tools/cli' }),
      trigger: manual,
    });
    dragonfly.options.pendingPolls = 1_000_000;
    const jobsBefore = dragonfly.jobs.length;
    const id = await runPolicy(server, 'fleet', 'resume');
    const [running] = await waitFor(
      () => tasksOf(server, 'fleet', 'resume', id),
      (tasks) => tasks.length === 1 && tasks[0].status === 'Running' && dragonfly.jobs.length === jobsBefore + 1,
      'the task running with its Dragonfly job created',
    );
    // This instance's worker stops (its jobs go back to the queue); another worker on the same database takes over.
    await server.berth.jobs.runner.stop(50);
    const other = new JobRunner(server.berth.jobs.queue, { pollIntervalMs: 20, logger: undefined });
    other.register('PREHEAT', (ctx) => server.berth.preheat.preheat.handleExecution(ctx as any));
    other.register('PREHEAT_TASK', (ctx) => server.berth.preheat.preheat.handleTask(ctx as any));
    delete dragonfly.options.pendingPolls;
    await other.start();
    try {
      const execution = await waitExecution(server, 'fleet', 'resume', id);
      assert.equal(execution.status, 'Success', JSON.stringify(execution));
      assert.equal(dragonfly.jobs.length, jobsBefore + 1, 'no second Dragonfly job');
      const [task] = await tasksOf(server, 'fleet', 'resume', id);
      assert.equal(task.id, running.id);
      assert.equal(task.run_count, 2);
      const log = await taskLog(server, 'fleet', 'resume', id, task.id);
      assert.match(log, /interrupted: pool .* shut down/);
      assert.match(log, /Resuming the provider's preheat \d+ \(an earlier attempt started it\)/);
      assert.match(log, /Preheating is completed/);
    } finally {
      await other.stop(50);
    }
  });
});
