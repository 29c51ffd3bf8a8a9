import assert from 'node:assert/strict';
import { checkShape } from '../compat/harbor-shapes.js';
import { api } from '../helpers/api.js';
import { pushImage } from '../helpers/oci.js';
import type { TestServer } from '../helpers/server.js';
import { waitFor } from '../jobs/databases.js';

/** Creates a project as admin; returns its id. */
export async function createProject(server: TestServer, name: string, metadata: Record<string, string> = {}): Promise<number> {
  const res = await api(server, 'POST', '/projects', {
    auth: server.admin.authorization,
    body: { project_name: name, metadata: { public: 'false', ...metadata } },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return Number(res.headers.get('location')!.split('/').pop());
}

/** Pushes a small OCI image as admin; returns its digest. */
export async function push(server: TestServer, repo: string, tag: string): Promise<string> {
  return (await pushImage(server.url, repo, tag, { headers: server.admin })).digest;
}

/** Creates a preheat instance as admin; returns its id. */
export async function createInstance(server: TestServer, body: Record<string, unknown>): Promise<number> {
  const res = await api(server, 'POST', '/p2p/preheat/instances', { auth: server.admin.authorization, body });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const got = await api(server, 'GET', `/p2p/preheat/instances/${body.name}`, { auth: server.admin.authorization });
  return got.body.id;
}

/** Creates a preheat policy in a project as admin. */
export async function createPolicy(server: TestServer, project: string, body: Record<string, unknown>): Promise<void> {
  const res = await api(server, 'POST', `/projects/${project}/preheat/policies`, { auth: server.admin.authorization, body });
  assert.equal(res.status, 201, JSON.stringify(res.body));
}

/** Runs a policy now; returns the execution id from Location. */
export async function runPolicy(server: TestServer, project: string, policy: string): Promise<number> {
  const res = await api(server, 'POST', `/projects/${project}/preheat/policies/${policy}`, { auth: server.admin.authorization });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return Number(res.headers.get('location')!.split('/').pop());
}

const ended = ['Success', 'Error', 'Stopped'];

/** Waits until the execution ended; returns it as the API answers it. */
export async function waitExecution(server: TestServer, project: string, policy: string, id: number, timeoutMs = 40_000): Promise<any> {
  return waitFor(
    async () =>
      (await api(server, 'GET', `/projects/${project}/preheat/policies/${policy}/executions/${id}`, { auth: server.admin.authorization }))
        .body,
    (e: any) => ended.includes(e?.status),
    `execution ${id} of ${project}/${policy} to end`,
    timeoutMs,
  );
}

export async function tasksOf(server: TestServer, project: string, policy: string, id: number): Promise<any[]> {
  const res = await api(server, 'GET', `/projects/${project}/preheat/policies/${policy}/executions/${id}/tasks?page_size=100`, {
    auth: server.admin.authorization,
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

export async function taskLog(server: TestServer, project: string, policy: string, id: number, taskId: number): Promise<string> {
  const res = await fetch(`${server.url}/api/v2.0/projects/${project}/preheat/policies/${policy}/executions/${id}/tasks/${taskId}/logs`, {
    headers: server.admin,
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
  return res.text();
}

/** A filters text as Harbor's portal sends it. */
export const filters = (...list: Array<{ type: string; value: unknown }>) => JSON.stringify(list);
export const manual = JSON.stringify({ type: 'manual', trigger_setting: { cron: '' } });

/** The answer has the shape of Harbor's definition (each item, for a list): no undocumented field, no field of another type. */
export function assertShape(value: unknown, definition: string): void {
  const items = Array.isArray(value) ? value : [value];
  const problems = items.flatMap((item, i) => checkShape(item, definition, `${definition}[${i}]`));
  assert.deepEqual(problems, [], problems.join('\n'));
}
