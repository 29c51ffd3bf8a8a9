import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { startCountingProxy, type CountingProxy } from '../../helpers/counting-proxy.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js';
import { freePort } from '../../helpers/ports.js';
import { startDockerRegistry, type DockerRegistry } from '../../helpers/docker-registry.js';
import { pushImage } from '../../helpers/oci.js';
import { adminPassword, basicAuth, startServer, type TestServer } from '../../helpers/server.js';
import { requireTools } from '../../helpers/tools.js';
import { createPolicy, createRegistry, finished, manifestOn, startExecution, taskLog, tasks } from './flow.js';

// A destination that goes down in the middle of an execution (a counting proxy in front of a
// real docker-registry refusing connections, then forwarding again), and a worker killed with
// SIGKILL in the middle of a task: in both the task is run again and the execution finishes,
// with the artifact arriving once.

const skip = requireTools('docker-registry');
const root = path.resolve(fileURLToPath(new URL('../../..', import.meta.url)));

async function until(what: string, probe: () => Promise<boolean>, limitMs = 60_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('replication when things fail', { skip }, () => {
  let registry: DockerRegistry;
  let proxy: CountingProxy;

  before(async () => {
    registry = await startDockerRegistry();
    proxy = await startCountingProxy(registry.url);
  });
  after(async () => {
    await proxy?.close();
    await registry?.close();
  });

  test('a destination down mid-execution: the task is retried and the execution finishes once it is back', async () => {
    const berth = await startServer();
    try {
      const registryId = await createRegistry(berth, { name: 'flaky', type: 'docker-registry', url: proxy.url });
      const image = await pushImage(berth.url, 'library/flaky', 'v1', { headers: berth.admin });
      const policyId = await createPolicy(berth, {
        name: 'to-flaky',
        src_registry: null,
        dest_registry: { id: registryId },
        dest_namespace: 'down',
        dest_namespace_replace_count: -1,
        filters: [{ type: 'name', value: 'library/flaky' }],
      });
      proxy.mode = 'refuse';
      const executionId = await startExecution(berth, policyId);
      let taskId = 0;
      await until('a first attempt failing', async () => {
        const [t] = await tasks(berth, executionId);
        if (!t) return false;
        taskId = t.id;
        return /attempt 1 failed/.test(await taskLog(berth, executionId, t.id));
      });
      proxy.mode = 'forward';
      const done = await finished(berth, executionId);
      assert.equal(done.status, 'Succeed', JSON.stringify(done));
      const log = await taskLog(berth, executionId, taskId);
      assert.match(log, /attempt 1 failed: .*unreachable|attempt 1 failed: /);
      assert.match(log, /attempt 2 of 5/);
      assert.equal((await manifestOn(registry.url, 'down/flaky', 'v1')).digest, image.digest);
      assert.equal(proxy.count('PUT', /^\/v2\/down\/flaky\/manifests\/v1$/), 1);
    } finally {
      proxy.mode = 'forward';
      await berth.stop();
    }
  });

  test('a worker killed mid-task: the lease lapses, another instance finishes, the artifact arrives once', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'berth-repl-kill-'));
    const database: TestDatabase | null = await createTestDatabase();
    let child: ChildProcess | undefined;
    let second: TestServer | undefined;
    try {
      const port = await freePort();
      const configFile = path.join(dataDir, 'first.yaml');
      await writeFile(
        configFile,
        stringify({
          data_dir: dataDir,
          server: { host: '127.0.0.1', port, shutdown_grace_seconds: 1 },
          ...(database && { database: { url: database.url, max_connections: 5 } }),
          jobs: { concurrency: 4, poll_interval_ms: 100 },
          auth: { admin_password: adminPassword },
          log: { level: 'warn', access: false },
        }),
      );
      child = spawn(process.execPath, [path.join(root, 'bin/berth.js'), 'serve', '--config', configFile], {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const output: string[] = [];
      child.stdout!.on('data', (d: Buffer) => output.push(d.toString()));
      child.stderr!.on('data', (d: Buffer) => output.push(d.toString()));
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      const first = { url: `http://127.0.0.1:${port}`, admin: { authorization: basicAuth('admin', adminPassword) } } as TestServer;
      await until(`the first instance answering (${output.join('')})`, async () => {
        if (child!.exitCode !== null) throw new Error(`berth exited: ${output.join('')}`);
        return fetch(`${first.url}/api/v2.0/ping`).then(
          (r) => r.ok,
          () => false,
        );
      });

      const registryId = await createRegistry(first, { name: 'target', type: 'docker-registry', url: proxy.url });
      // About 270 KB at 40 KB/s: several seconds per attempt, long enough to be killed in.
      const image = await pushImage(first.url, 'library/big', 'v1', {
        headers: first.admin,
        layer: randomBytes(200 * 1024).toString('base64'),
      });
      const policyId = await createPolicy(first, {
        name: 'slow',
        src_registry: null,
        dest_registry: { id: registryId },
        dest_namespace: 'killed',
        dest_namespace_replace_count: -1,
        filters: [{ type: 'name', value: 'library/big' }],
        speed: 40,
      });
      proxy.reset();
      const executionId = await startExecution(first, policyId);
      await until('the task copying on the first instance', async () => {
        const [t] = await tasks(first, executionId);
        return t !== undefined && /copying library\/big/.test(await taskLog(first, executionId, t.id));
      });
      await new Promise((r) => setTimeout(r, 1500));
      child.kill('SIGKILL');
      await exited;
      assert.equal((await manifestOn(registry.url, 'killed/big', 'v1')).status, 404, 'killed before the manifest was pushed');

      // Another instance on the same database and storage takes the task over once the lease lapses.
      second = await startServer({ dataDir, yaml: { ...(database && { 'database.url': database.url }), 'jobs.poll_interval_ms': 100 } });
      const done = await finished(second, executionId, 120_000);
      assert.equal(done.status, 'Succeed', JSON.stringify(done));
      assert.equal(done.total, 1);
      const [task] = await tasks(second, executionId);
      const log = await taskLog(second, executionId, task.id);
      assert.match(log, /was lost/);
      // Five attempts, and the lost one given back: the second is the second of six.
      assert.match(log, /attempt 2 of 6/);
      const arrived = await manifestOn(registry.url, 'killed/big', 'v1');
      assert.equal(arrived.digest, image.digest);
      assert.equal(proxy.count('PUT', /^\/v2\/killed\/big\/manifests\//), 1, 'the manifest is pushed once');
      const layer = await fetch(`${registry.url}/v2/killed/big/blobs/${image.layer.digest}`);
      assert.deepEqual(Buffer.from(await layer.arrayBuffer()), image.layer.data);
    } finally {
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await second?.stop({ keepData: true });
      await database?.drop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
