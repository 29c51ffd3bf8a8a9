import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import SQLite from 'better-sqlite3';
import { sql } from 'kysely';
import { resolvePaths } from '../../src/config/load.js';
import { openSqlite, type DatabaseHandle } from '../../src/db/index.js';
import { StampedReadCache } from '../../src/db/read-cache.js';
import { testDialect } from '../helpers/database.js';
import { pushImage } from '../helpers/oci.js';
import { startServer, type TestServer } from '../helpers/server.js';

describe('the SQLite change stamp', () => {
  let dir: string;
  let handle: DatabaseHandle;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'berth-read-cache-'));
    handle = openSqlite(path.join(dir, 'berth.db'));
    await sql`create table t (v integer)`.execute(handle.db);
  });
  after(async () => {
    await handle?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('reads leave it; a write, a transaction rolled back, and another connection’s commit move it', async () => {
    const stamp = handle.changeStamp!;
    const first = stamp();
    await sql`select count(*) from t`.execute(handle.db);
    assert.equal(stamp(), first, 'a read');

    await sql`insert into t (v) values (1)`.execute(handle.db);
    const afterWrite = stamp();
    assert.notEqual(afterWrite, first, 'a write of this process');

    await assert.rejects(
      handle.db.transaction().execute(async (tx) => {
        await sql`insert into t (v) values (2)`.execute(tx);
        throw new Error('roll back');
      }),
    );
    const afterRollback = stamp();
    assert.notEqual(afterRollback, afterWrite, 'a transaction that wrote, rolled back');

    // Another process (here: another connection) commits where this one's statements never run.
    const other = new SQLite(path.join(dir, 'berth.db'));
    try {
      other.prepare('insert into t (v) values (3)').run();
    } finally {
      other.close();
    }
    const afterOther = stamp();
    assert.notEqual(afterOther, afterRollback, "another connection's commit");
    assert.equal(stamp(), afterOther, 'and then holds');
  });

  test('StampedReadCache reads once per stamp, never keeps a miss, and without a stamp always reads', async () => {
    let stampValue = 1;
    let loads = 0;
    const cache = new StampedReadCache<{ v: number }>(() => stampValue);
    const load = async () => ({ v: ++loads });
    assert.deepEqual(await cache.get('k', load), { v: 1 });
    assert.deepEqual(await cache.get('k', load), { v: 1 });
    stampValue = 2;
    assert.deepEqual(await cache.get('k', load), { v: 2 });
    let misses = 0;
    const none = async () => {
      misses++;
      return undefined;
    };
    await cache.get('absent', none);
    await cache.get('absent', none);
    assert.equal(misses, 2);
    const uncached = new StampedReadCache<{ v: number }>(undefined);
    await uncached.get('k', load);
    await uncached.get('k', load);
    assert.equal(loads, 4);
  });
});

/**
 * What /v2 answers follows the database at once, whoever changed it: a tag moved or a project
 * made private by another connection to the same file (another process) between two GETs.
 */
describe(`/v2 lookups follow every change to the database (${testDialect()})`, () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server?.stop();
  });

  const accept = { accept: 'application/vnd.oci.image.manifest.v1+json' };
  const manifestDigest = async (tag: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${server.url}/v2/library/moving/manifests/${tag}`, { headers: { ...accept, ...headers } });
    return res.status === 200 ? res.headers.get('docker-content-digest') : `HTTP ${res.status}`;
  };

  /** Runs statements on another connection to the SQLite file, or through the server's own handle on PostgreSQL. */
  async function elsewhere(statements: string[]): Promise<void> {
    if (server.databaseUrl !== undefined) {
      for (const s of statements) await sql.raw(s).execute(server.berth.database.db);
      return;
    }
    const other = new SQLite(resolvePaths(server.berth.config).sqliteFile!);
    try {
      for (const s of statements) other.prepare(s).run();
    } finally {
      other.close();
    }
  }

  test('a tag moved, a tag deleted, a project made private', async () => {
    const a = await pushImage(server.url, 'library/moving', 'a', { headers: server.admin, layer: 'first' });
    const b = await pushImage(server.url, 'library/moving', 'b', { headers: server.admin, layer: 'second' });
    assert.equal(await manifestDigest('a'), a.digest);
    assert.equal(await manifestDigest('a'), a.digest);

    await elsewhere([
      `update tags set artifact_id = (select id from artifacts where digest = '${b.digest}') where name = 'a' and repository_id = (select id from repositories where name = 'library/moving')`,
    ]);
    assert.equal(await manifestDigest('a'), b.digest);

    await elsewhere([`delete from tags where name = 'b' and repository_id = (select id from repositories where name = 'library/moving')`]);
    assert.equal(await manifestDigest('b'), 'HTTP 404');

    assert.equal(await manifestDigest('a'), b.digest, 'anonymous pull from the public project');
    await elsewhere([`update projects set public = 0 where name = 'library'`]);
    assert.equal(await manifestDigest('a'), 'HTTP 401');
    assert.equal(await manifestDigest('a', server.admin), b.digest);
  });
});
