import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { api, createUser } from '../../helpers/api.js';
import { basicAuth, startServer, type TestServer } from '../../helpers/server.js';
import { VulnDbImporter } from '../../../src/scanning/vulndb/import.js';
import { archiveUrl, updateFromUrl } from '../../../src/scanning/vulndb/update.js';
import { waitFor } from '../../jobs/databases.js';
import { fixtureInventory, fixtureRecords, writeZipDirectory } from './fixtures.js';
import { refusedUrl } from '../../helpers/ports.js';
import { serveDirectory } from './osv-server.js';

test('archive URLs: one per ecosystem, its name escaped', () => {
  assert.equal(archiveUrl('https://osv.example/', 'Red Hat'), 'https://osv.example/Red%20Hat/all.zip');
  assert.equal(archiveUrl('http://127.0.0.1:1/osv', 'crates.io'), 'http://127.0.0.1:1/osv/crates.io/all.zip');
});

describe('VULNDB_UPDATE over HTTP and the /vulndb API', () => {
  let osv: Awaited<ReturnType<typeof serveDirectory>>;
  let server: TestServer;
  before(async () => {
    const root = await writeZipDirectory(fixtureRecords());
    osv = await serveDirectory(root);
    server = await startServer({
      yaml: { 'scanning.vulndb.url': osv.url, 'scanning.vulndb.ecosystems': ['Debian', 'npm', 'PyPI', 'Maven'] },
    });
    await createUser(server, 'vulndb-reader');
  });
  after(async () => {
    await server?.stop();
    await osv?.close();
  });

  test('the status before any update: empty, and only for system administrators', async () => {
    const anonymous = await api(server, 'GET', '/vulndb');
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body.errors[0].code, 'UNAUTHORIZED');
    const user = await api(server, 'GET', '/vulndb', { auth: basicAuth('vulndb-reader', 'Passw0rd1') });
    assert.equal(user.status, 403);
    const denied = await api(server, 'POST', '/vulndb/update', { auth: basicAuth('vulndb-reader', 'Passw0rd1') });
    assert.equal(denied.status, 403);
    const res = await api(server, 'GET', '/vulndb', { auth: server.admin.authorization });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, { updated_at: null, advisories: 0, url: osv.url, ecosystems: [], last_update: null });
  });

  test('POST /vulndb/update queues the job, which downloads each configured all.zip and imports it', async () => {
    const res = await api(server, 'POST', '/vulndb/update', { auth: server.admin.authorization });
    assert.equal(res.status, 201);
    const location = res.headers.get('location')!;
    assert.match(location, /^\/api\/v2\.0\/jobservice\/jobs\/\d+$/);
    const status = await waitFor(
      async () => (await api(server, 'GET', '/vulndb', { auth: server.admin.authorization })).body,
      (body) => ['Success', 'Error'].includes(body.last_update?.status),
      'the update to end',
    );
    assert.equal(status.last_update.status, 'Success', JSON.stringify(status));
    assert.equal(status.last_update.id, Number(location.split('/').pop()));
    assert.deepEqual(osv.requests.sort(), ['/Debian/all.zip', '/Maven/all.zip', '/PyPI/all.zip', '/npm/all.zip']);
    assert.equal(status.updated_at, '2024-05-01T00:00:00Z');
    assert.deepEqual(
      status.ecosystems.map((e: { ecosystem: string; records: number; source: string }) => [e.ecosystem, e.records, e.source]),
      [
        ['Debian', 4, `${osv.url}/Debian/all.zip`],
        ['Maven', 1, `${osv.url}/Maven/all.zip`],
        ['PyPI', 2, `${osv.url}/PyPI/all.zip`],
        ['npm', 3, `${osv.url}/npm/all.zip`],
      ],
    );
    assert.equal(status.advisories, 10);
    const log = await api(server, 'GET', `/jobservice/jobs/${status.last_update.id}/log`, { auth: server.admin.authorization });
    assert.match(String(log.body), /npm: 5 file\(s\) read from .*npm\/all\.zip; 3 record\(s\) imported/);
    const findings = await server.berth.vulndb.matcher.match(fixtureInventory());
    assert.deepEqual(findings.map((f) => f.id).sort(), [
      'CVE-2020-36518',
      'CVE-2021-23337',
      'CVE-2023-32681',
      'CVE-2023-45853',
      'CVE-2023-4807',
      'CVE-2023-5678',
      'CVE-2024-35195',
    ]);
    assert.deepEqual(await readdir(path.join(server.dataDir, 'tmp')), [], 'downloads are removed after the import');
  });

  test('an ecosystem the export does not have is reported with the HTTP status; the others are imported', async () => {
    const importer = new VulnDbImporter(server.berth.vulndb.service.store);
    const results = await updateFromUrl(importer, {
      url: osv.url,
      ecosystems: ['Rocky Linux', 'npm'],
      tempDir: path.join(server.dataDir, 'tmp'),
    });
    assert.match(results[0].error ?? '', /^could not download http:\/\/127\.0\.0\.1:\d+\/Rocky%20Linux\/all\.zip: HTTP 404 Not Found$/);
    assert.equal(results[1].error, undefined);
    assert.equal(results[1].unchanged, 3);
  });
});

describe('VULNDB_UPDATE when the export cannot be reached', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ yaml: { 'scanning.vulndb.url': await refusedUrl(), 'scanning.vulndb.ecosystems': ['npm'] } });
  });
  after(async () => {
    await server?.stop();
  });

  test('the job ends in Error with the unreachable URL named, and nothing was imported', async () => {
    const res = await api(server, 'POST', '/vulndb/update', { auth: server.admin.authorization });
    assert.equal(res.status, 201);
    const status = await waitFor(
      async () => (await api(server, 'GET', '/vulndb', { auth: server.admin.authorization })).body,
      (body) => ['Success', 'Error'].includes(body.last_update?.status),
      'the update to end',
    );
    assert.equal(status.last_update.status, 'Error');
    assert.match(status.last_update.error, /could not download http:\/\/127\.0\.0\.1:\d+\/npm\/all\.zip: ECONNREFUSED/);
    assert.equal(status.advisories, 0);
    assert.deepEqual(status.ecosystems, []);
  });
});

describe('POST /vulndb/update while an update is pending', () => {
  let server: TestServer;
  before(async () => {
    // No job runner: the first update stays pending.
    server = await startServer({ yaml: { 'jobs.concurrency': 0, 'scanning.vulndb.url': await refusedUrl() } });
  });
  after(async () => {
    await server?.stop();
  });

  test('is refused with 409 and Harbor’s error body', async () => {
    assert.equal((await api(server, 'POST', '/vulndb/update', { auth: server.admin.authorization })).status, 201);
    const second = await api(server, 'POST', '/vulndb/update', { auth: server.admin.authorization });
    assert.equal(second.status, 409);
    assert.equal(second.body.errors[0].code, 'CONFLICT');
    assert.match(second.body.errors[0].message, /still pending/);
    const status = await api(server, 'GET', '/vulndb', { auth: server.admin.authorization });
    assert.equal(status.body.last_update.status, 'Pending');
  });
});
