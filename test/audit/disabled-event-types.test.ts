import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { isAuditRecorded, parseEventTypes } from '../../src/events/audit.js';
import { api, createUser } from '../helpers/api.js';
import { pushImage, types } from '../helpers/oci.js';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server?.stop();
});

const put = (body: unknown) => api<any>(server, 'PUT', '/configurations', { auth: server.admin.authorization, body });

/** The event types of the records about these resources, in order. */
async function eventsAbout(...resources: string[]): Promise<string[]> {
  const rows = await server.berth.database.db
    .selectFrom('audit_logs')
    .select(['operation', 'resource_type', 'resource'])
    .where('resource', 'in', resources)
    .orderBy('id')
    .execute();
  return rows.map((r) => `${r.operation}_${r.resource_type} ${r.resource}`);
}

async function createProject(name: string) {
  const res = await api(server, 'POST', '/projects', {
    auth: server.admin.authorization,
    body: { project_name: name, metadata: { public: 'false' } },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
}

async function pull(repo: string, tag: string) {
  const res = await fetch(`${server.url}/v2/${repo}/manifests/${tag}`, { headers: { ...server.admin, accept: types.manifest } });
  assert.equal(res.status, 200);
  await res.arrayBuffer();
  // Pull records are written in batches.
  await server.berth.pulls.flush();
}

test('the decision per record: its <operation>_<resource_type> against the list', () => {
  const disabled = parseEventTypes(' create_project, pull_artifact ,,');
  assert.deepEqual([...disabled], ['create_project', 'pull_artifact']);
  assert.equal(isAuditRecorded({ operation: 'create', resourceType: 'project' }, disabled), false);
  assert.equal(isAuditRecorded({ operation: 'pull', resourceType: 'artifact' }, disabled), false);
  assert.equal(isAuditRecorded({ operation: 'create', resourceType: 'artifact' }, disabled), true);
  assert.equal(isAuditRecorded({ operation: 'delete', resourceType: 'project' }, disabled), true);
  assert.equal(isAuditRecorded({ operation: 'create', resourceType: 'project' }, parseEventTypes('')), true);
});

test('disabled_audit_log_event_types: records of those types are not written; the others are; cleared, they are written again', async () => {
  const set = await put({ disabled_audit_log_event_types: 'create_project,pull_artifact' });
  assert.equal(set.status, 200, JSON.stringify(set.body));
  assert.equal((await eventsAbout('configurations')).length, 1, 'the change itself is recorded (update_configuration)');

  await createProject('quiet');
  await pushImage(server.url, 'quiet/app', 'v1', { headers: server.admin });
  await pull('quiet/app', 'v1');
  await createUser(server, 'quiet-user');
  assert.deepEqual(await eventsAbout('quiet', 'quiet/app:v1', 'quiet-user'), ['create_artifact quiet/app:v1', 'create_user quiet-user']);

  assert.equal((await put({ disabled_audit_log_event_types: '' })).status, 200);
  await createProject('loud');
  await pushImage(server.url, 'loud/app', 'v1', { headers: server.admin });
  await pull('loud/app', 'v1');
  assert.deepEqual(await eventsAbout('loud', 'loud/app:v1'), [
    'create_project loud',
    'create_artifact loud/app:v1',
    'pull_artifact loud/app:v1',
  ]);
  // Audit log API too.
  const listed = await api<any[]>(server, 'GET', '/audit-logs?q=resource=loud/app:v1', { auth: server.admin.authorization });
  assert.equal(listed.body.length, 2);
});
