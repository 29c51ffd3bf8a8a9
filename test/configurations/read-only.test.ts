import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { api, createUser, errorCode } from '../helpers/api.js';
import { pushImage, types } from '../helpers/oci.js';
import { basicAuth, startServer, type TestServer } from '../helpers/server.js';
import { assertOciError, V2 } from '../helpers/v2.js';

const message = 'The system is in read only mode. Any modification is prohibited.';

let server: TestServer;
let v2: V2;
let pushed: Awaited<ReturnType<typeof pushImage>>;
before(async () => {
  server = await startServer();
  v2 = new V2(server);
  pushed = await pushImage(server.url, 'library/app', '1.0', { headers: server.admin });
  await createUser(server, 'ro-user');
});
after(async () => {
  await server.stop();
});

const admin = () => server.admin.authorization;
const setReadOnly = async (on: boolean) => {
  const res = await api(server, 'PUT', '/configurations', { auth: admin(), body: { read_only: on } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
};

function assertDenied(res: { status: number; body: unknown }) {
  assert.equal(res.status, 403, JSON.stringify(res.body));
  assert.deepEqual(res.body, { errors: [{ code: 'DENIED', message }] });
}

test('read-only mode refuses pushes on /v2 with an OCI DENIED error, and nothing is stored', async () => {
  await setReadOnly(true);
  try {
    const info = await api(server, 'GET', '/systeminfo', { auth: admin() });
    assert.equal(info.body.read_only, true);
    // A whole push through the helpers fails at its first write.
    await assert.rejects(pushImage(server.url, 'library/app', '2.0', { headers: server.admin }), /blob push failed: 403/);
    const upload = await v2.call('POST', '/v2/library/app/blobs/uploads/', { headers: { 'content-length': '0' } });
    assertOciError(upload, 403, 'DENIED', /read only mode/);
    assert.deepEqual(upload.json(), { errors: [{ code: 'DENIED', message }] });
    const manifest = await v2.putManifest('library/app', '3.0', pushed.bytes, types.manifest);
    assertOciError(manifest, 403, 'DENIED', /read only mode/);
    const remove = await v2.call('DELETE', `/v2/library/app/manifests/${pushed.digest}`);
    assertOciError(remove, 403, 'DENIED');
    // Reads and pulls go on.
    const tags = await v2.tags('library/app');
    assert.equal(tags.status, 200);
    assert.deepEqual(tags.json<{ tags: string[] }>().tags, ['1.0']);
    const pull = await v2.call('GET', '/v2/library/app/manifests/1.0', { headers: { accept: types.manifest } });
    assert.equal(pull.status, 200);
    const blob = await v2.call('GET', `/v2/library/app/blobs/${pushed.layer.digest}`);
    assert.equal(blob.status, 200);
    // Tokens are still issued (GET /service/token).
    const token = await fetch(`${server.url}/service/token?service=harbor-registry&scope=repository:library/app:pull`, {
      headers: { authorization: admin() },
    });
    assert.equal(token.status, 200);
  } finally {
    await setReadOnly(false);
  }
  assert.equal((await v2.tags('library/app')).json<{ tags: string[] }>().tags.length, 1);
});

test('read-only mode refuses API writes and deletes with Harbor body; GETs work', async () => {
  await setReadOnly(true);
  try {
    assertDenied(
      await api(server, 'POST', '/projects', { auth: admin(), body: { project_name: 'ro-new', metadata: { public: 'false' } } }),
    );
    assertDenied(await api(server, 'DELETE', '/projects/library/repositories/app', { auth: admin() }));
    assertDenied(await api(server, 'DELETE', `/projects/library/repositories/app/artifacts/${pushed.digest}`, { auth: admin() }));
    assertDenied(
      await api(server, 'POST', '/users', {
        auth: admin(),
        body: { username: 'ro-late', password: 'Passw0rd1', email: 'ro-late@example.com', realname: 'x' },
      }),
    );
    assertDenied(await api(server, 'PUT', '/projects/library', { auth: admin(), body: { metadata: { public: 'false' } } }));
    // An anonymous write is refused the same way.
    assertDenied(await api(server, 'POST', '/projects', { body: { project_name: 'ro-anon' } }));
    // Reads go on.
    assert.equal((await api(server, 'GET', '/projects', { auth: admin() })).status, 200);
    assert.equal((await api(server, 'GET', '/projects/library/repositories', { auth: admin() })).status, 200);
    assert.equal((await api(server, 'GET', '/configurations', { auth: admin() })).body.read_only.value, true);
    // Signing in works (POST /c/login is exempt).
    const login = await fetch(`${server.url}/c/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'principal=ro-user&password=Passw0rd1',
      redirect: 'manual',
    });
    assert.equal(login.status, 200, await login.text());
    // A user who is not an administrator still cannot switch it off.
    const user = await api(server, 'PUT', '/configurations', { auth: basicAuth('ro-user', 'Passw0rd1'), body: { read_only: false } });
    assert.equal(user.status, 403);
    assert.equal(errorCode(user), 'FORBIDDEN');
  } finally {
    await setReadOnly(false);
  }
  assert.equal((await api(server, 'GET', '/projects?name=ro-new', { auth: admin() })).body.length, 0);
  assert.equal((await api(server, 'GET', '/users/search?username=ro-late', { auth: admin() })).body.length, 0);
  assert.equal((await api(server, 'GET', '/projects/library/repositories/app', { auth: admin() })).status, 200);
});

test('switched off, writes work again', async () => {
  const info = await api(server, 'GET', '/systeminfo', { auth: admin() });
  assert.equal(info.body.read_only, false);
  await pushImage(server.url, 'library/app', '2.0', { headers: server.admin });
  const created = await api(server, 'POST', '/projects', {
    auth: admin(),
    body: { project_name: 'ro-after', metadata: { public: 'false' } },
  });
  assert.equal(created.status, 201);
});
