import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { api } from '../helpers/api.js';
import { pushImage, types } from '../helpers/oci.js';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server.stop();
});

async function auditLines(q: string): Promise<string[]> {
  const res = await api<any[]>(server, 'GET', `/audit-logs?page_size=100&q=${encodeURIComponent(q)}`, { auth: server.admin.authorization });
  assert.equal(res.status, 200);
  return res.body.map((l) => `${l.username} ${l.operation} ${l.resource_type} ${l.resource}`);
}

test('push, pull (GET, not HEAD), tag delete and manifest delete on /v2 are audited with who did them', async () => {
  const image = await pushImage(server.url, 'library/audited', 'v1', { headers: server.admin });
  const headers = { ...server.admin, accept: types.manifest };
  assert.equal((await fetch(`${server.url}/v2/library/audited/manifests/v1`, { headers })).status, 200);
  assert.equal((await fetch(`${server.url}/v2/library/audited/manifests/v1`, { headers })).status, 200);
  assert.equal((await fetch(`${server.url}/v2/library/audited/manifests/v1`, { method: 'HEAD', headers })).status, 200);
  // Anonymous pulls of a public project are recorded too.
  assert.equal((await fetch(`${server.url}/v2/library/audited/manifests/${image.digest}`, { headers: { accept: types.manifest } })).status, 200);
  await server.berth.pulls.flush();

  const lines = await auditLines('resource=~library/audited');
  assert.ok(lines.includes('admin create artifact library/audited:v1'), lines.join('\n'));
  assert.equal(lines.filter((l) => l === 'admin pull artifact library/audited:v1').length, 2, 'two GETs, no HEAD');
  assert.ok(lines.includes(`anonymous pull artifact library/audited@${image.digest}`));

  assert.equal((await fetch(`${server.url}/v2/library/audited/manifests/v1`, { method: 'DELETE', headers: server.admin })).status, 202);
  assert.equal((await fetch(`${server.url}/v2/library/audited/manifests/${image.digest}`, { method: 'DELETE', headers: server.admin })).status, 202);
  const after = await auditLines('operation=delete');
  assert.ok(after.includes('admin delete tag library/audited:v1'), after.join('\n'));
  assert.ok(after.includes(`admin delete artifact library/audited@${image.digest}`));

  const project = await api<any[]>(server, 'GET', '/projects/library/logs?page_size=100', { auth: server.admin.authorization });
  assert.equal(project.status, 200);
  assert.ok(project.body.length >= 5, 'the same records are in the project log');
});

test('pull counts and pull times are written in the batch', async () => {
  await pushImage(server.url, 'library/counted', 'v1', { headers: server.admin });
  for (let i = 0; i < 3; i += 1) {
    await fetch(`${server.url}/v2/library/counted/manifests/v1`, { headers: { ...server.admin, accept: types.manifest } });
  }
  await server.berth.pulls.flush();
  const repo = await server.berth.database.db.selectFrom('repositories').select('pull_count').where('name', '=', 'library/counted').executeTakeFirstOrThrow();
  assert.equal(Number(repo.pull_count), 3);
  const tag = await server.berth.database.db.selectFrom('tags').select('pull_time').where('name', '=', 'v1').executeTakeFirstOrThrow();
  assert.ok(tag.pull_time, 'the tag has a pull time');
});
