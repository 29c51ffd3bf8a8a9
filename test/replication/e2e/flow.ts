import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createAdapter } from '../../../src/replication/adapters/index.js';
import { blobOf } from '../../../src/replication/adapters/v2-client.js';
import { api } from '../../helpers/api.js';
import type { TestServer } from '../../helpers/server.js';

/** What the replication e2e tests do through Harbor's API, as a user or a script would. */

export async function createRegistry(server: TestServer, body: Record<string, unknown>): Promise<number> {
  const res = await api(server, 'POST', '/registries', { auth: server.admin.authorization, body: { insecure: true, ...body } });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const id = Number(res.headers.get('location')?.split('/').pop());
  assert.ok(id > 0, `no id in ${res.headers.get('location')}`);
  return id;
}

export async function createPolicy(server: TestServer, body: Record<string, unknown>): Promise<number> {
  const res = await api(server, 'POST', '/replication/policies', {
    auth: server.admin.authorization,
    body: { enabled: true, override: true, trigger: { type: 'manual' }, dest_namespace_replace_count: 0, ...body },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return Number(res.headers.get('location')?.split('/').pop());
}

export async function startExecution(server: TestServer, policyId: number): Promise<number> {
  const res = await api(server, 'POST', '/replication/executions', { auth: server.admin.authorization, body: { policy_id: policyId } });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return Number(res.headers.get('location')?.split('/').pop());
}

export interface ExecutionBody {
  id: number;
  policy_id: number;
  status: string;
  status_text: string;
  trigger: string;
  total: number;
  failed: number;
  succeed: number;
  in_progress: number;
  stopped: number;
}

export async function execution(server: TestServer, id: number): Promise<ExecutionBody> {
  const res = await api<ExecutionBody>(server, 'GET', `/replication/executions/${id}`, { auth: server.admin.authorization });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

/** Polls the execution until it is no longer InProgress (bounded; no timing is asserted). */
export async function finished(server: TestServer, id: number, limitMs = 180_000): Promise<ExecutionBody> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const e = await execution(server, id);
    if (e.status !== 'InProgress') return e;
    if (Date.now() > deadline) {
      const logs = [];
      for (const t of await tasks(server, id)) logs.push(`task ${t.id} ${t.status}:\n${await taskLog(server, id, t.id)}`);
      throw new Error(`execution ${id} still InProgress after ${limitMs} ms: ${JSON.stringify(e)}\n${logs.join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function executionsOf(server: TestServer, policyId: number): Promise<ExecutionBody[]> {
  const res = await api<ExecutionBody[]>(server, 'GET', `/replication/executions?policy_id=${policyId}&page_size=100`, {
    auth: server.admin.authorization,
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

/** Waits until the policy has `count` executions, all finished. */
export async function allFinished(server: TestServer, policyId: number, count: number, limitMs = 120_000): Promise<ExecutionBody[]> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const list = await executionsOf(server, policyId);
    if (list.length >= count && list.every((e) => e.status !== 'InProgress')) return list;
    if (Date.now() > deadline) throw new Error(`policy ${policyId}: ${JSON.stringify(list)} after ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface TaskBody {
  id: number;
  execution_id: number;
  status: string;
  operation: string;
  resource_type: string;
  src_resource: string;
  dst_resource: string;
}

export async function tasks(server: TestServer, executionId: number): Promise<TaskBody[]> {
  const res = await api<TaskBody[]>(server, 'GET', `/replication/executions/${executionId}/tasks?page_size=100`, {
    auth: server.admin.authorization,
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

export async function taskLog(server: TestServer, executionId: number, taskId: number): Promise<string> {
  const res = await fetch(`${server.url}/api/v2.0/replication/executions/${executionId}/tasks/${taskId}/log`, { headers: server.admin });
  assert.equal(res.status, 200);
  return res.text();
}

const accept = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

/** A manifest on any registry's /v2 (headers for its auth). */
export async function manifestOn(base: string, repo: string, reference: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}/v2/${repo}/manifests/${reference}`, { headers: { ...headers, accept } });
  return { status: res.status, digest: res.headers.get('docker-content-digest'), bytes: Buffer.from(await res.arrayBuffer()) };
}

/** Pushes a small OCI image to any registry's /v2 through the docker-registry adapter (Distribution answers 202 to a monolithic POST). */
export async function pushImageTo(url: string, repo: string, tag: string, layerText = `layer of ${repo}:${tag} ${Math.random()}`) {
  const adapter = createAdapter({
    id: 0,
    name: 'seed',
    type: 'docker-registry',
    url,
    insecure: true,
    caCertificate: null,
    credential: null,
  });
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
  const layer = Buffer.from(layerText);
  const digest = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
  await adapter.putBlob(repo, digest(config), blobOf(config));
  await adapter.putBlob(repo, digest(layer), blobOf(layer));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digest(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: digest(layer), size: layer.length }],
    }),
  );
  await adapter.putManifest(repo, tag, 'application/vnd.oci.image.manifest.v1+json', manifest);
  return { digest: digest(manifest), bytes: manifest, layer: { digest: digest(layer), data: layer } };
}
