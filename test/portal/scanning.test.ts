import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import { zipSync } from 'fflate';
import { api } from '../helpers/api.js';
import {
  browserSkip,
  desktopDark,
  eventually,
  field,
  h1,
  inspectPage,
  launchBrowser,
  phoneDark,
  type WatchedPage,
} from '../helpers/browser.js';
import { pushBlob, pushManifest, types } from '../helpers/oci.js';
import { adminPassword, type TestServer } from '../helpers/server.js';
import { V2 } from '../helpers/v2.js';
import { tarOf } from '../scanning/inventory/helpers.js';
import {
  assertNoOverflow,
  chooseOption,
  closePortal,
  inSignedInPage,
  navigate,
  openDialog,
  openSignedIn,
  rowAction,
  startPortalServer,
  submitDialog,
  testConnection,
} from './ui.js';

const skip = browserSkip();

const project = 'scanned';
const repository = 'app';
const vulnerabilityMime = 'application/vnd.security.vulnerability.report; version=1.1';

/** This machine's installed Debian packages, as dpkg-query reads them: source name and version. */
function installedSource(pkg: string): { name: string; version: string } {
  const out = spawnSync('dpkg-query', ['-W', '-f=${source:Package}\t${source:Version}', pkg], { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`dpkg-query ${pkg}: ${out.stderr}`);
  const [name, version] = out.stdout.split('\t');
  return { name, version };
}

interface Fixture {
  id: string;
  pkg: string;
  severity: 'Critical' | 'High' | 'Medium' | 'Low';
  vector: string;
  fixed: boolean;
}

/** Four advisories against packages of this machine, one per severity; two have a fix. */
const fixtures: Fixture[] = [
  { id: 'CVE-2099-1001', pkg: 'bash', severity: 'Critical', vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', fixed: true },
  { id: 'CVE-2099-1002', pkg: 'tar', severity: 'High', vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N', fixed: true },
  { id: 'CVE-2099-1003', pkg: 'grep', severity: 'Medium', vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:L/A:N', fixed: false },
  { id: 'CVE-2099-1004', pkg: 'sed', severity: 'Low', vector: 'CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N', fixed: false },
];

/** OSV records as the Debian export writes them (source package names, ECOSYSTEM ranges). */
function osvRecords(): Array<{ name: string; text: string }> {
  return fixtures.map((f) => {
    const source = installedSource(f.pkg);
    const events = f.fixed ? [{ introduced: '0' }, { fixed: `${source.version}+berth1` }] : [{ introduced: '0' }];
    const record = {
      id: f.id,
      modified: '2026-01-02T03:04:05Z',
      published: '2026-01-01T00:00:00Z',
      summary: `${f.severity} test advisory in ${source.name}`,
      details: `A ${f.severity.toLowerCase()} vulnerability the portal test invented in ${source.name}.`,
      severity: [{ type: 'CVSS_V3', score: f.vector }],
      affected: [{ package: { ecosystem: 'Debian:12', name: source.name }, ranges: [{ type: 'ECOSYSTEM', events }] }],
      references: [{ type: 'ADVISORY', url: `https://security.example/${f.id}` }],
    };
    return { name: `${f.id}.json`, text: JSON.stringify(record) };
  });
}

function zipOf(files: Array<{ name: string; text: string }>): Buffer {
  return Buffer.from(zipSync(Object.fromEntries(files.map((f) => [f.name, new TextEncoder().encode(f.text)]))));
}

/** A loopback stand-in for the OSV export: `<base>/Debian/all.zip`. */
async function osvExport(zip: Buffer): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    if (req.url === '/Debian/all.zip') {
      res.writeHead(200, { 'content-type': 'application/zip', 'content-length': zip.length });
      res.end(zip);
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** An image of one gzip layer holding real files of this machine; returns its digest. */
async function pushRealImage(server: TestServer, tag: string, files: Array<{ path: string; content: Buffer }>): Promise<string> {
  const repo = `${project}/${repository}`;
  const layer = await pushBlob(server.url, repo, gzipSync(await tarOf(files)), server.admin);
  const config = await pushBlob(
    server.url,
    repo,
    JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }),
    server.admin,
  );
  const manifest = {
    schemaVersion: 2,
    mediaType: types.manifest,
    config: { mediaType: types.config, digest: config.digest, size: config.size },
    layers: [{ mediaType: types.layer, digest: layer.digest, size: layer.size }],
  };
  return (await pushManifest(server.url, repo, tag, manifest, types.manifest, server.admin)).digest;
}

/**
 * Scanning in the portal, against a real Berth with its built-in scanner: the vulnerability
 * database updated from a loopback OSV export by "Update now", an image of this machine's
 * dpkg database scanned from the artifact list (one row and in bulk), the report filtered on
 * the artifact page, an SBOM generated and read, scan all, a scanner registration tested and
 * added, and "prevent vulnerable images" refusing a pull until the project's allowlist takes
 * the findings; in light, dark and on a phone, with axe and no console error.
 */
describe('portal: vulnerability scanning and SBOMs', { skip }, () => {
  let server: TestServer;
  let osv: { server: Server; url: string };
  let browser: Browser;
  let watched: WatchedPage;
  let vulnerable: string;
  let clean: string;
  const admin = () => server.admin.authorization;
  const artifactUrl = (digest: string) => `/projects/${project}/repositories/${repository}/-/artifacts/${digest}`;
  const overviewOf = async (digest: string) => {
    const path = `/projects/${project}/repositories/${repository}/artifacts/${digest}?with_scan_overview=true&with_sbom_overview=true`;
    const res = await api(server, 'GET', path, { auth: admin() });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  };

  before(async () => {
    osv = await osvExport(zipOf(osvRecords()));
    server = await startPortalServer({
      yaml: { 'jobs.poll_interval_ms': 50, 'scanning.vulndb.url': osv.url, 'scanning.vulndb.ecosystems': ['Debian'] },
    });
    const created = await api(server, 'POST', '/projects', {
      auth: admin(),
      body: { project_name: project, metadata: { public: 'false' } },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const osRelease = { path: 'etc/os-release', content: readFileSync('/etc/os-release') };
    vulnerable = await pushRealImage(server, 'v1', [
      osRelease,
      { path: 'var/lib/dpkg/status', content: readFileSync('/var/lib/dpkg/status') },
    ]);
    clean = await pushRealImage(server, 'v2', [osRelease]);
    browser = await launchBrowser();
    watched = await openSignedIn(browser, server);
  });
  after(async () => {
    await closePortal({ watched, browser, server });
    await new Promise((resolve) => osv?.server.close(resolve));
  });

  test('Interrogation services: the built-in scanner is the default; Update now loads the OSV export', async () => {
    const { page } = watched;
    await navigate(page, 'Interrogation services');
    await eventually(async () => assert.equal(await h1(page).textContent(), 'Interrogation services'));
    const scanners = page.getByRole('table', { name: 'Scanners' });
    const builtin = scanners.getByRole('row').filter({ hasText: 'Built-in' });
    await builtin.getByText('Default').waitFor();
    await builtin.getByText('Enabled').waitFor();

    const vulndb = page.getByRole('region', { name: 'Vulnerability database', exact: true });
    await vulndb.getByRole('button', { name: 'Update now' }).click();
    const debian = vulndb.getByRole('table', { name: 'Advisories per ecosystem' }).getByRole('row').filter({ hasText: 'Debian' });
    await debian.waitFor({ timeout: 60_000 });
    await eventually(async () => assert.match((await debian.textContent()) ?? '', /Debian\s*4/), 30_000);
    await inspectPage(page, 'scanning-admin-desktop-light');
    watched.assertNoConsoleErrors();
  });

  test('a scanner registration is tested, added, and deleted', async () => {
    const { page } = watched;
    await page.getByRole('button', { name: 'New scanner' }).click();
    const dialog = await openDialog(page);
    await field(dialog, 'Name').fill('berth-over-http');
    // This Berth's own adapter under another host name (the built-in registration holds the 127.0.0.1 URL).
    const endpoint = `${server.url.replace('127.0.0.1', 'localhost')}/scanner`;
    await field(dialog, 'Endpoint').fill(endpoint);
    await chooseOption(page, field(dialog, 'Authorization'), 'Basic');
    await field(dialog, 'Username').fill('admin');
    await field(dialog, 'Password').fill(adminPassword);
    await testConnection(dialog, 'works', 30_000);
    await submitDialog(dialog, 'Add');
    const row = page.getByRole('table', { name: 'Scanners' }).getByRole('row').filter({ hasText: 'berth-over-http' });
    await row.waitFor();
    const listed = await api(server, 'GET', '/scanners', { auth: admin() });
    const added = listed.body.find((s: { name: string }) => s.name === 'berth-over-http');
    assert.equal(added.auth, 'Basic');
    assert.equal(added.url, endpoint);
    assert.equal(added.access_credential ?? '', '', 'the credential is never shown');

    const act = (item: string, on: typeof row = row) => rowAction(page, on, /^Actions for scanner /, item);
    const registration = async (name: string) =>
      (await api(server, 'GET', '/scanners', { auth: admin() })).body.find((s: { name: string }) => s.name === name);

    // Edited (the stored credential kept), disabled and enabled, made the default and back.
    await act('Edit');
    const edit = await openDialog(page);
    await field(edit, 'Description').fill('Berth over loopback');
    await submitDialog(edit);
    await row.getByText('Berth over loopback').waitFor();
    assert.equal((await registration('berth-over-http')).auth, 'Basic');
    await act('Disable');
    await row.getByText('Disabled').waitFor();
    assert.equal((await registration('berth-over-http')).disabled, true);
    await act('Enable');
    await row.getByText('Enabled').waitFor();
    await act('Set as default');
    await row.getByText('Default', { exact: true }).waitFor();
    assert.equal((await registration('berth-over-http')).is_default, true);
    const builtin = page.getByRole('table', { name: 'Scanners' }).getByRole('row').filter({ hasText: 'Built-in' });
    await act('Set as default', builtin);
    await builtin.getByText('Default', { exact: true }).waitFor();
    assert.equal((await registration('berth-over-http')).is_default, false);

    await act('Delete');
    const confirm = await openDialog(page);
    await confirm.getByRole('button', { name: 'Delete' }).click();
    await row.waitFor({ state: 'detached' });
    watched.assertNoConsoleErrors();
  });

  test('Scan from the artifact list: the bar shows the counts; the chosen rows scan in bulk', async () => {
    const { page } = watched;
    await page.goto(`/projects/${project}/repositories/${repository}`);
    const table = page.getByRole('table', { name: 'Artifacts' });
    const v1 = table.getByRole('row').filter({ hasText: 'v1' });
    // The phone's compact column is in the page too, hidden: only what shows counts.
    const shown = (row: typeof v1, text: string) => row.getByText(text).filter({ visible: true }).first();
    await shown(v1, 'Not scanned').waitFor();
    await v1.getByRole('button', { name: 'Scan v1' }).click();
    await shown(v1, '4 total').waitFor({ timeout: 60_000 });
    for (const f of fixtures) await shown(v1, `${f.severity} 1`).waitFor();

    const overview = (await overviewOf(vulnerable)).scan_overview[vulnerabilityMime];
    assert.equal(overview.scan_status, 'Success');
    assert.equal(overview.severity, 'Critical');
    assert.deepEqual(overview.summary.summary, { Critical: 1, High: 1, Medium: 1, Low: 1 });
    assert.equal(overview.summary.fixable, 2);

    // Both rows chosen, scanned again together: the image without packages has nothing.
    await table.getByRole('checkbox', { name: 'Select every row on this page' }).check({ force: true });
    await page.getByRole('button', { name: 'Scan 2 selected' }).click();
    const v2 = table.getByRole('row').filter({ hasText: 'v2' });
    await shown(v2, 'No vulnerabilities').waitFor({ timeout: 60_000 });
    assert.equal((await overviewOf(clean)).scan_overview[vulnerabilityMime].summary.total, 0);
    await shown(v1, '4 total').waitFor({ timeout: 60_000 });
    await inspectPage(page, 'scanning-repository-desktop-light');
    watched.assertNoConsoleErrors();
  });

  test('the Vulnerabilities section: counts, links, filter by text and severity, sort, the scan log', async () => {
    const { page } = watched;
    await page.goto(artifactUrl(vulnerable));
    const section = page.getByRole('region', { name: 'Vulnerabilities', exact: true });
    await section.getByText('4 total, 2 fixable').waitFor();
    const table = section.getByRole('table', { name: 'Vulnerabilities' });
    const rows = table.locator('tbody tr');
    await eventually(async () => assert.equal(await rows.count(), 4));
    // Most severe first.
    assert.deepEqual(
      (await rows.locator('td:first-child').allTextContents()).map((t) => t.trim()),
      ['CVE-2099-1001', 'CVE-2099-1002', 'CVE-2099-1003', 'CVE-2099-1004'],
    );
    assert.equal(await table.getByRole('link', { name: 'CVE-2099-1002' }).getAttribute('href'), 'https://security.example/CVE-2099-1002');
    const bashRow = rows.filter({ hasText: 'CVE-2099-1001' });
    assert.match((await bashRow.textContent()) ?? '', new RegExp(`${installedSource('bash').version.replace(/[.+]/g, '\\$&')}\\+berth1`));
    assert.match((await bashRow.textContent()) ?? '', /9\.8/);

    await section.getByRole('textbox', { name: 'Filter vulnerabilities' }).fill('grep');
    await eventually(async () => assert.equal(await rows.count(), 1));
    assert.match((await rows.first().textContent()) ?? '', /CVE-2099-1003/);
    await section.getByRole('textbox', { name: 'Filter vulnerabilities' }).fill('');
    await chooseOption(page, field(section, 'Severity'), 'High');
    await eventually(async () => {
      assert.equal(await rows.count(), 1);
      assert.match((await rows.first().textContent()) ?? '', /CVE-2099-1002/);
    });

    const log = section.getByRole('link', { name: 'Scan log' });
    const href = (await log.getAttribute('href'))!;
    const text = await page.evaluate(async (url) => (await fetch(url)).text(), href);
    assert.ok(text.length > 0, 'the scan log has lines');
    await inspectPage(page, 'scanning-artifact-desktop-light');
    watched.assertNoConsoleErrors();
  });

  test('Generate SBOM: the SBOM section lists the packages and downloads the document', async () => {
    const { page } = watched;
    const section = page.getByRole('region', { name: 'SBOM', exact: true });
    await section.getByRole('button', { name: 'Generate SBOM' }).click();
    const table = section.getByRole('table', { name: 'SBOM packages' });
    await table.waitFor({ timeout: 60_000 });
    const sbomDigest = (await overviewOf(vulnerable)).sbom_overview.sbom_digest;
    assert.match(sbomDigest, /^sha256:/);
    await section.getByRole('textbox', { name: 'Filter packages' }).fill('bash');
    await table.getByRole('row').filter({ hasText: /^bash/ }).first().waitFor();

    const [download] = await Promise.all([page.waitForEvent('download'), section.getByRole('button', { name: 'Download SBOM' }).click()]);
    const sbom = JSON.parse(readFileSync((await download.path())!, 'utf8'));
    assert.ok(sbom.spdxVersion === 'SPDX-2.3' || sbom.bomFormat === 'CycloneDX', 'an SPDX or CycloneDX document');
    await inspectPage(page, 'scanning-artifact-sbom-desktop-light');
    watched.assertNoConsoleErrors();
  });

  test('prevent vulnerable images, switched on in the project: a pull is refused with 412 until the allowlist takes the findings', async () => {
    const { page } = watched;
    await page.goto(`/projects/${project}/configuration`);
    await page.getByRole('switch', { name: /^Prevent vulnerable images/ }).click({ force: true });
    await chooseOption(page, field(page, 'Severity'), 'High');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByText(`Configuration of ${project} saved`).waitFor();
    const meta = (await api(server, 'GET', `/projects/${project}`, { auth: admin() })).body.metadata;
    assert.equal(meta.prevent_vul, 'true');
    assert.equal(meta.severity, 'high');

    const v2 = new V2(server);
    const pull = (reference: string) =>
      v2.call('GET', `/v2/${project}/${repository}/manifests/${reference}`, { headers: { accept: types.manifest } });
    const refused = await pull('v1');
    assert.equal(refused.status, 412, refused.text);
    assert.match(refused.text, /PROJECTPOLICYVIOLATION/);
    assert.equal((await pull('v2')).status, 200, 'an image without findings is served');

    // The project's own allowlist takes the critical and the high one: nothing at or above High is left.
    const allowlist = page.getByRole('region', { name: 'CVE allowlist', exact: true });
    await allowlist.getByRole('radio', { name: "This project's own" }).check({ force: true });
    await field(allowlist, 'Add CVE ids').fill('CVE-2099-1001, cve-2099-1002');
    await allowlist.getByRole('button', { name: 'Add', exact: true }).click();
    await allowlist.getByRole('listitem').filter({ hasText: 'CVE-2099-1002' }).waitFor();
    await allowlist.getByRole('button', { name: 'Save allowlist' }).click();
    await page.getByText(`CVE allowlist of ${project} saved`).waitFor();
    const saved = (await api(server, 'GET', `/projects/${project}`, { auth: admin() })).body;
    assert.equal(saved.metadata.reuse_sys_cve_allowlist, 'false');
    assert.deepEqual(saved.cve_allowlist.items.map((i: { cve_id: string }) => i.cve_id).sort(), ['CVE-2099-1001', 'CVE-2099-1002']);
    await eventually(async () => assert.equal((await pull('v1')).status, 200), 10_000, 250);
    await inspectPage(page, 'scanning-project-configuration-desktop-light');
    watched.assertNoConsoleErrors();
  });

  test('the system CVE allowlist, with an expiry, is saved from Interrogation services', async () => {
    const { page } = watched;
    await page.goto('/admin/interrogation-services');
    const panel = page.getByRole('region', { name: 'System CVE allowlist', exact: true });
    await panel.getByText('No vulnerability is allowed.').waitFor();
    await field(panel, 'Add CVE ids').fill('CVE-2099-1004');
    await panel.getByRole('button', { name: 'Add', exact: true }).click();
    await panel.getByRole('checkbox', { name: 'Never expires' }).uncheck({ force: true });
    await field(panel, 'Expires on').fill('2099-12-31');
    await panel.getByRole('button', { name: 'Save allowlist' }).click();
    await page.getByText('System CVE allowlist saved').waitFor();
    const saved = (await api(server, 'GET', '/system/CVEAllowlist', { auth: admin() })).body;
    assert.deepEqual(
      saved.items.map((i: { cve_id: string }) => i.cve_id),
      ['CVE-2099-1004'],
    );
    assert.equal(saved.expires_at, Date.UTC(2099, 11, 31, 23, 59, 59) / 1000);
    // A bad id is refused in the form, before any request.
    await field(panel, 'Add CVE ids').fill('not an id');
    await panel.getByRole('button', { name: 'Add', exact: true }).click();
    await panel.getByText('Not a vulnerability id: NOT, AN, ID').waitFor();
    await inspectPage(page, 'scanning-admin-allowlist-desktop-light');
    watched.assertNoConsoleErrors();
  });

  test('auto scan, switched on in the project, scans the next push', async () => {
    const { page } = watched;
    await page.goto(`/projects/${project}/configuration`);
    await page.getByRole('switch', { name: /^Automatically scan images on push/ }).click({ force: true });
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByText(`Configuration of ${project} saved`).waitFor();
    assert.equal((await api(server, 'GET', `/projects/${project}`, { auth: admin() })).body.metadata.auto_scan, 'true');
    const pushed = await pushRealImage(server, 'v3', [
      { path: 'etc/os-release', content: readFileSync('/etc/os-release') },
      { path: 'var/lib/dpkg/status', content: readFileSync('/var/lib/dpkg/status') },
      { path: 'etc/hostname', content: Buffer.from('v3\n') },
    ]);
    assert.notEqual(pushed, vulnerable, 'a new artifact');
    await page.goto(`/projects/${project}/repositories/${repository}`);
    const v3 = page.getByRole('table', { name: 'Artifacts' }).getByRole('row').filter({ hasText: 'v3' });
    await v3.getByText('4 total').filter({ visible: true }).first().waitFor({ timeout: 60_000 });
    assert.equal((await overviewOf(pushed)).scan_overview[vulnerabilityMime].scan_status, 'Success');
    watched.assertNoConsoleErrors();
  });

  for (const viewport of [desktopDark, phoneDark]) {
    test(`the scanning pages in ${viewport.name}: axe, no overflow on a phone`, async () => {
      await inSignedInPage(browser, server, viewport, async (other) => {
        const visit = async (path: string, ready: (page: Page) => Promise<void>, name: string) => {
          await other.page.goto(path);
          await ready(other.page);
          await inspectPage(other.page, `scanning-${name}-${viewport.name}`);
          if (viewport.width <= 400) {
            await assertNoOverflow(other.page, name);
          }
        };
        await visit(
          '/admin/interrogation-services',
          (p) => p.getByRole('table', { name: 'Scanners' }).getByText('Built-in', { exact: true }).waitFor(),
          'admin',
        );
        await visit(
          `/projects/${project}/repositories/${repository}`,
          (p) => p.getByRole('table', { name: 'Artifacts' }).getByText('No vulnerabilities').filter({ visible: true }).first().waitFor(),
          'repository',
        );
        await visit(artifactUrl(vulnerable), (p) => p.getByRole('table', { name: 'SBOM packages' }).waitFor(), 'artifact');
        await visit(
          `/projects/${project}/configuration`,
          (p) => p.getByRole('region', { name: 'CVE allowlist', exact: true }).waitFor(),
          'configuration',
        );
        other.assertNoConsoleErrors();
      });
    });
  }

  test('scan all runs from Interrogation services and reports its progress', async () => {
    const { page } = watched;
    await page.goto('/admin/interrogation-services');
    const panel = page.getByRole('region', { name: 'Vulnerability scanning', exact: true });
    await panel.getByRole('button', { name: 'Scan now' }).click();
    await panel.getByText('Finished').waitFor({ timeout: 60_000 });
    const metrics = await api(server, 'GET', '/scans/all/metrics', { auth: admin() });
    assert.equal(metrics.body.ongoing, false);
    assert.ok(metrics.body.total >= 2, JSON.stringify(metrics.body));
    assert.equal(metrics.body.completed, metrics.body.total);
    await panel.getByText(`${metrics.body.completed} of ${metrics.body.total} artifacts scanned`).waitFor();
    watched.assertNoConsoleErrors();
  });
});
