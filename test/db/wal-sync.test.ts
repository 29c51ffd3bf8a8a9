import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { sql } from 'kysely';
import { openSqlite } from '../../src/db/index.js';
import { WalSync } from '../../src/db/wal-sync.js';

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});
async function scratch(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'berth-wal-sync-'));
  dirs.push(dir);
  return dir;
}

test('group commit: commits reported together share an fsync; one reported during an fsync waits for the next', async () => {
  const file = path.join(await scratch(), 'log');
  await writeFile(file, 'frames');
  const log = new WalSync(file);
  // The first starts an fsync at once; the nine reported meanwhile are covered by one more.
  const waits = Array.from({ length: 10 }, () => log.durable());
  await Promise.all(waits);
  assert.equal(log.syncs, 2);
  await log.durable();
  assert.equal(log.syncs, 3);
  await log.close();
});

test('a log that cannot be synced fails every commit waiting for it', async () => {
  const log = new WalSync(path.join(await scratch(), 'missing-wal'));
  await assert.rejects(Promise.all([log.durable(), log.durable()]), { code: 'ENOENT' });
  assert.equal(log.syncs, 0);
  await log.close();
});

test('SQLite: a statement that wrote returns once the log is synced; reads and statements inside an open transaction do not wait', async () => {
  const handle = openSqlite(path.join(await scratch(), 'berth.db'));
  const syncs = () => handle.logSyncs!();
  try {
    await sql`create table t (id integer primary key, v text)`.execute(handle.db);
    const created = syncs();
    assert.ok(created >= 1, 'the table is on disk when create returns');

    await sql`insert into t (v) values ('a')`.execute(handle.db);
    assert.equal(syncs(), created + 1, 'an autocommit write');
    await sql`select * from t`.execute(handle.db);
    assert.equal(syncs(), created + 1, 'a read syncs nothing');

    await handle.db.transaction().execute(async (trx) => {
      await sql`insert into t (v) values ('b')`.execute(trx);
      await sql`update t set v = 'c' where v = 'b'`.execute(trx);
      assert.equal(syncs(), created + 1, 'nothing before the commit');
    });
    assert.equal(syncs(), created + 2, 'one sync for the transaction, after its commit');

    // A transaction opened by statements of its own (as the migrations do): synced at its COMMIT.
    await sql`begin immediate`.execute(handle.db);
    await sql`insert into t (v) values ('d')`.execute(handle.db);
    assert.equal(syncs(), created + 2, 'not while the transaction is open');
    await sql`commit`.execute(handle.db);
    assert.equal(syncs(), created + 3);

    // Concurrent writers: every one is synced before it returns, and they share fsyncs.
    const before = syncs();
    await Promise.all(Array.from({ length: 20 }, (_, i) => sql`insert into t (v) values (${`w${i}`})`.execute(handle.db)));
    const shared = syncs() - before;
    assert.ok(shared >= 1 && shared <= 20, String(shared));
    const rows = await sql<{ n: number }>`select count(*) as n from t`.execute(handle.db);
    assert.equal(rows.rows[0].n, 23);
  } finally {
    await handle.close();
  }
});

test('SQLite where WAL mode is refused (here an in-memory database): every commit syncs itself, nothing waits for a log', async () => {
  const handle = openSqlite(':memory:');
  try {
    await sql`create table t (id integer primary key)`.execute(handle.db);
    await sql`insert into t (id) values (1)`.execute(handle.db);
    assert.equal((await sql<{ n: number }>`select count(*) as n from t`.execute(handle.db)).rows[0].n, 1);
    assert.equal(handle.logSyncs!(), 0);
    assert.equal((await sql<{ synchronous: number }>`pragma synchronous`.execute(handle.db)).rows[0].synchronous, 2, 'FULL');
  } finally {
    await handle.close();
  }
});
