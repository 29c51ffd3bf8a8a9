import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { api } from '../../helpers/api.js';
import { startServer, type TestServer } from '../../helpers/server.js';
import { requireTools, runTool } from '../../helpers/tools.js';
import { createProject } from '../../projects/fixtures.js';
import {
  artifactPath,
  debianImage,
  overviewOf,
  pushBuilt,
  vulnerabilityMime,
  waitFor,
  writeFixtures,
  type Fixture,
} from '../scans/helpers.js';

/**
 * The "done when": an image built from this machine's dpkg database, scanned by the
 * built-in scanner against OSV records written here, is refused by prevent_vul on a real pull,
 * and pulls once its critical CVE is allowlisted.
 */
const skip = requireTools('skopeo', 'dpkg-query');
let server: TestServer;
let fixture: Fixture;
let digest: string;

before(async () => {
  if (skip) return;
  server = await startServer();
  fixture = await writeFixtures();
  await server.berth.vulndb.service.importDirectory(fixture.dir);
  await createProject(server, { project_name: 'e2e', metadata: { prevent_vul: 'true', severity: 'critical' } });
  digest = await pushBuilt(server, 'e2e/debian', 'bookworm', await debianImage());
});
after(async () => {
  if (skip) return;
  await server.stop();
  await rm(fixture.dir, { recursive: true, force: true });
});

describe('prevent_vul after a real scan', { skip }, () => {
  test('unscanned: refused; scanned with a critical finding: refused with the count; allowlisted: pulled by skopeo', async () => {
    const host = new URL(server.url).host;
    const inspect = ['inspect', '--raw', '--tls-verify=false', '--creds', 'admin:Harbor12345', `docker://${host}/e2e/debian:bookworm`];
    await assert.rejects(runTool('skopeo', inspect), /without vulnerability scanning cannot be pulled/);

    const scan = await api(server, 'POST', `${artifactPath('e2e/debian', digest)}/scan`, { auth: server.admin.authorization });
    assert.equal(scan.status, 202, JSON.stringify(scan.body));
    const overview = await waitFor(
      () => overviewOf(server, 'e2e/debian', digest),
      (o) => ['Success', 'Error', 'Stopped'].includes(o.scan_overview?.[vulnerabilityMime]?.scan_status ?? ''),
      'the scan',
      120_000,
    );
    const report = overview.scan_overview![vulnerabilityMime];
    assert.equal(report.scan_status, 'Success');
    assert.equal(report.summary!.total, fixture.expected.total);

    const n = fixture.expected.total;
    await assert.rejects(runTool('skopeo', inspect), (err: Error) => {
      assert.ok(
        err.message.includes(`current image with ${n} ${n > 1 ? 'vulnerabilities' : 'vulnerability'} cannot be pulled`),
        err.message,
      );
      return true;
    });

    // The critical CVE allowlisted: only findings of unknown severity remain, below "critical".
    const put = await api(server, 'PUT', '/system/CVEAllowlist', {
      auth: server.admin.authorization,
      body: { items: [{ cve_id: 'CVE-2099-1001' }] },
    });
    assert.equal(put.status, 200);
    const out = await runTool('skopeo', inspect);
    assert.equal(JSON.parse(out.stdout).schemaVersion, 2);
  });
});
