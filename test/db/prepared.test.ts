import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { preparedQuery } from '../../src/db/prepared.js';
import type { Db } from '../../src/db/index.js';
import { startServer, type TestServer } from '../helpers/server.js';

/** Queries compiled once and run with new arguments (db/prepared.ts), on SQLite and on PostgreSQL (BERTH_TEST_DATABASE_URL). */

let server: TestServer;
let db: Db;
before(async () => {
  server = await startServer();
  db = server.berth.database.db;
});
after(async () => {
  await server.stop();
});

test('each run binds its own arguments; constants of the query stay as compiled', async () => {
  const byName = preparedQuery(db, 2, (name: string, owner: string) =>
    db
      .selectFrom('projects')
      .select(['name', 'public'])
      .where('name', 'in', [name, owner, 'no-such-project'])
      .where('public', 'in', [0, 1])
      .orderBy('name'),
  );
  assert.deepEqual(
    (await byName('library', 'x')).map((r) => r.name),
    ['library'],
  );
  assert.deepEqual(await byName('nothing', 'none'), []);
  // Same compiled statement, other values: the arguments are not remembered from the first run.
  assert.deepEqual(
    (await byName('x', 'library')).map((r) => r.name),
    ['library'],
  );
});

test('a query that does not use every argument as a value is refused', async () => {
  const bad = preparedQuery(db, 2, (name: string, _unused: string) => db.selectFrom('projects').select('name').where('name', '=', name));
  await assert.rejects(bad('library', 'x'), /1 of 2 arguments are not values of the query/);
});
