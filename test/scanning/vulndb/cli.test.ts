import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js';
import { startServer } from '../../helpers/server.js';
import { fixtureInventory, fixtureRecords, writeRecordDirectory, writeZip, writeZipDirectory } from './fixtures.js';
import { refusedUrl } from '../../helpers/ports.js';
import { serveDirectory } from './osv-server.js';

const bin = path.resolve('bin/berth.js');

let dataDir: string;
let database: TestDatabase | null;
before(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'berth-vulndb-cli-'));
  database = await createTestDatabase();
});
after(async () => {
  await rm(dataDir, { recursive: true, force: true });
  await database?.drop();
});

function berth(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [bin, 'vulndb', ...args, '--data-dir', dataDir], {
    // On a PostgreSQL run, the database comes from BERTH_DATABASE_URL as an operator would give it.
    env: { ...process.env, BERTH_LOG_LEVEL: 'warn', BERTH_DATABASE_URL: database?.url ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

test('berth vulndb import DIR loads record files and all.zip archives into the database a server then matches with', async () => {
  const records = fixtureRecords();
  // Half of the ecosystems as loose record files, half as all.zip, as the export's folders may hold either.
  const dir = await writeRecordDirectory({ Debian: records.Debian, npm: records.npm, PyPI: records.PyPI, Go: records.Go });
  await writeZipDirectory({ Alpine: records.Alpine, Ubuntu: records.Ubuntu, Maven: records.Maven, 'crates.io': records['crates.io'] }, dir);
  const out = await berth('import', dir);
  assert.equal(out.code, 0, out.stderr + out.stdout);
  assert.match(
    out.stdout,
    /^npm: 5 file\(s\) read from .*; 3 record\(s\) imported, 0 unchanged, 1 withdrawn, 1 without a supported package, 0 skipped$/m,
  );
  assert.match(out.stdout, /^Alpine: 2 file\(s\) read from .*; 2 record\(s\) imported/m);

  const status = await berth('status', '--json');
  assert.equal(status.code, 0, status.stderr);
  const doc = JSON.parse(status.stdout);
  assert.equal(doc.advisories, 15);
  assert.equal(doc.updated_at, '2024-05-01T00:00:00Z');
  assert.deepEqual(
    doc.ecosystems.map((e: { ecosystem: string }) => e.ecosystem),
    ['Alpine', 'Debian', 'Go', 'Maven', 'PyPI', 'Ubuntu', 'crates.io', 'npm'],
  );

  // The same data directory (and database) served: its matcher sees what the command imported.
  const server = await startServer({ dataDir, yaml: database ? { 'database.url': database.url } : {} });
  try {
    const findings = await server.berth.vulndb.matcher.match(fixtureInventory());
    assert.equal(findings.length, 12);
    assert.equal(await server.berth.vulndb.matcher.updatedAt(), '2024-05-01T00:00:00Z');
  } finally {
    await server.berth.close();
  }
});

test('berth vulndb import: bad records are counted, an unreadable archive fails its ecosystem (exit 1), no ecosystem folder exits 3', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'berth-osv-cli-bad-'));
  await writeZip(path.join(dir, 'npm', 'all.zip'), [fixtureRecords().npm[0]], { 'broken.json': '{' });
  await mkdir(path.join(dir, 'PyPI'));
  await writeFile(path.join(dir, 'PyPI', 'all.zip'), 'not a zip');
  const out = await berth('import', dir);
  assert.equal(out.code, 1, out.stderr + out.stdout);
  assert.match(out.stdout, /^npm: 2 file\(s\) read .* 1 skipped \(broken\.json: not JSON/m);
  assert.match(out.stdout, /^PyPI: .*FAILED: .*all\.zip is not a readable zip archive/m);

  const empty = await mkdtemp(path.join(tmpdir(), 'berth-osv-cli-empty-'));
  const none = await berth('import', empty);
  assert.equal(none.code, 3);
  assert.match(none.stderr, /berth vulndb import: .* holds no OSV ecosystem folder/);
});

test('berth vulndb update downloads from --url; an unreachable URL says so and exits 3', async () => {
  const root = await writeZipDirectory({ npm: fixtureRecords().npm });
  const osv = await serveDirectory(root);
  try {
    // The default ecosystems: only npm exists on this server, the others answer 404.
    const out = await berth('update', '--url', osv.url, '--json');
    assert.equal(out.code, 1, out.stderr + out.stdout);
    const results = JSON.parse(out.stdout) as Array<{ ecosystem: string; error?: string; unchanged: number }>;
    assert.deepEqual(
      results.map((r) => r.ecosystem),
      ['Debian', 'Ubuntu', 'Alpine', 'npm', 'PyPI', 'Go', 'Maven', 'crates.io'],
    );
    assert.equal(results.find((r) => r.ecosystem === 'npm')!.error, undefined);
    assert.match(results.find((r) => r.ecosystem === 'Debian')!.error!, /HTTP 404/);
  } finally {
    await osv.close();
  }
  const down = await berth('update', '--url', await refusedUrl());
  assert.equal(down.code, 3);
  assert.match(down.stdout, /^Debian: .*FAILED: could not download http:\/\/127\.0\.0\.1:\d+\/Debian\/all\.zip: ECONNREFUSED/m);
});
