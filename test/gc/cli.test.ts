import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { pushImage } from '../helpers/oci.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { V2 } from '../helpers/v2.js';
import { filesystemObjects } from './helpers.js';

const bin = path.resolve('bin/berth.js');

let server: TestServer;
let image: Awaited<ReturnType<typeof pushImage>>;
before(async () => {
  server = await startServer();
  image = await pushImage(server.url, 'library/cli-gc', 'v1', { headers: server.admin });
  const del = await new V2(server).call('DELETE', `/v2/library/cli-gc/manifests/${image.digest}`);
  assert.equal(del.status, 202);
  // Offline, as an operator would run it: the server is stopped, its data stays.
  await server.berth.close();
});
after(async () => {
  await server.stop();
});

function berthGc(env: Record<string, string>, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [bin, 'gc', '--data-dir', server.dataDir, ...args], {
    // On a PostgreSQL run, the database comes from BERTH_DATABASE_URL as an operator would give it.
    env: { ...process.env, BERTH_LOG_LEVEL: 'warn', BERTH_DATABASE_URL: server.databaseUrl ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

const windowZero = { BERTH_GC_TIME_WINDOW_HOURS: '0' };

test('berth gc within the default time window frees nothing', async () => {
  const out = await berthGc({});
  assert.equal(out.code, 0, out.stderr + out.stdout);
  assert.match(out.stdout, /^gc \d+: Success$/m);
  assert.match(out.stdout, /freed: +0 bytes \(0\.0 MiB\) in 0 blob\(s\)/);
  assert.ok(await filesystemObjects(server).exists(image.layer.digest));
});

test('berth gc --dry-run with BERTH_GC_TIME_WINDOW_HOURS=0 says what it would free, and frees nothing', async () => {
  const out = await berthGc(windowZero, '--dry-run', '--json');
  assert.equal(out.code, 0, out.stderr + out.stdout);
  const doc = JSON.parse(out.stdout) as Record<string, unknown>;
  assert.equal(doc.status, 'Success');
  assert.equal(doc.dry_run, true);
  assert.equal(doc.time_window, 0);
  assert.equal(doc.purged_blobs, 2);
  assert.equal(doc.freed_space, image.config.size + image.layer.size);
  assert.ok(await filesystemObjects(server).exists(image.layer.digest));
});

test('berth gc then frees what the deleted image held and exits 0', async () => {
  const out = await berthGc(windowZero, '--workers', '2');
  assert.equal(out.code, 0, out.stderr + out.stdout);
  assert.match(out.stdout, new RegExp(`freed: +${image.config.size + image.layer.size} bytes .* in 2 blob\\(s\\)`));
  assert.equal(await filesystemObjects(server).exists(image.layer.digest), false);
  assert.equal(await filesystemObjects(server).exists(image.config.digest), false);
});

test('berth gc refuses a bad --workers with exit 2, starting nothing', async () => {
  const out = await berthGc(windowZero, '--workers', '11');
  assert.equal(out.code, 2);
  assert.match(out.stderr, /--workers must be an integer from 1 to 10/);
  const bad = await berthGc({ BERTH_GC_TIME_WINDOW_HOURS: 'soon' });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /BERTH_GC_TIME_WINDOW_HOURS="soon" is not a number/);
  const negative = await berthGc({ BERTH_GC_TIME_WINDOW_HOURS: '-1' });
  assert.equal(negative.code, 2);
  assert.match(negative.stderr, /gc\.time_window_hours/);
});
