import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startDockerRegistry, type DockerRegistry } from '../../helpers/docker-registry.js';
import { pushMultiPlatform } from '../../helpers/artifacts.js';
import { pushImage } from '../../helpers/oci.js';
import { startServer, type TestServer } from '../../helpers/server.js';
import { requireTools } from '../../helpers/tools.js';
import { createPolicy, createRegistry, finished, manifestOn, pushImageTo, startExecution, taskLog, tasks } from './flow.js';

// Push-based replication Berth → a real docker-registry, and pull-based docker-registry → Berth,
// through Harbor's API: registry endpoint, policy, execution, tasks and their logs.

const skip = requireTools('docker-registry');

describe('replication with a real docker-registry', { skip }, () => {
  let berth: TestServer;
  let registry: DockerRegistry;
  let registryId: number;

  before(async () => {
    [berth, registry] = await Promise.all([startServer(), startDockerRegistry()]);
    registryId = await createRegistry(berth, { name: 'distribution', type: 'docker-registry', url: registry.url });
  });
  after(async () => {
    await berth?.stop();
    await registry?.close();
  });

  test('push: filtered artifacts land under the destination namespace, byte for byte; a second run copies nothing', async () => {
    const one = await pushImage(berth.url, 'library/app', '1.0', { headers: berth.admin });
    await pushImage(berth.url, 'library/app', '2.0', { headers: berth.admin });
    const multi = await pushMultiPlatform(berth, 'library/multi', '1.1');
    await pushImage(berth.url, 'library/other', '1.0', { headers: berth.admin });
    const policyId = await createPolicy(berth, {
      name: 'to-distribution',
      src_registry: null,
      dest_registry: { id: registryId },
      dest_namespace: 'mirror',
      dest_namespace_replace_count: 1,
      filters: [
        { type: 'name', value: 'library/{app,multi}' },
        { type: 'tag', value: '1.*' },
      ],
    });
    const executionId = await startExecution(berth, policyId);
    const done = await finished(berth, executionId);
    assert.equal(done.status, 'Succeed', JSON.stringify(done));
    assert.equal(done.total, 2);
    assert.equal(done.succeed, 2);

    const app = await manifestOn(registry.url, 'mirror/app', '1.0');
    assert.equal(app.status, 200);
    assert.equal(app.digest, one.digest);
    assert.equal((await manifestOn(registry.url, 'mirror/app', '2.0')).status, 404, 'tag 2.0 is filtered out');
    assert.equal((await manifestOn(registry.url, 'mirror/other', '1.0')).status, 404, 'library/other is filtered out');
    const index = await manifestOn(registry.url, 'mirror/multi', '1.1');
    assert.equal(index.digest, multi.digest);
    assert.deepEqual(index.bytes, multi.bytes);
    for (const image of multi.images) {
      assert.equal((await manifestOn(registry.url, 'mirror/multi', image.digest)).status, 200);
      for (const layer of image.layers) {
        const blob = await fetch(`${registry.url}/v2/mirror/multi/blobs/${layer.digest}`);
        assert.deepEqual(Buffer.from(await blob.arrayBuffer()), layer.data);
      }
    }
    const list = await tasks(berth, executionId);
    assert.deepEqual(list.map((t) => t.dst_resource).sort(), ['mirror/app:[1.0]', 'mirror/multi:[1.1]']);
    assert.ok(list.every((t) => t.status === 'Succeed' && t.operation === 'copy'));
    const log = await taskLog(berth, executionId, list.find((t) => t.dst_resource.startsWith('mirror/multi'))!.id);
    assert.match(log, /copy copied: 3 manifest\(s\) pushed/);

    // Planning defined the reaper's schedule (tasks whose last attempt is lost get ended).
    assert.equal((await berth.berth.jobs.scheduler.get('replication.reap'))?.jobType, 'REPLICATION_REAP');

    // Again: everything is there, nothing is sent.
    const again = await finished(berth, await startExecution(berth, policyId));
    assert.equal(again.status, 'Succeed');
    const second = await tasks(berth, again.id);
    for (const t of second) assert.match(await taskLog(berth, again.id, t.id), /already .* on the destination, skipped/);
  });

  test('pull: docker-registry → Berth into a project created for it, with flattening', async () => {
    const image = await pushImageTo(registry.url, 'team/tools/builder', 'v3');
    await pushImageTo(registry.url, 'team/tools/builder', 'dev');
    const policyId = await createPolicy(berth, {
      name: 'from-distribution',
      src_registry: { id: registryId },
      dest_registry: null,
      dest_namespace: 'pulled',
      dest_namespace_replace_count: -1,
      filters: [
        { type: 'name', value: 'team/**' },
        { type: 'tag', value: 'dev', decoration: 'excludes' },
      ],
    });
    const done = await finished(berth, await startExecution(berth, policyId));
    assert.equal(done.status, 'Succeed', JSON.stringify(done));
    assert.equal(done.total, 1);
    const pulled = await manifestOn(berth.url, 'pulled/builder', 'v3', berth.admin);
    assert.equal(pulled.status, 200);
    assert.equal(pulled.digest, image.digest);
    assert.equal((await manifestOn(berth.url, 'pulled/builder', 'dev', berth.admin)).status, 404);
    const project = await fetch(`${berth.url}/api/v2.0/projects/pulled`, { headers: berth.admin });
    assert.equal(project.status, 200, 'the destination project is created');
    const artifact = await fetch(`${berth.url}/api/v2.0/projects/pulled/repositories/builder/artifacts/v3`, { headers: berth.admin });
    assert.equal(artifact.status, 200);
  });
});
