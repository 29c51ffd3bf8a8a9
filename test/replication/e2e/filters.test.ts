import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { replicationJobTypes } from '../../../src/replication/types.js';
import { api } from '../../helpers/api.js';
import { pushGenericArtifact } from '../../helpers/artifacts.js';
import { startDockerRegistry, type DockerRegistry } from '../../helpers/docker-registry.js';
import { pushImage, pushManifest, types } from '../../helpers/oci.js';
import { startServer, type TestServer } from '../../helpers/server.js';
import { requireTools } from '../../helpers/tools.js';
import { allFinished, createPolicy, createRegistry, execution, finished, startExecution, taskLog, tasks } from './flow.js';

// A filter matrix over one real listing (Berth → a real docker-registry), each policy into a
// namespace of its own, compared with what arrives; a scheduled run as the scheduler starts
// it; a stop in the middle of a slow copy.

const skip = requireTools('docker-registry');

/** Everything under `namespace/` on the docker-registry, as repo:tag (namespace removed). */
async function arrived(registry: DockerRegistry, namespace: string): Promise<string[]> {
  const catalog = (await (await fetch(`${registry.url}/v2/_catalog?n=1000`)).json()) as { repositories: string[] };
  const out: string[] = [];
  for (const repo of catalog.repositories.filter((r) => r.startsWith(`${namespace}/`))) {
    const list = (await (await fetch(`${registry.url}/v2/${repo}/tags/list`)).json()) as { tags: string[] | null };
    for (const tag of list.tags ?? []) out.push(`${repo.slice(namespace.length + 1)}:${tag}`);
  }
  return out.sort();
}

