import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, test } from 'node:test';
import { JobQueue, lostAttemptsGivenBack } from '../../src/jobs/queue.js';
import { JobRunner, RetryLaterError, type JobRunnerOptions } from '../../src/jobs/runner.js';
import { eachDatabase, waitFor, type TestDatabase } from './databases.js';

eachDatabase('job queue and runner', (db) => {
  const runners: JobRunner[] = [];
  afterEach(async () => {
    await Promise.all(runners.splice(0).map((r) => r.stop(2000)));
  });

  function queueOf(handle = db().handle): JobQueue {
    return new JobQueue(handle.db, handle.dialect);
  }

  function runnerOf(queue: JobQueue, options: JobRunnerOptions = {}): JobRunner {
    const runner = new JobRunner(queue, {
      pollIntervalMs: 20,
      leaseMs: 3000,
      heartbeatMs: 50,
      retryBaseMs: 40,
      stopTimeoutMs: 2000,
      ...options,
    });
    runners.push(runner);
    return runner;
  }

  const finished = (queue: JobQueue, id: number) =>
    waitFor(
      () => queue.get(id),
      (job) => job !== undefined && ['success', 'error', 'stopped'].includes(job.status),
      `job ${id} to end`,
    );

  const messages = async (queue: JobQueue, id: number) => (await queue.logs(id)).map((l) => `[${l.level}] ${l.message}`);

  test('an enqueued job runs once, with its payload, and succeeds', async () => {
    const queue = queueOf();
    const runner = runnerOf(queue);
    const seen: unknown[] = [];
    runner.register('once.echo', async (ctx) => {
      seen.push(ctx.payload);
      await ctx.log(`hello from attempt ${ctx.attempt}`);
    });
    await runner.start();
    const id = await queue.enqueue('once.echo', { n: 1, name: 'x' });
    const job = await finished(queue, id);
    assert.equal(job!.status, 'success');
    assert.equal(job!.attempts, 1);
    assert.equal(job!.lockedBy, null);
    assert.ok(job!.finishedAt);
    assert.deepEqual(seen, [{ n: 1, name: 'x' }]);
    // The runner records the outcome, then logs it: the last line may follow the status by a moment.
    const log = await waitFor(
      () => messages(queue, id),
      (lines) => lines.length >= 3,
      'the outcome in the log',
    );
    assert.deepEqual(log, [`[INFO] attempt 1 of 3 started on pool ${runner.poolId}`, '[INFO] hello from attempt 1', '[INFO] succeeded']);
    const text = await queue.logText(id);
    assert.match(text!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \[INFO\] attempt 1 of 3 started on pool /);
    assert.equal(await queue.logText(999_999), undefined);
  });

  test('a job enqueued in a transaction exists only if the transaction commits', async () => {
    const queue = queueOf();
    const { db: kysely } = db().handle;
    let inside = 0;
    await assert.rejects(
      kysely.transaction().execute(async (tx) => {
        inside = await queue.enqueue('tx.job', { keep: false }, { tx });
        throw new Error('roll back');
      }),
      /roll back/,
    );
    assert.equal(await queue.get(inside), undefined);
    const kept = await kysely.transaction().execute((tx) => queue.enqueue('tx.job', { keep: true }, { tx }));
    assert.equal((await queue.get(kept))!.status, 'pending');
  });

  test('a failing job is retried with exponential backoff, then ends in error with its log', async () => {
    const queue = queueOf();
    const runner = runnerOf(queue, { retryBaseMs: 60 });
    const attemptsAt: number[] = [];
    runner.register('retry.fail', async (ctx) => {
      attemptsAt.push(Date.now());
      throw new Error(`boom ${ctx.attempt}`);
    });
    await runner.start();
    const id = await queue.enqueue('retry.fail', null, { maxAttempts: 3 });
    const job = await finished(queue, id);
    assert.equal(job!.status, 'error');
    assert.equal(job!.attempts, 3);
    assert.equal(job!.lastError, 'boom 3');
    assert.equal(attemptsAt.length, 3);
    // The waits between attempts are at least the backoff (60 ms, then 120 ms), give or take a clock tick.
    assert.ok(attemptsAt[1] - attemptsAt[0] >= 60 - 15, `first retry after ${attemptsAt[1] - attemptsAt[0]} ms`);
    assert.ok(attemptsAt[2] - attemptsAt[1] >= 120 - 15, `second retry after ${attemptsAt[2] - attemptsAt[1]} ms`);
    const lines = await waitFor(
      () => messages(queue, id),
      (all) => all.some((m) => m.startsWith('[ERROR]')),
      'the last failure in the log',
    );
    assert.deepEqual(
      lines.filter((m) => !m.includes('started on pool')),
      [
        '[WARNING] attempt 1 failed: boom 1; retrying in 60 ms',
        '[WARNING] attempt 2 failed: boom 2; retrying in 120 ms',
        '[ERROR] attempt 3 failed: boom 3; no attempt left',
      ],
    );
    assert.equal(runner.retryDelayMs(20), 3600_000, 'the backoff is capped');
  });

  test('a handler that throws RetryLaterError chooses its retry delay instead of the backoff', async () => {
    const queue = queueOf();
    const runner = runnerOf(queue, { retryBaseMs: 3600_000 });
    runner.register('retry.later', async (ctx) => {
      if (ctx.attempt === 1) throw new RetryLaterError('receiver down', 30);
    });
    await runner.start();
    const id = await queue.enqueue('retry.later', {}, { maxAttempts: 2 });
    const job = await finished(queue, id);
    assert.equal(job!.status, 'success');
    assert.equal(job!.attempts, 2);
    assert.ok((await messages(queue, id)).includes('[WARNING] attempt 1 failed: receiver down; retrying in 30 ms'));
  });

  test('a job that fails once succeeds on its retry', async () => {
    const queue = queueOf();
    const runner = runnerOf(queue);
    runner.register('retry.once', async (ctx) => {
      if (ctx.attempt === 1) throw new Error('transient');
    });
    await runner.start();
    const id = await queue.enqueue('retry.once', {});
    const job = await finished(queue, id);
    assert.equal(job!.status, 'success');
    assert.equal(job!.attempts, 2);
    assert.equal(job!.lastError, null);
  });

  test('a pending job is stopped before it runs; an ended or unknown one is left alone', async () => {
    const queue = queueOf();
    const runner = runnerOf(queue);
    let ran = 0;
    runner.register('cancel.pending', () => void ran++);
    await runner.start();
    const id = await queue.enqueue('cancel.pending', {}, { runAt: new Date(Date.now() + 3600_000) });
    assert.equal(await queue.cancel(id), 'stopped');
    assert.equal((await queue.get(id))!.status, 'stopped');
    assert.equal(await queue.cancel(id), 'finished');
    assert.equal(await queue.cancel(987_654), undefined);
    assert.deepEqual(await messages(queue, id), ['[INFO] stopped before it ran']);
    assert.equal(ran, 0);
  });

  test('a running job is stopped: its handler sees the abort signal, and it is not retried', async () => {
    const queue = queueOf();
    const runner = runnerOf(queue);
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    let reason: unknown;
    runner.register('cancel.running', async (ctx) => {
      started();
      await new Promise<void>((_, reject) =>
        ctx.signal.addEventListener('abort', () => {
          reason = ctx.signal.reason;
          reject(new Error('aborted by request'));
        }),
      );
    });
    await runner.start();
    const id = await queue.enqueue('cancel.running', {});
    await running;
    assert.equal(await queue.cancel(id), 'stopping');
    const job = await finished(queue, id);
    assert.equal(job!.status, 'stopped');
    assert.equal(job!.attempts, 1);
    assert.equal((reason as { kind: string }).kind, 'stopped');
    // The runner logs how the job ended just after recording it: wait for that line.
    const log = await waitFor(
      () => messages(queue, id),
      (lines) => lines.includes('[INFO] stopped: aborted by request'),
      'the stop in the log',
    );
    assert.ok(log.includes('[INFO] stop requested'), log.join('\n'));
  });

  test('a stop asked on another instance reaches the running handler at its next heartbeat', async () => {
    const queue = queueOf();
    const other = queueOf(db().connect());
    const runner = runnerOf(queue);
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    runner.register('cancel.remote', async (ctx) => {
      started();
      await new Promise<void>((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
    });
    await runner.start();
    const id = await queue.enqueue('cancel.remote', {});
    await running;
    assert.equal(await other.cancel(id), 'stopping');
    const job = await finished(queue, id);
    assert.equal(job!.status, 'stopped');
    assert.equal(job!.attempts, 1);
  });

  test('when a worker dies holding a job, its lease lapses and another instance runs the job', async () => {
    const queue = queueOf();
    // A worker that claimed the job and then died: it never renews nor finishes.
    const id = await queue.enqueue('lease.takeover', { x: 1 });
    const [claimed] = await queueOf(db().connect()).claim('dead-pool', ['lease.takeover'], 1, 150);
    assert.equal(claimed.id, id);
    assert.equal(claimed.status, 'running');

    const runner = runnerOf(queue);
    const attempts: number[] = [];
    runner.register('lease.takeover', (ctx) => void attempts.push(ctx.attempt));
    await runner.start();
    const job = await finished(queue, id);
    assert.equal(job!.status, 'success');
    assert.equal(job!.attempts, 2);
    assert.deepEqual(attempts, [2]);
    const log = await messages(queue, id);
    assert.ok(
      log.includes(
        '[WARNING] attempt 1 was lost: pool dead-pool stopped renewing its lease; retrying; a lost attempt is given back (1 of 3)',
      ),
      log.join('\n'),
    );
    assert.ok(log.includes(`[INFO] attempt 2 of 4 started on pool ${runner.poolId}`), log.join('\n'));
    // The dead worker, back from the dead, can no longer record anything for the job.
    assert.equal(await queue.complete('dead-pool', { id, attempts: 1 }), false);
    assert.equal(await queue.fail('dead-pool', { id, attempts: 1 }, 'late', new Date().toISOString()), undefined);
  });

  test('a lost attempt is given back, even to a job of one attempt; past three losses the last attempt ends the job in error', async () => {
    const queue = queueOf();
    const id = await queue.enqueue('lease.last', {}, { maxAttempts: 1 });
    const loseOnce = async () => {
      assert.equal((await queue.claim('dead-pool', ['lease.last'], 1, 50)).length, 1);
      await waitFor(
        async () => {
          await queue.expireLeases();
          return queue.get(id);
        },
        (job) => job!.status !== 'running',
        'the lease to lapse',
      );
      return (await queue.get(id))!;
    };
    for (let lost = 1; lost <= lostAttemptsGivenBack; lost++) {
      const job = await loseOnce();
      assert.equal(job.status, 'pending', `loss ${lost} is given back`);
      assert.equal(job.attempts, lost);
      assert.equal(job.maxAttempts, 1 + lost);
      assert.equal(job.finishedAt, null);
    }
    const job = await loseOnce();
    assert.equal(job.status, 'error');
    assert.match(job.lastError!, /attempt 4 was lost: pool dead-pool stopped renewing its lease/);
    assert.ok(job.finishedAt);
    const log = await messages(queue, id);
    assert.ok(log.includes('[WARNING] attempt 4 was lost: pool dead-pool stopped renewing its lease; no attempt left'), log.join('\n'));
  });

  test('a worker process killed with SIGKILL loses its job to another instance', async () => {
    const database: TestDatabase = db();
    const queue = queueOf();
    const id = await queue.enqueue('kill.me', { who: 'child' });
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'hanging-worker.ts'),
        database.dialect,
        database.location,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes(`started ${id}`)) resolve();
      });
      child.on('exit', (code) => reject(new Error(`the worker exited (${code}) before starting the job: ${out}`)));
    });
    assert.equal((await queue.get(id))!.lockedBy, 'doomed-pool');
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');

    const runner = runnerOf(queue);
    runner.register('kill.me', async (ctx) => ctx.log('finished by the survivor'));
    await runner.start();
    const job = await finished(queue, id);
    assert.equal(job!.status, 'success');
    assert.equal(job!.attempts, 2);
    const log = await messages(queue, id);
    assert.ok(log.includes('[INFO] attempt 1 of 3 started on pool doomed-pool'), log.join('\n'));
    assert.ok(
      log.includes(
        '[WARNING] attempt 1 was lost: pool doomed-pool stopped renewing its lease; retrying; a lost attempt is given back (1 of 3)',
      ),
      log.join('\n'),
    );
    assert.ok(log.includes('[INFO] finished by the survivor'), log.join('\n'));
  });

  test('100 jobs and two runners on separate connections: every job runs exactly once', async () => {
    const queueA = queueOf();
    const queueB = queueOf(db().connect());
    const ids: number[] = [];
    for (let i = 0; i < 100; i++) ids.push(await queueA.enqueue('many.jobs', { i }));
    const runs = new Map<number, string[]>();
    const handler = (who: string) => async (ctx: { id: number }) => {
      runs.set(ctx.id, [...(runs.get(ctx.id) ?? []), who]);
      await new Promise((resolve) => setTimeout(resolve, 2));
    };
    const a = runnerOf(queueA, { concurrency: 4, pollIntervalMs: 10 });
    const b = runnerOf(queueB, { concurrency: 4, pollIntervalMs: 10 });
    a.register('many.jobs', handler('a'));
    b.register('many.jobs', handler('b'));
    await Promise.all([a.start(), b.start()]);
    for (const id of ids) await finished(queueA, id);
    for (const id of ids) {
      const job = await queueA.get(id);
      assert.equal(job!.status, 'success', `job ${id}`);
      assert.equal(job!.attempts, 1, `job ${id}`);
      assert.equal(runs.get(id)?.length, 1, `job ${id} ran ${runs.get(id)?.length ?? 0} times`);
    }
    const byRunner = [...runs.values()].flat();
    assert.ok(byRunner.includes('a') && byRunner.includes('b'), 'both runners took jobs');
  });

  test('a runner only claims the types it has handlers for', async () => {
    const queue = queueOf();
    const runner = runnerOf(queue);
    runner.register('typed.known', () => undefined);
    await runner.start();
    const unknown = await queue.enqueue('typed.unknown', {});
    const known = await queue.enqueue('typed.known', {});
    assert.equal((await finished(queue, known))!.status, 'success');
    assert.equal((await queue.get(unknown))!.status, 'pending');
  });

  test('stop() waits for running jobs up to its bound, then gives them back for another instance', async () => {
    const queue = queueOf();
    const runner = new JobRunner(queue, { pollIntervalMs: 20, leaseMs: 3000, heartbeatMs: 50 });
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    let signalled: unknown;
    runner.register('stop.slow', async (ctx) => {
      started();
      await new Promise<void>((resolve) =>
        ctx.signal.addEventListener('abort', () => {
          signalled = ctx.signal.reason;
          resolve();
        }),
      );
    });
    await runner.start();
    const id = await queue.enqueue('stop.slow', {});
    await running;
    await runner.stop(100);
    assert.equal((signalled as { kind: string }).kind, 'shutdown');
    const job = await queue.get(id);
    assert.equal(job!.status, 'pending');
    assert.equal(job!.attempts, 0, 'an interrupted attempt is not counted');
    assert.equal(job!.lockedBy, null);
    assert.ok((await messages(queue, id)).some((m) => m.includes(`pool ${runner.poolId} shut down; the job is pending again`)));
    assert.deepEqual(await queue.pools().then((pools) => pools.filter((p) => p.id === runner.poolId)), []);

    const next = runnerOf(queue);
    next.register('stop.slow', () => undefined);
    await next.start();
    assert.equal((await finished(queue, id))!.status, 'success');
  });

  test('a paused queue holds its jobs until resumed; pausing all holds every type', async () => {
    const queue = queueOf();
    const runner = runnerOf(queue);
    runner.register('pause.a', () => undefined);
    runner.register('pause.b', () => undefined);
    await runner.start();
    await queue.setPaused('pause.a', true);
    const a = await queue.enqueue('pause.a', {});
    const b = await queue.enqueue('pause.b', {});
    assert.equal((await finished(queue, b))!.status, 'success');
    assert.equal((await queue.get(a))!.status, 'pending');
    const listed = (await queue.queues()).find((q) => q.jobType === 'pause.a');
    assert.deepEqual({ ...listed, latencySeconds: 0 }, { jobType: 'pause.a', count: 1, latencySeconds: 0, paused: true });
    assert.equal(await queue.isPaused('pause.a'), true);
    assert.equal(await queue.isPaused('all'), false);
    await queue.setPaused('pause.a', false);
    assert.equal((await finished(queue, a))!.status, 'success');

    await queue.setPaused('all', true);
    assert.equal(await queue.isPaused('all'), true);
    assert.equal(await queue.isPaused('pause.b'), true);
    const held = await queue.enqueue('pause.b', {});
    // Resuming one type while all are paused leaves the others paused.
    await queue.setPaused('pause.a', false);
    assert.equal(await queue.isPaused('all'), false);
    assert.equal(await queue.isPaused('pause.b'), true);
    const resumed = await queue.enqueue('pause.a', {});
    assert.equal((await finished(queue, resumed))!.status, 'success');
    assert.equal((await queue.get(held))!.status, 'pending');
    await queue.setPaused('all', false);
    assert.equal((await finished(queue, held))!.status, 'success');
  });

  test("stopping a queue stops its pending jobs, and only that queue's", async () => {
    const queue = queueOf();
    const later = new Date(Date.now() + 3600_000);
    const a1 = await queue.enqueue('stopq.a', {}, { runAt: later });
    const a2 = await queue.enqueue('stopq.a', {}, { runAt: later });
    const b = await queue.enqueue('stopq.b', {}, { runAt: later });
    assert.equal(await queue.stopPending('stopq.a'), 2);
    assert.equal((await queue.get(a1))!.status, 'stopped');
    assert.equal((await queue.get(a2))!.status, 'stopped');
    assert.equal((await queue.get(b))!.status, 'pending');
    assert.deepEqual(await messages(queue, a1), ['[INFO] stopped with its queue before it ran']);
  });

  test('pools list every live runner, and workers show the job each slot runs', async () => {
    const queue = queueOf();
    const a = runnerOf(queue, { concurrency: 2, poolId: 'pool-a' });
    const b = runnerOf(queueOf(db().connect()), { concurrency: 3, poolId: 'pool-b' });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    a.register('pools.busy', async (ctx) => {
      await ctx.log('working on it');
      await gate;
    });
    await Promise.all([a.start(), b.start()]);
    // Both start at once: which one's start time is earlier is up to the scheduler.
    const pools = (await queue.pools()).filter((p) => p.id.startsWith('pool-')).sort((x, y) => x.id.localeCompare(y.id));
    assert.deepEqual(
      pools.map((p) => [p.id, p.concurrency, p.pid]),
      [
        ['pool-a', 2, process.pid],
        ['pool-b', 3, process.pid],
      ],
    );
    const id = await queue.enqueue('pools.busy', {});
    const workers = await waitFor(
      () => queue.workers('pool-a'),
      (w) => w![0].checkIn === 'working on it',
      'the worker to check in',
    );
    assert.equal(workers!.length, 2);
    assert.equal(workers![0].jobId, id);
    assert.equal(workers![0].jobType, 'pools.busy');
    assert.ok(workers![0].startedAt);
    assert.deepEqual(workers![1], {
      id: 'pool-a-2',
      poolId: 'pool-a',
      jobType: null,
      jobId: null,
      startedAt: null,
      checkIn: '',
      checkInAt: null,
    });
    assert.equal((await queue.workers('all'))!.filter((w) => w.poolId.startsWith('pool-')).length, 5);
    assert.equal(await queue.workers('no-such-pool'), undefined);
    release();
    assert.equal((await finished(queue, id))!.status, 'success');
  });

  test('finished jobs are pruned with their logs after the retention', async () => {
    const handle = db().handle;
    const queue = new JobQueue(handle.db, handle.dialect, { retentionMs: 0 });
    const id = await queue.enqueue('prune.me', {}, { runAt: new Date(Date.now() + 3600_000) });
    await queue.cancel(id);
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.ok((await queue.prune()) >= 1);
    assert.equal(await queue.get(id), undefined);
    assert.deepEqual(await queue.logs(id), []);
  });
});
