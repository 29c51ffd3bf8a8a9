/**
 * Berth's Pluggable Scanner API over real HTTP: a second Berth (the adapter) scans an image
 * pushed to the first one, driven by the first Berth's ScannerClient for its registration;
 * the image holds this machine's real dpkg status, checked against dpkg-query; the
 * vulnerability database holds OSV records the test writes. Then every refusal of the
 * adapter routes, in the adapter error body and MIME type.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AdapterClient } from '../../../src/scanning/scanners/client.js';
import { adapterMimeTypes } from '../../../src/scanning/scanners/spec.js';
import { reportMimeTypes, sbomMediaTypes } from '../../../src/scanning/types.js';
import { api } from '../../helpers/api.js';
import { tarGz } from '../../helpers/artifacts.js';
import { testDialect } from '../../helpers/database.js';
import { pushBlob, pushManifest, types } from '../../helpers/oci.js';
import { basicAuth, startServer, type TestServer } from '../../helpers/server.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** This machine's installed packages, read by dpkg itself: name → { version, source }. */
function dpkgQuery(): Map<string, { version: string; source: string }> {
  const out = execFileSync('dpkg-query', ['-W', '-f', '${db:Status-Abbrev}\t${Package}\t${Version}\t${source:Package}\n'], {
    encoding: 'utf8',
  });
  const map = new Map<string, { version: string; source: string }>();
  for (const line of out.split('\n')) {
    const [status, name, version, source] = line.split('\t');
    if (status?.startsWith('ii')) map.set(name, { version, source });
  }
  return map;
}

