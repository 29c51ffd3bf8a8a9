import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { cloudEventTypes } from '../../src/webhooks/formats/index.js';
import { api } from '../helpers/api.js';
import { createTestDatabase, testDialect, type TestDatabase } from '../helpers/database.js';
import { freePort, refusedPort } from '../helpers/ports.js';
import { pushImage } from '../helpers/oci.js';
import { adminPassword, basicAuth, startServer, type TestServer } from '../helpers/server.js';
import { startWebhookReceiver, type ReceivedRequest, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { bytes, digestOf, image, pushImage as pushQuotaImage, V2 } from '../quotas/fixtures.js';
import { createPolicy as createReplicationPolicy, createRegistry, finished, startExecution } from '../replication/e2e/flow.js';
import { daysAgo, push as pushSmall, rule, run as runRetention, savePolicy as saveRetention, setTimes } from '../retention/helpers.js';
import { artifactPath, debianImage, pushBuilt, vulnerabilityMime, waitFor } from '../scanning/scans/helpers.js';

// Webhooks end to end, nothing stubbed: a real Berth, real receivers on 127.0.0.1, events made
// the way users make them (pushes, pulls, deletes, scans, quota refusals, retention and
// replication runs), each delivered in Harbor's Default, CloudEvents and Slack formats; then
// durability: a receiver down then up, a receiver that hangs, and Berth killed mid-delivery.

const root = path.resolve(fileURLToPath(new URL('../..', import.meta.url)));
const fast = {
  'jobs.poll_interval_ms': 20,
  'webhooks.retry_base_seconds': 0.2,
  'webhooks.retry_max_seconds': 1,
  'webhooks.timeout_seconds': 5,
};

interface Target {
  type: 'http' | 'slack';
  address: string;
  payload_format?: 'Default' | 'CloudEvents';
  auth_header?: string;
  skip_cert_verify?: boolean;
}

async function createProject(server: TestServer, name: string, extra: Record<string, unknown> = {}): Promise<number> {
  const res = await api(server, 'POST', '/projects', {
    auth: server.admin.authorization,
    body: { project_name: name, metadata: { public: 'false' }, ...extra },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return Number(res.headers.get('location')!.split('/').pop());
}

async function createHook(
  server: TestServer,
  project: string,
  eventTypes: string[],
  targets: Target[],
  extra: { name?: string; enabled?: boolean } = {},
): Promise<number> {
  const res = await api(server, 'POST', `/projects/${project}/webhook/policies`, {
    auth: server.admin.authorization,
    body: {
      name: `hook-${project}`,
      enabled: true,
      event_types: eventTypes,
      targets: targets.map((t) => ({ skip_cert_verify: false, ...t })),
      ...extra,
    },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return Number(res.headers.get('location')!.split('/').pop());
}

/** The three formats of one project's deliveries, at /<project>/default, /ce and /slack of a receiver. */
function threeTargets(receiver: WebhookReceiver, project: string): Target[] {
  return [
    { type: 'http', address: `${receiver.url}/${project}/default`, payload_format: 'Default' },
    { type: 'http', address: `${receiver.url}/${project}/ce`, payload_format: 'CloudEvents', auth_header: 'Bearer ce-token' },
    { type: 'slack', address: `${receiver.url}/${project}/slack` },
  ];
}

interface Delivered {
  /** The Default payload. */
  harbor: any;
  ce: any;
  slack: any;
  requests: { harbor: ReceivedRequest; ce: ReceivedRequest; slack: ReceivedRequest };
}

const slackType = (r: ReceivedRequest) => /^\*event_type:\* (\S+)$/.exec(JSON.parse(r.body).blocks?.[1]?.text?.text ?? '')?.[1];

/**
 * Waits for an event of `type` delivered to a project's three targets and checks that the three
 * formats say the same thing: CloudEvents `data` and the Slack code block are the Default
 * payload's event_data; ids and delivery ids as the issue asks.
 */
async function delivered(
  receiver: WebhookReceiver,
  project: string,
  projectId: number,
  policyId: number,
  type: string,
): Promise<Delivered> {
  const at = (suffix: string) => (r: ReceivedRequest) => r.path === `/${project}/${suffix}`;
  const [harbor] = await receiver.waitFor(1, (r) => at('default')(r) && JSON.parse(r.body).type === type);
  const h = JSON.parse(harbor.body);
  // The same event's other two deliveries (several events of a type may arrive in any order).
  const data = JSON.stringify(h.event_data);
  const [ce] = await receiver.waitFor(1, (r) => {
    if (!at('ce')(r)) return false;
    const e = JSON.parse(r.body);
    return e.type === cloudEventTypes[type] && JSON.stringify(e.data) === data && Date.parse(e.time) === h.occur_at * 1000;
  });
  const [slack] = await receiver.waitFor(1, (r) => {
    if (!at('slack')(r) || slackType(r) !== type) return false;
    const blocks = JSON.parse(r.body).blocks;
    return (
      blocks[5].text.text === '```' + JSON.stringify(h.event_data, null, '\t') + '```' && blocks[2].text.text.includes(`^${h.occur_at}^`)
    );
  });
  const c = JSON.parse(ce.body);
  const s = JSON.parse(slack.body);

  assert.equal(harbor.headers['content-type'], 'application/json');
  assert.deepEqual(Object.keys(h), ['type', 'occur_at', 'operator', 'event_data']);
  assert.ok(Number.isInteger(h.occur_at) && h.occur_at > 1_600_000_000, `occur_at ${h.occur_at}`);
  assert.match(String(harbor.headers['x-berth-delivery-id']), /^[0-9a-f-]{36}$/);

  assert.equal(ce.headers['content-type'], 'application/cloudevents+json');
  assert.equal(ce.headers.authorization, 'Bearer ce-token');
  assert.equal(c.specversion, '1.0');
  assert.equal(c.id, ce.headers['x-berth-delivery-id'], 'the CloudEvents id is the delivery id');
  assert.equal(c.source, `/projects/${projectId}/webhook/policies/${policyId}`);
  assert.equal(c.datacontenttype, 'application/json');
  assert.equal(c.time, new Date(h.occur_at * 1000).toISOString().replace('.000Z', 'Z'));
  assert.equal(c.operator, h.operator);
  assert.deepEqual(c.data, h.event_data);

  assert.equal(slack.headers['content-type'], 'application/json');
  assert.equal(s.blocks[5].text.text, '```' + JSON.stringify(h.event_data, null, '\t') + '```');
  assert.equal(s.blocks[3].text.text, `*operator:* ${h.operator}`);

  const ids = new Set([harbor, ce, slack].map((r) => r.headers['x-berth-delivery-id']));
  assert.equal(ids.size, 3, 'each target has its own delivery id');
  return { harbor: h, ce: c, slack: s, requests: { harbor, ce, slack } };
}

async function executionsOf(server: TestServer, project: string, policyId: number): Promise<any[]> {
  const res = await api(server, 'GET', `/projects/${project}/webhook/policies/${policyId}/executions?page_size=100`, {
    auth: server.admin.authorization,
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

async function tasksOf(server: TestServer, project: string, policyId: number, executionId: number): Promise<any[]> {
  const res = await api(server, 'GET', `/projects/${project}/webhook/policies/${policyId}/executions/${executionId}/tasks?page_size=100`, {
    auth: server.admin.authorization,
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

async function taskLog(server: TestServer, project: string, policyId: number, executionId: number, taskId: number): Promise<string> {
  const res = await fetch(
    `${server.url}/api/v2.0/projects/${project}/webhook/policies/${policyId}/executions/${executionId}/tasks/${taskId}/log`,
    {
      headers: server.admin,
    },
  );
  assert.equal(res.status, 200);
  return res.text();
}

/** Every task of a policy, across its executions. */
async function allTasks(server: TestServer, project: string, policyId: number): Promise<any[]> {
  const out: any[] = [];
  for (const e of await executionsOf(server, project, policyId)) out.push(...(await tasksOf(server, project, policyId, e.id)));
  return out;
}

describe(`webhooks deliver every event type in the three formats (${testDialect()})`, () => {
  let server: TestServer;
  let receiver: WebhookReceiver;
  let host: string;

  before(async () => {
    [server, receiver] = await Promise.all([startServer({ yaml: fast }), startWebhookReceiver()]);
    host = new URL(server.url).host;
  });
  after(async () => {
    await server?.stop();
    await receiver?.close();
  });

  test('PUSH_ARTIFACT, PULL_ARTIFACT, DELETE_ARTIFACT', async () => {
    const projectId = await createProject(server, 'wh-art');
    const policyId = await createHook(
      server,
      'wh-art',
      ['PUSH_ARTIFACT', 'PULL_ARTIFACT', 'DELETE_ARTIFACT'],
      threeTargets(receiver, 'wh-art'),
    );
    const pushed = await pushImage(server.url, 'wh-art/team/app', 'v1', { headers: server.admin });
    const repository: Record<string, unknown> = {
      name: 'team/app',
      namespace: 'wh-art',
      repo_full_name: 'wh-art/team/app',
      repo_type: 'private',
    };

    const push = await delivered(receiver, 'wh-art', projectId, policyId, 'PUSH_ARTIFACT');
    assert.equal(push.harbor.operator, 'admin');
    // Harbor's date_created: the repository's creation, in Unix seconds, first among its keys.
    const created = push.harbor.event_data.repository.date_created;
    assert.ok(Number.isInteger(created) && created <= push.harbor.occur_at, `date_created ${created}`);
    assert.equal(Object.keys(push.harbor.event_data.repository)[0], 'date_created');
    Object.assign(repository, { date_created: created });
    assert.deepEqual(push.harbor.event_data, {
      resources: [{ digest: pushed.digest, tag: 'v1', resource_url: `${host}/wh-art/team/app:v1` }],
      repository,
    });
    assert.equal(push.ce.type, 'harbor.artifact.pushed');

    const pull = await fetch(`${server.url}/v2/wh-art/team/app/manifests/v1`, {
      headers: { ...server.admin, accept: pushed.manifest.mediaType as string },
    });
    assert.equal(pull.status, 200);
    await pull.arrayBuffer();
    const pulled = await delivered(receiver, 'wh-art', projectId, policyId, 'PULL_ARTIFACT');
    assert.deepEqual(pulled.harbor.event_data, {
      resources: [{ digest: pushed.digest, tag: 'v1', resource_url: `${host}/wh-art/team/app:v1` }],
      repository,
    });
    assert.equal(pulled.ce.type, 'harbor.artifact.pulled');

    const deleted = await api(
      server,
      'DELETE',
      `/projects/wh-art/repositories/${encodeURIComponent(encodeURIComponent('team/app'))}/artifacts/v1`,
      {
        auth: server.admin.authorization,
      },
    );
    assert.equal(deleted.status, 200, JSON.stringify(deleted.body));
    const del = await delivered(receiver, 'wh-art', projectId, policyId, 'DELETE_ARTIFACT');
    assert.equal(del.harbor.operator, 'admin');
    assert.deepEqual(del.harbor.event_data, {
      resources: [{ digest: pushed.digest, tag: 'v1', resource_url: `${host}/wh-art/team/app:v1` }],
      repository,
    });
    assert.equal(del.ce.type, 'harbor.artifact.deleted');

    // Harbor's task records: one execution per event, one task per target, each delivered once.
    const executions = await waitFor(
      () => executionsOf(server, 'wh-art', policyId),
      (list) => list.length === 3 && list.every((e) => e.status === 'Success'),
      'three successful executions',
    );
    for (const e of executions) {
      const tasks = await tasksOf(server, 'wh-art', policyId, e.id);
      assert.equal(tasks.length, 3);
      for (const t of tasks) {
        assert.equal(t.status, 'Success');
        assert.equal(t.run_count, 1);
        assert.equal(t.extra_attrs.status_code, 200);
        assert.equal(t.extra_attrs.response, 'ok');
        assert.ok(t.extra_attrs.duration_ms >= 0);
      }
    }
    // Three events × three targets, each exactly once.
    assert.equal(receiver.received.filter((r) => r.path.startsWith('/wh-art/')).length, 9);
  });

  test('SCANNING_COMPLETED, SCANNING_FAILED, SCANNING_STOPPED', async () => {
    const projectId = await createProject(server, 'wh-scan');
    const policyId = await createHook(
      server,
      'wh-scan',
      ['SCANNING_COMPLETED', 'SCANNING_FAILED', 'SCANNING_STOPPED'],
      threeTargets(receiver, 'wh-scan'),
    );
    const auth = server.admin.authorization;

    const good = await pushBuilt(server, 'wh-scan/debian', 'v1', await debianImage());
    assert.equal((await api(server, 'POST', `${artifactPath('wh-scan/debian', 'v1')}/scan`, { auth })).status, 202);
    const completed = await delivered(receiver, 'wh-scan', projectId, policyId, 'SCANNING_COMPLETED');
    assert.equal(completed.ce.type, 'harbor.scan.completed');
    assert.deepEqual(completed.harbor.event_data.scan, { scan_type: 'vulnerability' });
    assert.equal(completed.harbor.event_data.resources[0].digest, good);
    assert.equal(completed.harbor.event_data.resources[0].tag, 'v1');
    assert.equal(completed.harbor.event_data.resources[0].resource_url, `${host}/wh-scan/debian:v1`);
    assert.equal(completed.harbor.event_data.repository.repo_full_name, 'wh-scan/debian');
    // Harbor's scan_overview: the scan's summary, keyed by the report's MIME type.
    const overview = completed.harbor.event_data.resources[0].scan_overview[vulnerabilityMime];
    assert.equal(overview.scan_status, 'Success', JSON.stringify(overview));
    assert.equal(typeof overview.report_id, 'string');
    assert.ok(overview.summary && typeof overview.summary.total === 'number', JSON.stringify(overview));

    // A layer that is not a tar archive: the scanner fails on it.
    const broken = await pushImage(server.url, 'wh-scan/broken', 'v1', { headers: server.admin, layer: 'not a tar archive' });
    assert.equal((await api(server, 'POST', `${artifactPath('wh-scan/broken', 'v1')}/scan`, { auth })).status, 202);
    const failed = await delivered(receiver, 'wh-scan', projectId, policyId, 'SCANNING_FAILED');
    assert.equal(failed.ce.type, 'harbor.scan.failed');
    assert.equal(failed.harbor.event_data.resources[0].digest, broken.digest);
    assert.equal(failed.harbor.event_data.resources[0].scan_overview[vulnerabilityMime].scan_status, 'Error');

    await server.berth.jobs.queue.setPaused('IMAGE_SCAN', true);
    try {
      assert.equal((await api(server, 'POST', `${artifactPath('wh-scan/debian', 'v1')}/scan`, { auth })).status, 202);
      const stop = await api(server, 'POST', `${artifactPath('wh-scan/debian', 'v1')}/scan/stop`, {
        auth,
        body: { scan_type: 'vulnerability' },
      });
      assert.equal(stop.status, 202, JSON.stringify(stop.body));
    } finally {
      await server.berth.jobs.queue.setPaused('IMAGE_SCAN', false);
    }
    const stopped = await delivered(receiver, 'wh-scan', projectId, policyId, 'SCANNING_STOPPED');
    assert.equal(stopped.ce.type, 'harbor.scan.stopped');
    assert.equal(stopped.harbor.event_data.resources[0].digest, good);
    assert.equal(stopped.harbor.event_data.resources[0].scan_overview[vulnerabilityMime].scan_status, 'Stopped');
  });

  test('QUOTA_WARNING, QUOTA_EXCEED', async () => {
    const KiB = 1024;
    const projectId = await createProject(server, 'wh-quota', { storage_limit: 100 * KiB });
    const policyId = await createHook(server, 'wh-quota', ['QUOTA_WARNING', 'QUOTA_EXCEED'], threeTargets(receiver, 'wh-quota'));
    const v2 = new V2(server);
    const big = image([bytes(90 * KiB)]);
    await pushQuotaImage(v2, 'wh-quota/app', 'v1', big);
    const warning = await delivered(receiver, 'wh-quota', projectId, policyId, 'QUOTA_WARNING');
    assert.equal(warning.ce.type, 'harbor.quota.warned');
    assert.equal(warning.harbor.event_data.repository.repo_full_name, 'wh-quota/app');
    assert.match(warning.harbor.event_data.custom_attributes.Details, /\S/);

    const more = image([bytes(20 * KiB)]);
    await v2.pushBlob('wh-quota/app', more.config);
    const refused = await v2.call('POST', `/v2/wh-quota/app/blobs/uploads/?digest=${digestOf(more.layers[0])}`, {
      headers: { 'content-type': 'application/octet-stream' },
      body: more.layers[0],
    });
    assert.equal(refused.status, 403, refused.text);
    const exceed = await delivered(receiver, 'wh-quota', projectId, policyId, 'QUOTA_EXCEED');
    assert.equal(exceed.ce.type, 'harbor.quota.exceeded');
    assert.equal(exceed.harbor.event_data.repository.repo_full_name, 'wh-quota/app');
    assert.match(exceed.harbor.event_data.custom_attributes.Details, /exceed the configured upper limit/);
  });

  test('TAG_RETENTION (a run that deleted; a dry run sends nothing)', async () => {
    const projectId = await createProject(server, 'wh-ret');
    const policyId = await createHook(server, 'wh-ret', ['TAG_RETENTION'], threeTargets(receiver, 'wh-ret'));
    const d1 = await pushSmall(server, 'wh-ret/app', 'v1');
    const d2 = await pushSmall(server, 'wh-ret/app', 'v2');
    const d3 = await pushSmall(server, 'wh-ret/app', 'v3');
    await setTimes(server, 'wh-ret/app', d1, { push: daysAgo(3) });
    await setTimes(server, 'wh-ret/app', d2, { push: daysAgo(2) });
    await setTimes(server, 'wh-ret/app', d3, { push: daysAgo(1) });
    const retentionId = await saveRetention(server, projectId, [rule('latestPushedK', 1)]);
    await runRetention(server, retentionId, true);
    const real = await runRetention(server, retentionId, false);
    assert.equal(real.execution.status, 'Success');

    const retention = await delivered(receiver, 'wh-ret', projectId, policyId, 'TAG_RETENTION');
    assert.equal(retention.ce.type, 'harbor.tag_retention.finished');
    assert.equal(retention.harbor.operator, 'admin');
    const r = retention.harbor.event_data.retention;
    assert.deepEqual([r.total, r.retained, r.result, r.project_name, r.retention_policy_id], [3, 1, 'SUCCESS', 'wh-ret', retentionId]);
    assert.deepEqual(r.deleted_artifact.map((a: any) => a.name_tag).sort(), ['app:v1', 'app:v2']);
    assert.equal(r.retention_rule[0].template, 'latestPushedK');
    // The dry run before it made no delivery: one event reached each target.
    assert.equal(receiver.received.filter((x) => x.path.startsWith('/wh-ret/')).length, 3);
  });

  test('REPLICATION (a push to another Berth)', async () => {
    const other = await startServer();
    try {
      const projectId = await createProject(server, 'wh-repl');
      const policyId = await createHook(server, 'wh-repl', ['REPLICATION'], threeTargets(receiver, 'wh-repl'));
      const pushed = await pushImage(server.url, 'wh-repl/app', 'v1', { headers: server.admin });
      const registryId = await createRegistry(server, {
        name: 'other-berth',
        type: 'harbor',
        url: other.url,
        credential: { type: 'basic', access_key: 'admin', access_secret: adminPassword },
      });
      const replicationId = await createReplicationPolicy(server, {
        name: 'to-other',
        src_registry: null,
        dest_registry: { id: registryId },
        filters: [{ type: 'name', value: 'wh-repl/**' }],
      });
      const done = await finished(server, await startExecution(server, replicationId));
      assert.equal(done.status, 'Succeed', JSON.stringify(done));

      const replication = await delivered(receiver, 'wh-repl', projectId, policyId, 'REPLICATION');
      assert.equal(replication.ce.type, 'harbor.replication.status.changed');
      assert.equal(replication.harbor.operator, 'admin');
      const r = replication.harbor.event_data.replication;
      assert.equal(r.job_status, 'Success');
      assert.equal(r.trigger_type, 'MANUAL');
      assert.equal(r.artifact_type, 'image');
      assert.equal(r.execution_id, done.id);
      assert.deepEqual(r.src_resource, { registry_type: 'harbor', endpoint: server.url, namespace: 'wh-repl' });
      assert.equal(r.dest_resource.registry_name, 'other-berth');
      assert.equal(r.dest_resource.endpoint, other.url);
      assert.deepEqual(r.successful_artifact, [{ type: 'image', status: 'Success', name_tag: 'app:v1', references: ['v1'] }]);
      assert.equal(r.harbor_hostname, '127.0.0.1');
      assert.equal(r.override_mode, true);
      assert.equal(r.authentication_type, 'basic');
      assert.equal(r.policy_creator, 'admin');
      assert.ok(Number.isInteger(r.execution_timestamp) && r.execution_timestamp <= replication.harbor.occur_at);
      assert.equal(
        (await fetch(`${other.url}/v2/wh-repl/app/manifests/${pushed.digest}`, { method: 'HEAD', headers: other.admin })).status,
        200,
      );
    } finally {
      await other.stop();
    }
  });

  test('a disabled policy, or one for other event types, delivers nothing', async () => {
    await createProject(server, 'wh-quiet');
    await createHook(server, 'wh-quiet', ['DELETE_ARTIFACT'], threeTargets(receiver, 'wh-quiet'));
    await createHook(server, 'wh-quiet', ['PUSH_ARTIFACT'], threeTargets(receiver, 'wh-quiet'), { name: 'off', enabled: false });
    await pushImage(server.url, 'wh-quiet/app', 'v1', { headers: server.admin });
    // Another project's push, delivered after it, shows the quiet project's would have been too.
    await createProject(server, 'wh-marker');
    await createHook(server, 'wh-marker', ['PUSH_ARTIFACT'], threeTargets(receiver, 'wh-marker'));
    await pushImage(server.url, 'wh-marker/app', 'v1', { headers: server.admin });
    await receiver.waitFor(3, (r) => r.path.startsWith('/wh-marker/'));
    assert.equal(receiver.received.filter((r) => r.path.startsWith('/wh-quiet/')).length, 0);
  });
});

describe(`webhook durability (${testDialect()})`, () => {
  let server: TestServer;

  before(async () => {
    server = await startServer({ yaml: fast });
  });
  after(async () => {
    await server?.stop();
  });

  test('a receiver down, then up: the delivery arrives after retries, recorded attempt by attempt', async () => {
    const port = await refusedPort();
    await createProject(server, 'wh-down');
    const policyId = await createHook(
      server,
      'wh-down',
      ['PUSH_ARTIFACT'],
      [{ type: 'http', address: `http://127.0.0.1:${port}/hook`, payload_format: 'CloudEvents' }],
    );
    const pushed = await pushImage(server.url, 'wh-down/app', 'v1', { headers: server.admin });
    const failing = await waitFor(
      () => allTasks(server, 'wh-down', policyId),
      (tasks) => tasks.length === 1 && tasks[0].run_count >= 2,
      'two failed attempts',
    );
    assert.notEqual(failing[0].status, 'Success');
    assert.equal(failing[0].extra_attrs.status_code, 0, 'no answer: status 0');
    assert.match(failing[0].extra_attrs.response, /connection refused/);

    const receiver = await startWebhookReceiver({ port });
    try {
      const [got] = await receiver.waitFor(1);
      const event = JSON.parse(got.body);
      assert.equal(event.type, 'harbor.artifact.pushed');
      assert.equal(event.data.resources[0].digest, pushed.digest);
      assert.equal(event.id, got.headers['x-berth-delivery-id']);
      const [task] = await waitFor(
        () => allTasks(server, 'wh-down', policyId),
        (tasks) => tasks[0]?.status === 'Success',
        'the task to succeed',
      );
      assert.ok(task.run_count >= 3, `run_count ${task.run_count}`);
      assert.equal(task.extra_attrs.status_code, 200);
      assert.equal(task.extra_attrs.delivery_id, event.id);
      const [execution] = await executionsOf(server, 'wh-down', policyId);
      assert.equal(execution.status, 'Success');
      const log = await taskLog(server, 'wh-down', policyId, execution.id, task.id);
      assert.match(log, /connection refused/);
      assert.match(log, /delivered: HTTP 200/);
      assert.equal(receiver.received.length, 1, 'the refused attempts never reached anyone');
    } finally {
      await receiver.close();
    }
  });

  test('a receiver that errors keeps being retried, and every retry is byte-identical with the same id', async () => {
    const receiver = await startWebhookReceiver();
    try {
      receiver.status = 503;
      receiver.answer = 'busy, come back later';
      await createProject(server, 'wh-503');
      const policyId = await createHook(
        server,
        'wh-503',
        ['PUSH_ARTIFACT'],
        [
          { type: 'http', address: `${receiver.url}/default`, payload_format: 'Default' },
          { type: 'slack', address: `${receiver.url}/slack` },
        ],
      );
      await pushImage(server.url, 'wh-503/app', 'v1', { headers: server.admin });
      await receiver.waitFor(3, (r) => r.path === '/default');
      await receiver.waitFor(3, (r) => r.path === '/slack');
      receiver.status = 200;
      await waitFor(
        () => allTasks(server, 'wh-503', policyId),
        (tasks) => tasks.length === 2 && tasks.every((t) => t.status === 'Success'),
        'both tasks to succeed',
      );
      for (const p of ['/default', '/slack']) {
        const attempts = receiver.received.filter((r) => r.path === p);
        assert.ok(attempts.length >= 4);
        assert.equal(new Set(attempts.map((a) => a.body)).size, 1, `${p}: every attempt sends the same bytes`);
        assert.equal(new Set(attempts.map((a) => a.headers['x-berth-delivery-id'])).size, 1, `${p}: and the same delivery id`);
      }
      const tasks = await allTasks(server, 'wh-503', policyId);
      for (const t of tasks)
        assert.equal(t.run_count, receiver.received.filter((r) => r.headers['x-berth-delivery-id'] === t.extra_attrs.delivery_id).length);
    } finally {
      await receiver.close();
    }
  });

  test('a receiver that hangs does not hold up pushes; its deliveries arrive once it answers', async () => {
    const receiver = await startWebhookReceiver();
    try {
      receiver.hold = true;
      await createProject(server, 'wh-slow');
      const policyId = await createHook(
        server,
        'wh-slow',
        ['PUSH_ARTIFACT'],
        [{ type: 'http', address: `${receiver.url}/hook`, payload_format: 'Default' }],
      );
      // More pushes than the job runner's concurrency, all made while no delivery has been answered.
      const digests: string[] = [];
      for (let i = 0; i < 8; i++) digests.push((await pushImage(server.url, 'wh-slow/app', `v${i}`, { headers: server.admin })).digest);
      await receiver.waitFor(1);
      receiver.hold = false;
      receiver.release();
      const tasks = await waitFor(
        () => allTasks(server, 'wh-slow', policyId),
        (list) => list.length === 8 && list.every((t) => t.status === 'Success'),
        'every delivery to succeed',
        120_000,
      );
      const arrived = new Map<string, Set<string>>();
      for (const r of receiver.received) {
        const id = String(r.headers['x-berth-delivery-id']);
        arrived.set(id, (arrived.get(id) ?? new Set()).add(r.body));
      }
      assert.deepEqual(new Set(tasks.map((t) => t.extra_attrs.delivery_id)), new Set(arrived.keys()));
      for (const [id, bodies] of arrived) assert.equal(bodies.size, 1, `delivery ${id}: duplicates are byte-identical`);
      const delivered = [...arrived.values()].map((b) => JSON.parse([...b][0]).event_data.resources[0].digest);
      assert.deepEqual(new Set(delivered), new Set(digests));
    } finally {
      await receiver.close();
    }
  });
});

describe(`webhooks across a SIGKILL (${testDialect()})`, () => {
  test('Berth killed while a delivery is in flight: after a restart it is delivered again, byte-identical, same id', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'berth-webhook-kill-'));
    const database: TestDatabase | null = await createTestDatabase();
    const receiver = await startWebhookReceiver();
    let child: ChildProcess | undefined;
    let second: TestServer | undefined;
    try {
      const port = await freePort();
      const configFile = path.join(dataDir, 'berth.yaml');
      await writeFile(
        configFile,
        stringify({
          data_dir: dataDir,
          server: { host: '127.0.0.1', port, shutdown_grace_seconds: 1 },
          ...(database && { database: { url: database.url, max_connections: 5 } }),
          jobs: { concurrency: 4, poll_interval_ms: 50 },
          auth: { admin_password: adminPassword },
          log: { level: 'warn', access: false },
          webhooks: { retry_base_seconds: 0.2, retry_max_seconds: 1, timeout_seconds: 60 },
        }),
      );
      child = spawn(process.execPath, [path.join(root, 'bin/berth.js'), 'serve', '--config', configFile], {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const output: string[] = [];
      child.stdout!.on('data', (d: Buffer) => output.push(d.toString()));
      child.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      const first = { url: `http://127.0.0.1:${port}`, admin: { authorization: basicAuth('admin', adminPassword) } } as TestServer;
      await waitFor(
        () =>
          fetch(`${first.url}/api/v2.0/ping`).then(
            (r) => r.ok,
            () => false,
          ),
        (up) => {
          if (child!.exitCode !== null) throw new Error(`berth exited: ${output.join('')}`);
          return up;
        },
        'the first instance to answer',
      );

      await createProject(first, 'wh-kill');
      await createHook(
        first,
        'wh-kill',
        ['PUSH_ARTIFACT'],
        [
          { type: 'http', address: `${receiver.url}/ce`, payload_format: 'CloudEvents' },
          { type: 'http', address: `${receiver.url}/default`, payload_format: 'Default' },
        ],
      );
      receiver.hold = true;
      const pushed = await pushImage(first.url, 'wh-kill/app', 'v1', { headers: first.admin });
      // Both requests are at the receiver, unanswered: Berth dies before it hears back.
      const inFlight = await receiver.waitFor(2);
      child.kill('SIGKILL');
      await exited;
      receiver.hold = false;
      receiver.release();

      second = await startServer({ dataDir, yaml: { ...(database && { 'database.url': database.url }), ...fast } });
      const again = await receiver.waitFor(4, () => true, 120_000);
      for (const original of inFlight) {
        const repeats = again.filter((r) => r.path === original.path);
        assert.ok(repeats.length >= 2, `${original.path} delivered again after the restart`);
        for (const r of repeats) {
          assert.equal(r.body, original.body, `${original.path}: the repeat is byte-identical`);
          assert.equal(r.headers['x-berth-delivery-id'], original.headers['x-berth-delivery-id']);
        }
      }
      const ce = JSON.parse(inFlight.find((r) => r.path === '/ce')!.body);
      assert.equal(ce.id, inFlight.find((r) => r.path === '/ce')!.headers['x-berth-delivery-id']);
      assert.equal(ce.data.resources[0].digest, pushed.digest);
      const policies = await api(second, 'GET', '/projects/wh-kill/webhook/policies', { auth: second.admin.authorization });
      const policyId = policies.body[0].id;
      const tasks = await waitFor(
        () => allTasks(second!, 'wh-kill', policyId),
        (list) => list.length === 2 && list.every((t) => t.status === 'Success'),
        'both tasks recorded as delivered',
        120_000,
      );
      for (const t of tasks) assert.ok(t.run_count >= 2, `run_count ${t.run_count}: the killed attempt counts`);
    } finally {
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await second?.stop({ keepData: true });
      await receiver.close();
      await rm(dataDir, { recursive: true, force: true });
      await database?.drop();
    }
  });
});
