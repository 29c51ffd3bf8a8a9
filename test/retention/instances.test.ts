import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createDatabaseOn, probePostgres } from '../helpers/database.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { postgresServer, waitFor } from '../jobs/databases.js';
import { createProject, digestsOf, push, rule, run, savePolicy } from './helpers.js';

const unavailable = await probePostgres(postgresServer);
const skip = unavailable !== null && process.env.CI !== 'true' ? unavailable : false;

/**
 * Two instances on one PostgreSQL database: the one that takes the API request runs no jobs
 * (jobs.concurrency 0), so every task of its execution runs on the other, and the first one
 * answers the execution, its tasks and their logs.
 */
describe('retention across instances (postgres)', { skip }, () => {
  let front: TestServer;
  let worker: TestServer;
  let database: { url: string; drop(): Promise<void> } | undefined;

  before(async () => {
    if (unavailable) throw new Error(`${unavailable}, and CI=true requires it`);
    database = await createDatabaseOn(postgresServer);
    const yaml = { 'database.url': database.url, 'jobs.poll_interval_ms': 20 };
    front = await startServer({ yaml: { ...yaml, 'jobs.concurrency': 0 } });
    worker = await startServer({ dataDir: front.dataDir, yaml });
  });
  after(async () => {
    await worker?.stop({ keepData: true });
    await front?.stop();
    await database?.drop();
  });

  test('an execution started on one instance runs its tasks on another', async () => {
    const projectId = await createProject(front, 'spread');
    for (const repo of ['a', 'b', 'c']) for (let i = 0; i < 3; i++) await push(front, `spread/${repo}`, `t${i}`);
    const policyId = await savePolicy(front, projectId, [rule('latestPushedK', 1)]);
    const result = await run(front, policyId, false);
    assert.equal(result.execution.status, 'Success');
    assert.deepEqual(
      result.tasks.map((t) => [t.repository, t.total, t.retained]),
      [
        ['a', 3, 1],
        ['b', 3, 1],
        ['c', 3, 1],
      ],
    );
    // The front instance runs no job at all (jobs.concurrency 0): the execution and its three tasks ran on the worker.
    assert.equal(front.berth.config.jobs.concurrency, 0);
    // The execution ends with its last task, which may be before the worker records the
    // execution job's own end (it logs after enqueueing the tasks): wait for the jobs' ends.
    const jobs = await waitFor(
      () =>
        front.berth.database.db
          .selectFrom('jobs')
          .select(['type', 'status'])
          .where('type', 'in', ['RETENTION', 'RETENTION_TASK'])
          .execute(),
      (rows) => rows.every((j) => j.status !== 'pending' && j.status !== 'running'),
      'the retention jobs to end',
    );
    assert.deepEqual(jobs.map((j) => `${j.type} ${j.status}`).sort(), [
      'RETENTION success',
      'RETENTION_TASK success',
      'RETENTION_TASK success',
      'RETENTION_TASK success',
    ]);
    for (const repo of ['a', 'b', 'c']) assert.equal((await digestsOf(front, `spread/${repo}`)).size, 1);
  });
});
