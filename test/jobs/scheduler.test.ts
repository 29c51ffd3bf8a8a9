import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JobQueue } from '../../src/jobs/queue.js';
import { nextTick, Scheduler } from '../../src/jobs/scheduler.js';
import { eachDatabase, waitFor } from './databases.js';

eachDatabase('scheduler', (db) => {
  function instance(handle = db().handle) {
    const queue = new JobQueue(handle.db, handle.dialect);
    return { queue, scheduler: new Scheduler(handle.db, queue, { pollIntervalMs: 25 }) };
  }

  const jobsOf = async (type: string) =>
    db().handle.db.selectFrom('jobs').select(['id', 'run_at', 'payload', 'status']).where('type', '=', type).orderBy('run_at').execute();

  test('a per-second schedule on two instances fires once per tick', async () => {
    const a = instance();
    const b = instance(db().connect());
    const spec = { name: 'every-second', jobType: 'sched.tick', cron: '* * * * * *', payload: { from: 'cron' } };
    // Both instances define it at start, as every instance of the same code would.
    await a.scheduler.define(spec);
    await b.scheduler.define(spec);
    a.scheduler.start();
    b.scheduler.start();
    try {
      await waitFor(
        () => jobsOf('sched.tick'),
        (jobs) => jobs.length >= 4,
        'four ticks',
      );
    } finally {
      await Promise.all([a.scheduler.stop(), b.scheduler.stop()]);
    }
    const jobs = await jobsOf('sched.tick');
    const ticks = jobs.map((j) => j.run_at);
    assert.equal(new Set(ticks).size, ticks.length, `a tick fired twice: ${ticks.join(' ')}`);
    for (const tick of ticks) assert.match(tick, /\.000Z$/, 'each job runs at its whole-second tick');
    for (const job of jobs) assert.deepEqual(JSON.parse(job.payload), { from: 'cron' });
    const log = await a.queue.logs(Number(jobs[0].id));
    assert.deepEqual(
      log.map((l) => l.message),
      [`started by schedule "every-second" (* * * * * *) for its tick at ${ticks[0]}`],
    );
  });

  test('instances racing for one due tick: exactly one fires it', async () => {
    const instances = [instance(), ...Array.from({ length: 4 }, () => instance(db().connect()))];
    await instances[0].scheduler.define({ name: 'race', jobType: 'sched.race', cron: '0 0 0 1 1 *' });
    const due = '2001-01-01T00:00:00.000Z';
    await db().handle.db.updateTable('schedules').set({ next_run_at: due }).where('name', '=', 'race').execute();
    const fired = await Promise.all(instances.map((i) => i.scheduler.tick()));
    assert.equal(
      fired.reduce((sum, n) => sum + n, 0),
      1,
    );
    const jobs = await jobsOf('sched.race');
    assert.deepEqual(
      jobs.map((j) => j.run_at),
      [due],
    );
    // Missed ticks collapse into that one: the next is in the future.
    const schedule = await instances[0].scheduler.get('race');
    assert.equal(schedule!.lastRunAt, due);
    assert.ok(schedule!.nextRunAt! > new Date().toISOString());
  });

  test('define validates the cron, keeps the next tick when unchanged, and recomputes it when changed', async () => {
    const { scheduler } = instance();
    await assert.rejects(scheduler.define({ name: 'bad', jobType: 'sched.bad', cron: 'every day' }), /not a valid cron expression/);
    const first = await scheduler.define({ name: 'daily', jobType: 'sched.daily', cron: '0 0 3 * * *', vendorId: 9 });
    assert.equal(first.vendorId, 9);
    assert.match(first.nextRunAt!, /T03:00:00\.000Z$/);
    await db().handle.db.updateTable('schedules').set({ next_run_at: '2030-01-01T03:00:00.000Z' }).where('name', '=', 'daily').execute();
    const same = await scheduler.define({ name: 'daily', jobType: 'sched.daily', cron: '0 0 3 * * *', payload: { v: 2 } });
    assert.equal(same.nextRunAt, '2030-01-01T03:00:00.000Z');
    assert.deepEqual(same.payload, { v: 2 });
    const changed = await scheduler.define({ name: 'daily', jobType: 'sched.daily', cron: '0 30 4 * * *' });
    assert.match(changed.nextRunAt!, /T04:30:00\.000Z$/);
    assert.ok(changed.nextRunAt! < '2030-01-01');
    // Five fields (no seconds) are accepted too.
    assert.equal(nextTick('*/5 * * * *', new Date('2024-01-01T00:01:02Z'))!.toISOString(), '2024-01-01T00:05:00.000Z');
  });

  test('a paused schedule does not fire; resumed, it fires from its next tick', async () => {
    const { scheduler } = instance();
    await scheduler.define({ name: 'pausable', jobType: 'sched.pausable', cron: '0 0 0 1 1 *' });
    assert.equal(await scheduler.setPaused('pausable', true), true);
    await db().handle.db.updateTable('schedules').set({ next_run_at: '2001-01-01T00:00:00.000Z' }).where('name', '=', 'pausable').execute();
    assert.equal(await scheduler.tick(), 0);
    assert.deepEqual(await jobsOf('sched.pausable'), []);
    await scheduler.setPaused('pausable', false);
    assert.ok((await scheduler.get('pausable'))!.nextRunAt! > new Date().toISOString());
    assert.equal(await scheduler.setPaused('no-such-schedule', true), false);
  });

  test('schedules are listed page by page and can be removed', async () => {
    const { scheduler } = instance();
    await scheduler.define({ name: 'list-1', jobType: 'sched.list', cron: '0 0 * * * *' });
    await scheduler.define({ name: 'list-2', jobType: 'sched.list', cron: '0 0 * * * *' });
    const all = await scheduler.list({ offset: 0, limit: 100 });
    assert.ok(all.total >= 2);
    assert.equal(all.items.length, all.total);
    const one = await scheduler.list({ offset: 0, limit: 1 });
    assert.equal(one.items.length, 1);
    assert.equal(one.total, all.total);
    assert.equal(await scheduler.remove('list-2'), true);
    assert.equal(await scheduler.remove('list-2'), false);
    assert.equal((await scheduler.list({ offset: 0, limit: 100 })).total, all.total - 1);
  });
});
