import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { JobQueue } from '../../src/jobs/queue.js';
import { JobRunner } from '../../src/jobs/runner.js';
import { eachDatabase, waitFor } from './databases.js';

/*
 * Fewer commits per job: the 'started' line and a type's whenClaimed writes go with the claim,
 * a handler's withOutcome writes and logWithOutcome lines with the outcome (and only while the
 * instance holds the job); and a type may run in slots of its own beside `concurrency`.
 */
eachDatabase('job runner: writes with the claim and the outcome, dedicated slots', (db) => {
  const runners: JobRunner[] = [];
  afterEach(async () => {
    await Promise.all(runners.splice(0).map((r) => r.stop(2000)));
  });
  const newRunner = (queue: JobQueue, concurrency: number) => {
    const runner = new JobRunner(queue, { concurrency, pollIntervalMs: 20, leaseMs: 3000, heartbeatMs: 50, retryBaseMs: 10 });
    runners.push(runner);
    return runner;
  };

  test('claim and outcome writes land with the job, log lines in order, on success and on failure', async () => {
    const queue = new JobQueue(db().handle.db, db().handle.dialect);
    const runner = newRunner(queue, 2);
    const claimedAt = new Map<number, number>();
    const recorded: Array<[number, string]> = [];
    runner.register(
      'test.outcome',
      async (ctx) => {
        await ctx.log('now');
        ctx.logWithOutcome!('later');
        ctx.withOutcome!(async () => void recorded.push([ctx.id, ctx.attempt === 1 ? 'failed' : 'done']));
        if (ctx.attempt === 1) throw new Error('first attempt fails');
      },
      { whenClaimed: async (job) => void claimedAt.set(job.id, job.attempts) },
    );
    const id = await queue.enqueue('test.outcome', {});
    await runner.start();
    await waitFor(
      () => queue.get(id),
      (job) => job?.status === 'success',
      'the job to succeed on its second attempt',
    );
    assert.equal(claimedAt.get(id), 2, 'whenClaimed ran for each claim, with the attempt');
    assert.deepEqual(recorded, [
      [id, 'failed'],
      [id, 'done'],
    ]);
    const lines = (await queue.logs(id)).map((l) => l.message.replace(/ on pool .*/, ''));
    assert.deepEqual(lines, [
      'attempt 1 of 3 started',
      'now',
      'later',
      'attempt 1 failed: first attempt fails; retrying in 10 ms',
      'attempt 2 of 3 started',
      'now',
      'later',
      'succeeded',
    ]);
  });

  test('a failing outcome write fails only its own job: the others that ended with it are recorded', async () => {
    const queue = new JobQueue(db().handle.db, db().handle.dialect);
    const runner = newRunner(queue, 4);
    runner.register('test.burst', async (ctx) => {
      const { bad } = ctx.payload as { bad: boolean };
      ctx.withOutcome!(async (tx) => {
        if (bad && ctx.attempt === 1)
          await tx
            .selectFrom('no_such_table' as 'jobs')
            .selectAll()
            .execute();
      });
    });
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push(await queue.enqueue('test.burst', { bad: i === 1 }));
    await runner.start();
    for (const id of ids) {
      await waitFor(
        () => queue.get(id),
        (job) => job?.status === 'success',
        `job ${id} to succeed`,
      );
    }
    // The bad one was retried after its lease lapsed or ran again; the good ones ran once.
    for (const [i, id] of ids.entries()) {
      if (i !== 1) assert.equal((await queue.get(id))!.attempts, 1, `job ${id} ran once`);
    }
  });

  test('a type with slots of its own runs beside a full runner and never takes more than its slots', async () => {
    const queue = new JobQueue(db().handle.db, db().handle.dialect);
    const runner = newRunner(queue, 1);
    runner.dedicateSlots('test.hook', 3);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let hooks = 0;
    let mostHooks = 0;
    runner.register('test.long', async () => held);
    runner.register('test.hook', async () => {
      hooks++;
      mostHooks = Math.max(mostHooks, hooks);
      await new Promise((resolve) => setTimeout(resolve, 30));
      hooks--;
    });
    const long = await queue.enqueue('test.long', {});
    const hookIds = [];
    for (let i = 0; i < 8; i++) hookIds.push(await queue.enqueue('test.hook', { i }));
    await runner.start();
    for (const id of hookIds) {
      await waitFor(
        () => queue.get(id),
        (job) => job?.status === 'success',
        `hook ${id} to succeed while the only shared slot is taken`,
      );
    }
    assert.equal((await queue.get(long))!.status, 'running', 'the long job holds the shared slot meanwhile');
    assert.ok(mostHooks <= 3, `at most 3 hooks at once, saw ${mostHooks}`);
    release();
    await waitFor(
      () => queue.get(long),
      (job) => job?.status === 'success',
      'the long job to succeed',
    );
  });
});
