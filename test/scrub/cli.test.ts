import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { pushImage } from '../helpers/oci.js';
import { startServer, type TestServer } from '../helpers/server.js';

const bin = path.resolve('bin/berth.js');

let server: TestServer;
let image: Awaited<ReturnType<typeof pushImage>>;
before(async () => {
  server = await startServer();
  image = await pushImage(server.url, 'library/cli-scrub', 'v1', { headers: server.admin });
  // Offline, as an operator would run it: the server is stopped, its data stays.
  await server.berth.close();
});
after(async () => {
  await server.stop();
});

function berthScrub(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [bin, 'scrub', '--data-dir', server.dataDir, ...args], {
    // On a PostgreSQL run, the database comes from BERTH_DATABASE_URL as an operator would give it.
    env: { ...process.env, BERTH_LOG_LEVEL: 'warn', BERTH_DATABASE_URL: server.databaseUrl ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

function blobFile(digest: string): string {
  const hex = digest.slice('sha256:'.length);
  return path.join(server.berth.paths.storageRoot, 'blobs', 'sha256', hex.slice(0, 2), hex);
}

test('berth scrub on a healthy store prints the counts and exits 0', async () => {
  const out = await berthScrub();
  assert.equal(out.code, 0, out.stderr + out.stdout);
  assert.match(out.stdout, /^scrub \d+: Success \(no problems found\)/m);
  assert.match(out.stdout, /blobs: +2 of 2 checked/);
  assert.match(out.stdout, /manifests: +1 of 1 checked/);
  assert.match(out.stdout, /problems: +0 /);
});

test('berth scrub finds a corrupt blob file, lists it and exits 1; --json says the same', async () => {
  const file = blobFile(image.layer.digest);
  const bytes = await readFile(file);
  bytes[0] ^= 0xff;
  await writeFile(file, bytes);

  const report = await berthScrub('--report-only', '--json');
  assert.equal(report.code, 1, report.stderr);
  const doc = JSON.parse(report.stdout) as {
    run: { job_kind: string; results: Record<string, number> };
    findings: Array<{ kind: string; digest: string; quarantined: boolean }>;
  };
  assert.equal(doc.run.job_kind, 'CLI');
  assert.equal(doc.run.results.digest_mismatches, 1);
  assert.deepEqual(
    doc.findings.map((f) => [f.kind, f.digest, f.quarantined]),
    [['digest_mismatch', image.layer.digest, false]],
  );

  const out = await berthScrub('--workers', '1');
  assert.equal(out.code, 1, out.stderr);
  assert.match(out.stdout, /problems: +1 \(digest mismatches 1,/);
  assert.match(out.stdout, /quarantined 1/);
  assert.ok(out.stdout.includes(`digest_mismatch`) && out.stdout.includes(image.layer.digest), out.stdout);
  assert.match(out.stdout, /affected_artifact .*library\/cli-scrub@/);
});

test('berth scrub refuses a bad --workers with exit 2, starting nothing', async () => {
  const out = await berthScrub('--workers', '0');
  assert.equal(out.code, 2);
  assert.match(out.stderr, /--workers must be an integer from 1 to 32/);
  const json = await berthScrub('--json', '--report-only');
  const doc = JSON.parse(json.stdout) as { run: { id: number } };
  assert.equal(doc.run.id, 4, 'the refused command added no run to the history');
});
