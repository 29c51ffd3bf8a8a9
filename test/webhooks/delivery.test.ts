import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { checkShape } from '../compat/harbor-shapes.js';
import { api } from '../helpers/api.js';
import { testDialect } from '../helpers/database.js';
import { pushImage } from '../helpers/oci.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { waitFor } from '../jobs/databases.js';

/*
 * From a push to the receiver, through the real outbox, job queue and HTTP: one execution per
 * (event, policy), one task per target, the stored bytes sent on every attempt with the same
 * delivery id; retries on the webhooks' backoff until the receiver answers 2xx, or Error after
 * the last attempt; the execution history, task log and last trigger through Harbor's API;
 * disabled policies, other event types and other projects send nothing. Receivers are real
 * HTTP servers on 127.0.0.1.
 */
describe(`webhook deliveries (${testDialect()})`, () => {
  let server: TestServer;
  let receiver: WebhookReceiver;
  const admin = () => server.admin.authorization;
  const db = () => server.berth.database.db;
  const tasks = () => db().selectFrom('webhook_tasks').selectAll().orderBy('id').execute();

  async function createPolicy(project: string, body: Record<string, unknown>): Promise<number> {
    const res = await api(server, 'POST', `/projects/${project}/webhook/policies`, { auth: admin(), body });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return Number(res.headers.get('location')!.split('/').pop());
  }
  const push = (repo: string, tag: string) => pushImage(server.url, repo, tag, { headers: server.admin });
  /** The tasks of a policy once none is Pending or Running. */
  async function settled(policyId: number, count: number, timeoutMs = 30_000) {
    return waitFor(
      () => db().selectFrom('webhook_tasks').selectAll().where('policy_id', '=', policyId).orderBy('id').execute(),
      (rows) => rows.length >= count && rows.every((r) => r.status === 'Success' || r.status === 'Error'),
      `${count} settled task(s) of policy ${policyId}`,
      timeoutMs,
    );
  }

  before(async () => {
    server = await startServer({
      yaml: {
        'jobs.poll_interval_ms': 50,
        'webhooks.max_attempts': 4,
        'webhooks.retry_base_seconds': 0.05,
        'webhooks.retry_max_seconds': 0.2,
        'webhooks.timeout_seconds': 5,
      },
    });
    receiver = await startWebhookReceiver();
    for (const name of ['hooks', 'quiet', 'flaky', 'dead']) {
      const res = await api(server, 'POST', '/projects', { auth: admin(), body: { project_name: name, metadata: { public: 'false' } } });
      assert.equal(res.status, 201);
    }
  });
  after(async () => {
    await server?.stop();
    await receiver?.close();
  });

  test('a push reaches every target of every enabled policy naming PUSH_ARTIFACT, in its format, with its delivery id', async () => {
    const policyId = await createPolicy('hooks', {
      name: 'ci',
      event_types: ['PUSH_ARTIFACT'],
      targets: [
        { type: 'http', address: `${receiver.url}/default`, auth_header: 'Bearer abc' },
        { type: 'http', address: `${receiver.url}/ce`, payload_format: 'CloudEvents' },
        { type: 'slack', address: `${receiver.url}/slack`, auth_header: 'Bearer not-for-slack' },
      ],
    });
    await createPolicy('hooks', {
      name: 'off',
      enabled: false,
      event_types: ['PUSH_ARTIFACT'],
      targets: [{ type: 'http', address: `${receiver.url}/off` }],
    });
    await createPolicy('hooks', {
      name: 'deletes',
      event_types: ['DELETE_ARTIFACT'],
      targets: [{ type: 'http', address: `${receiver.url}/deletes` }],
    });
    const pushed = await push('hooks/app', 'v1');

    const got = await receiver.waitFor(3, (r) => ['/default', '/ce', '/slack'].includes(r.path));
    const byPath = new Map(got.map((r) => [r.path, r]));
    const def = byPath.get('/default')!;
    assert.equal(def.headers.authorization, 'Bearer abc');
    assert.match(String(def.headers['content-type']), /application\/json/);
    const body = JSON.parse(def.body);
    assert.equal(body.type, 'PUSH_ARTIFACT');
    assert.equal(body.event_data.repository.repo_full_name, 'hooks/app');
    assert.equal(body.event_data.resources[0].digest, pushed.digest);
    // Harbor's date_created: the repository's creation, in Unix seconds.
    assert.equal(typeof body.event_data.repository.date_created, 'number');
    assert.ok(Math.abs(body.event_data.repository.date_created - Date.now() / 1000) < 600);
    // Harbor's Slack job sends no Authorization header.
    assert.equal(byPath.get('/slack')!.headers.authorization, undefined);
    assert.equal(byPath.get('/ce')!.headers.authorization, undefined);
    const ce = JSON.parse(byPath.get('/ce')!.body);
    assert.equal(ce.specversion, '1.0');
    assert.equal(ce.id, byPath.get('/ce')!.headers['x-berth-delivery-id']);
    assert.ok(JSON.parse(byPath.get('/slack')!.body).text);

    const rows = await settled(policyId, 3);
    assert.deepEqual(
      rows.map((r) => [r.status, Number(r.run_count), Number(r.status_code)]),
      [
        ['Success', 1, 200],
        ['Success', 1, 200],
        ['Success', 1, 200],
      ],
    );
    for (const r of rows) {
      // What was sent is what the task holds: the same bytes, the same id.
      const sent = byPath.get(new URL(r.address).pathname)!;
      assert.equal(sent.body, r.body);
      assert.equal(sent.headers['x-berth-delivery-id'], r.delivery_id);
      assert.equal(r.response, 'ok');
    }
    assert.equal(new Set(rows.map((r) => r.delivery_id)).size, 3);

    // Harbor's API: the execution, its tasks, a task's log, the last trigger.
    const execs = await api(server, 'GET', `/projects/hooks/webhook/policies/${policyId}/executions`, { auth: admin() });
    assert.equal(execs.status, 200);
    assert.equal(execs.body.length, 1);
    const exec = execs.body[0];
    assert.deepEqual(checkShape(exec, 'Execution'), []);
    assert.equal(exec.status, 'Success');
    assert.equal(exec.vendor_type, 'WEBHOOK');
    assert.equal(exec.vendor_id, policyId);
    assert.equal(exec.trigger, 'EVENT');
    assert.equal(exec.metrics.success_task_count, 3);
    assert.equal(exec.extra_attrs.event_type, 'PUSH_ARTIFACT');
    assert.equal(JSON.parse(exec.extra_attrs.payload).type, 'PUSH_ARTIFACT');
    const taskList = await api(server, 'GET', `/projects/hooks/webhook/policies/${policyId}/executions/${exec.id}/tasks`, {
      auth: admin(),
    });
    assert.equal(taskList.status, 200);
    assert.equal(taskList.headers.get('x-total-count'), '3');
    for (const t of taskList.body) assert.deepEqual(checkShape(t, 'Task'), []);
    const first = taskList.body[0];
    assert.equal(first.extra_attrs.status_code, 200);
    assert.equal(first.extra_attrs.address, `${receiver.url}/default`);
    assert.equal(first.extra_attrs.payload_format, 'Default');
    assert.equal(first.extra_attrs.payload, rows[0]!.body);
    assert.equal(typeof first.extra_attrs.duration_ms, 'number');
    assert.equal(taskList.body[2].extra_attrs.notify_type, 'slack');
    const log = await api(server, 'GET', `/projects/hooks/webhook/policies/${policyId}/executions/${exec.id}/tasks/${first.id}/log`, {
      auth: admin(),
    });
    assert.equal(log.status, 200);
    assert.match(log.headers.get('content-type')!, /text\/plain/);
    assert.match(String(log.body), /PUSH_ARTIFACT: POST .*\/default \(Default\), delivery [0-9a-f-]{36}, attempt 1 of 4/);
    assert.match(String(log.body), /delivered: HTTP 200 in \d+ ms/);
    const trig = await api(server, 'GET', '/projects/hooks/webhook/lasttrigger', { auth: admin() });
    const ci = trig.body.find((t: any) => t.policy_name === 'ci' && t.event_type === 'PUSH_ARTIFACT');
    assert.ok(ci.last_trigger_time);
    assert.equal(trig.body.find((t: any) => t.policy_name === 'deletes').last_trigger_time, undefined);
    for (const t of trig.body) assert.deepEqual(checkShape(t, 'WebhookLastTrigger'), []);
    const jobs = await api(server, 'GET', `/projects/hooks/webhook/jobs?policy_id=${policyId}&status=Success`, { auth: admin() });
    assert.equal(jobs.status, 200);
    assert.equal(jobs.body.length, 3);
    for (const j of jobs.body) assert.deepEqual(checkShape(j, 'WebhookJob'), []);
    assert.equal((await api(server, 'GET', '/projects/hooks/webhook/jobs', { auth: admin() })).status, 400);

    // Neither the disabled policy nor the one for deletions made anything.
    assert.equal(receiver.received.filter((r) => r.path === '/off' || r.path === '/deletes').length, 0);
    assert.equal((await tasks()).filter((r) => Number(r.policy_id) !== policyId).length, 0);
  });

  test('an execution or task of another policy, a bad id: 404 / 400', async () => {
    const policies = (await api(server, 'GET', '/projects/hooks/webhook/policies?sort=id', { auth: admin() })).body;
    const ci = policies.find((p: any) => p.name === 'ci').id;
    const other = policies.find((p: any) => p.name === 'off').id;
    const exec = (await api(server, 'GET', `/projects/hooks/webhook/policies/${ci}/executions`, { auth: admin() })).body[0];
    const task = (await api(server, 'GET', `/projects/hooks/webhook/policies/${ci}/executions/${exec.id}/tasks`, { auth: admin() }))
      .body[0];
    const wrong = await api(server, 'GET', `/projects/hooks/webhook/policies/${other}/executions/${exec.id}/tasks`, { auth: admin() });
    assert.equal(wrong.status, 404);
    assert.match(wrong.body.errors[0].message, new RegExp(`execution ${exec.id} not found in policy ${other}`));
    assert.equal(
      (await api(server, 'GET', `/projects/hooks/webhook/policies/${ci}/executions/999999/tasks/${task.id}/log`, { auth: admin() })).status,
      404,
    );
    assert.equal(
      (await api(server, 'GET', `/projects/hooks/webhook/policies/${ci}/executions/${exec.id}/tasks/999999/log`, { auth: admin() })).status,
      404,
    );
    assert.equal((await api(server, 'GET', `/projects/hooks/webhook/policies/${ci}/executions/x/tasks`, { auth: admin() })).status, 400);
  });

  test('a receiver answering 500 is retried with the same bytes and id until it answers 200', async () => {
    const flaky = await startWebhookReceiver();
    try {
      let answered = 0;
      flaky.status = 500;
      flaky.answer = 'not yet';
      const policyId = await createPolicy('flaky', {
        name: 'f',
        event_types: ['PUSH_ARTIFACT'],
        targets: [{ type: 'http', address: `${flaky.url}/x` }],
      });
      await push('flaky/app', 'v1');
      await flaky.waitFor(2);
      flaky.status = 200;
      flaky.answer = 'fine now';
      const [row] = await settled(policyId, 1);
      answered = flaky.received.length;
      assert.equal(row!.status, 'Success');
      assert.equal(Number(row!.run_count), answered);
      assert.ok(answered >= 3);
      assert.equal(row!.response, 'fine now');
      assert.equal(new Set(flaky.received.map((r) => r.body)).size, 1);
      assert.equal(new Set(flaky.received.map((r) => r.headers['x-berth-delivery-id'])).size, 1);
      const log = await server.berth.jobs.queue.logText(Number(row!.job_id));
      assert.match(log!, /HTTP 500: not yet/);
    } finally {
      await flaky.close();
    }
  });

  test('a receiver down then up: delivered once it listens again', async () => {
    const first = await startWebhookReceiver();
    const port = first.port;
    await first.close();
    const policyId = await createPolicy('flaky', {
      name: 'comeback',
      event_types: ['DELETE_ARTIFACT'],
      targets: [{ type: 'http', address: `http://127.0.0.1:${port}/back` }],
    });
    const pushed = await push('flaky/gone', 'v1');
    const del = await api(server, 'DELETE', `/projects/flaky/repositories/gone/artifacts/${pushed.digest}`, { auth: admin() });
    assert.equal(del.status, 200);
    // The first attempt fails (nothing listens), then the receiver comes up on the same port.
    await waitFor(
      () => db().selectFrom('webhook_tasks').selectAll().where('policy_id', '=', policyId).execute(),
      (rows) => rows.length === 1 && Number(rows[0]!.run_count) >= 1 && rows[0]!.status_code !== null,
      'a failed first attempt',
    );
    const back = await startWebhookReceiver({ port });
    try {
      const [got] = await back.waitFor(1);
      assert.equal(JSON.parse(got!.body).type, 'DELETE_ARTIFACT');
      const [row] = await settled(policyId, 1);
      assert.equal(row!.status, 'Success');
      assert.ok(Number(row!.run_count) >= 2);
    } finally {
      await back.close();
    }
  });

  test('a receiver that never answers 2xx: the task is Error after max_attempts, the execution Error', async () => {
    const gone = await startWebhookReceiver();
    gone.status = 503;
    gone.answer = 'down for maintenance';
    try {
      const policyId = await createPolicy('dead', {
        name: 'd',
        event_types: ['PUSH_ARTIFACT'],
        targets: [{ type: 'http', address: `${gone.url}/d` }],
      });
      await push('dead/app', 'v1');
      const [row] = await settled(policyId, 1);
      assert.equal(row!.status, 'Error');
      assert.equal(Number(row!.run_count), 4);
      assert.equal(gone.received.length, 4);
      assert.equal(Number(row!.status_code), 503);
      assert.match(row!.status_message, /not delivered after 4 attempt\(s\): HTTP 503: down for maintenance/);
      const exec = (await api(server, 'GET', `/projects/dead/webhook/policies/${policyId}/executions`, { auth: admin() })).body[0];
      assert.equal(exec.status, 'Error');
      assert.equal(exec.metrics.error_task_count, 1);
      assert.notEqual(exec.end_time, '0001-01-01T00:00:00Z');
    } finally {
      await gone.close();
    }
  });

  test('events of other projects and types, and pulls without a PULL policy, make nothing', async () => {
    const before = (await tasks()).length;
    await push('quiet/app', 'v1');
    await server.berth.jobs.dispatcher.drain();
    assert.equal((await tasks()).length, before);
    // Pulls of a project whose policies do not name PULL_ARTIFACT make nothing either.
    const res = await fetch(`${server.url}/v2/hooks/app/manifests/v1`, {
      headers: { ...server.admin, accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    await server.berth.pulls.flush();
    await server.berth.jobs.dispatcher.drain();
    assert.equal((await tasks()).length, before);
  });

  test('deleting a policy drops its pending deliveries: their jobs end without sending', async () => {
    const held = await startWebhookReceiver();
    held.status = 500;
    try {
      const policyId = await createPolicy('quiet', {
        name: 'short-lived',
        event_types: ['PUSH_ARTIFACT'],
        targets: [{ type: 'http', address: `${held.url}/h` }],
      });
      await push('quiet/short', 'v1');
      await held.waitFor(1);
      const [row] = await db().selectFrom('webhook_tasks').selectAll().where('policy_id', '=', policyId).execute();
      assert.equal((await api(server, 'DELETE', `/projects/quiet/webhook/policies/${policyId}`, { auth: admin() })).status, 200);
      assert.equal((await db().selectFrom('webhook_executions').selectAll().where('policy_id', '=', policyId).execute()).length, 0);
      const job = await waitFor(
        () => server.berth.jobs.queue.get(Number(row!.job_id)),
        (j) => j?.status === 'success',
        'the orphaned job to end',
      );
      assert.equal(job!.status, 'success');
      assert.match((await server.berth.jobs.queue.logText(Number(row!.job_id)))!, /no longer exists/);
    } finally {
      await held.close();
    }
  });

  test('the sweeper deletes ended executions older than 14 days, with their tasks', async () => {
    const old = new Date(Date.now() - 15 * 24 * 3600_000).toISOString();
    const [victim, ...rest] = await db().selectFrom('webhook_executions').selectAll().orderBy('id').execute();
    await db().updateTable('webhook_executions').set({ start_time: old }).where('id', '=', victim!.id).execute();
    const jobId = await server.berth.jobs.queue.enqueue('webhook.sweep', null);
    await waitFor(
      () => server.berth.jobs.queue.get(jobId),
      (j) => j?.status === 'success',
      'the sweep',
    );
    const left = await db().selectFrom('webhook_executions').select('id').orderBy('id').execute();
    assert.deepEqual(
      left.map((r) => Number(r.id)),
      rest.map((r) => Number(r.id)),
    );
    assert.equal((await db().selectFrom('webhook_tasks').selectAll().where('execution_id', '=', victim!.id).execute()).length, 0);
    assert.match((await server.berth.jobs.queue.logText(jobId))!, /removed 1 webhook execution/);
  });
});

describe(`webhooks switched off (${testDialect()})`, () => {
  let server: TestServer;
  let receiver: WebhookReceiver;
  before(async () => {
    server = await startServer({ yaml: { 'webhooks.enabled': false, 'jobs.poll_interval_ms': 50 } });
    receiver = await startWebhookReceiver();
  });
  after(async () => {
    await server?.stop();
    await receiver?.close();
  });

  test('webhooks.enabled false: policies are kept and editable, events make no delivery', async () => {
    const res = await api(server, 'POST', '/projects/library/webhook/policies', {
      auth: server.admin.authorization,
      body: { name: 'kept', event_types: ['PUSH_ARTIFACT'], targets: [{ type: 'http', address: receiver.url }] },
    });
    assert.equal(res.status, 201);
    await pushImage(server.url, 'library/app', 'v1', { headers: server.admin });
    await server.berth.jobs.dispatcher.drain();
    assert.equal((await server.berth.database.db.selectFrom('webhook_tasks').selectAll().execute()).length, 0);
    assert.equal(receiver.received.length, 0);
  });
});
