import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api } from '../helpers/api.js';
import { testDialect } from '../helpers/database.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { webhookEventHandler } from '../../src/webhooks/subscriber.js';
import { webhookJobType } from '../../src/webhooks/types.js';

/*
 * The outbox subscriber on its own, in transactions of a real database: what one event makes
 * (an execution per matching policy, a task and a WEBHOOK job per target, the body rendered
 * once), that a rolled-back transaction leaves nothing (the dispatcher hands the batch over
 * again), and which events it passes over. The jobs it enqueues run on the server's runner.
 */
describe(`webhook subscriber (${testDialect()})`, () => {
  let server: TestServer;
  let receiver: WebhookReceiver;
  let projectId: number;
  const db = () => server.berth.database.db;
  const handler = () =>
    webhookEventHandler(server.berth.webhooks.store, server.berth.jobs.queue, {
      enabled: true,
      maxAttempts: 3,
      urls: () => ({ registryHost: 'registry.example.com', externalUrl: 'https://registry.example.com' }),
    });
  const count = async (table: 'webhook_executions' | 'webhook_tasks') =>
    Number(
      (
        await db()
          .selectFrom(table)
          .select((e) => e.fn.countAll().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  const pushEvent = (id: number, over: Record<string, unknown> = {}) => ({
    id,
    type: 'PUSH_ARTIFACT',
    createdAt: '2026-01-02T03:04:05.000Z',
    payload: {
      project_id: projectId,
      repository: 'subs/app',
      digest: `sha256:${'a'.repeat(64)}`,
      tags: ['v1'],
      operator: 'admin',
      occurred_at: '2026-01-02T03:04:05.000Z',
      ...over,
    },
  });

  before(async () => {
    server = await startServer({ yaml: { 'jobs.poll_interval_ms': 50 } });
    receiver = await startWebhookReceiver();
    const res = await api(server, 'POST', '/projects', { auth: server.admin.authorization, body: { project_name: 'subs' } });
    projectId = Number(res.headers.get('location')!.split('/').pop());
    for (const [name, types, targets] of [
      [
        'two-targets',
        ['PUSH_ARTIFACT'],
        [
          { type: 'http', address: `${receiver.url}/a` },
          { type: 'slack', address: `${receiver.url}/b` },
        ],
      ],
      ['pulls', ['PULL_ARTIFACT'], [{ type: 'http', address: `${receiver.url}/pulls` }]],
      ['retention', ['TAG_RETENTION'], [{ type: 'http', address: `${receiver.url}/retention` }]],
    ] as const) {
      const created = await api(server, 'POST', '/projects/subs/webhook/policies', {
        auth: server.admin.authorization,
        body: { name, event_types: types, targets },
      });
      assert.equal(created.status, 201);
    }
  });
  after(async () => {
    await server?.stop();
    await receiver?.close();
  });

  test('an event in a rolled-back transaction leaves no execution, task or job', async () => {
    const jobsBefore = (await server.berth.jobs.queue.queues()).find((q) => q.jobType === webhookJobType)?.count ?? 0;
    await assert.rejects(
      db()
        .transaction()
        .execute(async (tx) => {
          await handler()(pushEvent(1001), tx);
          assert.equal(
            Number(
              (
                await tx
                  .selectFrom('webhook_tasks')
                  .select((e) => e.fn.countAll().as('n'))
                  .executeTakeFirstOrThrow()
              ).n,
            ),
            2,
          );
          throw new Error('the batch fails');
        }),
      /the batch fails/,
    );
    assert.equal(await count('webhook_executions'), 0);
    assert.equal(await count('webhook_tasks'), 0);
    const jobsAfter = (await server.berth.jobs.queue.queues()).find((q) => q.jobType === webhookJobType)?.count ?? 0;
    assert.equal(jobsAfter, jobsBefore);
  });

  test('one event: one execution for the matching policy, one task and job per target, bodies rendered once', async () => {
    const h = handler();
    await db()
      .transaction()
      .execute(async (tx) => {
        // Two events of one project in one batch: the policies are read once, both make deliveries.
        await h(pushEvent(2001), tx);
        await h(pushEvent(2002, { tags: ['v2'] }), tx);
      });
    const executions = await db().selectFrom('webhook_executions').selectAll().orderBy('id').execute();
    assert.deepEqual(
      executions.map((e) => [Number(e.event_id), e.event_type, e.vendor_type, e.trigger]),
      [
        [2001, 'PUSH_ARTIFACT', 'WEBHOOK', 'EVENT'],
        [2002, 'PUSH_ARTIFACT', 'WEBHOOK', 'EVENT'],
      ],
    );
    const tasks = await db().selectFrom('webhook_tasks').selectAll().orderBy('id').execute();
    assert.equal(tasks.length, 4);
    assert.deepEqual(
      tasks.map((t) => [t.notify_type, t.payload_format, t.target_index]),
      [
        ['http', 'Default', 0],
        ['slack', 'Slack', 1],
        ['http', 'Default', 0],
        ['slack', 'Slack', 1],
      ],
    );
    for (const t of tasks) {
      assert.ok(t.job_id !== null);
      const job = await server.berth.jobs.queue.get(Number(t.job_id));
      assert.equal(job!.type, webhookJobType);
      assert.deepEqual(job!.payload, { taskId: Number(t.id) });
      assert.equal(job!.maxAttempts, 3);
      assert.equal(JSON.parse(t.headers)['X-Berth-Delivery-Id'], t.delivery_id);
    }
    const body = JSON.parse(tasks[0]!.body);
    assert.equal(body.type, 'PUSH_ARTIFACT');
    assert.match(body.event_data.resources[0].resource_url, /^registry\.example\.com\/subs\/app:v1$/);
    // The jobs deliver exactly the stored bytes.
    const got = await receiver.waitFor(4);
    assert.deepEqual(got.map((r) => r.body).sort(), tasks.map((t) => t.body).sort());
  });

  test('events it passes over: other types, no project, a project without matching policies, a dry-run retention', async () => {
    const before = await count('webhook_executions');
    const h = handler();
    await db()
      .transaction()
      .execute(async (tx) => {
        await h({ ...pushEvent(3001), type: 'SOMETHING_ELSE' }, tx);
        await h(pushEvent(3002, { project_id: undefined }), tx);
        await h(pushEvent(3003, { project_id: projectId + 1000 }), tx);
        await h({ ...pushEvent(3004), type: 'DELETE_ARTIFACT' }, tx);
        await h(
          {
            id: 3005,
            type: 'TAG_RETENTION',
            createdAt: '2026-01-02T03:04:05.000Z',
            payload: {
              project_id: projectId,
              execution_id: 1,
              status: 'Success',
              trigger: 'MANUAL',
              dry_run: true,
              total: 1,
              retained: 0,
              deleted: [{ repository: 'subs/app', digest: `sha256:${'b'.repeat(64)}`, tags: ['old'] }],
              occurred_at: '2026-01-02T03:04:05.000Z',
            },
          },
          tx,
        );
      });
    assert.equal(await count('webhook_executions'), before);
  });

  test('switched off (webhooks.enabled false): nothing', async () => {
    const before = await count('webhook_executions');
    const off = webhookEventHandler(server.berth.webhooks.store, server.berth.jobs.queue, {
      enabled: false,
      maxAttempts: 3,
      urls: () => ({ registryHost: '', externalUrl: '' }),
    });
    await db()
      .transaction()
      .execute(async (tx) => off(pushEvent(4001), tx));
    assert.equal(await count('webhook_executions'), before);
  });
});
