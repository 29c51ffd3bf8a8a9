import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { pushImage } from '../../gc/helpers.js';
import { api } from '../../helpers/api.js';
import { testDialect } from '../../helpers/database.js';
import { startDockerRegistry, type DockerRegistry } from '../../helpers/docker-registry.js';
import { startServer, type TestServer } from '../../helpers/server.js';
import { requireTools } from '../../helpers/tools.js';
import { waitFor } from '../../jobs/databases.js';
import { createEndpoint, createPolicy, pushPolicy } from '../policies/helpers.js';

const skip = requireTools('docker-registry');

/**
 * Executions run by the engine (jobs on): a run's counts, tasks and logs through the API, and
 * a stop that reaches a task while it copies (its job aborted where it runs).
 */
describe(`replication executions that run (${testDialect()})`, { skip }, () => {
  let server: TestServer;
  let registry: DockerRegistry;
  let admin: string;
  let destId: number;

  before(async () => {
    registry = await startDockerRegistry();
    server = await startServer({ yaml: { 'jobs.poll_interval_ms': 20 } });
    admin = server.admin.authorization;
    destId = await createEndpoint(server, registry.url, 'dr');
  });
  after(async () => {
    await server?.stop();
    await registry?.close();
  });

  const get = async (path: string) => {
    const res = await api(server, 'GET', path, { auth: admin });
    assert.equal(res.status, 200, `${path}: ${JSON.stringify(res.body)}`);
    return res.body;
  };
  const start = async (policyId: number) => {
    const res = await api(server, 'POST', '/replication/executions', { auth: admin, body: { policy_id: policyId } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return Number(res.headers.get('location')!.split('/').pop());
  };

  test('a run: the execution ends Succeed with one task per artifact, each with its log', async () => {
    await pushImage(server, 'library/small-a', 'v1', [randomBytes(2048)]);
    await pushImage(server, 'library/small-b', 'v1', [randomBytes(2048)]);
    const policyId = await createPolicy(server, pushPolicy('run', destId, { filters: [{ type: 'name', value: 'library/small-*' }] }));
    const id = await start(policyId);
    const done = await waitFor(
      () => get(`/replication/executions/${id}`),
      (e) => e.status !== 'InProgress',
      'the execution to end',
      60_000,
    );
    assert.equal(done.status, 'Succeed', JSON.stringify(done));
    assert.deepEqual([done.total, done.succeed, done.failed, done.in_progress, done.stopped], [2, 2, 0, 0, 0]);
    const tasks = await get(`/replication/executions/${id}/tasks?sort=id`);
    assert.deepEqual(
      tasks.map((t: any) => [t.status, t.operation, t.resource_type]),
      [
        ['Succeed', 'copy', 'image'],
        ['Succeed', 'copy', 'image'],
      ],
    );
    assert.deepEqual(tasks.map((t: any) => t.src_resource).sort(), ['library/small-a:[v1]', 'library/small-b:[v1]']);
    for (const t of tasks) {
      const log = await fetch(`${server.url}/api/v2.0/replication/executions/${id}/tasks/${t.id}/log`, {
        headers: { authorization: admin },
      });
      assert.equal(log.status, 200);
      assert.notEqual(await log.text(), '', 'the job wrote its log');
    }
    const listed = await get(`/replication/executions?policy_id=${policyId}`);
    assert.deepEqual(
      listed.map((e: any) => [e.id, e.status, e.total, e.succeed]),
      [[id, 'Succeed', 2, 2]],
    );
  });

  test('stop reaches a task while it copies: the task and the execution end Stopped, the job is aborted', async () => {
    // 3 MB at 32 KB/s takes about 90 s: the stop lands mid-copy.
    await pushImage(server, 'library/big', 'v1', [randomBytes(3 * 1024 * 1024)]);
    const policyId = await createPolicy(
      server,
      pushPolicy('slow', destId, { speed: 32, filters: [{ type: 'name', value: 'library/big' }] }),
    );
    const id = await start(policyId);
    const [task] = await waitFor(
      () => get(`/replication/executions/${id}/tasks`),
      (list) => list.length === 1 && list[0].status === 'InProgress',
      'the task to start copying',
      60_000,
    );
    assert.equal((await api(server, 'PUT', `/replication/executions/${id}`, { auth: admin })).status, 200);
    const stopped = await get(`/replication/executions/${id}`);
    assert.equal(stopped.status, 'Stopped');
    assert.deepEqual([stopped.total, stopped.stopped, stopped.succeed], [1, 1, 0]);
    const jobId = Number(task.job_id);
    const job = await waitFor(
      () => server.berth.jobs.queue.get(jobId),
      (j) => j !== undefined && j.status !== 'running',
      'the task job to end',
      60_000,
    );
    assert.equal(job?.status, 'stopped');
    assert.match((await server.berth.jobs.queue.logText(jobId)) ?? '', /stop requested/);
    const after = await get(`/replication/executions/${id}/tasks`);
    assert.equal(after[0].status, 'Stopped', 'the engine does not overwrite the stop');
    assert.equal((await get(`/replication/executions/${id}`)).status, 'Stopped');
  });
});
