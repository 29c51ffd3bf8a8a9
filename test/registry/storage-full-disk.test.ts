// The same promises as storage-full.test.ts on a really full disk: Berth's data directory
// (the SQLite file and the blob store) on a small tmpfs that a filler file fills up. Mounting
// needs root (CAP_SYS_ADMIN); where mount is refused the test is skipped, saying why:
// storage-full.test.ts covers the same paths with injected faults everywhere.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pushImage, types } from '../helpers/oci.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { assertOciError, digestOf, V2 } from '../helpers/v2.js';

const dir = mkdtempSync(path.join(tmpdir(), 'berth-full-disk-'));
let mountProblem: string | false = false;
try {
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=32m', 'berth-test', dir], { stdio: 'pipe' });
} catch (err) {
  mountProblem = `cannot mount a tmpfs here (${String((err as { stderr?: Buffer }).stderr ?? err).trim()}); storage-full.test.ts covers the same paths with injected faults`;
  rmSync(dir, { recursive: true, force: true });
}

const repo = 'library/full-disk';
const filler = path.join(dir, 'filler');
let server: TestServer;
let v2: V2;
let good: Awaited<ReturnType<typeof pushImage>>;

describe('on a really full disk (tmpfs)', { skip: mountProblem, timeout: 120_000 }, () => {
  before(async () => {
    server = await startServer({ dataDir: dir });
    v2 = new V2(server);
    good = await pushImage(server.url, repo, 'good', { headers: server.admin });
  });
  after(async () => {
    await server?.stop({ keepData: true });
    execFileSync('umount', [dir]);
    rmSync(dir, { recursive: true, force: true });
  });

  const uploadFiles = () => readdirSync(path.join(dir, 'storage', 'uploads'));
  const readsStillWork = async () => {
    const manifest = await v2.call('GET', `/v2/${repo}/manifests/good`);
    assert.equal(manifest.headers.get('docker-content-digest'), good.digest);
    const layer = await v2.call('GET', `/v2/${repo}/blobs/${good.layer.digest}`);
    assert.ok(layer.bytes.equals(good.layer.data));
  };

  test('with the disk full, blob and manifest pushes get 507 storage is full, leave no upload file, and reads keep working', async () => {
    const { bavail, bsize } = statfsSync(dir);
    writeFileSync(filler, Buffer.alloc(bavail * bsize - 128 * 1024));

    const data = randomBytes(2 * 1024 * 1024);
    const blob = await v2.call('POST', `/v2/${repo}/blobs/uploads/?digest=${digestOf(data)}`, {
      headers: { 'content-type': 'application/octet-stream' },
      body: data,
    });
    assertOciError(blob, 507, 'UNKNOWN', /storage is full/);
    assert.deepEqual(uploadFiles(), [], 'no partial or empty upload file is left');
    assert.equal((await v2.call('HEAD', `/v2/${repo}/blobs/${digestOf(data)}`)).status, 404);

    await readsStillWork();
    // On PostgreSQL the database lives elsewhere: only the blob store is on the full disk.
    if (server.databaseUrl) return;
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: types.manifest,
        config: { mediaType: types.config, digest: good.config.digest, size: good.config.size },
        layers: [{ mediaType: types.layer, digest: good.layer.digest, size: good.layer.size }],
        annotations: { padding: 'x'.repeat(1024 * 1024) },
      }),
    );
    assertOciError(await v2.putManifest(repo, 'big', manifest, types.manifest), 507, 'UNKNOWN', /storage is full/);
    assert.equal((await v2.call('GET', `/v2/${repo}/manifests/big`)).status, 404);
    await readsStillWork();
  });

  test('once space is freed, pushes succeed again without a restart, one after another', async () => {
    rmSync(filler);
    for (const tag of ['after-1', 'after-2', 'after-3']) {
      const image = await pushImage(server.url, repo, tag, { headers: server.admin, layer: randomBytes(512 * 1024).toString('hex') });
      assert.equal((await v2.call('GET', `/v2/${repo}/manifests/${tag}`)).headers.get('docker-content-digest'), image.digest);
    }
    assert.deepEqual(uploadFiles(), []);
    await readsStillWork();
  });
});