describe('replication filters and runs against a real docker-registry', { skip }, () => {
  let berth: TestServer;
  let registry: DockerRegistry;
  let registryId: number;

  before(async () => {
    [berth, registry] = await Promise.all([startServer(), startDockerRegistry()]);
    registryId = await createRegistry(berth, { name: 'matrix', type: 'docker-registry', url: registry.url });
    // The listing: images in two projects and nested repositories, one labelled, one chart-like artifact, one untagged image.
    await api(berth, 'POST', '/projects', {
      auth: berth.admin.authorization,
      body: { project_name: 'apps', metadata: { public: 'false' } },
    });
    await pushImage(berth.url, 'library/web', '1.0', { headers: berth.admin });
    await pushImage(berth.url, 'library/web', '1.1', { headers: berth.admin });
    await pushImage(berth.url, 'library/web', 'latest', { headers: berth.admin });
    await pushImage(berth.url, 'library/tools/cli', '2.0', { headers: berth.admin });
    await pushImage(berth.url, 'apps/api', '1.0', { headers: berth.admin });
    await pushGenericArtifact(berth, 'apps/bundle', '1.0', 'application/vnd.example.thing.config.v1+json');
    const untagged = await pushImage(berth.url, 'apps/api', 'temp', { headers: berth.admin });
    await api(berth, 'DELETE', `/projects/apps/repositories/api/artifacts/${untagged.digest}/tags/temp`, {
      auth: berth.admin.authorization,
    });
    const label = await api(berth, 'POST', '/labels', { auth: berth.admin.authorization, body: { name: 'gold', scope: 'g' } });
    const labelId = Number(label.headers.get('location')?.split('/').pop());
    const added = await api(berth, 'POST', '/projects/library/repositories/web/artifacts/1.1/labels', {
      auth: berth.admin.authorization,
      body: { id: labelId },
    });
    assert.equal(added.status, 200);
  });
  after(async () => {
    await berth?.stop();
    await registry?.close();
  });

  const matrix: Array<{ name: string; filters: unknown[]; expected: string[] }> = [
    {
      name: 'everything',
      filters: [],
      expected: ['apps/api:1.0', 'apps/bundle:1.0', 'library/tools/cli:2.0', 'library/web:1.0', 'library/web:1.1', 'library/web:latest'],
    },
    {
      name: 'one-level',
      filters: [{ type: 'name', value: 'library/*' }],
      expected: ['library/web:1.0', 'library/web:1.1', 'library/web:latest'],
    },
    {
      name: 'any-depth',
      filters: [{ type: 'name', value: 'library/**' }],
      expected: ['library/tools/cli:2.0', 'library/web:1.0', 'library/web:1.1', 'library/web:latest'],
    },
    {
      name: 'braces',
      filters: [{ type: 'name', value: '{apps,library}/{api,web}' }],
      expected: ['apps/api:1.0', 'library/web:1.0', 'library/web:1.1', 'library/web:latest'],
    },
    {
      name: 'tag-matches',
      filters: [{ type: 'tag', value: '1.*' }],
      expected: ['apps/api:1.0', 'apps/bundle:1.0', 'library/web:1.0', 'library/web:1.1'],
    },
    {
      name: 'tag-excludes',
      filters: [{ type: 'tag', value: '1.*', decoration: 'excludes' }],
      expected: ['library/tools/cli:2.0', 'library/web:latest'],
    },
    { name: 'label', filters: [{ type: 'label', value: ['gold'] }], expected: ['library/web:1.1'] },
    {
      name: 'label-excludes',
      filters: [
        { type: 'name', value: 'library/web' },
        { type: 'label', value: ['gold'], decoration: 'excludes' },
      ],
      expected: ['library/web:1.0', 'library/web:latest'],
    },
    {
      name: 'images-only',
      filters: [
        { type: 'name', value: 'apps/**' },
        { type: 'resource', value: 'image' },
      ],
      expected: ['apps/api:1.0'],
    },
    { name: 'nothing', filters: [{ type: 'name', value: 'nope/**' }], expected: [] },
  ];

  test('filter matrix: what arrives is what the filters select', async () => {
    for (const row of matrix) {
      const policyId = await createPolicy(berth, {
        name: `matrix-${row.name}`,
        src_registry: null,
        dest_registry: { id: registryId },
        dest_namespace: `m-${row.name}`,
        dest_namespace_replace_count: 0,
        filters: row.filters,
      });
      const executionId = await startExecution(berth, policyId);
      const done = await finished(berth, executionId);
      if (done.status !== 'Succeed') {
        const failed = (await tasks(berth, executionId)).filter((t) => t.status !== 'Succeed');
        const logs = await Promise.all(failed.map(async (t) => `${t.src_resource}: ${await taskLog(berth, executionId, t.id)}`));
        assert.fail(`${row.name}: ${JSON.stringify(done)}\n${logs.join('\n')}`);
      }
      assert.deepEqual(await arrived(registry, `m-${row.name}`), row.expected, row.name);
    }
    // The untagged image of apps/api went too where no tag filter stood in its way (by digest, no tag).
    const everything = await tasks(berth, (await allFinished(berth, 1, 1))[0].id);
    assert.ok(
      everything.some((t) => /^m-everything\/apps\/api@sha256:/.test(t.dst_resource)),
      JSON.stringify(everything.map((t) => t.dst_resource)),
    );
  });

  test('a scheduled run: the tick the scheduler enqueues makes its own execution', async () => {
    const policyId = await createPolicy(berth, {
      name: 'scheduled-one',
      src_registry: null,
      dest_registry: { id: registryId },
      dest_namespace: 'sched',
      filters: [
        { type: 'name', value: 'apps/api' },
        { type: 'tag', value: '1.0' },
      ],
    });
    // What the policy's schedule (replication:<id>) enqueues at a tick.
    await berth.berth.jobs.queue.enqueue(replicationJobTypes.execution, { policyId, trigger: 'scheduled' });
    const [run] = await allFinished(berth, policyId, 1);
    assert.equal(run.trigger, 'scheduled');
    assert.equal(run.status, 'Succeed', JSON.stringify(run));
    assert.deepEqual(await arrived(registry, 'sched'), ['apps/api:1.0']);
  });

  test('a stop in the middle of a copy stops the task and the execution', async () => {
    await pushImage(berth.url, 'library/huge', 'v1', { headers: berth.admin, layer: 'x'.repeat(300 * 1024) + Math.random() });
    const policyId = await createPolicy(berth, {
      name: 'stoppable',
      src_registry: null,
      dest_registry: { id: registryId },
      dest_namespace: 'stopped',
      filters: [{ type: 'name', value: 'library/huge' }],
      speed: 10,
    });
    const executionId = await startExecution(berth, policyId);
    let taskId = 0;
    for (let i = 0; i < 300; i++) {
      const [t] = await tasks(berth, executionId);
      if (t && /copying library\/huge/.test(await taskLog(berth, executionId, t.id))) {
        taskId = t.id;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(taskId > 0, 'the task started copying');
    const stop = await api(berth, 'PUT', `/replication/executions/${executionId}`, {
      auth: berth.admin.authorization,
      body: { status: 'Stopped' },
    });
    assert.equal(stop.status, 200, JSON.stringify(stop.body));
    const done = await finished(berth, executionId);
    assert.equal(done.status, 'Stopped');
    const [task] = await tasks(berth, executionId);
    assert.equal(task.status, 'Stopped');
    // The job ends (aborted) without pushing the manifest.
    for (let i = 0; i < 100; i++) {
      const job = await berth.berth.jobs.queue.get(Number((task as unknown as { job_id: string }).job_id));
      if (job && job.status !== 'running' && job.status !== 'pending') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal((await fetch(`${registry.url}/v2/stopped/library/huge/manifests/v1`)).status, 404);
    assert.equal((await execution(berth, executionId)).status, 'Stopped');
  });
});
