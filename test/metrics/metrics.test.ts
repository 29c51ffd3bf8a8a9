import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { api, createUser } from '../helpers/api.js';
import { testDialect } from '../helpers/database.js';
import { pushImage } from '../helpers/oci.js';
import { freePort } from '../helpers/ports.js';
import { parseExposition, type Exposition } from '../helpers/prometheus.js';
import { basicAuth, startServer, type TestServer } from '../helpers/server.js';

const token = 'scrape-token-0123456789';

async function scrape(url: string, headers: Record<string, string> = {}): Promise<Exposition> {
  const res = await fetch(url, { headers });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parseExposition(text);
}

/**
 * Scrapes until `ready` holds (at most ~10 s): a request is counted when its answer has ended on the
 * server, which may come a moment after the client has read the last byte.
 */
async function scrapeUntil(url: string, headers: Record<string, string>, ready: (m: Exposition) => boolean): Promise<Exposition> {
  let m = await scrape(url, headers);
  for (let i = 0; i < 100 && !ready(m); i++) {
    await new Promise((r) => setTimeout(r, 100));
    m = await scrape(url, headers);
  }
  return m;
}

async function createProject(server: TestServer, name: string, isPublic: boolean, storageLimit?: number): Promise<void> {
  const res = await api(server, 'POST', '/projects', {
    auth: server.admin.authorization,
    body: { project_name: name, metadata: { public: String(isPublic) }, ...(storageLimit ? { storage_limit: storageLimit } : {}) },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
}

async function waitForJob(server: TestServer, id: number): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const job = await server.berth.jobs.queue.get(id);
    if (job && (job.status === 'success' || job.status === 'error')) return job.status;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`job ${id} did not end`);
}

describe('metrics off (the default)', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.stop());

  it('serves nothing at /metrics and keeps no registry', async () => {
    assert.equal(server.berth.metrics, null);
    const res = await fetch(`${server.url}/metrics`, { headers: { ...server.admin, accept: 'text/plain' } });
    const text = await res.text();
    assert.equal(res.status, 404);
    assert.doesNotMatch(text, /# TYPE/);
  });
});

