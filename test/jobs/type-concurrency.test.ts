import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { JobQueue } from '../../src/jobs/queue.js';
import { JobRunner } from '../../src/jobs/runner.js';
import { eachDatabase, waitFor } from './databases.js';

eachDatabase('job runner: per-type concurrency', (db) => {
  const runners: JobRunner[] = [];
  afterEach(async () => {
    await Promise.all(runners.splice(0).map((r) => r.stop(2000)));
  });

  test('a limited type never takes more than its slots, and other types run beside it', async () => {
    const queue = new JobQueue(db().handle.db, db().handle.dialect);
    const runner = new JobRunner(queue, {
      concurrency: 3,
      typeConcurrency: { 'test.scan': 1 },
      pollIntervalMs: 20,
      leaseMs: 3000,
      heartbeatMs: 50,
    });
    runners.push(runner);
    let scansRunning = 0;
    let mostScans = 0;
    let othersDone = 0;
    let release!: () => void;
    const othersFinished = new Promise<void>((resolve) => (release = resolve));
    runner.register('test.scan', async () => {
      scansRunning++;
      mostScans = Math.max(mostScans, scansRunning);
      // The first scan holds its slot until both other jobs have run: they must not wait behind scans.
      await othersFinished;
      scansRunning--;
    });
    runner.register('test.other', async () => {
      othersDone++;
      if (othersDone === 2) release();
    });
    const scans = [];
    for (let i = 0; i < 4; i++) scans.push(await queue.enqueue('test.scan', { i }));
    const others = [await queue.enqueue('test.other', {}), await queue.enqueue('test.other', {})];
    await runner.start();
    for (const id of [...others, ...scans]) {
      await waitFor(
        () => queue.get(id),
        (job) => job?.status === 'success',
        `job ${id} to succeed`,
      );
    }
    assert.equal(mostScans, 1);
    assert.equal(othersDone, 2);
  });

  test('a limit of 0 holds the type; raising it lets its jobs run', async () => {
    const queue = new JobQueue(db().handle.db, db().handle.dialect);
    const runner = new JobRunner(queue, {
      concurrency: 2,
      typeConcurrency: { 'test.held': 0 },
      pollIntervalMs: 20,
      leaseMs: 3000,
      heartbeatMs: 50,
    });
    runners.push(runner);
    runner.register('test.held', async () => undefined);
    runner.register('test.free', async () => undefined);
    const held = await queue.enqueue('test.held', {});
    const free = await queue.enqueue('test.free', {});
    await runner.start();
    await waitFor(
      () => queue.get(free),
      (job) => job?.status === 'success',
      'the free job to succeed',
    );
    assert.equal((await queue.get(held))?.status, 'pending');
    runner.limitType('test.held', 1);
    await waitFor(
      () => queue.get(held),
      (job) => job?.status === 'success',
      'the held job to succeed',
    );
    assert.throws(() => runner.limitType('test.held', -1), /whole number/);
  });
});
