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
  // [0]: set to stop the writer; [1]: the writes it has committed.
  const shared = new Int32Array(new SharedArrayBuffer(8));
  const worker = new Worker(
    `const SQLite = require('better-sqlite3');
     const { workerData, parentPort } = require('node:worker_threads');
     const db = new SQLite(workerData.file);
     db.pragma('busy_timeout = 5000');
     db.exec('create table if not exists server_writes (n integer)');
     const insert = db.prepare('insert into server_writes values (?)');
     const shared = new Int32Array(workerData.shared);
     let n = 0;
     const write = () => {
       insert.run(++n);
       Atomics.store(shared, 1, n);
     };
     write();
     parentPort.postMessage('started');
     while (Atomics.wait(shared, 0, 0, 1) === 'timed-out') write();
     db.close();
     parentPort.postMessage('stopped');`,
    { eval: true, workerData: { file, shared: shared.buffer } },
  );
  const said = (word: string) =>
    new Promise<void>((resolve, reject) => {
      worker.on('message', (m) => m === word && resolve());
      worker.once('error', reject);
    });
  const stopped = said('stopped');
  return {
    /** Resolves once its first write is committed: a slow start of the thread must not let the import finish first. */
    started: said('started'),
    /** Writes committed so far. */
    writes: () => Atomics.load(shared, 1),
    async stop(): Promise<void> {
      Atomics.store(shared, 0, 1);
      Atomics.notify(shared, 0);
      await stopped;
    },
  };
}

test('an import into a SQLite file another connection keeps writing to (a server on the same data directory) completes', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'berth-vulndb-shared-'));
  const file = path.join(dir, 'berth.db');
  const handle = openSqlite(file);
  await migrate(handle);
  const writer = busyWriter(file);
  await writer.started;
  const before = writer.writes();
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
    assert.ok(writer.writes() > before, 'the other connection wrote while the imports ran');
    assert.equal((await new VulnMatcher(handle.db).match(fixtureInventory())).length, 12);
  } finally {
    await writer.stop();
    await handle.close();
    await rm(dir, { recursive: true, force: true });
  }
});
