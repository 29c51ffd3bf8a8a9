import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { JobQueue } from '../../../src/jobs/queue.js';
import { JobRunner } from '../../../src/jobs/runner.js';
import { Scheduler } from '../../../src/jobs/scheduler.js';
import { createVulnDb } from '../../../src/scanning/vulndb/compose.js';
import { vulnDbUpdateJob } from '../../../src/scanning/vulndb/service.js';
import { createTestDatabase, waitFor } from '../../jobs/databases.js';
import { fixtureRecords, writeZipDirectory } from './fixtures.js';
import { serveDirectory } from './osv-server.js';

test('scanning.vulndb.update_cron schedules VULNDB_UPDATE, which then runs by itself; an empty cron removes the schedule', async () => {
  const database = await createTestDatabase('sqlite');
  const osv = await serveDirectory(await writeZipDirectory({ npm: fixtureRecords().npm }));
  const { db, dialect } = database.handle;
  const queue = new JobQueue(db, dialect);
  const scheduler = new Scheduler(db, queue, { pollIntervalMs: 50 });
  const runner = new JobRunner(queue, { concurrency: 1, pollIntervalMs: 50 });
  const tempDir = await mkdtemp(path.join(tmpdir(), 'berth-vulndb-cron-'));
  try {
    const vulndb = createVulnDb({
      db,
      dialect,
      queue,
      scheduler,
      tempDir,
      config: { url: osv.url, ecosystems: ['npm'], update_cron: '* * * * * *' },
    });
    for (const [type, handle] of Object.entries(vulndb.handlers)) runner.register(type, handle);
    await vulndb.start();
    assert.equal((await scheduler.get(vulnDbUpdateJob))?.cron, '* * * * * *');
    await runner.start();
    scheduler.start();
    const status = await waitFor(
      () => vulndb.service.status(),
      (s) => s.last_update?.status === 'Success',
      'a scheduled update to succeed',
    );
    assert.deepEqual(
      status.ecosystems.map((e) => [e.ecosystem, e.records]),
      [['npm', 3]],
    );
    await scheduler.stop();
    const off = createVulnDb({ db, dialect, queue, scheduler, tempDir, config: { url: osv.url, ecosystems: ['npm'], update_cron: '' } });
    await off.start();
    assert.equal(await scheduler.get(vulnDbUpdateJob), undefined);
  } finally {
    await scheduler.stop();
    await runner.stop();
    await osv.close();
    await database.drop();
  }
});
