import assert from 'node:assert/strict';
import { rename } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { api, createUser, errorCode } from '../helpers/api.js';
import { basicAuth, startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server.stop();
});

test('/ping answers Pong as text', async () => {
  const res = await fetch(`${server.url}/api/v2.0/ping`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type')!, /^text\/plain/);
  assert.equal(await res.text(), 'Pong');
});

test('/health reports each component', async () => {
  const res = await api(server, 'GET', '/health');
  assert.equal(res.status, 200);
  assert.equal(res.body.status, 'healthy');
  assert.deepEqual(
    res.body.components.map((c: { name: string; status: string }) => `${c.name}:${c.status}`).sort(),
    ['core:healthy', 'database:healthy', 'storage:healthy'],
  );
});

test('/health says which component is unhealthy, and why', async () => {
  const root = server.berth.paths.storageRoot;
  await rename(root, `${root}.away`);
  try {
    const res = await api(server, 'GET', '/health');
    assert.equal(res.body.status, 'unhealthy');
    const storage = res.body.components.find((c: { name: string }) => c.name === 'storage');
    assert.equal(storage.status, 'unhealthy');
    assert.ok(storage.error);
  } finally {
    await rename(`${root}.away`, root);
  }
  assert.equal((await api(server, 'GET', '/health')).body.status, 'healthy');
});

test('/systeminfo shows anonymous callers only what a sign-in page needs', async () => {
  const anonymous = await api(server, 'GET', '/systeminfo');
  assert.equal(anonymous.status, 200);
  assert.equal(anonymous.body.auth_mode, 'db_auth');
  assert.equal(anonymous.body.self_registration, false);
  assert.equal('registry_storage_provider_name' in anonymous.body, false);
  const signedIn = await api(server, 'GET', '/systeminfo', { auth: server.admin.authorization });
  assert.equal(signedIn.body.registry_storage_provider_name, 'filesystem');
  assert.equal(signedIn.body.project_creation_restriction, 'everyone');
  assert.equal(signedIn.body.external_url, server.url);
  assert.equal(signedIn.body.registry_url, server.url.replace('http://', ''));
  assert.equal(signedIn.body.read_only, false);
});

test('/systeminfo/volumes gives the blob store volume’s total and free bytes to system administrators', async () => {
  const res = await api(server, 'GET', '/systeminfo/volumes', { auth: server.admin.authorization });
  assert.equal(res.status, 200);
  assert.deepEqual(Object.keys(res.body), ['storage']);
  assert.equal(res.body.storage.length, 1);
  const [volume] = res.body.storage;
  assert.deepEqual(Object.keys(volume).sort(), ['free', 'total']);
  assert.ok(Number.isSafeInteger(volume.total) && volume.total > 0, JSON.stringify(volume));
  assert.ok(Number.isSafeInteger(volume.free) && volume.free >= 0 && volume.free <= volume.total, JSON.stringify(volume));
});

test('/systeminfo/volumes: 401 anonymous, 403 other users', async () => {
  const anonymous = await api(server, 'GET', '/systeminfo/volumes');
  assert.equal(anonymous.status, 401);
  assert.equal(errorCode(anonymous), 'UNAUTHORIZED');
  await createUser(server, 'vera');
  const user = await api(server, 'GET', '/systeminfo/volumes', { auth: basicAuth('vera', 'Passw0rd1') });
  assert.equal(user.status, 403);
  assert.equal(errorCode(user), 'FORBIDDEN');
});
