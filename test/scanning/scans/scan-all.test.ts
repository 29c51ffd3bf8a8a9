import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api, errorCode } from '../../helpers/api.js';
import { startServer, type TestServer } from '../../helpers/server.js';
import { requireTools } from '../../helpers/tools.js';
import { artifactPath, debianImage, overviewOf, pushBuilt, vulnerabilityMime, waitFor, writeFixtures, type Fixture } from './helpers.js';

const skip = requireTools('dpkg-query');
const apiKey = 'scan-test-adapter-key-0123456789';

describe('scan all, scan on push and a remote scanner', { skip }, () => {
  let server: TestServer;
  let fixture: Fixture;
  const auth = () => server.admin.authorization;
  const metrics = async () => (await api(server, 'GET', '/scans/all/metrics', { auth: auth() })).body;

  before(async () => {
    server = await startServer({ yaml: { 'jobs.poll_interval_ms': 50, 'scanning.adapter.api_key': apiKey } });
    fixture = await writeFixtures();
    await server.berth.scanning.vulndb.service.importDirectory(fixture.dir);
  });
  after(async () => {
    await server?.stop();
  });

  test('before any run: metrics are {}, stop is refused, the schedule is {}', async () => {
    assert.deepEqual(await metrics(), {});
    const stop = await api(server, 'POST', '/system/scanAll/stop', { auth: auth() });
    assert.equal(stop.status, 400);
    assert.match(JSON.stringify(stop.body), /no scan all job/);
    assert.deepEqual((await api(server, 'GET', '/system/scanAll/schedule', { auth: auth() })).body, {});
  });

  test('the schedule: set, read, refused twice with POST, bad bodies refused, removed', async () => {
    const set = await api(server, 'POST', '/system/scanAll/schedule', {
      auth: auth(),
      body: { schedule: { type: 'Daily', cron: '0 0 3 * * *' } },
    });
    assert.equal(set.status, 201, JSON.stringify(set.body));
    const got = (await api(server, 'GET', '/system/scanAll/schedule', { auth: auth() })).body;
    assert.equal(got.schedule.type, 'Daily');
    assert.equal(got.schedule.cron, '0 0 3 * * *');
    assert.ok(got.schedule.next_scheduled_time);
    const again = await api(server, 'POST', '/system/scanAll/schedule', {
      auth: auth(),
      body: { schedule: { type: 'Hourly', cron: '0 0 * * * *' } },
    });
    assert.equal(again.status, 412);
    for (const body of [{ schedule: { type: 'Daily', cron: 'every day' } }, { schedule: { type: 'Sometimes' } }, { nothing: true }, 'x']) {
      const bad = await api(server, 'PUT', '/system/scanAll/schedule', { auth: auth(), body });
      assert.equal(bad.status, 400, JSON.stringify(body));
    }
    const manualPut = await api(server, 'PUT', '/system/scanAll/schedule', { auth: auth(), body: { schedule: { type: 'Manual' } } });
    assert.equal(manualPut.status, 400);
    assert.equal((await api(server, 'GET', '/system/scanAll/schedule', { auth: auth() })).body.schedule.cron, '0 0 3 * * *');
    const changed = await api(server, 'PUT', '/system/scanAll/schedule', {
      auth: auth(),
      body: { schedule: { type: 'Weekly', cron: '0 0 0 * * 0' } },
    });
    assert.equal(changed.status, 200);
    assert.equal((await api(server, 'GET', '/system/scanAll/schedule', { auth: auth() })).body.schedule.type, 'Weekly');
    const none = await api(server, 'PUT', '/system/scanAll/schedule', { auth: auth(), body: { schedule: { type: 'None' } } });
    assert.equal(none.status, 200);
    assert.deepEqual((await api(server, 'GET', '/system/scanAll/schedule', { auth: auth() })).body, {});
    const anonymous = await api(server, 'GET', '/scans/all/metrics');
    assert.equal(anonymous.status, 401);
  });

  test('scan all scans every image once per digest and reports its progress', async () => {
    const images = [await debianImage({ a: 1 }), await debianImage({ a: 2 }), await debianImage({ a: 3 })];
    for (const [i, image] of images.entries()) await pushBuilt(server, `library/all${i}`, 'v1', image);
    // The same image in another repository: one report, one scan.
    await pushBuilt(server, 'library/all-copy', 'v1', images[0]);
    const start = await api(server, 'POST', '/system/scanAll/schedule', { auth: auth(), body: { schedule: { type: 'Manual' } } });
    assert.equal(start.status, 201, JSON.stringify(start.body));
    const stats = await waitFor(metrics, (m) => m.ongoing === false && m.total > 0, 'the scan-all run to end');
    assert.equal(stats.total, 3);
    assert.equal(stats.completed, 3);
    assert.equal(stats.metrics.Success, 3);
    assert.equal(stats.trigger, 'Manual');
    for (const repo of ['library/all0', 'library/all1', 'library/all2', 'library/all-copy']) {
      const o = await overviewOf(server, repo, 'v1');
      assert.deepEqual(o.scan_overview![vulnerabilityMime].summary, fixture.expected, repo);
    }
  });

  test('a second run while one goes is refused; stop ends the scans not started', async () => {
    await server.berth.jobs.queue.setPaused('IMAGE_SCAN', true);
    try {
      const start = await api(server, 'POST', '/system/scanAll/schedule', { auth: auth(), body: { schedule: { type: 'Manual' } } });
      assert.equal(start.status, 201);
      await waitFor(metrics, (m) => m.total === 3, 'the run to enqueue its scans');
      const second = await api(server, 'POST', '/system/scanAll/schedule', { auth: auth(), body: { schedule: { type: 'Manual' } } });
      assert.equal(second.status, 409);
      assert.equal(errorCode(second), 'CONFLICT');
      const stop = await api(server, 'POST', '/system/scanAll/stop', { auth: auth() });
      assert.equal(stop.status, 202);
      const stats = await metrics();
      assert.equal(stats.metrics.Stopped, 3);
      assert.equal(stats.ongoing, false);
      const o = await overviewOf(server, 'library/all0', 'v1');
      assert.equal(o.scan_overview![vulnerabilityMime].scan_status, 'Stopped');
    } finally {
      await server.berth.jobs.queue.setPaused('IMAGE_SCAN', false);
    }
  });

  test('scan on push: a project with auto_scan scans what is pushed, accessories and other projects are left alone', async () => {
    const created = await api(server, 'POST', '/projects', {
      auth: auth(),
      body: { project_name: 'auto', metadata: { auto_scan: 'true' } },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await pushBuilt(server, 'auto/app', 'v1', await debianImage({ auto: 1 }));
    await pushBuilt(server, 'library/manual', 'v1', await debianImage({ auto: 2 }));
    const scanned = await waitFor(
      () => overviewOf(server, 'auto/app', 'v1'),
      (o) => o.scan_overview?.[vulnerabilityMime]?.scan_status === 'Success',
      'the pushed image to be scanned',
    );
    assert.deepEqual(scanned.scan_overview![vulnerabilityMime].summary, fixture.expected);
    await server.berth.jobs.dispatcher.drain();
    assert.deepEqual((await overviewOf(server, 'library/manual', 'v1')).scan_overview, {});
  });

  test('SBOM on push: a project with auto_sbom_generation gets an SBOM, and the SBOM accessory itself is not scanned', async () => {
    const created = await api(server, 'POST', '/projects', {
      auth: auth(),
      body: { project_name: 'sbom', metadata: { auto_sbom_generation: 'true' } },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const digest = await pushBuilt(server, 'sbom/app', 'v1', await debianImage({ sbom: 1 }));
    const done = await waitFor(
      () => overviewOf(server, 'sbom/app', 'v1'),
      (o) => o.sbom_overview?.scan_status === 'Success',
      'the pushed image to get its SBOM',
    );
    assert.deepEqual(done.scan_overview, {}, 'no vulnerability scan without auto_scan');
    const sbomDigest = done.sbom_overview!.sbom_digest!;
    // The accessory's own push went through the outbox too: it got no SBOM of its own.
    await server.berth.jobs.dispatcher.drain();
    const reports = await server.berth.database.db.selectFrom('scan_reports').select('digest').where('digest', '=', sbomDigest).execute();
    assert.deepEqual(reports, []);
    const accessories = await api(server, 'GET', `${artifactPath('sbom/app', digest)}/accessories`, { auth: auth() });
    assert.deepEqual(
      accessories.body.map((a: { digest: string }) => a.digest),
      [sbomDigest],
    );
  });

  test('a remote registration is driven over the Pluggable Scanner API, pulling with a scan-scoped token', async () => {
    const registered = await api(server, 'POST', '/scanners', {
      auth: auth(),
      body: { name: 'loopback', url: `${server.url}/scanner`, auth: 'X-ScannerAdapter-API-Key', access_credential: apiKey },
    });
    assert.equal(registered.status, 201, JSON.stringify(registered.body));
    const uuid = registered.headers.get('location')!.split('/').pop()!;
    await api(server, 'POST', '/projects', { auth: auth(), body: { project_name: 'remote' } });
    assert.equal((await api(server, 'PUT', '/projects/remote/scanner', { auth: auth(), body: { uuid } })).status, 200);
    await pushBuilt(server, 'remote/app', 'v1', await debianImage({ remote: 1 }));
    const res = await api(server, 'POST', `${artifactPath('remote/app', 'v1')}/scan`, { auth: auth() });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const o = await waitFor(
      () => overviewOf(server, 'remote/app', 'v1'),
      (x) => ['Success', 'Error'].includes(x.scan_overview?.[vulnerabilityMime]?.scan_status ?? ''),
      'the remote scan to end',
    );
    const overview = o.scan_overview![vulnerabilityMime];
    assert.equal(overview.scan_status, 'Success', JSON.stringify(overview));
    assert.deepEqual(overview.summary, fixture.expected);
    const log = await fetch(`${server.url}/api/v2.0${artifactPath('remote/app', 'v1')}/scan/${overview.report_id}/log`, {
      headers: { authorization: auth() },
    });
    assert.match(await log.text(), /loopback .* accepted the scan/);
  });
});

describe('a scan-all survives a restart', { skip }, () => {
  test('scans queued before the restart run after it, and the metrics count them', async () => {
    let server = await startServer({ yaml: { 'jobs.poll_interval_ms': 50 } });
    const dataDir = server.dataDir;
    try {
      const fixture = await writeFixtures();
      await server.berth.scanning.vulndb.service.importDirectory(fixture.dir);
      for (const i of [1, 2]) await pushBuilt(server, `library/restart${i}`, 'v1', await debianImage({ restart: i }));
      // Held queue: the scans are enqueued but none runs before the restart.
      await server.berth.jobs.queue.setPaused('IMAGE_SCAN', true);
      const start = await api(server, 'POST', '/system/scanAll/schedule', {
        auth: server.admin.authorization,
        body: { schedule: { type: 'Manual' } },
      });
      assert.equal(start.status, 201);
      const metrics = async () => (await api(server, 'GET', '/scans/all/metrics', { auth: server.admin.authorization })).body;
      await waitFor(metrics, (m) => m.total === 2 && m.metrics.Pending === 2, 'the run to enqueue its two scans');
      await server.stop({ keepData: true });
      server = await startServer({ dataDir, yaml: { 'jobs.poll_interval_ms': 50 } });
      await server.berth.jobs.queue.setPaused('IMAGE_SCAN', false);
      const stats = await waitFor(metrics, (m) => m.ongoing === false, 'the run to end after the restart');
      assert.deepEqual(stats.metrics, { Pending: 0, Running: 0, Success: 2, Error: 0, Stopped: 0 });
      const o = await overviewOf(server, 'library/restart2', 'v1');
      assert.deepEqual(o.scan_overview![vulnerabilityMime].summary, fixture.expected);
    } finally {
      await server.stop();
    }
  });
});
