import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api, errorCode } from '../../helpers/api.js';
import { pushBlob, pushManifest, types } from '../../helpers/oci.js';
import { startServer, type TestServer } from '../../helpers/server.js';
import { requireTools } from '../../helpers/tools.js';
import {
  artifactPath,
  debianImage,
  overviewOf,
  pushBuilt,
  pushIndexOf,
  sbomMime,
  vulnerabilityMime,
  waitFor,
  writeFixtures,
  type Fixture,
} from './helpers.js';

const skip = requireTools('dpkg-query');
const repo = 'library/debian';

/**
 * Scans end to end with nothing stubbed: an image of this machine's dpkg database pushed to a
 * real Berth, OSV records written by the test imported into its database, the built-in
 * scanner run by the IMAGE_SCAN job, and the results read through Harbor's API.
 */
describe('scans of a pushed Debian image', { skip }, () => {
  let server: TestServer;
  let fixture: Fixture;
  let digest: string;
  const auth = () => server.admin.authorization;

  before(async () => {
    server = await startServer({ yaml: { 'jobs.poll_interval_ms': 50 } });
    fixture = await writeFixtures();
    await server.berth.scanning.vulndb.service.importDirectory(fixture.dir);
    digest = await pushBuilt(server, repo, 'v1', await debianImage());
  });
  after(async () => {
    await server?.stop();
  });

  const done = (o: Awaited<ReturnType<typeof overviewOf>>, mime = vulnerabilityMime) =>
    ['Success', 'Error', 'Stopped'].includes(o.scan_overview?.[mime]?.scan_status ?? '');

  test('a scan finds the fixture vulnerabilities in the packages dpkg-query lists', async () => {
    const before = await overviewOf(server, repo, 'v1');
    assert.deepEqual(before.scan_overview, {});
    assert.ok(before.addition_links.vulnerabilities, 'a scannable image links its vulnerabilities');
    const res = await api(server, 'POST', `${artifactPath(repo, 'v1')}/scan`, { auth: auth() });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const after = await waitFor(
      () => overviewOf(server, repo, 'v1'),
      (o) => done(o),
      'the scan to end',
    );
    const overview = after.scan_overview![vulnerabilityMime];
    assert.equal(overview.scan_status, 'Success', JSON.stringify(overview));
    assert.equal(overview.severity, 'Critical');
    assert.deepEqual(overview.summary, fixture.expected);

    const addition = await api(server, 'GET', `${artifactPath(repo, digest)}/additions/vulnerabilities`, { auth: auth() });
    assert.equal(addition.status, 200);
    const report = addition.body[vulnerabilityMime];
    assert.equal(report.vulnerabilities.length, fixture.expected.total);
    assert.deepEqual([...new Set(report.vulnerabilities.map((v: { id: string }) => v.id))].sort(), fixture.ids);
    const fixed = report.vulnerabilities.find((v: { id: string }) => v.id === 'CVE-2099-1001');
    assert.match(fixed.fix_version, /\+berth1$/);
    assert.equal(report.artifact.digest, digest);

    const log = await fetch(`${server.url}/api/v2.0${artifactPath(repo, digest)}/scan/${overview.report_id}/log`, {
      headers: { authorization: auth() },
    });
    assert.equal(log.status, 200);
    assert.match(log.headers.get('content-type')!, /^text\/plain/);
    assert.match(await log.text(), /vulnerabilities found/);
    const unknown = await api(server, 'GET', `${artifactPath(repo, digest)}/scan/00000000-0000-0000-0000-000000000000/log`, {
      auth: auth(),
    });
    assert.equal(unknown.status, 404);

    // The end of the scan is an outbox event, for webhooks.
    const events = await server.berth.database.db
      .selectFrom('events')
      .select(['type', 'payload'])
      .where('type', 'like', 'SCANNING_%')
      .execute();
    const completed = events.map((e) => ({ type: e.type, ...JSON.parse(e.payload) })).filter((e) => e.digest === digest);
    assert.equal(completed.length, 1);
    assert.equal(completed[0].type, 'SCANNING_COMPLETED');
    assert.equal(completed[0].repository, repo);
    assert.equal(completed[0].scan_type, 'vulnerability');
    assert.deepEqual(completed[0].reports, [overview.report_id]);
    // With the summary the artifact API shows (Harbor's webhook scan_overview).
    assert.deepEqual(completed[0].scan_overview, { [vulnerabilityMime]: overview });
  });

  test('bad requests change nothing: unknown scan type, unknown artifact, non-image artifact, anonymous', async () => {
    const badType = await api(server, 'POST', `${artifactPath(repo, 'v1')}/scan`, { auth: auth(), body: { scan_type: 'virus' } });
    assert.equal(badType.status, 400);
    assert.match(JSON.stringify(badType.body), /scan_type/);
    const missing = await api(server, 'POST', `${artifactPath(repo, 'nope')}/scan`, { auth: auth() });
    assert.equal(missing.status, 404);
    const config = await pushBlob(server.url, 'library/other', '{"thing":true}', server.admin);
    const layer = await pushBlob(server.url, 'library/other', 'thing data', server.admin);
    const thing = await pushManifest(
      server.url,
      'library/other',
      'x',
      {
        schemaVersion: 2,
        mediaType: types.manifest,
        config: { mediaType: 'application/vnd.example.thing.config.v1+json', digest: config.digest, size: config.size },
        layers: [{ mediaType: 'application/vnd.example.thing.layer.v1', digest: layer.digest, size: layer.size }],
      },
      types.manifest,
      server.admin,
    );
    const other = await overviewOf(server, 'library/other', 'x');
    assert.equal(other.addition_links.vulnerabilities, undefined, 'no vulnerabilities link on an artifact no scanner reads');
    const notImage = await api(server, 'POST', `${artifactPath('library/other', thing.digest)}/scan`, { auth: auth() });
    assert.equal(notImage.status, 400);
    assert.match(JSON.stringify(notImage.body), /does not support scanning artifact/);
    const anonymous = await api(server, 'POST', `${artifactPath(repo, 'v1')}/scan`);
    assert.equal(anonymous.status, 401);
    const noStop = await api(server, 'POST', `${artifactPath(repo, 'v1')}/scan/stop`, { auth: auth() });
    assert.equal(noStop.status, 400);
    assert.match(JSON.stringify(noStop.body), /no scan job/);
  });

  test('a queued scan conflicts with a second one, and stop ends it Stopped', async () => {
    await server.berth.jobs.queue.setPaused('IMAGE_SCAN', true);
    try {
      const first = await api(server, 'POST', `${artifactPath(repo, 'v1')}/scan`, { auth: auth() });
      assert.equal(first.status, 202);
      const pending = await overviewOf(server, repo, 'v1');
      assert.equal(pending.scan_overview![vulnerabilityMime].scan_status, 'Pending');
      const second = await api(server, 'POST', `${artifactPath(repo, 'v1')}/scan`, { auth: auth() });
      assert.equal(second.status, 409);
      assert.equal(errorCode(second), 'CONFLICT');
      const stop = await api(server, 'POST', `${artifactPath(repo, 'v1')}/scan/stop`, {
        auth: auth(),
        body: { scan_type: 'vulnerability' },
      });
      assert.equal(stop.status, 202);
      const stopped = await overviewOf(server, repo, 'v1');
      assert.equal(stopped.scan_overview![vulnerabilityMime].scan_status, 'Stopped');
    } finally {
      await server.berth.jobs.queue.setPaused('IMAGE_SCAN', false);
    }
  });

  test('an SBOM scan attaches an sbom.harbor accessory, and a second one replaces it', async () => {
    const scan = () => api(server, 'POST', `${artifactPath(repo, 'v1')}/scan`, { auth: auth(), body: { scan_type: 'sbom' } });
    assert.equal((await scan()).status, 202);
    const first = await waitFor(
      () => overviewOf(server, repo, 'v1'),
      (o) => ['Success', 'Error', 'Stopped'].includes(o.sbom_overview?.scan_status ?? ''),
      'the SBOM scan to end',
    );
    assert.equal(first.sbom_overview!.scan_status, 'Success', JSON.stringify(first.sbom_overview));
    const sbomDigest = first.sbom_overview!.sbom_digest!;
    assert.match(sbomDigest, /^sha256:/);
    const accessories = await api(server, 'GET', `${artifactPath(repo, digest)}/accessories`, { auth: auth() });
    assert.deepEqual(
      accessories.body.map((a: { digest: string; type: string }) => [a.digest, a.type]),
      [[sbomDigest, 'sbom.harbor']],
    );
    const manifest = await fetch(`${server.url}/v2/${repo}/manifests/${sbomDigest}`, {
      headers: { ...server.admin, accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    assert.equal(manifest.status, 200);
    const doc = (await manifest.json()) as { subject: { digest: string }; layers: Array<{ mediaType: string }> };
    assert.equal(doc.subject.digest, digest);
    assert.equal(doc.layers[0].mediaType, 'application/spdx+json');

    assert.equal((await scan()).status, 202);
    const second = await waitFor(
      () => overviewOf(server, repo, 'v1'),
      (o) => o.sbom_overview?.report_id !== first.sbom_overview!.report_id && o.sbom_overview?.scan_status === 'Success',
      'the second SBOM scan to end',
    );
    const again = await api(server, 'GET', `${artifactPath(repo, digest)}/accessories`, { auth: auth() });
    assert.deepEqual(
      again.body.map((a: { digest: string }) => a.digest),
      [second.sbom_overview!.sbom_digest],
    );
    // The scan overview of the image is its own: the SBOM report does not show there.
    assert.equal(Object.keys(second.scan_overview!).includes(sbomMime), false);
  });

  test("an index shows its images' findings together", async () => {
    const one = await debianImage({ n: 1 });
    const two = await debianImage({ n: 2 });
    const index = await pushIndexOf(server, 'library/multi', 'v1', [one, two]);
    const res = await api(server, 'POST', `${artifactPath('library/multi', 'v1')}/scan`, { auth: auth() });
    assert.equal(res.status, 202);
    const after = await waitFor(
      () => overviewOf(server, 'library/multi', 'v1'),
      (o) => done(o),
      'the index scan to end',
    );
    const overview = after.scan_overview![vulnerabilityMime];
    assert.equal(overview.scan_status, 'Success');
    assert.equal(overview.summary!.total, 2 * fixture.expected.total);
    const addition = await api(server, 'GET', `${artifactPath('library/multi', index)}/additions/vulnerabilities`, { auth: auth() });
    // The same packages in both images: one finding each.
    assert.equal(addition.body[vulnerabilityMime].vulnerabilities.length, fixture.expected.total);
  });
});
