import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { runRestore } from '../../src/ops/backup.js';

async function attempt(manifest: unknown, extra: Record<string, string> = {}) {
  const backup = await mkdtemp(path.join(tmpdir(), 'berth-backup-'));
  const dataDir = await mkdtemp(path.join(tmpdir(), 'berth-restore-'));
  try {
    if (manifest !== undefined) await writeFile(path.join(backup, 'manifest.json'), JSON.stringify(manifest));
    for (const [name, text] of Object.entries(extra)) await writeFile(path.join(backup, name), text);
    const errors: string[] = [];
    const code = await runRestore(
      loadConfig({ env: {}, overrides: [[['data_dir'], dataDir]] }),
      backup,
      {},
      { out: () => undefined, err: (t) => errors.push(t) },
    );
    return { code, error: errors.join('\n'), left: await readdir(dataDir) };
  } finally {
    await rm(backup, { recursive: true, force: true });
    await rm(dataDir, { recursive: true, force: true });
  }
}

const good = {
  format: 'berth-backup',
  format_version: 1,
  berth_version: '0.1.0',
  created_at: '2026-12-06T00:00:00.000Z',
  database: { kind: 'sqlite', file: 'berth.db', sha256: '0'.repeat(64), size: 1, migration: '001_registry', migrations: 1 },
  counts: {},
  blobs: { storage: 'filesystem', count: 0, bytes: 0 },
};

test('berth restore refuses what is not a complete backup this version can read, and writes nothing', async () => {
  const none = await attempt(undefined);
  assert.equal(none.code, 2);
  assert.match(none.error, /is not a Berth backup/);

  const newer = await attempt({ ...good, berth_version: '9.0.0', database: { ...good.database, migration: '999_future' } });
  assert.equal(newer.code, 2);
  assert.match(newer.error, /made by a newer Berth \(9\.0\.0, migration 999_future\)/);

  const unfinished = await attempt(good, { '.incomplete': '' });
  assert.equal(unfinished.code, 2);
  assert.match(unfinished.error, /did not finish/);

  const otherDatabase = await attempt({ ...good, database: { ...good.database, kind: 'postgres' } });
  assert.equal(otherDatabase.code, 2);
  assert.match(otherDatabase.error, /holds a postgres database but the configuration names sqlite/);

  const damaged = await attempt(good, { 'berth.db': 'not the bytes the checksum names' });
  assert.equal(damaged.code, 3);
  assert.match(damaged.error, /does not match the checksum in manifest\.json/);
  for (const r of [none, newer, unfinished, otherDatabase, damaged]) assert.deepEqual(r.left, []);
});
