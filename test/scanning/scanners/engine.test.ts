/**
 * The built-in engine on its own (as scans of the built-in registration call it): an index
 * scanned child by child and reported as one, what is asked for and nothing else; the
 * built-in registration's URL from server.external_url; the adapter's prune.
 */
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sbomMediaTypes } from '../../../src/scanning/types.js';
import { api } from '../../helpers/api.js';
import { testDialect } from '../../helpers/database.js';
import { startServer, type TestServer } from '../../helpers/server.js';
import { layerOf, MemoryImage } from '../inventory/helpers.js';

const osRelease = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n';
const stanza = (name: string, version: string) =>
  `Package: ${name}\nStatus: install ok installed\nArchitecture: amd64\nVersion: ${version}\nMaintainer: Test <t@example.com>\nDescription: ${name}\n`;

describe(`BuiltinScanner (${testDialect()})`, () => {
  let server: TestServer;
  let osvDir: string;

  before(async () => {
    server = await startServer({ yaml: { 'server.external_url': 'https://registry.example.com/' } });
    osvDir = await mkdtemp(path.join(tmpdir(), 'berth-osv-'));
    await mkdir(path.join(osvDir, 'Debian'));
    for (const [id, name, fixed] of [
      ['DEBIAN-CVE-2099-1001', 'foo', '1.0-2'],
      ['DEBIAN-CVE-2099-1002', 'common', '1.0-2'],
      ['DEBIAN-CVE-2099-1003', 'bar', '1.0-1'],
    ]) {
      const record = {
        id,
        modified: '2026-02-03T04:05:06Z',
        aliases: [id.replace('DEBIAN-', '')],
        summary: `${name} advisory`,
        affected: [
          { package: { ecosystem: 'Debian:12', name }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed }] }] },
        ],
      };
      await writeFile(path.join(osvDir, 'Debian', `${id}.json`), JSON.stringify(record));
    }
    await server.berth.vulndb.service.importDirectory(osvDir);
  });
  after(async () => {
    await server?.stop();
    if (osvDir) await rm(osvDir, { recursive: true, force: true });
  });

  async function twoPlatformIndex() {
    const image = new MemoryImage();
    const child = async (packages: string) =>
      image.addImage([
        await layerOf([
          { path: 'etc/os-release', content: osRelease },
          { path: 'var/lib/dpkg/status', content: packages },
        ]),
      ]);
    const amd64 = await child([stanza('foo', '1.0-1'), stanza('common', '1.0-1')].join('\n'));
    const arm64 = await child([stanza('bar', '2.0-1'), stanza('common', '1.0-1')].join('\n'));
    const index = image.addManifest('application/vnd.oci.image.index.v1+json', {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [amd64, arm64].map((digest, i) => ({
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest,
        size: image.manifests.get(digest)!.bytes.length,
        platform: { architecture: i === 0 ? 'amd64' : 'arm64', os: 'linux' },
      })),
    });
    return { image, index };
  }

  test('an index is scanned child by child and reported once: findings de-duplicated, every package in the SBOM', async () => {
    const { image, index } = await twoPlatformIndex();
    const engine = server.berth.scanners.engine;
    const artifact = { repository: 'library/multi', digest: index, tag: 'v1', mimeType: 'application/vnd.oci.image.index.v1+json' };
    const out = await engine.scan(image, artifact, { vulnerability: true, sbom: [sbomMediaTypes.spdx, sbomMediaTypes.cyclonedx] });
    const report = out.vulnerability!;
    assert.deepEqual(report.artifact, { repository: 'library/multi', digest: index, tag: 'v1', mime_type: artifact.mimeType });
    assert.deepEqual(report.scanner, engine.info);
    assert.deepEqual(
      report.vulnerabilities.map((v) => [v.id, v.package, v.version, v.fix_version]).sort(),
      [
        ['CVE-2099-1001', 'foo', '1.0-1', '1.0-2'],
        ['CVE-2099-1002', 'common', '1.0-1', '1.0-2'],
      ].sort(),
    );
    assert.deepEqual(
      out.sbom!.map((s) => s.media_type),
      [sbomMediaTypes.spdx, sbomMediaTypes.cyclonedx],
    );
    const spdxNames = (out.sbom![0].sbom.packages as Array<{ name: string }>).map((p) => p.name);
    for (const name of ['foo', 'bar', 'common']) assert.ok(spdxNames.includes(name), name);
  });

  test('only what is asked for is produced', async () => {
    const { image, index } = await twoPlatformIndex();
    const artifact = { repository: 'library/multi', digest: index, mimeType: 'application/vnd.oci.image.index.v1+json' };
    const vulnOnly = await server.berth.scanners.engine.scan(image, artifact, { vulnerability: true });
    assert.ok(vulnOnly.vulnerability);
    assert.equal(vulnOnly.sbom, undefined);
    const sbomOnly = await server.berth.scanners.engine.scan(image, artifact, { sbom: [sbomMediaTypes.cyclonedx] });
    assert.equal(sbomOnly.vulnerability, undefined);
    assert.equal(sbomOnly.sbom!.length, 1);
    assert.equal(sbomOnly.sbom![0].sbom.bomFormat, 'CycloneDX');
  });

  test('a stopped scan stops', async () => {
    const { image, index } = await twoPlatformIndex();
    const controller = new AbortController();
    controller.abort(new Error('stopped by the test'));
    await assert.rejects(
      server.berth.scanners.engine.scan(
        image,
        { repository: 'r', digest: index, mimeType: 'application/vnd.oci.image.index.v1+json' },
        { vulnerability: true },
        controller.signal,
      ),
      /stopped by the test/,
    );
  });

  test('the metadata says when the vulnerability database was last updated', async () => {
    const meta = await server.berth.scanners.engine.metadata();
    assert.equal(
      Date.parse(meta.properties!['harbor.scanner-adapter/vulnerability-database-updated-at']),
      Date.parse('2026-02-03T04:05:06Z'),
    );
  });

  test('with server.external_url the built-in registration is <external_url>/scanner', async () => {
    const list = await api(server, 'GET', '/scanners', { auth: server.admin.authorization });
    assert.equal(list.body[0].url, 'https://registry.example.com/scanner');
    const access = await api(server, 'GET', '/system/scanner-adapter', { auth: server.admin.authorization });
    assert.equal(access.body.url, 'https://registry.example.com/scanner');
  });

  test('adapter scans are pruned a day after they last changed', async () => {
    const db = server.berth.database.db;
    const old = new Date(Date.now() - 25 * 3600_000).toISOString();
    const fresh = new Date().toISOString();
    await db
      .insertInto('scanner_adapter_scans')
      .values([
        { id: 'old-scan', status: 'Success', request: '{}', reports: '{}', error: null, job_id: null, created_at: old, updated_at: old },
        {
          id: 'new-scan',
          status: 'Success',
          request: '{}',
          reports: '{}',
          error: null,
          job_id: null,
          created_at: fresh,
          updated_at: fresh,
        },
      ])
      .execute();
    assert.equal(await server.berth.scanners.adapter.prune(), 1);
    const left = await db.selectFrom('scanner_adapter_scans').select('id').where('id', 'in', ['old-scan', 'new-scan']).execute();
    assert.deepEqual(
      left.map((r) => r.id),
      ['new-scan'],
    );
    const schedule = await db
      .selectFrom('schedules')
      .select(['job_type', 'cron'])
      .where('name', '=', 'SCANNER_ADAPTER_PRUNE')
      .executeTakeFirst();
    assert.deepEqual(schedule, { job_type: 'SCANNER_ADAPTER_PRUNE', cron: '17 * * * *' });
  });
});
