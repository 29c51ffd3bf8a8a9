import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { lostAttemptsGivenBack } from '../../../src/jobs/queue.js';
import { reapOrphans, reapSchedule } from '../../../src/replication/engine/reaper.js';
import { ReplicationExecutionStore } from '../../../src/replication/executions/store.js';
import { replicationJobTypes } from '../../../src/replication/types.js';
import { api } from '../../helpers/api.js';
import { startServer, type TestServer } from '../../helpers/server.js';

// A task whose last attempt was lost (its instance died, more often than the queue gives a
// lost attempt back, so the queue ended the job with no attempt left) is ended by the reaper instead of staying InProgress for good. The server
// runs no jobs itself (jobs.concurrency 0), so the test plays the dead instance with the queue.

describe('replication reaper', () => {
  let berth: TestServer;
  before(async () => {
    berth = await startServer({ yaml: { 'jobs.concurrency': 0 } });
  });
  after(async () => {
    await berth?.stop();
  });

  test('a task and an unplanned execution whose jobs were lost are ended with the reason; nothing else is touched', async () => {
    const { queue } = berth.berth.jobs;
    const db = berth.berth.database.db;
    const store = new ReplicationExecutionStore(db);
    const registry = await api(berth, 'POST', '/registries', {
      auth: berth.admin.authorization,
      body: {
        name: 'self',
        type: 'harbor',
        url: berth.url,
        insecure: true,
        credential: { type: 'basic', access_key: 'admin', access_secret: 'Harbor12345' },
      },
    });
    assert.equal(registry.status, 201, JSON.stringify(registry.body));
    const registryId = Number(registry.headers.get('location')?.split('/').pop());
    const policy = await api(berth, 'POST', '/replication/policies', {
      auth: berth.admin.authorization,
      body: { name: 'p', src_registry: null, dest_registry: { id: registryId }, trigger: { type: 'manual' }, enabled: true },
    });
    assert.equal(policy.status, 201, JSON.stringify(policy.body));
    const policyId = Number(policy.headers.get('location')?.split('/').pop());

    // One execution with two tasks: one whose job's only attempt is lost, one whose job is still pending.
    const executionId = await store.createExecution(policyId, 'manual');
    const spec = { operation: 'copy' as const, resourceType: 'image' as const, srcResource: 'a/b:[1]', dstResource: 'a/b:[1]', detail: {} };
    const [lost, waiting] = await store.addTasks(executionId, [spec, spec]);
    const lostJob = await queue.enqueue(replicationJobTypes.task, { taskId: lost }, { maxAttempts: 1 });
    await store.setTaskJob(lost, lostJob);
    await store.markTask(lost, 'InProgress');
    const waitingJob = await queue.enqueue(
      replicationJobTypes.task,
      { taskId: waiting },
      { maxAttempts: 1, runAt: new Date(Date.now() + 3600_000) },
    );
    await store.setTaskJob(waiting, waitingJob);
    // Dead instances claimed the lost job with leases that lapse at once, once more than the
    // queue gives lost attempts back.
    for (let i = 0; i <= lostAttemptsGivenBack; i++) {
      const claimed = await queue.claim('dead-pool', [replicationJobTypes.task], 1, 1);
      assert.deepEqual(
        claimed.map((j) => j.id),
        [lostJob],
      );
      await new Promise((r) => setTimeout(r, 20));
      await queue.expireLeases();
    }
    assert.equal((await queue.get(lostJob))?.status, 'error');

    // An execution whose planning job's only attempt was lost before it wrote any task.
    const unplanned = await store.createExecution(policyId, 'manual');
    const planJob = await queue.enqueue(
      replicationJobTypes.execution,
      { policyId, executionId: unplanned, trigger: 'manual' },
      { maxAttempts: 1 },
    );
    await store.setExecutionJob(unplanned, planJob);
    for (let i = 0; i <= lostAttemptsGivenBack; i++) {
      assert.deepEqual(
        (await queue.claim('dead-pool', [replicationJobTypes.execution], 1, 1)).map((j) => j.id),
        [planJob],
      );
      await new Promise((r) => setTimeout(r, 20));
      await queue.expireLeases();
    }

    assert.equal(await reapOrphans(db, store), 2);
    const lostTask = await store.task(lost);
    assert.equal(lostTask?.status, 'Failed');
    assert.match(lostTask!.statusText, /ended \(error\) without finishing the task: attempt \d+ was lost/);
    assert.equal((await store.task(waiting))?.status, 'Pending', 'a task whose job has not run is left alone');
    assert.equal(await store.executionStatus(executionId), 'InProgress', 'its execution goes on while a task is open');
    assert.equal(await store.executionStatus(unplanned), 'Failed');
    assert.match((await store.execution(unplanned))!.statusText, /planning job .* ended \(error\) before writing its tasks/);

    // Once the last open task ends, the execution ends (here: failed, one task having failed).
    await store.markTask(waiting, 'Succeed');
    await store.finishIfDone(executionId);
    assert.equal(await store.executionStatus(executionId), 'Failed');
    assert.equal(await reapOrphans(db, store), 0, 'nothing left to reap');
    assert.equal(await berth.berth.jobs.scheduler.get(reapSchedule), undefined, 'no schedule before any planning job ran here');
  });
});
