import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ReplicationExecutionStore } from '../../../src/replication/executions/store.js';
import type { TaskSpec } from '../../../src/replication/types.js';
import { checkShape } from '../../compat/harbor-shapes.js';
import { api, createUser, errorCode } from '../../helpers/api.js';
import { testDialect } from '../../helpers/database.js';
import { startDockerRegistry, type DockerRegistry } from '../../helpers/docker-registry.js';
import { basicAuth, startServer, type TestServer } from '../../helpers/server.js';
import { requireTools } from '../../helpers/tools.js';
import { createEndpoint, createPolicy, pushPolicy } from '../policies/helpers.js';

const skip = requireTools('docker-registry');

const spec = (n: number, resourceType: TaskSpec['resourceType'] = 'image'): TaskSpec => ({
  operation: 'copy',
  resourceType,
  srcResource: `library/app${n}:[v1]`,
  dstResource: `mirror/app${n}:[v1]`,
  detail: { n },
});

/**
 * Harbor's /replication/executions against a real Berth that runs no jobs (jobs.concurrency
 * 0): executions stay where the API put them, and their tasks are written through the store
 * the engine writes through, so counts, lists, logs and stop are checked state by state.
 */
describe(`replication executions API (${testDialect()})`, { skip }, () => {
  let server: TestServer;
  let registry: DockerRegistry;
  let admin: string;
  let destId: number;
  let policyId: number;
  let store: ReplicationExecutionStore;

  before(async () => {
    registry = await startDockerRegistry();
    server = await startServer({ yaml: { 'jobs.concurrency': 0 } });
    admin = server.admin.authorization;
    destId = await createEndpoint(server, registry.url, 'dr');
    policyId = await createPolicy(server, pushPolicy('push', destId));
    store = new ReplicationExecutionStore(server.berth.database.db);
  });
  after(async () => {
    await server?.stop();
    await registry?.close();
  });

  const db = () => server.berth.database.db;
  const queue = () => server.berth.jobs.queue;
  const state = async () => ({
    executions: await db().selectFrom('replication_executions').selectAll().orderBy('id').execute(),
    jobs: await db().selectFrom('jobs').select(['id', 'type', 'status']).where('type', 'like', 'REPLICATION%').orderBy('id').execute(),
  });
  const start = async (id: number) => {
    const res = await api(server, 'POST', '/replication/executions', { auth: admin, body: { policy_id: id } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const location = res.headers.get('location')!;
    assert.match(location, /^\/api\/v2\.0\/replication\/executions\/\d+$/);
    return Number(location.split('/').pop());
  };
  const zeroTime = '0001-01-01T00:00:00.000Z';
  const execution = async (id: number) => {
    const res = await api(server, 'GET', `/replication/executions/${id}`, { auth: admin });
    assert.equal(res.status, 200);
    assert.deepEqual(checkShape(res.body, 'ReplicationExecution'), []);
    return res.body;
  };
  const jobStatus = async (id: number) =>
    (await db().selectFrom('jobs').select('status').where('id', '=', id).executeTakeFirstOrThrow()).status;

  test("a manual start writes the execution and its REPLICATION job in one go; the execution answers Harbor's fields", async () => {
    const id = await start(policyId);
    const e = await execution(id);
    assert.deepEqual(
      { ...e, start_time: undefined },
      {
        id,
        policy_id: policyId,
        status: 'InProgress',
        trigger: 'manual',
        start_time: undefined,
        end_time: zeroTime,
        status_text: '',
        total: 0,
        failed: 0,
        succeed: 0,
        in_progress: 0,
        stopped: 0,
      },
    );
    assert.ok(!Number.isNaN(Date.parse(e.start_time)));
    const row = await db().selectFrom('replication_executions').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    assert.equal(row.operator, 'admin');
    const job = await queue().get(Number(row.job_id));
    assert.equal(job?.type, 'REPLICATION');
    assert.equal(job?.status, 'pending');
    assert.deepEqual(job?.payload, { policyId, executionId: id, trigger: 'manual' });
  });

  test("start refuses a bad body (400), a policy that does not exist (404) and a disabled one (412, Harbor's message); nothing is written", async () => {
    const disabled = await createPolicy(server, pushPolicy('off', destId, { enabled: false }));
    const before = await state();
    for (const body of [{}, { policy_id: 'one' }, { policy_id: 0 }, { policy_id: 1.5 }]) {
      const res = await api(server, 'POST', '/replication/executions', { auth: admin, body });
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.match(res.body.errors[0].message, /policy_id must be the id of a replication policy/);
    }
    assert.equal((await api(server, 'POST', '/replication/executions', { auth: admin, rawBody: '[1]' })).status, 400);
    const missing = await api(server, 'POST', '/replication/executions', { auth: admin, body: { policy_id: 99999 } });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.errors[0].message, 'replication policy 99999 not found');
    const off = await api(server, 'POST', '/replication/executions', { auth: admin, body: { policy_id: disabled } });
    assert.equal(off.status, 412);
    assert.equal(errorCode(off), 'PRECONDITION');
    assert.equal(off.body.errors[0].message, `the policy ${disabled} is disabled`);
    assert.deepEqual(await state(), before);
  });

  test('single active replication: a start while an execution of the policy is in progress is recorded Failed (skipped), with no job', async () => {
    const single = await createPolicy(server, pushPolicy('single', destId, { single_active_replication: true }));
    const first = await start(single);
    const jobsBefore = (await state()).jobs.length;
    const second = await start(single);
    const e = await execution(second);
    assert.equal(e.status, 'Failed');
    assert.equal(e.status_text, 'Execution skipped: active replication still in progress.');
    assert.notEqual(e.end_time, zeroTime);
    assert.equal((await state()).jobs.length, jobsBefore, 'nothing enqueued for the skipped one');
    assert.equal((await execution(first)).status, 'InProgress');
    // Once the first one ends, a start runs again.
    assert.equal((await api(server, 'PUT', `/replication/executions/${first}`, { auth: admin })).status, 200);
    assert.equal((await execution(await start(single))).status, 'InProgress');
  });

  test('counts, tasks and logs follow the tasks the engine writes', async () => {
    const id = await start(policyId);
    const ids = await store.addTasks(id, [spec(1), spec(2), spec(3, 'artifact'), spec(4)]);
    const jobs: number[] = [];
    for (const taskId of ids) {
      const jobId = await queue().enqueue('REPLICATION_TASK', { taskId });
      await store.setTaskJob(taskId, jobId);
      jobs.push(jobId);
    }
    await queue().log(jobs[0], 'INFO', 'blob sha256:aaa skipped: the destination has it');
    await queue().log(jobs[0], 'INFO', 'manifest pushed to mirror/app1:v1');
    await store.markTask(ids[0], 'InProgress');
    await store.markTask(ids[0], 'Succeed');
    await store.markTask(ids[1], 'InProgress');
    await store.markTask(ids[1], 'Failed', undefined, 'the destination answered 500');
    await store.markTask(ids[2], 'InProgress');

    const e = await execution(id);
    assert.deepEqual([e.total, e.succeed, e.failed, e.in_progress, e.stopped], [4, 1, 1, 2, 0]);
    assert.equal(e.status, 'InProgress');

    const list = await api(server, 'GET', `/replication/executions/${id}/tasks?page_size=10`, { auth: admin });
    assert.equal(list.status, 200);
    assert.equal(list.headers.get('x-total-count'), '4');
    for (const t of list.body) assert.deepEqual(checkShape(t, 'ReplicationTask'), []);
    const first = list.body.find((t: any) => t.id === ids[0]);
    assert.deepEqual(
      { ...first, start_time: undefined, end_time: undefined },
      {
        id: ids[0],
        execution_id: id,
        status: 'Succeed',
        job_id: String(jobs[0]),
        operation: 'copy',
        resource_type: 'image',
        src_resource: 'library/app1:[v1]',
        dst_resource: 'mirror/app1:[v1]',
        start_time: undefined,
        end_time: undefined,
      },
    );
    assert.ok(first.start_time !== zeroTime && first.end_time !== zeroTime);
    const pending = list.body.find((t: any) => t.id === ids[3]);
    assert.equal(pending.status, 'Pending');
    assert.equal(pending.start_time, zeroTime, "Harbor's zero time until it starts");
    assert.equal(pending.end_time, zeroTime);
    assert.equal(list.body[list.body.length - 1].id, ids[3], 'tasks not started come last');

    const filtered = async (query: string) =>
      (await api(server, 'GET', `/replication/executions/${id}/tasks?${query}`, { auth: admin })).body.map((t: any) => t.id);
    assert.deepEqual(await filtered('status=Failed'), [ids[1]]);
    assert.deepEqual(await filtered('status=Error'), [ids[1]], "the job service's word too");
    assert.deepEqual(await filtered('status=InProgress'), [ids[2]]);
    assert.deepEqual(await filtered('status=Pending'), [ids[3]]);
    assert.deepEqual(await filtered('resource_type=artifact'), [ids[2]]);
    assert.deepEqual(await filtered('sort=id&page=2&page_size=2'), [ids[2], ids[3]]);
    const badStatus = await api(server, 'GET', `/replication/executions/${id}/tasks?status=Done`, { auth: admin });
    assert.equal(badStatus.status, 400);
    assert.match(
      badStatus.body.errors[0].message,
      /status must be one of Pending, InProgress, Succeed, Failed, Stopped|status must be one of/,
    );
    assert.equal((await api(server, 'GET', `/replication/executions/${id}/tasks?resource_type=chart`, { auth: admin })).status, 400);
    assert.equal((await api(server, 'GET', `/replication/executions/${id}/tasks?sort=colour`, { auth: admin })).status, 400);

    const log = await fetch(`${server.url}/api/v2.0/replication/executions/${id}/tasks/${ids[0]}/log`, {
      headers: { authorization: admin },
    });
    assert.equal(log.status, 200);
    assert.match(log.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await log.text();
    assert.match(text, /\[INFO\] blob sha256:aaa skipped: the destination has it\n.*\[INFO\] manifest pushed to mirror\/app1:v1\n$/s);
    const empty = await fetch(`${server.url}/api/v2.0/replication/executions/${id}/tasks/${ids[3]}/log`, {
      headers: { authorization: admin },
    });
    assert.equal(empty.status, 200);
    assert.equal(await empty.text(), '', 'a job that logged nothing yet');

    const other = await start(policyId);
    const wrong = await api(server, 'GET', `/replication/executions/${other}/tasks/${ids[0]}/log`, { auth: admin });
    assert.equal(wrong.status, 404);
    assert.equal(wrong.body.errors[0].message, `execution ${other} contains no task with ID ${ids[0]}`);
    const noTask = await api(server, 'GET', `/replication/executions/${id}/tasks/99999/log`, { auth: admin });
    assert.equal(noTask.status, 404);
    assert.equal(noTask.body.errors[0].message, 'replication task 99999 not found');
    assert.equal((await api(server, 'GET', `/replication/executions/99999/tasks`, { auth: admin })).status, 404);
    assert.equal((await api(server, 'PUT', `/replication/executions/${other}`, { auth: admin })).status, 200);

    // Stop: the open tasks and their jobs, and the planning job; what ended keeps its status.
    const planner = Number(
      (await db().selectFrom('replication_executions').select('job_id').where('id', '=', id).executeTakeFirstOrThrow()).job_id,
    );
    const stop = await api(server, 'PUT', `/replication/executions/${id}`, { auth: admin });
    assert.equal(stop.status, 200);
    const stopped = await execution(id);
    assert.equal(stopped.status, 'Stopped');
    assert.notEqual(stopped.end_time, zeroTime);
    assert.deepEqual([stopped.total, stopped.succeed, stopped.failed, stopped.in_progress, stopped.stopped], [4, 1, 1, 0, 2]);
    assert.deepEqual(await Promise.all(ids.map((t) => store.taskState(t))), ['Succeed', 'Failed', 'Stopped', 'Stopped']);
    assert.equal(await jobStatus(planner), 'stopped');
    assert.equal(await jobStatus(jobs[2]), 'stopped');
    assert.equal(await jobStatus(jobs[3]), 'stopped');
    assert.equal(await jobStatus(jobs[0]), 'pending', 'the job of a task that ended is not touched');
    assert.match((await queue().logText(jobs[3])) ?? '', /stopped before it ran/);
    assert.equal(await store.markTask(ids[2], 'Succeed'), false, 'a late task result does not undo the stop');
    // A second stop changes nothing.
    assert.equal((await api(server, 'PUT', `/replication/executions/${id}`, { auth: admin })).status, 200);
    assert.equal((await execution(id)).end_time, stopped.end_time);
    assert.equal((await api(server, 'PUT', '/replication/executions/99999', { auth: admin })).status, 404);
  });

  test("lists executions newest first with their counts; filters by policy, status and trigger (Harbor's words and the job service's)", async () => {
    const p = await createPolicy(server, pushPolicy('listed', destId));
    const a = await start(p);
    const b = await start(p);
    const c = await start(p);
    await store.addTasks(b, [spec(9)]);
    assert.equal((await api(server, 'PUT', `/replication/executions/${c}`, { auth: admin })).status, 200);
    const get = (query: string) => api(server, 'GET', `/replication/executions?${query}`, { auth: admin });
    const all = await get(`policy_id=${p}`);
    assert.equal(all.status, 200);
    for (const e of all.body) assert.deepEqual(checkShape(e, 'ReplicationExecution'), []);
    assert.equal(all.headers.get('x-total-count'), '3');
    assert.deepEqual(
      all.body.map((e: any) => e.id),
      [c, b, a],
    );
    assert.deepEqual(
      all.body.map((e: any) => [e.total, e.in_progress]),
      [
        [0, 0],
        [1, 1],
        [0, 0],
      ],
    );
    assert.deepEqual(
      (await get(`policy_id=${p}&status=Stopped`)).body.map((e: any) => e.id),
      [c],
    );
    assert.deepEqual(
      (await get(`policy_id=${p}&status=Running`)).body.map((e: any) => e.id),
      [b, a],
    );
    assert.deepEqual(
      (await get(`policy_id=${p}&trigger=manual&sort=id&page=2&page_size=2`)).body.map((e: any) => e.id),
      [c],
    );
    assert.equal((await get(`policy_id=${p}&trigger=scheduled`)).headers.get('x-total-count'), '0');
    assert.match((await get(`policy_id=${p}&page=1&page_size=1`)).headers.get('link') ?? '', /rel="next"/);
    for (const query of ['status=Done', 'trigger=hourly', 'policy_id=x', 'sort=colour']) {
      const res = await get(query);
      assert.equal(res.status, 400, query);
    }
    assert.equal((await api(server, 'GET', '/replication/executions/99999', { auth: admin })).status, 404);
    assert.equal((await api(server, 'GET', '/replication/executions/abc', { auth: admin })).status, 400);
    for (const id of [a, b]) await api(server, 'PUT', `/replication/executions/${id}`, { auth: admin });
  });

  test('a policy is not deleted while one of its executions is in progress (412); once stopped, it goes with its executions and tasks', async () => {
    const p = await createPolicy(server, pushPolicy('busy', destId));
    const id = await start(p);
    await store.addTasks(id, [spec(20)]);
    const refused = await api(server, 'DELETE', `/replication/policies/${p}`, { auth: admin });
    assert.equal(refused.status, 412);
    assert.equal(errorCode(refused), 'PRECONDITION');
    assert.match(
      refused.body.errors[0].message,
      new RegExp(`the execution ${id} of replication policy busy is still in progress; stop it first`),
    );
    assert.equal((await api(server, 'GET', `/replication/policies/${p}`, { auth: admin })).status, 200);
    assert.equal((await api(server, 'PUT', `/replication/executions/${id}`, { auth: admin })).status, 200);
    assert.equal((await api(server, 'DELETE', `/replication/policies/${p}`, { auth: admin })).status, 200);
    assert.equal((await api(server, 'GET', `/replication/executions/${id}`, { auth: admin })).status, 404);
    const left = await db().selectFrom('replication_tasks').select('id').where('execution_id', '=', id).execute();
    assert.deepEqual(left, []);
  });

  test('an execution whose planning job was stopped elsewhere (/jobservice) is read Stopped, and no longer holds its policy', async () => {
    const p = await createPolicy(server, pushPolicy('orphaned', destId));
    const id = await start(p);
    const jobId = Number(
      (await db().selectFrom('replication_executions').select('job_id').where('id', '=', id).executeTakeFirstOrThrow()).job_id,
    );
    assert.equal((await api(server, 'PUT', `/jobservice/jobs/${jobId}`, { auth: admin })).status, 200);
    const e = await execution(id);
    assert.equal(e.status, 'Stopped');
    assert.equal(e.status_text, `planning stopped: its job ${jobId} was stopped`);
    assert.notEqual(e.end_time, zeroTime);
    assert.equal((await api(server, 'DELETE', `/replication/policies/${p}`, { auth: admin })).status, 200);
  });

  test('a task whose job was stopped elsewhere is read Stopped, and the execution ends from its tasks', async () => {
    const p = await createPolicy(server, pushPolicy('orphaned-task', destId));
    const id = await start(p);
    const [a, b] = await store.addTasks(id, [spec(40), spec(41)]);
    const jobA = await queue().enqueue('REPLICATION_TASK', { taskId: a });
    await store.setTaskJob(a, jobA);
    await store.markTask(b, 'Succeed');
    assert.equal((await api(server, 'PUT', `/jobservice/jobs/${jobA}`, { auth: admin })).status, 200);
    const tasks = await api(server, 'GET', `/replication/executions/${id}/tasks?sort=id`, { auth: admin });
    assert.deepEqual(
      tasks.body.map((t: any) => t.status),
      ['Stopped', 'Succeed'],
    );
    const e = await execution(id);
    assert.equal(e.status, 'Stopped');
    assert.deepEqual([e.total, e.succeed, e.stopped, e.in_progress], [2, 1, 1, 0]);
  });

  test('a system robot granted replication runs and reads executions; without replication-policy create it cannot add policies', async () => {
    const created = await api(server, 'POST', '/robots', {
      auth: admin,
      body: {
        name: 'replicator',
        level: 'system',
        duration: -1,
        permissions: [
          {
            kind: 'system',
            namespace: '/',
            access: [
              { resource: 'replication', action: 'create' },
              { resource: 'replication', action: 'read' },
              { resource: 'replication', action: 'list' },
              { resource: 'replication-policy', action: 'list' },
            ],
          },
        ],
      },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const robot = basicAuth(created.body.name, created.body.secret);
    assert.equal((await api(server, 'GET', '/replication/policies', { auth: robot })).status, 200);
    assert.equal((await api(server, 'POST', '/replication/policies', { auth: robot, body: pushPolicy('by-robot', destId) })).status, 403);
    const res = await api(server, 'POST', '/replication/executions', { auth: robot, body: { policy_id: policyId } });
    assert.equal(res.status, 201);
    const id = Number(res.headers.get('location')!.split('/').pop());
    assert.equal((await api(server, 'GET', `/replication/executions/${id}`, { auth: robot })).body.status, 'InProgress');
    assert.equal(
      (await db().selectFrom('replication_executions').select('operator').where('id', '=', id).executeTakeFirstOrThrow()).operator,
      created.body.name,
    );
    assert.equal(
      (await api(server, 'PUT', `/replication/executions/${id}`, { auth: robot })).status,
      200,
      "stop is Harbor's replication create",
    );
  });

  test('only system administrators (or robots granted replication) see and run executions: 401 anonymous, 403 others, nothing written', async () => {
    await createUser(server, 'watcher');
    const user = basicAuth('watcher', 'Passw0rd1');
    const id = await start(policyId);
    const before = await state();
    assert.equal((await api(server, 'GET', '/replication/executions')).status, 401);
    assert.equal((await api(server, 'GET', '/replication/executions', { auth: user })).status, 403);
    assert.equal((await api(server, 'POST', '/replication/executions', { auth: user, body: { policy_id: policyId } })).status, 403);
    assert.equal((await api(server, 'GET', `/replication/executions/${id}`, { auth: user })).status, 403);
    assert.equal((await api(server, 'PUT', `/replication/executions/${id}`, { auth: user })).status, 403);
    assert.equal((await api(server, 'GET', `/replication/executions/${id}/tasks`, { auth: user })).status, 403);
    assert.deepEqual(await state(), before);
    assert.equal((await execution(id)).status, 'InProgress');
  });
});