describe(`Berth's scanner adapter driven over HTTP by another Berth (${testDialect()})`, () => {
  let registry: TestServer;
  let adapterBerth: TestServer;
  let client: AdapterClient;
  let apiKey: string;
  let osvDir: string;
  const installed = dpkgQuery();
  const glibc = [...installed.values()].find((p) => p.source === 'glibc')!;
  const fixedGlibc = `${glibc.version}+zz`;
  let image: { digest: string };

  before(async () => {
    registry = await startServer();
    adapterBerth = await startServer({ yaml: { 'jobs.poll_interval_ms': 20 } });
    apiKey = (await api(adapterBerth, 'GET', '/system/scanner-adapter', { auth: adapterBerth.admin.authorization })).body.api_key;

    // OSV records written here: one that affects this machine's glibc, one that bash is past.
    osvDir = await mkdtemp(path.join(tmpdir(), 'berth-osv-'));
    await mkdir(path.join(osvDir, 'Debian'));
    const record = (id: string, name: string, fixed: string, extra: Record<string, unknown> = {}) => ({
      schema_version: '1.6.0',
      id,
      modified: '2026-01-02T03:04:05Z',
      published: '2026-01-01T00:00:00Z',
      aliases: [],
      summary: `${name} test advisory`,
      details: `A test advisory for ${name}.`,
      affected: [{ package: { ecosystem: 'Debian:12', name }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }] }],
      references: [{ type: 'ADVISORY', url: `https://security-tracker.debian.org/tracker/${id}` }],
      ...extra,
    });
    await writeFile(
      path.join(osvDir, 'Debian', 'DEBIAN-CVE-2099-0001.json'),
      JSON.stringify(
        record('DEBIAN-CVE-2099-0001', 'glibc', fixedGlibc, {
          aliases: ['CVE-2099-0001'],
          severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }],
        }),
      ),
    );
    await writeFile(
      path.join(osvDir, 'Debian', 'DEBIAN-CVE-2099-0002.json'),
      JSON.stringify(record('DEBIAN-CVE-2099-0002', 'bash', '5.0-1', { aliases: ['CVE-2099-0002'] })),
    );
    await adapterBerth.berth.vulndb.service.importDirectory(osvDir);

    // An image of this machine's os-release and dpkg status, pushed to the first Berth.
    const headers = { authorization: registry.admin.authorization };
    const layer = await tarGz({
      'etc/os-release': await readFile('/etc/os-release'),
      'var/lib/dpkg/status': await readFile('/var/lib/dpkg/status'),
    });
    const layerBlob = await pushBlob(registry.url, 'library/debimg', layer, headers);
    const config = await pushBlob(
      registry.url,
      'library/debimg',
      JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }),
      headers,
    );
    image = await pushManifest(
      registry.url,
      'library/debimg',
      '12',
      {
        schemaVersion: 2,
        mediaType: types.manifest,
        config: { mediaType: types.config, digest: config.digest, size: config.size },
        layers: [{ mediaType: types.layer, digest: layerBlob.digest, size: layerBlob.size }],
      },
      types.manifest,
      headers,
    );

    // The first Berth registers the second as a remote scanner and drives it with its client.
    const created = await api(registry, 'POST', '/scanners', {
      auth: registry.admin.authorization,
      body: { name: 'remote-berth', url: `${adapterBerth.url}/scanner`, auth: 'APIKey', access_credential: apiKey },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const reg = await registry.berth.scanners.service.byUuid(created.headers.get('location')!.split('/').pop()!);
    client = registry.berth.scanners.service.clientFor(reg!);
  });
  after(async () => {
    await registry?.stop();
    await adapterBerth?.stop();
    if (osvDir) await rm(osvDir, { recursive: true, force: true });
  });

  /** A pull token for the repository from the first Berth's token service, as Harbor hands adapters one. */
  async function pullToken(): Promise<string> {
    const res = await fetch(`${registry.url}/service/token?service=harbor-registry&scope=repository:library/debimg:pull`, {
      headers: { authorization: registry.admin.authorization },
    });
    assert.equal(res.status, 200);
    return `Bearer ${((await res.json()) as { token: string }).token}`;
  }

  async function untilReady(id: string, mimeType: string, sbomMediaType?: (typeof sbomMediaTypes)[keyof typeof sbomMediaTypes]) {
    for (;;) {
      const r = await client.report(id, mimeType, { sbomMediaType });
      if (r.status === 'ready') return JSON.parse(r.body);
      await sleep(Math.min(r.refreshAfterSeconds * 1000, 100));
    }
  }

  const artifact = () => ({ repository: 'library/debimg', digest: image.digest, tag: '12', mime_type: types.manifest });

  test('a vulnerability scan pulls with the Bearer token it was given and reports the fixture findings', async () => {
    const { id } = await client.scan({ registry: { url: registry.url, authorization: await pullToken() }, artifact: artifact() });
    const report = await untilReady(id, reportMimeTypes.vulnerability);
    assert.deepEqual(report.artifact, { repository: 'library/debimg', digest: image.digest, tag: '12', mime_type: types.manifest });
    assert.equal(report.scanner.name, 'Berth');
    const ids = report.vulnerabilities.map((v: any) => v.id);
    assert.ok(ids.includes('CVE-2099-0001'), JSON.stringify(ids));
    assert.ok(!ids.includes('CVE-2099-0002'), 'bash is past the fixed version');
    const glibcFindings = report.vulnerabilities.filter((v: any) => v.id === 'CVE-2099-0001');
    // Every installed binary package built from glibc is affected, at its installed version.
    const fromGlibc = [...installed].filter(([, p]) => p.source === 'glibc').map(([name]) => name);
    assert.deepEqual(glibcFindings.map((f: any) => f.package).sort(), fromGlibc.sort());
    for (const f of glibcFindings) {
      assert.equal(f.version, glibc.version);
      assert.equal(f.fix_version, fixedGlibc);
      assert.equal(f.severity, 'Critical');
    }
    assert.equal(report.severity, 'Critical');
    // The legacy MIME type answers the same report.
    const legacy = await untilReady(id, reportMimeTypes.vulnerabilityLegacy);
    assert.deepEqual(legacy, report);
  });

  test('an SBOM scan answers SPDX and CycloneDX documents listing every package dpkg-query lists', async () => {
    const { id } = await client.scan({
      registry: { url: registry.url, authorization: registry.admin.authorization },
      artifact: artifact(),
      enabled_capabilities: [
        {
          type: 'sbom',
          produces_mime_types: [reportMimeTypes.sbom],
          parameters: { sbom_media_types: [sbomMediaTypes.spdx, sbomMediaTypes.cyclonedx] },
        },
      ],
    });
    const spdx = await untilReady(id, reportMimeTypes.sbom, sbomMediaTypes.spdx);
    assert.equal(spdx.media_type, sbomMediaTypes.spdx);
    assert.equal(spdx.sbom.spdxVersion, 'SPDX-2.3');
    const spdxNames = new Set(spdx.sbom.packages.map((p: any) => p.name));
    for (const name of installed.keys()) assert.ok(spdxNames.has(name), `${name} in the SPDX document`);
    const cdx = await untilReady(id, reportMimeTypes.sbom, sbomMediaTypes.cyclonedx);
    assert.equal(cdx.sbom.bomFormat, 'CycloneDX');
    // Only the SBOM was asked for.
    await assert.rejects(client.report(id, reportMimeTypes.vulnerability), /did not ask for a vulnerability report/);
  });

  test('while the scan waits its report is 302 with Refresh-After and Retry-After', async () => {
    const queue = adapterBerth.berth.jobs.queue;
    await queue.setPaused('SCANNER_ADAPTER_SCAN', true);
    try {
      const { id } = await client.scan({
        registry: { url: registry.url, authorization: registry.admin.authorization },
        artifact: artifact(),
      });
      const res = await fetch(`${adapterBerth.url}/scanner/api/v1/scan/${id}/report`, {
        headers: { accept: reportMimeTypes.vulnerability, 'x-scanneradapter-api-key': apiKey },
        redirect: 'manual',
      });
      assert.equal(res.status, 302);
      assert.equal(res.headers.get('refresh-after'), '2');
      assert.equal(res.headers.get('retry-after'), '2');
      const pending = await client.report(id, reportMimeTypes.vulnerability);
      assert.deepEqual(pending, { status: 'pending', refreshAfterSeconds: 2 });
      await queue.setPaused('SCANNER_ADAPTER_SCAN', false);
      const report = await untilReady(id, reportMimeTypes.vulnerability);
      assert.ok(report.vulnerabilities.length > 0);
      const ready = await fetch(`${adapterBerth.url}/scanner/api/v1/scan/${id}/report`, {
        headers: { accept: reportMimeTypes.vulnerabilityLegacy, 'x-scanneradapter-api-key': apiKey },
      });
      assert.equal(ready.status, 200);
      assert.equal(ready.headers.get('content-type'), reportMimeTypes.vulnerabilityLegacy);
    } finally {
      await queue.setPaused('SCANNER_ADAPTER_SCAN', false);
    }
  });

  test('a scan whose job was stopped before it ran answers 500, not 302 for ever', async () => {
    const queue = adapterBerth.berth.jobs.queue;
    await queue.setPaused('SCANNER_ADAPTER_SCAN', true);
    try {
      const { id } = await client.scan({
        registry: { url: registry.url, authorization: registry.admin.authorization },
        artifact: artifact(),
      });
      const row = await adapterBerth.berth.database.db
        .selectFrom('scanner_adapter_scans')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirstOrThrow();
      assert.equal(await queue.cancel(Number(row.job_id)), 'stopped');
      await assert.rejects(client.report(id, reportMimeTypes.vulnerability), (err: Error & { status?: number }) => {
        assert.equal(err.status, 500);
        assert.match(err.message, /the scan ended without a result/);
        return true;
      });
    } finally {
      await queue.setPaused('SCANNER_ADAPTER_SCAN', false);
    }
  });

  test('a scan whose registry refuses the credential fails: 500 with the reason', async () => {
    const { id } = await client.scan({ registry: { url: registry.url, authorization: 'Bearer not-a-token' }, artifact: artifact() });
    let failure: Error | undefined;
    for (;;) {
      try {
        const r = await client.report(id, reportMimeTypes.vulnerability);
        assert.equal(r.status, 'pending');
        await sleep(100);
      } catch (err) {
        failure = err as Error;
        break;
      }
    }
    assert.equal((failure as any).status, 500);
    assert.match(failure!.message, /401/);
    const row = await adapterBerth.berth.database.db
      .selectFrom('scanner_adapter_scans')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    assert.equal(JSON.parse(row.request).registry.authorization, undefined, 'the credential is not kept after the scan');
  });

  describe('refusals, in the adapter error body', () => {
    const call = async (method: string, p: string, options: { headers?: Record<string, string>; body?: string } = {}) => {
      const res = await fetch(`${adapterBerth.url}/scanner/api/v1${p}`, {
        method,
        headers: { 'x-scanneradapter-api-key': apiKey, ...options.headers },
        body: options.body,
        redirect: 'manual',
      });
      const text = await res.text();
      return { status: res.status, type: res.headers.get('content-type'), body: text ? JSON.parse(text) : undefined };
    };
    const expectError = (res: Awaited<ReturnType<typeof call>>, status: number, message: RegExp) => {
      assert.equal(res.status, status, JSON.stringify(res.body));
      assert.equal(res.type, adapterMimeTypes.error);
      assert.match(res.body.error.message, message);
    };
    const scanBody = (change: (b: any) => void) => {
      const b: any = { registry: { url: registry.url, authorization: 'Basic eA==' }, artifact: artifact() };
      change(b);
      return JSON.stringify(b);
    };
    const post = (body: string) => call('POST', '/scan', { headers: { 'content-type': adapterMimeTypes.scanRequest }, body });

    test("authentication: the API key, as a header or a Bearer token, or an administrator's Basic credentials", async () => {
      expectError(await call('GET', '/metadata', { headers: { 'x-scanneradapter-api-key': '' } }), 401, /authentication is required/);
      expectError(await call('GET', '/metadata', { headers: { 'x-scanneradapter-api-key': 'wrong' } }), 401, /not valid/);
      const bearer = await fetch(`${adapterBerth.url}/scanner/api/v1/metadata`, { headers: { authorization: `Bearer ${apiKey}` } });
      assert.equal(bearer.status, 200);
      assert.equal(bearer.headers.get('content-type'), adapterMimeTypes.metadata);
      const basic = await fetch(`${adapterBerth.url}/scanner/api/v1/metadata`, {
        headers: { authorization: adapterBerth.admin.authorization },
      });
      assert.equal(basic.status, 200);
      const badBasic = await fetch(`${adapterBerth.url}/scanner/api/v1/metadata`, {
        headers: { authorization: basicAuth('admin', 'wrong-password') },
      });
      assert.equal(badBasic.status, 401);
      assert.equal(badBasic.headers.get('content-type'), adapterMimeTypes.error);
    });

    test('scan requests: 400 bad JSON, 422 bad fields, 501 what this scanner cannot do', async () => {
      expectError(await post('{'), 400, /not valid JSON/);
      expectError(await post('[]'), 400, /must be a JSON object/);
      expectError(await post(scanBody((b) => delete b.registry)), 422, /registry\.url is required/);
      expectError(await post(scanBody((b) => (b.registry.url = 'not a url'))), 422, /is not a URL/);
      expectError(await post(scanBody((b) => delete b.artifact.digest)), 422, /repository, digest and mime_type are required/);
      expectError(await post(scanBody((b) => (b.artifact.digest = 'latest'))), 422, /is not a digest/);
      expectError(await post(scanBody((b) => (b.artifact.mime_type = 'application/vnd.cncf.helm.config.v1+json'))), 501, /not supported/);
      expectError(
        await post(scanBody((b) => (b.enabled_capabilities = [{ type: 'malware' }]))),
        501,
        /capability type malware is not supported/,
      );
      expectError(
        await post(scanBody((b) => (b.enabled_capabilities = [{ type: 'sbom', produces_mime_types: [reportMimeTypes.sbom] }]))),
        422,
        /sbom_media_types/,
      );
      expectError(
        await post(scanBody((b) => (b.enabled_capabilities = [{ type: 'sbom', parameters: { sbom_media_types: ['text/plain'] } }]))),
        422,
        /text\/plain is not supported/,
      );
      expectError(
        await post(
          scanBody((b) => (b.enabled_capabilities = [{ type: 'vulnerability', produces_mime_types: [adapterMimeTypes.rawReport] }])),
        ),
        501,
        /does not produce/,
      );
      const rows = await adapterBerth.berth.database.db.selectFrom('scanner_adapter_scans').select('id').execute();
      const accepted = await post(scanBody(() => undefined));
      assert.equal(accepted.status, 202);
      assert.equal(accepted.type, adapterMimeTypes.scanResponse);
      const after = await adapterBerth.berth.database.db.selectFrom('scanner_adapter_scans').select('id').execute();
      assert.equal(after.length, rows.length + 1, 'only the good request was kept');
    });

    test('reports: 404 unknown id, 501 unknown report type, 400 an SBOM without its media type', async () => {
      expectError(
        await call('GET', '/scan/nope/report', { headers: { accept: reportMimeTypes.vulnerability } }),
        404,
        /scan request nope not found/,
      );
      expectError(await call('GET', '/scan/nope/report', { headers: { accept: adapterMimeTypes.rawReport } }), 501, /not produced/);
      expectError(await call('GET', '/scan/nope/report', { headers: { accept: 'text/csv' } }), 501, /not supported/);
      expectError(
        await call('GET', '/scan/nope/report', { headers: { accept: reportMimeTypes.sbom } }),
        400,
        /sbom_media_type is required/,
      );
      expectError(
        await call('GET', '/scan/nope/report?sbom_media_type=text%2Fxml', { headers: { accept: reportMimeTypes.sbom } }),
        400,
        /not supported/,
      );
      expectError(await call('GET', '/nothing-here'), 404, /nothing at GET/);
    });
  });
});