describe('metrics on the main port', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ yaml: { 'metrics.enabled': true, 'metrics.token': token, 'metrics.cache_seconds': 0 } });
  });
  after(() => server.stop());

  it('refuses anonymous callers, wrong credentials and users who are not system administrators', async () => {
    await createUser(server, 'metricsuser');
    for (const headers of [
      {} as Record<string, string>,
      { authorization: basicAuth('admin', 'wrong-password') },
      { authorization: basicAuth('metricsuser', 'Passw0rd1') },
      { authorization: 'Bearer not-the-token-at-all' },
    ]) {
      const res = await fetch(`${server.url}/metrics`, { headers });
      const body = (await res.json()) as { errors: Array<{ code: string }> };
      assert.equal(res.status, 401, JSON.stringify(headers));
      assert.equal(body.errors[0]!.code, 'UNAUTHORIZED');
      assert.match(res.headers.get('www-authenticate') ?? '', /^Basic realm=/);
    }
  });

  it('answers a system administrator and the token', async () => {
    const byAdmin = await scrape(`${server.url}/metrics`, server.admin);
    assert.equal(byAdmin.types.get('berth_http_requests_total'), 'counter');
    const byToken = await scrape(`${server.url}/metrics`, { authorization: `Bearer ${token}` });
    assert.equal(byToken.types.get('harbor_project_total'), 'gauge');
    assert.equal(byToken.types.get('process_cpu_user_seconds_total'), 'counter');
  });

  it('counts a push and a pull by route pattern, with /v2 bytes and blob store calls', async () => {
    const pushed = await pushImage(server.url, 'library/metrics-app', 'v1', { headers: server.admin });
    const pull = await fetch(`${server.url}/v2/library/metrics-app/manifests/v1`, {
      headers: { ...server.admin, accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    assert.equal(pull.status, 200);
    await pull.arrayBuffer();
    const blob = await fetch(`${server.url}/v2/library/metrics-app/blobs/${pushed.layer.digest}`, { headers: server.admin });
    assert.equal(blob.status, 200);
    await blob.arrayBuffer();
    const manifests = '/v2/:name/manifests/:reference';
    const m = await scrapeUntil(
      `${server.url}/metrics`,
      server.admin,
      (e) => e.find('berth_registry_sent_bytes_total', { route: '/v2/:name/blobs/:digest' }).length === 1,
    );
    assert.equal(m.value('berth_http_requests_total', { method: 'PUT', route: manifests, status: '201' }), 1);
    assert.equal(m.value('berth_http_requests_total', { method: 'GET', route: manifests, status: '200' }), 1);
    // pushImage uploads each blob in one POST (monolithic upload).
    assert.equal(m.value('berth_http_requests_total', { method: 'POST', route: '/v2/:name/blobs/uploads/', status: '201' }), 2);
    assert.equal(m.value('berth_http_request_duration_seconds_count', { method: 'GET', route: manifests, status: '200' }), 1);
    assert.equal(m.types.get('berth_http_request_duration_seconds'), 'histogram');
    assert.equal(m.value('harbor_core_http_request_total', { method: 'GET', code: '200', operation: manifests }), 1);
    // Bounded label values: never the repository, the tag or a digest.
    for (const s of m.samples) {
      for (const v of Object.values(s.labels)) assert.doesNotMatch(v, /metrics-app|sha256:/, `${s.name} ${JSON.stringify(s.labels)}`);
    }
    assert.ok(m.value('berth_registry_sent_bytes_total', { route: '/v2/:name/blobs/:digest' }) >= pushed.layer.size);
    assert.ok(m.value('berth_registry_received_bytes_total', { route: manifests }) >= pushed.bytes.length);
    assert.ok(m.value('berth_blobstore_operation_duration_seconds_count', { operation: 'publish_upload' }) >= 2);
    assert.ok(m.value('berth_blobstore_operation_duration_seconds_count', { operation: 'read' }) >= 1);
    assert.equal(m.types.get('berth_blobstore_errors_total'), 'counter');
    // API routes are labelled with their pattern too.
    await api(server, 'GET', '/projects/library', { auth: server.admin.authorization });
    const projectRoute = { method: 'GET', route: '/api/v2.0/projects/:project_name_or_id', status: '200' };
    const again = await scrapeUntil(
      `${server.url}/metrics`,
      server.admin,
      (e) => e.find('berth_http_requests_total', projectRoute).length === 1,
    );
    assert.equal(again.value('berth_http_requests_total', projectRoute), 1);
  });

  it('times job attempts by type and outcome and reads the queue from the database', async () => {
    const { runner, queue } = server.berth.jobs;
    runner.register('metrics.test_ok', async () => 'done');
    runner.register('metrics.test_fail', async () => {
      throw new Error('planned failure');
    });
    assert.equal(await waitForJob(server, await queue.enqueue('metrics.test_ok', {})), 'success');
    assert.equal(await waitForJob(server, await queue.enqueue('metrics.test_fail', {}, { maxAttempts: 1 })), 'error');
    await queue.enqueue('metrics.test_later', {}, { runAt: new Date(Date.now() + 3600_000) });
    const m = await scrape(`${server.url}/metrics`, server.admin);
    assert.equal(m.value('berth_job_runs_total', { type: 'metrics.test_ok', outcome: 'success' }), 1);
    assert.equal(m.value('berth_job_runs_total', { type: 'metrics.test_fail', outcome: 'failure' }), 1);
    assert.equal(m.value('berth_job_duration_seconds_count', { type: 'metrics.test_ok', outcome: 'success' }), 1);
    assert.equal(m.value('berth_job_queue_jobs', { type: 'metrics.test_later', status: 'pending' }), 1);
    // Harbor's queue size counts jobs that may run now; the one scheduled for later waits outside it.
    assert.equal(m.find('harbor_task_queue_size', { type: 'metrics.test_later' })[0]?.value ?? 0, 0);
    assert.equal(m.value('harbor_task_queue_size', { type: 'metrics.test_ok' }), 0);
    assert.ok(m.value('harbor_task_scheduled_total') >= 2);
    assert.equal(m.types.get('harbor_task_concurrency'), 'gauge');
    assert.equal(m.types.get('harbor_task_queue_latency'), 'gauge');
  });

  it("gives Harbor's project gauges the database's values", async () => {
    await createProject(server, 'mx-public', true);
    await createProject(server, 'mx-private', false, 5 * 1024 * 1024);
    await pushImage(server.url, 'mx-public/one', 'v1', { headers: server.admin });
    await pushImage(server.url, 'mx-public/two', 'v1', { headers: server.admin });
    await pushImage(server.url, 'mx-private/three', 'v1', { headers: server.admin });
    const pull = await fetch(`${server.url}/v2/mx-public/one/manifests/v1`, {
      headers: { ...server.admin, accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    await pull.arrayBuffer();
    await server.berth.pulls.flush();
    const m = await scrape(`${server.url}/metrics`, server.admin);
    const projects = (await api(server, 'GET', '/projects?page_size=100', { auth: server.admin.authorization })).body as Array<{
      metadata: { public: string };
    }>;
    const publicCount = projects.filter((p) => p.metadata.public === 'true').length;
    assert.equal(m.value('harbor_project_total', { public: 'true' }), publicCount);
    assert.equal(m.value('harbor_project_total', { public: 'false' }), projects.length - publicCount);
    assert.equal(m.value('harbor_statistics_total_project_amount'), projects.length);
    assert.equal(m.value('harbor_project_repo_total', { project_name: 'mx-public', public: 'true' }), 2);
    assert.equal(m.value('harbor_project_repo_total', { project_name: 'mx-private', public: 'false' }), 1);
    assert.equal(m.value('harbor_project_member_total', { project_name: 'mx-public' }), 1);
    assert.equal(m.value('harbor_project_artifact_total', { project_name: 'mx-public', public: 'true', artifact_type: 'IMAGE' }), 2);
    assert.equal(m.value('harbor_artifact_pulled', { project_name: 'mx-public' }), 1);
    assert.equal(m.value('harbor_project_quota_byte', { project_name: 'mx-private' }), 5 * 1024 * 1024);
    assert.equal(m.value('harbor_project_quota_byte', { project_name: 'mx-public' }), -1);
    for (const name of ['mx-public', 'mx-private']) {
      const summary = (await api(server, 'GET', `/projects/${name}/summary`, { auth: server.admin.authorization })).body as {
        quota: { used: { storage: number } };
      };
      assert.ok(summary.quota.used.storage > 0);
      assert.equal(m.value('harbor_project_quota_usage_byte', { project_name: name }), summary.quota.used.storage);
    }
    assert.equal(m.find('harbor_system_info')[0]!.labels.auth_mode, 'db_auth');
    assert.equal(m.value('harbor_health'), 1);
    assert.equal(m.value('harbor_up', { component: 'database' }), 1);
    assert.equal(m.value('harbor_up', { component: 'storage' }), 1);
    assert.equal(m.types.get('berth_gc_runs'), 'gauge');
    assert.equal(m.types.get('berth_replication_tasks'), 'gauge');
    assert.equal(m.types.get('berth_scan_reports'), 'gauge');
    if (testDialect() === 'postgres') {
      assert.ok(m.value('berth_db_pool_max_connections') > 0);
      assert.ok(m.value('berth_db_pool_connections', { state: 'total' }) >= 1);
    } else {
      assert.equal(m.value('berth_db_pool_max_connections'), 1);
    }
  });
});

describe('metrics on a port of their own', () => {
  let server: TestServer;
  let open: TestServer;
  before(async () => {
    server = await startServer({ yaml: { 'metrics.enabled': true, 'metrics.port': await freePort(), 'metrics.token': token } });
    open = await startServer({ yaml: { 'metrics.enabled': true, 'metrics.port': await freePort(), 'metrics.path': '/prom' } });
  });
  after(async () => {
    await server.stop();
    await open.stop();
  });

  it('serves them there only, behind the token when one is set', async () => {
    const url = server.berth.metrics!.url!;
    assert.notEqual(url, server.url);
    const main = await fetch(`${server.url}/metrics`, { headers: { ...server.admin, accept: 'text/plain' } });
    assert.doesNotMatch(await main.text(), /# TYPE/);
    const refused = await fetch(`${url}/metrics`);
    await refused.text();
    assert.equal(refused.status, 401);
    assert.match(refused.headers.get('www-authenticate') ?? '', /^Bearer realm=/);
    const m = await scrape(`${url}/metrics`, { authorization: `Bearer ${token}` });
    assert.equal(m.types.get('harbor_project_total'), 'gauge');
    const elsewhere = await fetch(`${url}/other`, { headers: { authorization: `Bearer ${token}` } });
    await elsewhere.text();
    assert.equal(elsewhere.status, 404);
  });

  it('is open without a token, at the configured path', async () => {
    const m = await scrape(`${open.berth.metrics!.url!}/prom`);
    assert.ok(m.types.has('berth_http_requests_total'));
  });
});

describe('several instances over one PostgreSQL database', { skip: testDialect() !== 'postgres' && 'PostgreSQL only' }, () => {
  let first: TestServer;
  let second: TestServer;
  before(async () => {
    first = await startServer({ yaml: { 'metrics.enabled': true, 'metrics.public': true, 'metrics.cache_seconds': 0 } });
    second = await startServer({
      yaml: { 'database.url': first.databaseUrl, 'metrics.enabled': true, 'metrics.public': true, 'metrics.cache_seconds': 0 },
    });
  });
  after(async () => {
    await second.stop();
    await first.stop();
  });

  it('report the same database-wide gauges whichever is scraped', async () => {
    await createProject(first, 'shared-one', true);
    await createProject(second, 'shared-two', false);
    await pushImage(first.url, 'shared-two/app', 'v1', { headers: first.admin });
    const a = await scrape(`${first.url}/metrics`);
    const b = await scrape(`${second.url}/metrics`);
    for (const name of [
      'harbor_project_total',
      'harbor_project_repo_total',
      'harbor_project_quota_usage_byte',
      'harbor_statistics_total_repo_amount',
    ]) {
      const key = (e: Exposition) =>
        e
          .find(name)
          .map((s) => `${JSON.stringify(s.labels)}=${s.value}`)
          .sort();
      assert.deepEqual(key(a), key(b), name);
    }
    assert.equal(a.value('harbor_project_total', { public: 'false' }), 1);
    assert.equal(b.value('harbor_project_repo_total', { project_name: 'shared-two', public: 'false' }), 1);
  });
});
