import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFile, cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { createTestDatabase, testDialect } from '../helpers/database.js';
import { pushImage } from '../helpers/oci.js';
import { listings, populate } from '../helpers/populate.js';
import { startServer } from '../helpers/server.js';
import { requireTools } from '../helpers/tools.js';

const bin = path.resolve('bin/berth.js');

function berth(args: string[], env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

/** The listings without the project a push was in flight to during the backup (it may or may not be in it). */
function settled(all: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(all).filter(([key]) => key !== 'repositories:busy' && !key.startsWith('artifacts:busy/')));
}

test(
  'berth backup of a running, populated Berth (a push in flight) and berth restore into a new data dir: the restored Berth serves exactly what was backed up',
  { skip: testDialect() === 'postgres' ? requireTools('pg_dump', 'pg_restore') : false },
  async () => {
    const original = await startServer();
    const backupRoot = await mkdtemp(path.join(tmpdir(), 'berth-backup-'));
    const backup = path.join(backupRoot, 'b1');
    const restoredDir = await mkdtemp(path.join(tmpdir(), 'berth-restored-'));
    const restoredDb = await createTestDatabase();
    const env = { BERTH_DATABASE_URL: original.databaseUrl ?? '' };
    const restoredEnv = { BERTH_DATABASE_URL: restoredDb?.url ?? '' };
    let restored: Awaited<ReturnType<typeof startServer>> | undefined;
    try {
      const auth = original.admin.authorization;
      const populated = await populate(original.url, auth);
      await fetch(`${original.url}/api/v2.0/projects`, {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/json' },
        body: JSON.stringify({ project_name: 'busy' }),
      });
      const before = await listings(original.url, auth);

      // Pushes keep going while the backup runs.
      let pushing = true;
      const pushes = (async () => {
        for (let i = 0; pushing && i < 50; i++) await pushImage(original.url, 'busy/inflight', `t${i}`, { headers: original.admin });
      })();
      const made = await berth(['backup', backup, '--data-dir', original.dataDir], env);
      pushing = false;
      await pushes;
      assert.equal(made.status, 0, made.stderr);
      assert.match(made.stdout, /^backup written to /);
      const manifest = JSON.parse(await readFile(path.join(backup, 'manifest.json'), 'utf8'));
      assert.equal(manifest.format, 'berth-backup');
      assert.match(manifest.database.migration, /^\d{3}_/);
      assert.equal(manifest.counts.projects >= 4, true);
      assert.equal(manifest.blobs.storage, 'filesystem');

      // A backup is never written over another.
      const again = await berth(['backup', backup, '--data-dir', original.dataDir], env);
      assert.equal(again.status, 2);
      assert.match(again.stderr, /is not empty/);

      // A damaged backup is refused before anything is written.
      const damaged = path.join(backupRoot, 'damaged');
      await cp(backup, damaged, { recursive: true });
      await appendFile(path.join(damaged, manifest.database.file), 'x');
      const refused = await berth(['restore', damaged, '--data-dir', restoredDir], restoredEnv);
      assert.equal(refused.status, 3, refused.stderr);
      assert.match(refused.stderr, /does not match the checksum/);
      assert.deepEqual(await readdir(restoredDir), []);

      const done = await berth(['restore', backup, '--data-dir', restoredDir], restoredEnv);
      assert.equal(done.status, 0, done.stderr);
      assert.match(done.stdout, /^restored /);
      // Restoring over it again needs --force.
      const over = await berth(['restore', backup, '--data-dir', restoredDir], restoredEnv);
      assert.equal(over.status, 2);
      assert.match(over.stderr, /already holds data|is not empty/);

      restored = await startServer({ dataDir: restoredDir, yaml: restoredDb ? { 'database.url': restoredDb.url } : {} });
      const after = await listings(restored.url, restored.admin.authorization);
      assert.deepEqual(settled(after), settled(before));

      // Every artifact and blob, pulled by digest, has the same bytes.
      for (const m of populated.manifests) {
        const a = await fetch(`${original.url}/v2/${m.repository}/manifests/${m.digest}`, { headers: original.admin });
        const b: Response = await fetch(`${restored.url}/v2/${m.repository}/manifests/${m.digest}`, { headers: restored.admin });
        assert.equal(b.status, 200, `${m.repository}@${m.digest}`);
        assert.deepEqual(Buffer.from(await b.arrayBuffer()), Buffer.from(await a.arrayBuffer()));
        if (m.tag) {
          const byTag: Response = await fetch(`${restored.url}/v2/${m.repository}/manifests/${m.tag}`, {
            headers: restored.admin,
            method: 'HEAD',
          });
          assert.equal(byTag.headers.get('docker-content-digest'), m.digest);
        }
      }
      for (const blob of populated.blobs) {
        const a = await fetch(`${original.url}/v2/${blob.repository}/blobs/${blob.digest}`, { headers: original.admin });
        const b: Response = await fetch(`${restored.url}/v2/${blob.repository}/blobs/${blob.digest}`, { headers: restored.admin });
        assert.equal(b.status, 200, `${blob.repository}@${blob.digest}`);
        assert.deepEqual(Buffer.from(await b.arrayBuffer()), Buffer.from(await a.arrayBuffer()));
      }
      // Whatever of the in-flight pushes made it into the backup is whole.
      const busy = (after['artifacts:busy/inflight'] as Array<{ digest: string }> | undefined) ?? [];
      for (const artifact of busy) {
        const res: Response = await fetch(`${restored.url}/v2/busy/inflight/manifests/${artifact.digest}`, { headers: restored.admin });
        assert.equal(res.status, 200);
        const manifestDoc = (await res.json()) as { layers: Array<{ digest: string }>; config: { digest: string } };
        for (const d of [manifestDoc.config.digest, ...manifestDoc.layers.map((l) => l.digest)]) {
          assert.equal(
            (await fetch(`${restored.url}/v2/busy/inflight/blobs/${d}`, { headers: restored.admin, method: 'HEAD' })).status,
            200,
          );
        }
      }
      // The restored Berth takes new pushes.
      await pushImage(restored.url, 'ops/app', 'after-restore', { headers: restored.admin });
    } finally {
      await restored?.stop();
      await original.stop();
      await restoredDb?.drop();
      await rm(backupRoot, { recursive: true, force: true });
      await rm(restoredDir, { recursive: true, force: true });
    }
  },
);
