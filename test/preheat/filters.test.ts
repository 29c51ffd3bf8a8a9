import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api } from '../helpers/api.js';
import { pushCosignSignature } from '../helpers/artifacts.js';
import { testDialect } from '../helpers/database.js';
import { startKrakenFake, type KrakenFake } from '../helpers/kraken-fake.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../jobs/databases.js';
import { defaultScanner, finding, seedReport } from '../scanning/policy/helpers.js';
import { createInstance, createPolicy, createProject, filters, manual, push, runPolicy, tasksOf, waitExecution } from './helpers.js';

/*
 * Which artifacts a policy preheats: Harbor's filters (repository, tag, label, signature,
 * vulnerability severity from scan reports with the project's allowlist applied), the project's
 * content-trust and prevent_vul settings, and the on-push trigger through the outbox. Reports
 * are written through the scans' own store, as a finished scan writes them. The provider is a
 * Kraken stand-in written from Kraken's documentation.
 */
describe(`preheat filters and the on-push trigger (${testDialect()})`, () => {
  let server: TestServer;
  let kraken: KrakenFake;
  let providerId: number;
  let count = 0;
  const admin = () => server.admin.authorization;
  const digests: Record<string, string> = {};

  before(async () => {
    server = await startServer({ yaml: { 'jobs.poll_interval_ms': 20, 'preheat.check_interval_seconds': 0.05 } });
    kraken = await startKrakenFake();
    providerId = await createInstance(server, { name: 'kr', vendor: 'kraken', endpoint: kraken.url });
    const project = await createProject(server, 'flt');
    for (const [repo, tag] of [
      ['app', 'v1'],
      ['app', 'v2'],
      ['app', 'dev'],
      ['app', 'err'],
      ['web/front', 'v1'],
    ]) {
      digests[`${repo}:${tag}`] = await push(server, `flt/${repo}`, tag);
    }
    // app:v2 is signed (a cosign signature accessory; the signature itself is never a candidate).
    await pushCosignSignature(server, 'flt/app', digests['app:v2']);
    // app:v1 carries the labels release and gpu.
    for (const name of ['release', 'gpu']) {
      const label = await api(server, 'POST', '/labels', { auth: admin(), body: { name, scope: 'p', project_id: project } });
      assert.equal(label.status, 201, JSON.stringify(label.body));
      const id = Number(label.headers.get('location')!.split('/').pop());
      const attached = await api(server, 'POST', '/projects/flt/repositories/app/artifacts/v1/labels', { auth: admin(), body: { id } });
      assert.equal(attached.status, 200, JSON.stringify(attached.body));
    }
    // Scans: v1 Low, v2 High, dev Critical but allowlisted, err failed, web/front not scanned.
    const scanner = await defaultScanner(server);
    const report = (repo: string, tag: string, findings: ReturnType<typeof finding>[], status?: 'Error') =>
      seedReport(server, { repository: `flt/${repo}`, digest: digests[`${repo}:${tag}`], scanner, findings, status });
    await report('app', 'v1', [finding('CVE-2024-0001', 'Low')]);
    await report('app', 'v2', [finding('CVE-2024-0002', 'High'), finding('CVE-2024-0003', 'Low')]);
    await report('app', 'dev', [finding('CVE-2024-0004', 'Critical')]);
    await report('app', 'err', [], 'Error');
    const allowlisted = await api(server, 'PUT', '/projects/flt', {
      auth: admin(),
      body: {
        metadata: { reuse_sys_cve_allowlist: 'false' },
        cve_allowlist: { project_id: project, items: [{ cve_id: 'CVE-2024-0004' }] },
      },
    });
    assert.equal(allowlisted.status, 200, JSON.stringify(allowlisted.body));
  });
  after(async () => {
    await server?.stop();
    await kraken?.close();
  });

  /** Runs a new manual policy with these filters; the "repo:tag" of what it preheated, sorted. */
  async function preheated(...list: Array<{ type: string; value: unknown }>): Promise<string[]> {
    const name = `p${++count}`;
    await createPolicy(server, 'flt', { name, provider_id: providerId, filters: filters(...list), trigger: manual });
    const id = await runPolicy(server, 'flt', name);
    const execution = await waitExecution(server, 'flt', name, id);
    assert.equal(execution.status, 'Success', JSON.stringify(execution));
    const tasks = await tasksOf(server, 'flt', name, id);
    assert.equal(execution.extra_attrs.totalCount, tasks.length);
    if (tasks.length === 0) assert.equal(execution.status_message, 'no artifacts to preheat');
    return tasks.map((t) => t.extra_attrs.artifact.replace(/^flt\//, '')).sort();
  }

  test('repository and tag: doublestar patterns, the repository without its project', async () => {
    assert.deepEqual(await preheated(), ['app:dev', 'app:err', 'app:v1', 'app:v2', 'web/front:v1']);
    assert.deepEqual(await preheated({ type: 'repository', value: 'app' }), ['app:dev', 'app:err', 'app:v1', 'app:v2']);
    assert.deepEqual(await preheated({ type: 'repository', value: 'web/**' }), ['web/front:v1']);
    assert.deepEqual(await preheated({ type: 'repository', value: 'flt/app' }), []);
    assert.deepEqual(await preheated({ type: 'tag', value: 'v*' }), ['app:v1', 'app:v2', 'web/front:v1']);
    assert.deepEqual(await preheated({ type: 'repository', value: '{app,web/*}' }, { type: 'tag', value: '{dev,v1}' }), [
      'app:dev',
      'app:v1',
      'web/front:v1',
    ]);
  });

  test('label: every listed label must be on the artifact', async () => {
    assert.deepEqual(await preheated({ type: 'label', value: 'release' }), ['app:v1']);
    assert.deepEqual(await preheated({ type: 'label', value: '{release,gpu}' }), ['app:v1']);
    assert.deepEqual(await preheated({ type: 'label', value: 'release,missing' }), []);
  });

  test('signature: true keeps artifacts a cosign or notation signature names; false keeps all', async () => {
    assert.deepEqual(await preheated({ type: 'signature', value: true }), ['app:v2']);
    assert.deepEqual(await preheated({ type: 'signature', value: false }, { type: 'repository', value: 'app' }), [
      'app:dev',
      'app:err',
      'app:v1',
      'app:v2',
    ]);
  });

  test('vulnerability: scanned severity below the code (allowlist applied); not scanned or failed scans never pass', async () => {
    // Medium (3): v1 is Low, dev's only finding is allowlisted (None).
    assert.deepEqual(await preheated({ type: 'vulnerability', value: 3 }), ['app:dev', 'app:v1']);
    // Critical (5): v2's High too.
    assert.deepEqual(await preheated({ type: 'vulnerability', value: 5 }), ['app:dev', 'app:v1', 'app:v2']);
    // Low (2): only what has nothing (left) at all.
    assert.deepEqual(await preheated({ type: 'vulnerability', value: 2 }), ['app:dev']);
    assert.deepEqual(await preheated({ type: 'vulnerability', value: 0 }), []);
    // Every filter at once.
    assert.deepEqual(
      await preheated(
        { type: 'repository', value: 'app' },
        { type: 'tag', value: 'v*' },
        { type: 'signature', value: true },
        { type: 'vulnerability', value: 5 },
      ),
      ['app:v2'],
    );
  });

  test("the project's security settings add their filters (content trust: signed; prevent_vul: below its severity)", async () => {
    const set = async (metadata: Record<string, string>) =>
      assert.equal((await api(server, 'PUT', '/projects/flt', { auth: admin(), body: { metadata } })).status, 200);
    try {
      await set({ prevent_vul: 'true', severity: 'high' });
      assert.deepEqual(await preheated(), ['app:dev', 'app:v1']);
      await set({ prevent_vul: 'true', severity: 'critical', enable_content_trust_cosign: 'true' });
      assert.deepEqual(await preheated(), ['app:v2']);
      await set({ prevent_vul: 'true', severity: 'high', enable_content_trust_cosign: 'true' });
      assert.deepEqual(await preheated(), []);
    } finally {
      await set({ prevent_vul: 'false', enable_content_trust_cosign: 'false' });
    }
    assert.deepEqual(await preheated({ type: 'tag', value: 'v2' }), ['app:v2']);
  });

  const executionsOf = async (policy: string) =>
    (await api(server, 'GET', `/projects/flt/preheat/policies/${policy}/executions`, { auth: admin() })).body as any[];
  const preheatJobsDone = () =>
    server.berth.database.db.selectFrom('jobs').select(['id', 'status']).where('type', '=', 'PREHEAT').execute();

  test('on push: an event-based policy preheats the pushed artifact when it matches, through the outbox', async () => {
    await createPolicy(server, 'flt', {
      name: 'on-push',
      provider_id: providerId,
      filters: filters({ type: 'repository', value: 'app' }, { type: 'tag', value: 'rel-*' }),
      trigger: JSON.stringify({ type: 'event_based', trigger_setting: { cron: '' } }),
    });
    await createPolicy(server, 'flt', {
      name: 'on-push-labelled',
      provider_id: providerId,
      filters: filters({ type: 'label', value: 'release' }),
      trigger: JSON.stringify({ type: 'event_based' }),
    });
    await createPolicy(server, 'flt', {
      name: 'on-push-off',
      provider_id: providerId,
      filters: filters({ type: 'tag', value: '**' }),
      trigger: JSON.stringify({ type: 'event_based' }),
      enabled: false,
    });
    const before = kraken.events.length;
    await push(server, 'flt/app', 'other');
    await push(server, 'flt/web/front', 'rel-2');
    const released = await push(server, 'flt/app', 'rel-1');

    const [execution] = await waitFor(
      () => executionsOf('on-push'),
      (list) => list.length > 0 && list[0].status === 'Success',
      'the on-push execution',
    );
    const all = await executionsOf('on-push');
    assert.equal(all.length, 1, JSON.stringify(all));
    assert.equal(execution.trigger, 'event_based');
    assert.equal(execution.extra_attrs.trigger, 'event_based');
    const tasks = await tasksOf(server, 'flt', 'on-push', execution.id);
    assert.deepEqual(
      tasks.map((t) => [t.extra_attrs.artifact, t.extra_attrs.digest, t.status]),
      [['flt/app:rel-1', released, 'Success']],
    );
    assert.ok(kraken.events.slice(before).some((e) => e.target.digest === released && e.target.tag === 'rel-1'));

    // The labelled policy looked at each push (the label is not on them) and created no execution; the disabled one none either.
    await waitFor(preheatJobsDone, (jobs) => jobs.every((j) => j.status === 'success'), 'every PREHEAT job done');
    assert.deepEqual(await executionsOf('on-push-labelled'), []);
    assert.deepEqual(await executionsOf('on-push-off'), []);
    // Only pushes of images matter: the signature pushed for rel-1 starts nothing.
    await pushCosignSignature(server, 'flt/app', released);
    await push(server, 'flt/app', 'rel-3');
    await waitFor(
      () => executionsOf('on-push'),
      (list) => list.length === 2 && list.every((e) => e.status === 'Success'),
      'a second on-push execution',
    );
    assert.deepEqual(await executionsOf('on-push-labelled'), []);
  });
});
