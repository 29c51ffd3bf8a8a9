// A SQLite database that runs out of room (SQLITE_FULL: a full disk, here a page limit):
// the transaction that hit it fails with that error, not with Kysely's "cannot rollback - no
// transaction is active" (SQLite had already rolled it back); none of it is visible; and once
// there is room again, the same connection commits without a restart.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { sql } from 'kysely';
import { openSqlite, type DatabaseHandle } from '../../src/db/index.js';

let dir: string;
let handle: DatabaseHandle;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'berth-sqlite-full-'));
  handle = openSqlite(path.join(dir, 'full.db'));
  await sql`create table notes (id integer primary key, body blob not null)`.execute(handle.db);
});
after(async () => {
  await handle.close();
  await rm(dir, { recursive: true, force: true });
});

async function count(): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*) as n from notes`.execute(handle.db);
  return rows[0].n;
}

/** Lets the file grow by no more pages than it has now (as a full disk would). */
async function fill(): Promise<void> {
  const { rows } = await sql<{ page_count: number }>`pragma page_count`.execute(handle.db);
  await sql.raw(`pragma max_page_count = ${rows[0].page_count}`).execute(handle.db);
}

async function makeRoom(): Promise<void> {
  await sql.raw('pragma max_page_count = 1073741823').execute(handle.db);
}

function insertTwo(size: number) {
  return handle.db.transaction().execute(async (tx) => {
    await sql`insert into notes (body) values (${Buffer.alloc(100)})`.execute(tx);
    await sql`insert into notes (body) values (${Buffer.alloc(size)})`.execute(tx);
  });
}

test('a transaction that fills the database fails with SQLITE_FULL, leaves nothing, and the next one commits once there is room', async () => {
  await insertTwo(100);
  assert.equal(await count(), 2);
  await fill();
  for (let attempt = 0; attempt < 3; attempt++) {
    await assert.rejects(insertTwo(256 * 1024), (err: NodeJS.ErrnoException) => {
      assert.equal(err.code, 'SQLITE_FULL', `the error says the database is full: ${err.message}`);
      return true;
    });
    assert.equal(await count(), 2, 'nothing of the failed transaction is visible');
  }
  // Reads and small writes that fit still work while it is full.
  assert.equal(await count(), 2);
  await makeRoom();
  await insertTwo(256 * 1024);
  assert.equal(await count(), 4);
});

test('a statement outside a transaction that fills the database fails with SQLITE_FULL and the connection goes on', async () => {
  await fill();
  await assert.rejects(sql`insert into notes (body) values (${Buffer.alloc(256 * 1024)})`.execute(handle.db), { code: 'SQLITE_FULL' });
  await makeRoom();
  await sql`insert into notes (body) values (${Buffer.alloc(10)})`.execute(handle.db);
  await insertTwo(10);
});
