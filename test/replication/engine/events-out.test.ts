import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api, createUser } from '../../helpers/api.js';
import { pushImage } from '../../helpers/oci.js';
import { adminPassword, startServer, type TestServer } from '../../helpers/server.js';
import { createPolicy, createRegistry, finished, startExecution, tasks } from '../e2e/flow.js';

/** REPLICATION in the outbox: one event per task when it ends, for the local project it touched. */
describe('REPLICATION events', () => {
  let a: TestServer;
  let b: TestServer;
  let registryId: number;
  let shopOnA: number;

  async function replicationEvents(server: TestServer) {
    const rows = await server.berth.database.db
      .selectFrom('events')
      .select('payload')
      .where('type', '=', 'REPLICATION')
      .orderBy('id')
      .execute();
    return rows.map((r) => JSON.parse(r.payload));
  }

  async function createProject(server: TestServer, name: string): Promise<number> {
    const res = await api(server, 'POST', '/projects', {
      auth: server.admin.authorization,
      body: { project_name: name, metadata: { public: 'false' } },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return Number(res.headers.get('location')!.split('/').pop());
  }

  before(async () => {
    [a, b] = await Promise.all([startServer(), startServer()]);
    registryId = await createRegistry(a, {
      name: 'berth-b',
      type: 'harbor',
      url: b.url,
      credential: { type: 'basic', access_key: 'admin', access_secret: adminPassword },
    });
    shopOnA = await createProject(a, 'shop');
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  test('a push: one Succeed event per task, in the source project, naming the policy, the remote and the artifact', async () => {
    const image = await pushImage(a.url, 'shop/web', '1.0', { headers: a.admin });
    const policyId = await createPolicy(a, {
      name: 'web-to-b',
      description: 'ship it',
      src_registry: null,
      dest_registry: { id: registryId },
      filters: [{ type: 'name', value: 'shop/web' }],
    });
    const executionId = await startExecution(a, policyId);
    const done = await finished(a, executionId);
    assert.equal(done.status, 'Succeed', JSON.stringify(done));
    const [task] = await tasks(a, executionId);
    const events = (await replicationEvents(a)).filter((e) => e.execution_id === executionId);
    assert.equal(events.length, 1, JSON.stringify(events));
    const e = events[0];
    assert.equal(e.project_id, shopOnA);
    assert.equal(e.policy_id, policyId);
    assert.equal(e.policy_name, 'web-to-b');
    assert.equal(e.description, 'ship it');
    assert.equal(e.policy_creator, 'admin');
    assert.equal(e.task_id, task.id);
    assert.equal(e.trigger, 'manual');
    assert.equal(e.status, 'Succeed');
    assert.equal(e.direction, 'push');
    assert.equal(e.repository, 'shop/web');
    assert.equal(e.digest, image.digest);
    assert.deepEqual(e.tags, ['1.0']);
    assert.equal(e.src_resource, 'shop/web:[1.0]');
    assert.equal(e.dest_resource, 'shop/web:[1.0]');
    assert.deepEqual(e.registry, { name: 'berth-b', url: b.url, type: 'harbor' });
    assert.equal(e.authentication_type, 'basic');
    assert.equal(e.override, true);
    assert.equal(e.resource_type, 'image');
    assert.equal(e.operator, 'admin');
    assert.match(e.execution_started_at, /^\d{4}-\d\d-\d\dT/);
    // The destination Berth replicated nothing itself.
    assert.deepEqual(await replicationEvents(b), []);
  });

  test('a pull: the event belongs to the local destination project', async () => {
    await createProject(b, 'upstream');
    const image = await pushImage(b.url, 'upstream/tool', 'v2', { headers: b.admin });
    const mirror = await createProject(a, 'upstream');
    const policyId = await createPolicy(a, {
      name: 'tool-from-b',
      src_registry: { id: registryId },
      dest_registry: null,
      filters: [{ type: 'name', value: 'upstream/tool' }],
    });
    const executionId = await startExecution(a, policyId);
    assert.equal((await finished(a, executionId)).status, 'Succeed');
    const events = (await replicationEvents(a)).filter((e) => e.execution_id === executionId);
    assert.equal(events.length, 1, JSON.stringify(events));
    assert.equal(events[0].project_id, mirror);
    assert.equal(events[0].direction, 'pull');
    assert.equal(events[0].repository, 'upstream/tool');
    assert.equal(events[0].digest, image.digest);
    assert.equal(events[0].status, 'Succeed');
    assert.equal(events[0].registry.name, 'berth-b');
  });

  test('a task that fails for good: one Failed event; a policy that plans nothing: none', async () => {
    const userId = await createUser(b, 'shipper', 'Shipper123');
    const broken = await createRegistry(a, {
      name: 'berth-b-as-shipper',
      type: 'harbor',
      url: b.url,
      credential: { type: 'basic', access_key: 'shipper', access_secret: 'Shipper123' },
    });
    // The credential stops working: every request of the task is refused, which is not retried.
    const removed = await api(b, 'DELETE', `/users/${userId}`, { auth: b.admin.authorization });
    assert.equal(removed.status, 200, JSON.stringify(removed.body));
    const policyId = await createPolicy(a, {
      name: 'web-to-b-refused',
      src_registry: null,
      dest_registry: { id: broken },
      filters: [{ type: 'name', value: 'shop/web' }],
    });
    const executionId = await startExecution(a, policyId);
    const done = await finished(a, executionId);
    assert.equal(done.status, 'Failed', JSON.stringify(done));
    const events = (await replicationEvents(a)).filter((e) => e.execution_id === executionId);
    assert.equal(events.length, 1, JSON.stringify(events));
    assert.equal(events[0].status, 'Failed');
    assert.equal(events[0].project_id, shopOnA);
    assert.equal(events[0].registry.name, 'berth-b-as-shipper');

    const empty = await createPolicy(a, {
      name: 'nothing-matches',
      src_registry: null,
      dest_registry: { id: registryId },
      filters: [{ type: 'name', value: 'shop/none-such' }],
    });
    const emptyRun = await startExecution(a, empty);
    assert.equal((await finished(a, emptyRun)).status, 'Succeed');
    assert.equal((await replicationEvents(a)).filter((e) => e.execution_id === emptyRun).length, 0);
  });
});
