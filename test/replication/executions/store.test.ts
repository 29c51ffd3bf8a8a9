import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JobQueue, lostAttemptsGivenBack } from '../../../src/jobs/queue.js';
import { ReplicationExecutionStore } from '../../../src/replication/executions/store.js';
import type { TaskSpec } from '../../../src/replication/types.js';
import { eachDatabase } from '../../jobs/databases.js';

const spec = (n: number, operation: TaskSpec['operation'] = 'copy'): TaskSpec => ({
  operation,
  resourceType: 'image',
  srcResource: `library/app${n}:[v1]`,
  dstResource: `mirror/app${n}:[v1]`,
  detail: { repository: `library/app${n}`, digest: `sha256:${String(n).repeat(64).slice(0, 64)}`, tags: ['v1'] },
});

eachDatabase('replication execution store', (database) => {
  let store: ReplicationExecutionStore;
  let policyId = 0;
  let n = 0;

  async function newPolicy(): Promise<number> {
    const now = new Date().toISOString();
    const row = await database()
      .handle.db.insertInto('replication_policies')
      .values({
        name: `p${++n}`,
        description: '',
        creator: 'admin',
        src_registry_id: 0,
        dest_registry_id: 1,
        dest_namespace: '',
        dest_namespace_replace_count: -1,
        trigger_type: 'manual',
        cron: '',
        filters: '[]',
        replicate_deletion: 0,
        override: 1,
        enabled: 1,
        speed_kb: 0,
        copy_by_chunk: 0,
        single_active_replication: 0,
        created_at: now,
        updated_at: now,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(row.id);
  }

  test('an execution with tasks: counts follow the tasks, the execution ends with the last one', async () => {
    store = new ReplicationExecutionStore(database().handle.db);
    policyId = await newPolicy();
    const db = database().handle.db;
    const { executionId, ids } = await db.transaction().execute(async (tx) => {
      const executionId = await store.createExecution(policyId, 'manual', tx, { operator: 'admin' });
      await store.setExecutionJob(executionId, 77, tx);
      const ids = await store.addTasks(executionId, [spec(1), spec(2), spec(3, 'deletion')], tx);
      for (const [i, id] of ids.entries()) await store.setTaskJob(id, 100 + i, tx);
      return { executionId, ids };
    });
    assert.equal(ids.length, 3);
    const e = await store.execution(executionId);
    assert.equal(e?.status, 'InProgress');
    assert.equal(e?.jobId, 77);
    assert.equal(e?.operator, 'admin');
    assert.equal(e?.trigger, 'manual');

    const t = await store.task(ids[2]);
    assert.equal(t?.operation, 'deletion');
    assert.equal(t?.jobId, 102);
    assert.deepEqual(t?.detail, spec(3).detail);
    assert.deepEqual(t?.spec, spec(3, 'deletion'));
    assert.equal(t?.policyId, policyId);
    assert.equal(await store.taskState(ids[0]), 'Pending');

    assert.equal(await store.markTask(ids[0], 'InProgress'), true);
    assert.equal(await store.markTask(ids[0], 'InProgress'), true, 'a second attempt');
    assert.equal((await store.task(ids[0]))?.attempts, 2);
    assert.equal(await store.markTask(ids[0], 'Succeed'), true);
    assert.equal(await store.markTask(ids[0], 'Failed'), false, 'a final status stays');
    assert.equal(await store.taskState(ids[0]), 'Succeed');
    assert.equal(await store.finishIfDone(executionId), null, 'two tasks are still open');

    await store.markTask(ids[1], 'InProgress');
    await store.markTask(ids[1], 'Failed', undefined, 'destination unreachable');
    assert.equal((await store.task(ids[1]))?.statusText, 'destination unreachable');
    const counts = (await store.counts([executionId])).get(executionId);
    assert.deepEqual(counts, { total: 3, failed: 1, succeed: 1, inProgress: 1, stopped: 0 });

    await store.markTask(ids[2], 'Succeed');
    assert.equal(await store.finishIfDone(executionId), 'Failed');
    assert.equal(await store.finishIfDone(executionId), 'Failed', 'idempotent');
    assert.ok((await store.execution(executionId))?.endTime);
  });

  test('no task: Succeed; all succeeded: Succeed; planning failure keeps its text', async () => {
    const empty = await store.createExecution(policyId, 'scheduled');
    assert.equal(await store.finishIfDone(empty), 'Succeed');

    const ok = await store.createExecution(policyId, 'event_based');
    const [a] = await store.addTasks(ok, [spec(4)]);
    await store.markTask(a, 'Succeed');
    assert.equal(await store.finishIfDone(ok), 'Succeed');

    const broken = await store.createExecution(policyId, 'manual');
    await store.markExecutionFailed(broken, 'source registry unreachable');
    const e = await store.execution(broken);
    assert.equal(e?.status, 'Failed');
    assert.equal(e?.statusText, 'source registry unreachable');
    await store.markExecutionFailed(broken, 'again');
    assert.equal((await store.execution(broken))?.statusText, 'source registry unreachable', 'an ended execution keeps its text');
  });

  test('stop: open tasks Stopped, their jobs and the planner returned; done tasks keep their status', async () => {
    const id = await store.createExecution(policyId, 'manual');
    await store.setExecutionJob(id, 500, database().handle.db);
    const ids = await store.addTasks(id, [spec(5), spec(6), spec(7)]);
    await store.setTaskJob(ids[0], 501);
    await store.setTaskJob(ids[1], 502);
    await store.markTask(ids[0], 'Succeed');
    await store.markTask(ids[1], 'InProgress');
    const stopped = await store.stop(id);
    assert.deepEqual(stopped, { jobIds: [500, 502], changed: true });
    assert.equal(await store.isStopped(id), true);
    assert.equal(await store.taskState(ids[0]), 'Succeed');
    assert.equal(await store.taskState(ids[1]), 'Stopped');
    assert.equal(await store.taskState(ids[2]), 'Stopped');
    assert.equal(await store.markTask(ids[1], 'Succeed'), false, 'a late task does not undo the stop');
    assert.equal(await store.finishIfDone(id), 'Stopped');
    assert.deepEqual((await store.stop(id))?.changed, false, 'a second stop changes nothing');
    assert.equal(await store.stop(999999), undefined);
  });

  test('single active replication: a second execution while one runs is written Failed, skipped', async () => {
    const p = await newPolicy();
    const first = await store.createExecution(p, 'scheduled', undefined, { singleActive: true });
    const second = await store.createExecution(p, 'scheduled', undefined, { singleActive: true });
    assert.equal(await store.executionStatus(first), 'InProgress');
    const e = await store.execution(second);
    assert.equal(e?.status, 'Failed');
    assert.equal(e?.statusText, 'Execution skipped: active replication still in progress.');
    assert.equal(await store.hasRunningExecution(p), true);
    assert.equal(await store.runningExecutionOf(p), first);
    await store.finishIfDone(first);
    assert.equal(await store.hasRunningExecution(p), false);
    const third = await store.createExecution(p, 'manual', undefined, { singleActive: true });
    assert.equal(await store.executionStatus(third), 'InProgress');
  });

  /**
   * A job whose last attempt was lost: claimed by pools that never renewed their lease (a
   * SIGKILLed worker), once more than the queue gives lost attempts back.
   */
  async function lostJob(queue: JobQueue, type: string): Promise<number> {
    const id = await queue.enqueue(type, {}, { maxAttempts: 1 });
    for (let i = 0; i <= lostAttemptsGivenBack; i++) {
      await queue.claim('dead-pool', [type], 1, 1);
      await new Promise((r) => setTimeout(r, 20));
      await queue.expireLeases();
    }
    assert.equal((await queue.get(id))?.status, 'error');
    return id;
  }

  test('what a job left open is ended: tasks of lost, stopped or pruned jobs, and an execution whose planner was lost', async () => {
    const db = database().handle.db;
    const queue = new JobQueue(db, database().handle.dialect);
    const p = await newPolicy();
    const e = await store.createExecution(p, 'manual');
    const ids = await store.addTasks(e, [spec(31), spec(32), spec(33), spec(34), spec(35)]);
    await store.markTask(ids[0], 'InProgress');
    await store.setTaskJob(ids[0], await lostJob(queue, 'LOST_A'));
    const cancelled = await queue.enqueue('PENDING_B', {});
    await queue.cancel(cancelled);
    await store.setTaskJob(ids[1], cancelled);
    const waiting = await queue.enqueue('PENDING_C', {});
    await store.setTaskJob(ids[2], waiting);
    await store.setTaskJob(ids[3], 987654321);
    await store.markTask(ids[4], 'Succeed');

    await store.settle({ executionIds: [e] });
    const t0 = await store.task(ids[0]);
    assert.equal(t0?.status, 'Failed');
    assert.match(
      t0?.statusText ?? '',
      /^failed: its job \d+ ended with no attempt left \(attempt \d+ was lost: pool dead-pool stopped renewing its lease\)$/,
    );
    assert.equal(await store.taskState(ids[1]), 'Stopped');
    assert.equal(await store.taskState(ids[2]), 'Pending', 'a job still pending is left alone');
    assert.equal((await store.task(ids[3]))?.statusText, 'failed: its job no longer exists');
    assert.equal(await store.taskState(ids[4]), 'Succeed');
    assert.equal(await store.executionStatus(e), 'InProgress', 'one task is still waiting for its job');

    await queue.cancel(waiting);
    await store.settle({ policyId: p });
    assert.equal(await store.taskState(ids[2]), 'Stopped');
    assert.equal(await store.executionStatus(e), 'Failed', 'settled from its tasks once none is open');

    // A planner lost on its last attempt, before it wrote any task.
    const planned = await store.createExecution(p, 'scheduled');
    await store.setExecutionJob(planned, await lostJob(queue, 'LOST_D'));
    const untouched = await store.createExecution(p, 'manual');
    await store.setExecutionJob(untouched, await queue.enqueue('PENDING_E', {}));
    await store.settle();
    const failed = await store.execution(planned);
    assert.equal(failed?.status, 'Failed');
    assert.match(failed?.statusText ?? '', /^planning failed: its job \d+ ended with no attempt left/);
    assert.equal(await store.executionStatus(untouched), 'InProgress', 'its planner has not run yet');

    // single active replication is not blocked for ever by an execution whose planner was lost.
    const single = await newPolicy();
    const stuck = await store.createExecution(single, 'scheduled', undefined, { singleActive: true });
    await store.setExecutionJob(stuck, await lostJob(queue, 'LOST_F'));
    const next = await store.createExecution(single, 'scheduled', undefined, { singleActive: true });
    assert.equal(await store.executionStatus(stuck), 'Failed');
    assert.equal(await store.executionStatus(next), 'InProgress');
  });

  test('lists: filters, paging, sort, task filters', async () => {
    const p = await newPolicy();
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) ids.push(await store.createExecution(p, i === 0 ? 'scheduled' : 'manual'));
    const page = await store.executions({ policyId: p }, { offset: 0, limit: 2 });
    assert.equal(page.total, 3);
    assert.deepEqual(
      page.items.map((e) => e.id),
      [ids[2], ids[1]],
      'newest first',
    );
    const asc = await store.executions({ policyId: p, sort: 'id' }, { offset: 0, limit: 10 });
    assert.deepEqual(
      asc.items.map((e) => e.id),
      ids,
    );
    assert.equal((await store.executions({ policyId: p, trigger: 'scheduled' }, { offset: 0, limit: 10 })).total, 1);
    await store.finishIfDone(ids[0]);
    assert.equal((await store.executions({ policyId: p, status: 'Succeed' }, { offset: 0, limit: 10 })).total, 1);

    const tasks = await store.addTasks(ids[1], [spec(8), spec(9), { ...spec(10), resourceType: 'artifact' }]);
    await store.markTask(tasks[0], 'InProgress');
    const list = await store.tasks(ids[1], {}, { offset: 0, limit: 10 });
    assert.equal(list.total, 3);
    assert.equal(list.items[0].id, tasks[0], 'the started task first');
    assert.equal(list.items[0].policyId, p);
    assert.equal((await store.tasks(ids[1], { status: 'Pending' }, { offset: 0, limit: 10 })).total, 2);
    assert.equal((await store.tasks(ids[1], { resourceType: 'artifact' }, { offset: 0, limit: 10 })).total, 1);
    const sorted = await store.tasks(ids[1], { sort: 'id' }, { offset: 1, limit: 1 });
    assert.deepEqual(
      sorted.items.map((t) => t.id),
      [tasks[1]],
    );
  });
});
