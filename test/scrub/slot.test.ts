import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, afterEach, before, test } from 'node:test';
import { JobQueue } from '../../src/jobs/queue.js';
import { JobRunner } from '../../src/jobs/runner.js';
import { Scheduler } from '../../src/jobs/scheduler.js';
import { BlobIntegrity } from '../../src/registry/integrity.js';
import { Scrubber } from '../../src/scrub/scrubber.js';
import { ScrubService, scrubJob } from '../../src/scrub/service.js';
import { ScrubStore } from '../../src/scrub/store.js';
import { FilesystemBlobStore } from '../../src/storage/filesystem.js';
import type { BlobStore } from '../../src/storage/blobstore.js';
import { eachDatabase, waitFor } from '../jobs/databases.js';

eachDatabase('scrub run slot and stop', (db) => {
  let dir: string;
  let files: FilesystemBlobStore;
  const runners: JobRunner[] = [];
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'berth-scrub-slot-'));
    files = new FilesystemBlobStore(dir);
    await files.init();
    // Eight real blobs, stored and recorded as an upload would.
    for (let i = 0; i < 8; i++) {
      const data = randomBytes(4096);
      const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
      await files.createUpload(`u${i}`);
      await files.appendUpload(`u${i}`, 0, Readable.from([data]));
      await files.publishUpload(`u${i}`, digest);
      await db().handle.db.insertInto('blobs').values({ digest, size: data.length, created_at: new Date().toISOString() }).execute();
    }
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    await Promise.all(runners.splice(0).map((r) => r.stop(2000)));
  });

  function serviceOver(blobs: BlobStore) {
    const { handle } = db();
    const queue = new JobQueue(handle.db, handle.dialect);
    const store = new ScrubStore(handle.db);
    const service = new ScrubService(store, new Scrubber(new BlobIntegrity(handle.db), blobs), queue, new Scheduler(handle.db, queue), {
      defaultWorkers: 2,
    });
    return { queue, store, service };
  }

  test('one run holds the slot while its job runs; a run whose job died loses it', async () => {
    const { queue, store } = serviceOver(files);
    const now = new Date().toISOString();
    const jobA = await queue.enqueue(scrubJob, {}, { maxAttempts: 1 });
    const jobB = await queue.enqueue(scrubJob, {}, { maxAttempts: 1 });
    const runA = await store.createRun({ jobId: jobA, trigger: 'MANUAL', parameters: {}, now });
    const runB = await store.createRun({ jobId: jobB, trigger: 'MANUAL', parameters: {}, now });
    const claimed = await queue.claim('pool-a', [scrubJob], 1, 60_000);
    assert.deepEqual(
      claimed.map((j) => j.id),
      [jobA],
    );
    assert.deepEqual(await store.acquire(runA, now), { ok: true });
    assert.deepEqual(await store.acquire(runA, now), { ok: true }, 'a retry of the same run keeps it');
    assert.deepEqual(await store.acquire(runB, now), { ok: false, holder: runA });
    // A's instance dies: its lease lapses and the queue ends its job.
    await queue.fail('pool-a', { id: jobA, attempts: 1 }, 'gone', now);
    assert.deepEqual(await store.acquire(runB, now), { ok: true });
    const a = await store.get(runA);
    assert.equal(a?.status, 'Error');
    assert.equal(a?.active, null);
    await store.finish(runB, 'Success', null, null, now);
    assert.equal((await store.get(runB))?.active, null, 'finishing gives the slot back');
    assert.equal(await queue.cancel(jobB), 'stopped', 'B never ran as a job here');
  });

  test('a stopped run ends Stopped with what it had checked, and frees the slot', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let reads = 0;
    // The real store, with reads after the third held until the test lets them go.
    const slow: BlobStore = Object.assign(Object.create(files) as FilesystemBlobStore, {
      async read(digest: string) {
        if (++reads > 3) await held;
        return files.read(digest);
      },
    });
    const { queue, service, store } = serviceOver(slow);
    const runner = new JobRunner(queue, { pollIntervalMs: 20, heartbeatMs: 50, leaseMs: 3000, stopTimeoutMs: 2000 });
    runners.push(runner);
    runner.register(scrubJob, service.handle);
    await runner.start();
    const id = await service.start('MANUAL', service.parameters({ workers: 1 }));
    await waitFor(
      () => service.get(id),
      (run) => run.job_status === 'Running' && reads > 3,
      'the run to be under way',
    );
    await service.stop(id);
    release();
    const run = await waitFor(
      () => service.get(id),
      (r) => !['Pending', 'Running'].includes(r.job_status),
      'the run to end',
    );
    assert.equal(run.job_status, 'Stopped');
    assert.match(run.results.message ?? '', /stopped/);
    assert.ok(run.results.blobs_checked >= 3 && run.results.blobs_checked < 8, `checked ${run.results.blobs_checked} of 8`);
    assert.equal((await store.get(id))?.active, null);
    assert.match((await service.log(id)) ?? '', /stop requested/);
    // The next run takes the slot and checks everything.
    const next = await service.start('MANUAL', service.parameters({}));
    const done = await waitFor(
      () => service.get(next),
      (r) => r.job_status === 'Success',
      'the next run',
    );
    assert.equal(done.results.blobs_checked, 8);
    assert.equal(done.results.problems, 0);
  });
});
