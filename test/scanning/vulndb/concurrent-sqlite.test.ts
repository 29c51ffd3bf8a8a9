import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { migrate, openSqlite } from '../../../src/db/index.js';
import { VulnDbImporter } from '../../../src/scanning/vulndb/import.js';
import { VulnMatcher } from '../../../src/scanning/vulndb/matcher.js';
import { VulnDbStore } from '../../../src/scanning/vulndb/store.js';
import { fixtureInventory, fixtureRecords, writeZipDirectory } from './fixtures.js';

/** Another connection to the file in another thread (as a server on the same data directory), committing a write every millisecond. */
function busyWriter(file: string) {
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(
    `const SQLite = require('better-sqlite3');
     const { workerData, parentPort } = require('node:worker_threads');
     const db = new SQLite(workerData.file);
     db.pragma('busy_timeout = 5000');
     db.exec('create table if not exists server_writes (n integer)');
     const insert = db.prepare('insert into server_writes values (?)');
     const stop = new Int32Array(workerData.stop);
     let n = 0;
     while (Atomics.load(stop, 0) === 0) {
       insert.run(++n);
       Atomics.wait(stop, 0, 0, 1);
     }
     db.close();
     parentPort.postMessage(n);`,
    { eval: true, workerData: { file, stop: stop.buffer } },
  );
  const writes = new Promise<number>((resolve, reject) => worker.once('message', resolve).once('error', reject));
  return {
    async stop(): Promise<number> {
      Atomics.store(stop, 0, 1);
      Atomics.notify(stop, 0);
      return writes;
    },
  };
}

test('an import into a SQLite file another connection keeps writing to (a server on the same data directory) completes', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'berth-vulndb-shared-'));
  const file = path.join(dir, 'berth.db');
  const handle = openSqlite(file);
  await migrate(handle);
  const writer = busyWriter(file);
  try {
    const importer = new VulnDbImporter(new VulnDbStore(handle.db), { batchSize: 2 });
    const osv = await writeZipDirectory(fixtureRecords());
    for (let round = 0; round < 3; round++) {
      // Round 0 imports everything; round 1 finds every record changed; round 2 finds them unchanged.
      const { results } = await importer.importDirectory(osv);
      assert.deepEqual(
        results.filter((r) => r.error).map((r) => r.error),
        [],
      );
      if (round === 0) {
        const records = fixtureRecords();
        for (const list of Object.values(records)) for (const r of list) r.modified = '2024-09-01T00:00:00Z';
        await rm(osv, { recursive: true });
        await writeZipDirectory(records, osv);
      }
    }
    assert.equal((await new VulnMatcher(handle.db).match(fixtureInventory())).length, 12);
  } finally {
    assert.ok((await writer.stop()) > 0, 'the other connection wrote meanwhile');
    await handle.close();
    await rm(dir, { recursive: true, force: true });
  }
});
