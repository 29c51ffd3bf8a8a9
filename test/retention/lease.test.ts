import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { testDialect } from '../helpers/database.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { JobAbortError, type JobContext } from '../../src/jobs/runner.js';
import type { ExecutionJobPayload, TaskJobPayload } from '../../src/retention/service.js';
import { createProject, digestsOf, push, rule, savePolicy } from './helpers.js';

/** A job context made by hand whose signal has already fired for `kind`. */
function aborted<P>(payload: P, kind: JobAbortError['kind']): JobContext<P> {
  const controller = new AbortController();
  controller.abort(new JobAbortError(kind, `test: ${kind}`));
  return { id: 0, type: 'test', payload, attempt: 1, maxAttempts: 1, signal: controller.signal, log: async () => {} } as JobContext<P>;
}

/**
 * A retention task whose instance lost the job's lease (or is shutting down) leaves the task
 * running for the instance that runs it again; only a stop ends it as Stopped. Driven by hand
 * on a Berth that runs no jobs, so nothing else picks the task up meanwhile.
 */
describe(`retention task and its lease (${testDialect()})`, () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ yaml: { 'jobs.concurrency': 0 } });
  });
  after(async () => {
    await server?.stop();
  });

  async function enqueuedTask(project: string): Promise<{ taskId: number; executionId: number }> {
    const projectId = await createProject(server, project);
    for (let i = 0; i < 3; i++) await push(server, `${project}/app`, `t${i}`);
    const policyId = await savePolicy(server, projectId, [rule('latestPushedK', 1)]);
    const retention = server.berth.retention;
    const executionId = await retention.trigger(policyId, false, 'admin');
    const payload: ExecutionJobPayload = { executionId, operator: 'admin' };
    await retention.handleExecution({ ...aborted(payload, 'stopped'), signal: new AbortController().signal });
    const { items } = await retention.tasks(policyId, executionId);
    assert.equal(items.length, 1);
    return { taskId: items[0].id, executionId };
  }

  for (const kind of ['lease-lost', 'shutdown'] as const) {
    test(`${kind}: the task is not recorded as ended and removes nothing`, async () => {
      const project = `lease-${kind}`;
      const { taskId } = await enqueuedTask(project);
      const payload: TaskJobPayload = { taskId, operator: 'admin' };
      await assert.rejects(
        server.berth.retention.handleTask(aborted(payload, kind)),
        (err: unknown) => err instanceof JobAbortError && err.kind === kind,
      );
      const task = await server.berth.database.db
        .selectFrom('retention_tasks')
        .select('status')
        .where('id', '=', taskId)
        .executeTakeFirstOrThrow();
      assert.equal(task.status, 'Running');
      assert.equal((await digestsOf(server, `${project}/app`)).size, 3);
    });
  }

  test('stopped: the task ends as Stopped', async () => {
    const { taskId } = await enqueuedTask('lease-stopped');
    const payload: TaskJobPayload = { taskId, operator: 'admin' };
    await server.berth.retention.handleTask(aborted(payload, 'stopped'));
    const task = await server.berth.database.db
      .selectFrom('retention_tasks')
      .select('status')
      .where('id', '=', taskId)
      .executeTakeFirstOrThrow();
    assert.equal(task.status, 'Stopped');
  });
});
