import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFile, cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import pg from 'pg';
import { createTestDatabase, testDialect } from '../helpers/database.js';
import { pushImage } from '../helpers/oci.js';
import { listings, populate, type Populated } from '../helpers/populate.js';
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

/** The tar entries of an uncompressed archive: name, header offset and size (ustar headers; the names here fit). */
function tarEntries(tar: Buffer): Array<{ name: string; offset: number; size: number }> {
  const entries: Array<{ name: string; offset: number; size: number }> = [];
  for (let offset = 0; offset + 512 <= tar.length;) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const field = (from: number, length: number) =>
      header
        .subarray(from, from + length)
        .toString('latin1')
        .replace(/\0.*$/s, '');
    const prefix = field(345, 155);
    const name = prefix ? `${prefix}/${field(0, 100)}` : field(0, 100);
    const size = parseInt(field(124, 12).trim() || '0', 8);
    entries.push({ name, offset, size });
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return entries;
}

/** What a restored Berth serves against the original: the same listings, and every manifest and blob pulled whole. */
async function assertSameContent(
  original: Awaited<ReturnType<typeof startServer>>,
  restored: Awaited<ReturnType<typeof startServer>>,
  populated: Populated,
  before: Record<string, unknown>,
): Promise<void> {
  assert.deepEqual(await listings(restored.url, restored.admin.authorization), before);
  for (const m of populated.manifests) {
    const a = await fetch(`${original.url}/v2/${m.repository}/manifests/${m.digest}`, { headers: original.admin });
    const b: Response = await fetch(`${restored.url}/v2/${m.repository}/manifests/${m.digest}`, { headers: restored.admin });
    assert.equal(b.status, 200, `${m.repository}@${m.digest}`);
    assert.deepEqual(Buffer.from(await b.arrayBuffer()), Buffer.from(await a.arrayBuffer()));
  }
  for (const blob of populated.blobs) {
    const a = await fetch(`${original.url}/v2/${blob.repository}/blobs/${blob.digest}`, { headers: original.admin });
    const b: Response = await fetch(`${restored.url}/v2/${blob.repository}/blobs/${blob.digest}`, { headers: restored.admin });
    assert.equal(b.status, 200, `${blob.repository}@${blob.digest}`);
    assert.deepEqual(Buffer.from(await b.arrayBuffer()), Buffer.from(await a.arrayBuffer()));
  }
}

