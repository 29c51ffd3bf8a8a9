import assert from 'node:assert/strict';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { createGzip } from 'node:zlib';
import { pack } from 'tar-stream';
import { loadConfig } from '../../src/config/load.js';
import { runRestore } from '../../src/ops/backup.js';

/** The files as a tar archive (gzip-compressed when the name ends in .gz), manifest.json last as `berth backup` writes it. */
async function writeArchive(file: string, files: Record<string, string>): Promise<void> {
  const archive = pack();
  const names = Object.keys(files).sort((a, b) => Number(a === 'manifest.json') - Number(b === 'manifest.json'));
  for (const name of names) archive.entry({ name }, files[name]);
  archive.finalize();
  const bytes = async function* () {
    for await (const chunk of archive) yield chunk as Buffer;
  };
  if (file.endsWith('.gz')) await pipeline(bytes, createGzip(), createWriteStream(file));
  else await pipeline(bytes, createWriteStream(file));
}

async function attempt(manifest: unknown, extra: Record<string, string> = {}, archive?: 'tar' | 'tar.gz') {
  const backup = await mkdtemp(path.join(tmpdir(), 'berth-backup-'));
  const dataDir = await mkdtemp(path.join(tmpdir(), 'berth-restore-'));
  try {
    const files: Record<string, string> = { ...extra };
    if (manifest !== undefined) files['manifest.json'] = JSON.stringify(manifest);
    let source = backup;
    if (archive) {
      source = path.join(backup, `backup.${archive}`);
      await writeArchive(source, files);
    } else {
      for (const [name, text] of Object.entries(files)) await writeFile(path.join(backup, name), text);
    }
    const errors: string[] = [];
    const code = await runRestore(
      loadConfig({ env: {}, overrides: [[['data_dir'], dataDir]] }),
      source,
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

test('berth restore of an archive (.tar, .tar.gz) refuses what a directory is refused for, with the same messages, and writes nothing', async () => {
  for (const kind of ['tar', 'tar.gz'] as const) {
    const none = await attempt(undefined, { 'berth.db': 'x' }, kind);
    assert.equal(none.code, 3, kind);
    assert.match(none.error, /holds no manifest\.json .*: it is cut off/);

    const empty = await attempt(undefined, {}, kind);
    assert.equal(empty.code, 2, kind);
    assert.match(empty.error, /is not a Berth backup/);

    const newer = await attempt({ ...good, berth_version: '9.0.0', database: { ...good.database, migration: '999_future' } }, {}, kind);
    assert.equal(newer.code, 2, kind);
    assert.match(newer.error, /made by a newer Berth \(9\.0\.0, migration 999_future\)/);

    const unfinished = await attempt(good, { '.incomplete': '' }, kind);
    assert.equal(unfinished.code, 2, kind);
    assert.match(unfinished.error, /did not finish/);

    const otherDatabase = await attempt({ ...good, database: { ...good.database, kind: 'postgres' } }, {}, kind);
    assert.equal(otherDatabase.code, 2, kind);
    assert.match(otherDatabase.error, /holds a postgres database but the configuration names sqlite/);

    const damaged = await attempt(good, { 'berth.db': 'not the bytes the checksum names' }, kind);
    assert.equal(damaged.code, 3, kind);
    assert.match(damaged.error, /does not match the checksum in manifest\.json/);

    const notBlob = await attempt(good, { 'blobs/sha256/zz/nothex': 'x' }, kind);
    assert.equal(notBlob.code, 3, kind);
    assert.match(notBlob.error, /which is not a blob's name/);
    for (const r of [none, empty, newer, unfinished, otherDatabase, damaged, notBlob]) assert.deepEqual(r.left, [], kind);
  }
});
