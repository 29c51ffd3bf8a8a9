import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeEach, test } from 'node:test';
import type { Finding } from '../../../src/scanning/types.js';
import { VulnDbError, VulnDbImporter } from '../../../src/scanning/vulndb/import.js';
import { VulnMatcher } from '../../../src/scanning/vulndb/matcher.js';
import { VulnDbStore } from '../../../src/scanning/vulndb/store.js';
import { eachDatabase } from '../../jobs/databases.js';
import { fixtureInventory, fixtureRecords, writeRecordDirectory, writeZip, writeZipDirectory } from './fixtures.js';

/** What the fixtures say about the fixture inventory, worked out by hand from the records. */
const expected: Record<string, { fix: string; severity: string }> = {
  'libssl3@3.0.11-1~deb12u1 CVE-2023-5678': { fix: '3.0.13-1~deb12u1', severity: 'Low' },
  'libssl3@3.0.11-1~deb12u1 CVE-2023-4807': { fix: '3.0.11-1~deb12u2', severity: 'Unknown' },
  'zlib1g@1:1.2.13.dfsg-1 CVE-2023-45853': { fix: '', severity: 'Unknown' },
  'ssl_client@1.36.1-r5 CVE-2023-42363': { fix: '1.36.1-r16', severity: 'Medium' },
  'libssl3@3.0.2-0ubuntu1.10 CVE-2024-0727': { fix: '3.0.2-0ubuntu1.14', severity: 'Low' },
  'lodash@4.17.20 CVE-2021-23337': { fix: '4.17.21', severity: 'High' },
  'requests@2.30.0 CVE-2023-32681': { fix: '', severity: 'Unknown' },
  'requests@2.30.0 CVE-2024-35195': { fix: '2.32.0', severity: 'Medium' },
  'golang.org/x/net@v0.15.0 CVE-2023-39325': { fix: '0.17.0', severity: 'Unknown' },
  'stdlib@1.21.1 CVE-2023-39325': { fix: '1.21.3', severity: 'Unknown' },
  'com.fasterxml.jackson.core:jackson-databind@2.13.1 CVE-2020-36518': { fix: '2.13.2.1', severity: 'High' },
  'smallvec@1.6.0 CVE-2021-25900': { fix: '1.6.1', severity: 'Critical' },
};

function summarise(findings: Finding[]) {
  return Object.fromEntries(findings.map((f) => [`${f.package}@${f.version} ${f.id}`, { fix: f.fix_version, severity: f.severity }]));
}