test(
  'berth backup into one archive (.tar.gz, .tar) and berth restore from it: the restored Berth serves the same; a cut-off or damaged archive is refused and nothing is written',
  { skip: testDialect() === 'postgres' ? requireTools('pg_dump', 'pg_restore') : false },
  async () => {
    const original = await startServer();
    const backupRoot = await mkdtemp(path.join(tmpdir(), 'berth-backup-'));
    const env = { BERTH_DATABASE_URL: original.databaseUrl ?? '' };
    const cleanup: Array<() => Promise<unknown>> = [];
    try {
      const populated = await populate(original.url, original.admin.authorization);
      const before = await listings(original.url, original.admin.authorization);

      for (const name of ['b1.tar.gz', 'b2.tar']) {
        const gzip = name.endsWith('.gz');
        const archive = path.join(backupRoot, 'archives', name);
        const made = await berth(['backup', archive, '--data-dir', original.dataDir], env);
        assert.equal(made.status, 0, made.stderr);
        assert.match(
          made.stdout,
          new RegExp(`^backup written to ${archive.replace(/[.\\/]/g, '\\$&')} \\(${gzip ? 'gzip-compressed ' : ''}tar\\)`),
        );
        // Only the archive is left next to it: the temporary name and the database copy are gone.
        assert.deepEqual(
          (await readdir(path.dirname(archive))).filter((f) => f.startsWith(name)),
          [name],
        );
        const bytes = await readFile(archive);
        assert.equal(bytes[0] === 0x1f && bytes[1] === 0x8b, gzip);

        // The archive holds the directory form's files, the blobs first and manifest.json last.
        const tar = gzip ? gunzipSync(bytes) : bytes;
        const entries = tarEntries(tar);
        const manifestEntry = entries[entries.length - 1];
        assert.equal(manifestEntry.name, 'manifest.json');
        const manifest = JSON.parse(tar.subarray(manifestEntry.offset + 512, manifestEntry.offset + 512 + manifestEntry.size).toString());
        assert.equal(manifest.format, 'berth-backup');
        assert.equal(manifest.blobs.storage, 'filesystem');
        assert.equal(entries.filter((e) => e.name.startsWith('blobs/')).length, manifest.blobs.count);
        assert.equal(manifest.blobs.count >= new Set(populated.blobs.map((b) => b.digest)).size, true);
        assert.ok(entries.some((e) => e.name === manifest.database.file));

        // A backup is never written over another.
        const again = await berth(['backup', archive, '--data-dir', original.dataDir], env);
        assert.equal(again.status, 2);
        assert.match(again.stderr, /already exists/);

        // Refused, and the target left as it was: cut off in the middle of an entry, cut off
        // where manifest.json begins (every entry before it whole), and a blob with one byte
        // changed (recompressed for .tar.gz, so that only the blob's digest can tell).
        const blob = entries.filter((e) => e.name.startsWith('blobs/')).sort((a, b) => b.size - a.size)[0];
        const flipped = Buffer.from(tar);
        flipped[blob.offset + 512 + Math.floor(blob.size / 2)] ^= 0x01;
        const damaged: Array<[string, Buffer, RegExp]> = [
          ['half', bytes.subarray(0, Math.floor(bytes.length / 2)), /cannot be read to its end: the archive is cut off or damaged/],
          [
            'no-manifest',
            gzip ? gzipSync(tar.subarray(0, manifestEntry.offset)) : tar.subarray(0, manifestEntry.offset),
            /holds no manifest\.json .*: it is cut off/,
          ],
          [
            'flipped',
            gzip ? gzipSync(flipped) : flipped,
            new RegExp(`blob ${blob.name.split('/')[1]}:${blob.name.split('/')[3]} in .* does not match its digest`),
          ],
        ];
        for (const [what, content, message] of damaged) {
          const file = path.join(backupRoot, `${what}-${name}`);
          await writeFile(file, content);
          const targetDir = await mkdtemp(path.join(tmpdir(), 'berth-restored-'));
          const targetDb = await createTestDatabase();
          cleanup.push(() => rm(targetDir, { recursive: true, force: true }));
          if (targetDb) cleanup.push(() => targetDb.drop());
          const refused = await berth(['restore', file, '--data-dir', targetDir], { BERTH_DATABASE_URL: targetDb?.url ?? '' });
          assert.equal(refused.status, 3, `${what}: ${refused.stderr}`);
          assert.match(refused.stderr, message, what);
          assert.deepEqual(await readdir(targetDir), [], what);
          if (targetDb) assert.equal(await publicTables(targetDb.url), 0, what);
        }

        const restoredDir = await mkdtemp(path.join(tmpdir(), 'berth-restored-'));
        const restoredDb = await createTestDatabase();
        cleanup.push(() => rm(restoredDir, { recursive: true, force: true }));
        if (restoredDb) cleanup.push(() => restoredDb.drop());
        const restoredEnv = { BERTH_DATABASE_URL: restoredDb?.url ?? '' };
        const done = await berth(['restore', archive, '--data-dir', restoredDir], restoredEnv);
        assert.equal(done.status, 0, done.stderr);
        assert.match(done.stdout, /^restored /);
        assert.deepEqual(
          (await readdir(restoredDir)).filter((f) => f.includes('restoring')),
          [],
        );
        // Restoring over it again needs --force, as from a directory.
        const over = await berth(['restore', archive, '--data-dir', restoredDir], restoredEnv);
        assert.equal(over.status, 2);
        assert.match(over.stderr, /already holds data|is not empty/);

        const restored = await startServer({ dataDir: restoredDir, yaml: restoredDb ? { 'database.url': restoredDb.url } : {} });
        try {
          await assertSameContent(original, restored, populated, before);
          await pushImage(restored.url, 'ops/app', 'after-restore', { headers: restored.admin });
        } finally {
          await restored.stop();
        }
      }
    } finally {
      await original.stop();
      for (const step of cleanup.reverse()) await step();
      await rm(backupRoot, { recursive: true, force: true });
    }
  },
);

async function publicTables(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return Number((await client.query("select count(*) as n from pg_tables where schemaname = 'public'")).rows[0].n);
  } finally {
    await client.end();
  }
}
