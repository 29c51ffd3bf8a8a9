import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api } from '../../helpers/api.js';
import { cosignTag, pushCosignSignature, pushGenericArtifact } from '../../helpers/artifacts.js';
import { pushImage } from '../../helpers/oci.js';
import { adminPassword, startServer, type TestServer } from '../../helpers/server.js';
import { allFinished, createPolicy, createRegistry, finished, manifestOn, startExecution, taskLog, tasks } from './flow.js';

// Berth → Berth through the harbor adapter (Bearer tokens, the project created at the
// destination), with a label filter and a signature travelling with its image; and
// event-based replication of a push and a delete, from the outbox.

describe('replication from one Berth to another', () => {
  let a: TestServer;
  let b: TestServer;
  let registryId: number;

  before(async () => {
    [a, b] = await Promise.all([startServer(), startServer()]);
    registryId = await createRegistry(a, {
      name: 'other-berth',
      type: 'harbor',
      url: b.url,
      credential: { type: 'basic', access_key: 'admin', access_secret: adminPassword },
    });
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  test('manual push with a label filter: the labelled image and its signature arrive, the rest stays', async () => {
    await api(a, 'POST', '/projects', { auth: a.admin.authorization, body: { project_name: 'shop', metadata: { public: 'false' } } });
    const labelled = await pushImage(a.url, 'shop/web', '1', { headers: a.admin });
    await pushImage(a.url, 'shop/web', '2', { headers: a.admin });
    const signature = await pushCosignSignature(a, 'shop/web', labelled.digest);
    const label = await api(a, 'POST', '/labels', { auth: a.admin.authorization, body: { name: 'release', scope: 'g' } });
    assert.equal(label.status, 201, JSON.stringify(label.body));
    const labelId = Number(label.headers.get('location')?.split('/').pop());
    const added = await api(a, 'POST', '/projects/shop/repositories/web/artifacts/1/labels', {
      auth: a.admin.authorization,
      body: { id: labelId },
    });
    assert.equal(added.status, 200, JSON.stringify(added.body));

    const policyId = await createPolicy(a, {
      name: 'released-to-b',
      src_registry: null,
      dest_registry: { id: registryId },
      filters: [{ type: 'label', value: ['release'] }],
    });
    const done = await finished(a, await startExecution(a, policyId));
    assert.equal(done.status, 'Succeed', JSON.stringify(done));
    assert.equal(done.total, 2, 'the image and its signature');
    assert.equal((await manifestOn(b.url, 'shop/web', '1', b.admin)).digest, labelled.digest);
    assert.equal((await manifestOn(b.url, 'shop/web', cosignTag(labelled.digest), b.admin)).digest, signature.digest);
    assert.equal((await manifestOn(b.url, 'shop/web', '2', b.admin)).status, 404);
    const view = await api(b, 'GET', '/projects/shop/repositories/web/artifacts/1?with_accessory=true', { auth: b.admin.authorization });
    assert.deepEqual(
      (view.body as { accessories: Array<{ type: string }> }).accessories.map((x) => x.type),
      ['signature.cosign'],
    );
  });

  test('pull from the other Berth: labelled image and its signature, into a project created here', async () => {
    const labelled = await pushImage(b.url, 'library/pull-me', 'stable', { headers: b.admin });
    await pushImage(b.url, 'library/pull-me', 'edge', { headers: b.admin });
    const signature = await pushCosignSignature(b, 'library/pull-me', labelled.digest);
    const label = await api(b, 'POST', '/labels', { auth: b.admin.authorization, body: { name: 'pull', scope: 'g' } });
    const labelId = Number(label.headers.get('location')?.split('/').pop());
    const added = await api(b, 'POST', '/projects/library/repositories/pull-me/artifacts/stable/labels', {
      auth: b.admin.authorization,
      body: { id: labelId },
    });
    assert.equal(added.status, 200, JSON.stringify(added.body));
    const policyId = await createPolicy(a, {
      name: 'pull-from-b',
      src_registry: { id: registryId },
      dest_registry: null,
      dest_namespace: 'from-b',
      dest_namespace_replace_count: 1,
      filters: [
        { type: 'name', value: 'library/pull-*' },
        { type: 'label', value: ['pull'] },
      ],
    });
    const done = await finished(a, await startExecution(a, policyId));
    assert.equal(done.status, 'Succeed', JSON.stringify(done));
    assert.equal(done.total, 2, 'the image and its signature');
    assert.equal((await manifestOn(a.url, 'from-b/pull-me', 'stable', a.admin)).digest, labelled.digest);
    assert.equal((await manifestOn(a.url, 'from-b/pull-me', cosignTag(labelled.digest), a.admin)).digest, signature.digest);
    assert.equal((await manifestOn(a.url, 'from-b/pull-me', 'edge', a.admin)).status, 404);
    const project = await api(a, 'GET', '/projects/from-b', { auth: a.admin.authorization });
    assert.equal(project.status, 200);
    // Audited here as the replication's push.
    const audit = await api<Array<{ username: string; resource: string }>>(a, 'GET', '/audit-logs?q=resource=~from-b/pull-me', {
      auth: a.admin.authorization,
    });
    assert.ok(audit.body.length > 0 && audit.body.every((e) => e.username === 'system:replication'), JSON.stringify(audit.body));
  });

  test('a refusal at the destination (quota) fails the task at once with the reason, not five times', async () => {
    const tiny = await api(b, 'POST', '/projects', {
      auth: b.admin.authorization,
      body: { project_name: 'tiny', storage_limit: 16, metadata: { public: 'false' } },
    });
    assert.equal(tiny.status, 201, JSON.stringify(tiny.body));
    await pushImage(a.url, 'library/too-big', 'v1', { headers: a.admin });
    const policyId = await createPolicy(a, {
      name: 'into-tiny',
      src_registry: null,
      dest_registry: { id: registryId },
      dest_namespace: 'tiny',
      dest_namespace_replace_count: 1,
      filters: [{ type: 'name', value: 'library/too-big' }],
    });
    const executionId = await startExecution(a, policyId);
    const done = await finished(a, executionId);
    assert.equal(done.status, 'Failed', JSON.stringify(done));
    const [task] = await tasks(a, executionId);
    assert.equal(task.status, 'Failed');
    const log = await taskLog(a, executionId, task.id);
    assert.match(log, /403 DENIED: .*exceed the configured upper limit/);
    assert.match(log, /not retried/);
    assert.doesNotMatch(log, /attempt 2 of 5/);
    assert.equal((await manifestOn(b.url, 'tiny/too-big', 'v1', b.admin)).status, 404);
  });

  test('a pull into a proxy-cache project is refused, as /v2 refuses a push there; nothing is stored', async () => {
    const cache = await api(a, 'POST', '/projects', {
      auth: a.admin.authorization,
      body: { project_name: 'b-cache', registry_id: registryId, metadata: { public: 'false' } },
    });
    assert.equal(cache.status, 201, JSON.stringify(cache.body));
    await pushImage(b.url, 'library/into-proxy', 'v1', { headers: b.admin });
    const policyId = await createPolicy(a, {
      name: 'pull-into-proxy',
      src_registry: { id: registryId },
      dest_registry: null,
      dest_namespace: 'b-cache',
      dest_namespace_replace_count: 1,
      filters: [{ type: 'name', value: 'library/into-proxy' }],
    });
    const executionId = await startExecution(a, policyId);
    const done = await finished(a, executionId);
    assert.equal(done.status, 'Failed', JSON.stringify(done));
    const [task] = await tasks(a, executionId);
    assert.equal(task.status, 'Failed');
    const log = await taskLog(a, executionId, task.id);
    assert.match(log, /can not push artifact to a proxy project: b-cache/);
    assert.match(log, /not retried/);
    const repositories = await api<unknown[]>(a, 'GET', '/projects/b-cache/repositories', { auth: a.admin.authorization });
    assert.equal(repositories.status, 200);
    assert.deepEqual(repositories.body, []);
  });

  test('event-based delete sync with a label filter: the labelled artifact\'s deletion is replicated, another\'s is not', async () => {
    const label = await api(a, 'POST', '/labels', { auth: a.admin.authorization, body: { name: 'sync-deletes', scope: 'g' } });
    assert.equal(label.status, 201, JSON.stringify(label.body));
    const labelId = Number(label.headers.get('location')?.split('/').pop());
    const policyId = await createPolicy(a, {
      name: 'labelled-deletes-to-b',
      src_registry: null,
      dest_registry: { id: registryId },
      dest_namespace: 'lbl-copies',
      dest_namespace_replace_count: 1,
      filters: [
        { type: 'name', value: 'library/lbldel-*' },
        { type: 'label', value: ['sync-deletes'] },
      ],
      trigger: { type: 'event_based' },
      replicate_deletion: true,
    });
    const labelled = await pushImage(a.url, 'library/lbldel-app', 'v1', { headers: a.admin });
    const plain = await pushImage(a.url, 'library/lbldel-plain', 'v1', { headers: a.admin });
    // The two push events (the label comes after the push: whether the planner saw it does not matter here).
    await allFinished(a, policyId, 2);
    const added = await api(a, 'POST', '/projects/library/repositories/lbldel-app/artifacts/v1/labels', {
      auth: a.admin.authorization,
      body: { id: labelId },
    });
    assert.equal(added.status, 200, JSON.stringify(added.body));
    // A manual run puts the labelled image at the destination; the other is put there by hand under the name a deletion would reach.
    const manual = await finished(a, await startExecution(a, policyId));
    assert.equal(manual.status, 'Succeed', JSON.stringify(manual));
    assert.equal((await manifestOn(b.url, 'lbl-copies/lbldel-app', 'v1', b.admin)).digest, labelled.digest);
    await pushImage(b.url, 'lbl-copies/lbldel-plain', 'v1', { headers: b.admin });

    for (const [repo, digest] of [
      ['lbldel-app', labelled.digest],
      ['lbldel-plain', plain.digest],
    ]) {
      const removed = await api(a, 'DELETE', `/projects/library/repositories/${repo}/artifacts/${digest}`, { auth: a.admin.authorization });
      assert.equal(removed.status, 200);
    }
    const list = await allFinished(a, policyId, 5);
    assert.equal(list.length, 5, 'two pushes, the manual run, two deletions');
    assert.ok(
      list.every((e) => e.status === 'Succeed'),
      JSON.stringify(list),
    );
    const deletions = [];
    for (const e of list.filter((x) => x.trigger === 'event_based' && x.total > 0)) {
      for (const t of await tasks(a, e.id)) if (t.operation === 'deletion') deletions.push(t.src_resource);
    }
    assert.equal(deletions.length, 1, JSON.stringify(deletions));
    assert.match(deletions[0], /lbldel-app/);
    assert.equal((await manifestOn(b.url, 'lbl-copies/lbldel-app', 'v1', b.admin)).status, 404);
    assert.equal((await manifestOn(b.url, 'lbl-copies/lbldel-plain', 'v1', b.admin)).status, 200, 'the unlabelled deletion is filtered out');
  });

  test('event-based: a push is replicated, and a delete too when delete sync is on', async () => {
    const policyId = await createPolicy(a, {
      name: 'events-to-b',
      src_registry: null,
      dest_registry: { id: registryId },
      dest_namespace: 'copies',
      dest_namespace_replace_count: 1,
      filters: [{ type: 'name', value: 'library/evt-*' }],
      trigger: { type: 'event_based' },
      replicate_deletion: true,
    });
    const image = await pushImage(a.url, 'library/evt-app', 'v1', { headers: a.admin });
    await pushImage(a.url, 'library/not-this-one', 'v1', { headers: a.admin });
    const [pushed] = await allFinished(a, policyId, 1);
    assert.equal(pushed.status, 'Succeed', JSON.stringify(pushed));
    assert.equal(pushed.trigger, 'event_based');
    assert.equal((await manifestOn(b.url, 'copies/evt-app', 'v1', b.admin)).digest, image.digest);
    assert.equal((await manifestOn(b.url, 'copies/not-this-one', 'v1', b.admin)).status, 404);

    const removed = await api(a, 'DELETE', `/projects/library/repositories/evt-app/artifacts/${image.digest}`, {
      auth: a.admin.authorization,
    });
    assert.equal(removed.status, 200);
    const list = await allFinished(a, policyId, 2);
    assert.equal(list.length, 2, 'one execution per event, no more');
    assert.ok(
      list.every((e) => e.status === 'Succeed'),
      JSON.stringify(list),
    );
    const deletion = list.find((e) => e.id !== pushed.id)!;
    const [task] = await tasks(a, deletion.id);
    assert.equal(task.operation, 'deletion');
    assert.equal((await manifestOn(b.url, 'copies/evt-app', image.digest, b.admin)).status, 404);
  });
  test('event-based with a resource filter: the pushed artifact is read as it is (an image passes, another artifact does not)', async () => {
    const policyId = await createPolicy(a, {
      name: 'events-images-only',
      src_registry: null,
      dest_registry: { id: registryId },
      filters: [
        { type: 'name', value: 'library/evtimg-*' },
        { type: 'resource', value: 'image' },
      ],
      trigger: { type: 'event_based' },
    });
    const image = await pushImage(a.url, 'library/evtimg-a', 'v1', { headers: a.admin });
    await pushGenericArtifact(a, 'library/evtimg-b', 'v1', 'application/vnd.example.thing.config.v1+json');
    const list = await allFinished(a, policyId, 2);
    assert.ok(
      list.every((e) => e.status === 'Succeed'),
      JSON.stringify(list),
    );
    assert.deepEqual(list.map((e) => e.total).sort(), [0, 1], 'the other artifact is filtered out when planned');
    assert.equal((await manifestOn(b.url, 'library/evtimg-a', 'v1', b.admin)).digest, image.digest);
    assert.equal((await manifestOn(b.url, 'library/evtimg-b', 'v1', b.admin)).status, 404);
  });
});
