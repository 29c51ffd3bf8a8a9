import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';
import { createGzip } from 'node:zlib';
import pg from 'pg';
import { pack } from 'tar-stream';
import { loadConfig } from '../../src/config/load.js';
import { runRestore } from '../../src/ops/backup.js';
import { createTestDatabase } from '../helpers/database.js';

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

/**
 * `berth restore` of a backup holding `manifest` and the `extra` files (a directory, or an
 * archive); into a new data directory unless `target.dataDir` (which the caller then removes),
 * with the database at `target.databaseUrl` when given.
 */
async function attempt(
  manifest: unknown,
  extra: Record<string, string> = {},
  archive?: 'tar' | 'tar.gz',
  target: { force?: boolean; dataDir?: string; databaseUrl?: string } = {},
) {
  const backup = await mkdtemp(path.join(tmpdir(), 'berth-backup-'));
  const dataDir = target.dataDir ?? (await mkdtemp(path.join(tmpdir(), 'berth-restore-')));
  try {
    const files: Record<string, string> = { ...extra };
    if (manifest !== undefined) files['manifest.json'] = JSON.stringify(manifest);
    let source = backup;
    if (archive) {
      source = path.join(backup, `backup.${archive}`);
      await writeArchive(source, files);
    } else {
      for (const [name, text] of Object.entries(files)) {
        await mkdir(path.dirname(path.join(backup, name)), { recursive: true });
        await writeFile(path.join(backup, name), text);
      }
    }
    const errors: string[] = [];
    const code = await runRestore(
      loadConfig({ env: target.databaseUrl ? { BERTH_DATABASE_URL: target.databaseUrl } : {}, overrides: [[['data_dir'], dataDir]] }),
      source,
      { force: target.force },
      { out: () => undefined, err: (t) => errors.push(t) },
    );
    return { code, error: errors.join('\n'), left: await readdir(dataDir) };
  } finally {
    await rm(backup, { recursive: true, force: true });
    if (!target.dataDir) await rm(dataDir, { recursive: true, force: true });
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

test('berth restore of a directory checks every blob before it writes anything: a blob with one byte changed (not the first copied) is refused, and the target is left as it was, even with --force', async () => {
  const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
  // Copied in the order of their names (their digests): the changed one is the last.
  const blobs = ['a config', 'a layer', 'another layer']
    .map((text) => ({ text, hex: sha256(text) }))
    .sort((a, b) => a.hex.localeCompare(b.hex));
  const files: Record<string, string> = {};
  for (const { text, hex } of blobs) files[`blobs/sha256/${hex.slice(0, 2)}/${hex}`] = text;
  const changed = blobs[blobs.length - 1];
  const changedName = `blobs/sha256/${changed.hex.slice(0, 2)}/${changed.hex}`;
  files[changedName] = String.fromCharCode(changed.text.charCodeAt(0) ^ 0x01) + changed.text.slice(1);
  const message = new RegExp(
    `blob sha256:${changed.hex} in \\S*/${changedName} does not match its digest: the backup is damaged; nothing was written`,
  );
  const database = 'the database file';
  const manifest = (kind: 'sqlite' | 'postgres') => ({
    ...good,
    database: { ...good.database, kind, file: kind === 'sqlite' ? 'berth.db' : 'berth.pgdump', sha256: sha256(database) },
    blobs: { storage: 'filesystem', count: blobs.length, bytes: blobs.reduce((n, b) => n + b.text.length, 0) },
  });

  const refused = await attempt(manifest('sqlite'), { ...files, 'berth.db': database });
  assert.equal(refused.code, 3, refused.error);
  assert.match(refused.error, message);
  assert.deepEqual(refused.left, []);

  // --force empties the target only after the backup is checked: what the target holds stays.
  const dataDir = await mkdtemp(path.join(tmpdir(), 'berth-restore-'));
  try {
    const keptBlob = path.join(dataDir, 'storage', 'blobs', 'sha256', 'aa', 'a'.repeat(64));
    await mkdir(path.dirname(keptBlob), { recursive: true });
    await writeFile(keptBlob, 'kept');
    await writeFile(path.join(dataDir, 'berth.db'), 'kept');
    const forced = await attempt(manifest('sqlite'), { ...files, 'berth.db': database }, undefined, { force: true, dataDir });
    assert.equal(forced.code, 3, forced.error);
    assert.match(forced.error, message);
    assert.deepEqual(forced.left.sort(), ['berth.db', 'storage']);
    assert.equal(await readFile(path.join(dataDir, 'berth.db'), 'utf8'), 'kept');
    assert.equal(existsSync(keptBlob), true);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }

  // On PostgreSQL (when the suite runs on it) the target database is left as it was too.
  const db = await createTestDatabase();
  if (db) {
    try {
      const backup = { ...files, 'berth.pgdump': database };
      const onPostgres = await attempt(manifest('postgres'), backup, undefined, { databaseUrl: db.url });
      assert.equal(onPostgres.code, 3, onPostgres.error);
      assert.match(onPostgres.error, message);
      assert.deepEqual(onPostgres.left, []);
      assert.deepEqual(await publicTables(db.url), []);

      await query(db.url, 'create table kept (id int)');
      const forced = await attempt(manifest('postgres'), backup, undefined, { databaseUrl: db.url, force: true });
      assert.equal(forced.code, 3, forced.error);
      assert.match(forced.error, message);
      assert.deepEqual(forced.left, []);
      assert.deepEqual(await publicTables(db.url), ['kept']);
    } finally {
      await db.drop();
    }
  }
});

async function query(url: string, text: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(text);
  } finally {
    await client.end();
  }
}

async function publicTables(url: string): Promise<string[]> {
  return (await query(url, "select tablename from pg_tables where schemaname = 'public' order by tablename")).rows.map(
    (r) => r.tablename as string,
  );
}