eachDatabase('vulnerability database: import and matching', (db) => {
  let store: VulnDbStore;
  let importer: VulnDbImporter;
  let matcher: VulnMatcher;
  beforeEach(async () => {
    const handle = db().handle;
    for (const table of ['vuln_affected', 'vuln_advisories', 'vulndb_sources'] as const) await handle.db.deleteFrom(table).execute();
    store = new VulnDbStore(handle.db);
    importer = new VulnDbImporter(store, { batchSize: 3 });
    matcher = new VulnMatcher(handle.db);
  });

  test('a directory of record files: each package matched on its ecosystem, release and source package, per OSV rules', async () => {
    assert.equal(await matcher.updatedAt(), null);
    const dir = await writeRecordDirectory(fixtureRecords());
    const { results, ignored } = await importer.importDirectory(dir);
    assert.deepEqual(ignored, []);
    const npm = results.find((r) => r.ecosystem === 'npm')!;
    assert.deepEqual(
      { read: npm.read, imported: npm.imported, removed: npm.removed, irrelevant: npm.irrelevant, skipped: npm.skipped, error: npm.error },
      { read: 5, imported: 3, removed: 1, irrelevant: 1, skipped: 0, error: undefined },
    );
    const findings = await matcher.match(fixtureInventory());
    assert.deepEqual(summarise(findings), expected);
    assert.equal(await matcher.updatedAt(), '2024-05-01T00:00:00Z');

    const lodash = findings.find((f) => f.package === 'lodash')!;
    assert.deepEqual(lodash.vendor_attributes?.advisories, ['GHSA-35jh-r3h4-6jhm', 'OSV-2021-lodash'], 'aliases merged into one finding');
    assert.deepEqual(lodash.preferred_cvss, { score_v3: 7.2, vector_v3: 'CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H' });
    assert.deepEqual(lodash.cwe_ids, ['CWE-77', 'CWE-94']);
    assert.deepEqual(lodash.links, [
      'https://nvd.nist.gov/vuln/detail/CVE-2021-23337',
      'https://github.com/lodash/lodash',
      'https://example.org/lodash',
    ]);
    assert.match(lodash.description, /Command Injection via the template function/);
    const zlib = findings.find((f) => f.package === 'zlib1g')!;
    assert.equal(zlib.description, 'MiniZip in zlib has an integer overflow.');
    assert.deepEqual(zlib.links, ['https://osv.dev/vulnerability/DEBIAN-CVE-2023-45853']);
    assert.equal(findings.find((f) => f.package === 'ssl_client')!.preferred_cvss?.score_v3, 5.5);
  });

  test('each all.zip of the export layout gives the same findings; a second import changes nothing; a newer record replaces the stored one', async () => {
    const dir = await writeZipDirectory(fixtureRecords());
    const first = await importer.importDirectory(dir);
    assert.ok(first.results.every((r) => r.error === undefined));
    assert.deepEqual(summarise(await matcher.match(fixtureInventory())), expected);

    const again = await importer.importDirectory(dir);
    assert.equal(
      again.results.reduce((n, r) => n + r.imported, 0),
      0,
    );
    assert.equal(
      again.results.reduce((n, r) => n + r.unchanged, 0),
      first.results.reduce((n, r) => n + r.imported, 0),
    );
    assert.deepEqual(summarise(await matcher.match(fixtureInventory())), expected);

    const records = fixtureRecords();
    const ghsa = records.npm[0] as { modified: string; affected: Array<{ ranges: Array<{ events: object[] }> }> };
    ghsa.modified = '2024-06-01T00:00:00Z';
    ghsa.affected[0].ranges[0].events = [{ introduced: '0' }, { fixed: '4.17.19' }];
    records.npm.splice(1, 1);
    const newer = await importer.importZip('npm', await zipOf(records.npm));
    assert.equal(newer.imported, 1);
    // The GHSA record no longer holds 4.17.20; the other record of the same CVE (not in this archive) stays and still does.
    const lodash = (await matcher.match(fixtureInventory())).filter((f) => f.package === 'lodash');
    assert.deepEqual(
      lodash.map((f) => [f.id, f.fix_version, f.vendor_attributes?.advisories]),
      [['CVE-2021-23337', '4.17.21', ['OSV-2021-lodash']]],
    );
  });

  test('archives with data descriptors (as Go writes them) and with stored entries read the same', async () => {
    const records = fixtureRecords();
    const dir = await mkdtemp(path.join(tmpdir(), 'berth-osv-kinds-'));
    for (const [i, [ecosystem, list]] of Object.entries(records).entries()) {
      await writeZip(path.join(dir, ecosystem, 'all.zip'), list, {}, i % 2 === 0 ? 'streamed' : 'stored');
    }
    const { results } = await importer.importDirectory(dir);
    assert.deepEqual(
      results.filter((r) => r.error || r.skipped),
      [],
    );
    assert.deepEqual(summarise(await matcher.match(fixtureInventory())), expected);
  });

  test('a record withdrawn later is removed, and matches nothing', async () => {
    await importer.importDirectory(await writeRecordDirectory(fixtureRecords()));
    const records = fixtureRecords();
    const withdrawn = records.Alpine.map((r) => ({ ...r, modified: '2024-07-01T00:00:00Z', withdrawn: '2024-07-01T00:00:00Z' }));
    const result = await importer.importZip('Alpine', await zipOf(withdrawn));
    assert.equal(result.removed, 2);
    const findings = summarise(await matcher.match(fixtureInventory()));
    assert.equal(findings['ssl_client@1.36.1-r5 CVE-2023-42363'], undefined);
    assert.equal(Object.keys(findings).length, Object.keys(expected).length - 1);
  });

  test('bad input: files that are not OSV records are skipped and counted; an archive that is not a zip fails that ecosystem only, leaving what was imported', async () => {
    await importer.importDirectory(await writeRecordDirectory(fixtureRecords()));
    const dir = await mkdtemp(path.join(tmpdir(), 'berth-osv-bad-'));
    await writeZip(path.join(dir, 'npm', 'all.zip'), [], {
      'broken.json': '{"id": "GHSA-broken", "modified": ',
      'no-id.json': JSON.stringify({ modified: '2024-01-01T00:00:00Z', affected: [] }),
      'list.json': '[1, 2]',
      'README.txt': 'not a record, not a .json entry: passed over',
    });
    await mkdir(path.join(dir, 'PyPI'));
    await writeFile(path.join(dir, 'PyPI', 'all.zip'), 'this is not a zip archive');
    await mkdir(path.join(dir, 'NotAnEcosystem'));
    const { results, ignored } = await importer.importDirectory(dir);
    assert.deepEqual(ignored, ['NotAnEcosystem']);
    const npm = results.find((r) => r.ecosystem === 'npm')!;
    assert.equal(npm.read, 3);
    assert.equal(npm.skipped, 3);
    assert.equal(npm.error, undefined);
    assert.match(npm.problems.join('\n'), /broken\.json: not JSON/);
    assert.match(npm.problems.join('\n'), /no-id\.json: not an OSV record \(no id\)/);
    const pypi = results.find((r) => r.ecosystem === 'PyPI')!;
    assert.match(pypi.error ?? '', /all\.zip is not a readable zip archive/);
    assert.deepEqual(summarise(await matcher.match(fixtureInventory())), expected, 'the records imported before still match');
    const sources = await store.sources();
    assert.equal(sources.find((s) => s.ecosystem === 'PyPI')!.records, 2, 'the failed import did not replace the last good one');
  });

  test('a directory without ecosystem folders is refused with a clear error', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'berth-osv-empty-'));
    await writeFile(path.join(dir, 'GHSA-1.json'), '{}');
    await assert.rejects(
      importer.importDirectory(dir),
      (err: Error) => err instanceof VulnDbError && /holds no OSV ecosystem folder/.test(err.message),
    );
    await assert.rejects(
      importer.importDirectory(path.join(dir, 'missing')),
      (err: Error) => err instanceof VulnDbError && /cannot read/.test(err.message),
    );
  });

  test('a bare ecosystem record applies to every release; a release-less package does not take every release’s records', async () => {
    const records = {
      Debian: [
        {
          id: 'DEBIAN-CVE-2020-0001',
          modified: '2024-01-01T00:00:00Z',
          affected: [
            {
              package: { ecosystem: 'Debian', name: 'bash' },
              ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '5.2-1' }] }],
            },
          ],
        },
        {
          id: 'DEBIAN-CVE-2020-0002',
          modified: '2024-01-01T00:00:00Z',
          affected: [{ package: { ecosystem: 'Debian:12', name: 'bash' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }] }],
        },
      ],
    };
    await importer.importDirectory(await writeRecordDirectory(records));
    const inventory = (ecosystem: string) => ({
      os: null,
      notes: [],
      layers: [],
      packages: [{ ecosystem, name: 'bash', version: '5.1-2', purl: 'pkg:deb/debian/bash@5.1-2', path: 'var/lib/dpkg/status', layer: 0 }],
    });
    assert.deepEqual(
      (await matcher.match(inventory('Debian:12'))).map((f) => f.id),
      ['DEBIAN-CVE-2020-0001', 'DEBIAN-CVE-2020-0002'],
    );
    assert.deepEqual(
      (await matcher.match(inventory('Debian:11'))).map((f) => f.id),
      ['DEBIAN-CVE-2020-0001'],
    );
    assert.deepEqual(
      (await matcher.match(inventory('Debian'))).map((f) => f.id),
      ['DEBIAN-CVE-2020-0001'],
    );
  });
});

async function zipOf(records: Array<Record<string, unknown>>): Promise<string> {
  const file = path.join(await mkdtemp(path.join(tmpdir(), 'berth-osv-one-')), 'all.zip');
  await writeZip(file, records);
  return file;
}
