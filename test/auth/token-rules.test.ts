import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SignJWT, importPKCS8 } from 'jose';
import { Authenticator, credentialCacheMs } from '../../src/auth/authenticator.js';
import type { Principals } from '../../src/auth/principals.js';
import { signingKeyFromDatabase } from '../../src/auth/signing-key.js';
import { isAppError } from '../../src/lib/errors.js';
import { api, createUser } from '../helpers/api.js';
import { pushImage } from '../helpers/oci.js';
import { basicAuth, startServer, type TestServer } from '../helpers/server.js';
import { createProject, createRobot, projectRobot, pushPull, registryToken } from '../robots/fixtures.js';

let server: TestServer;
before(async () => {
  server = await startServer();
  await createProject(server, 'secret');
  await pushImage(server.url, 'secret/app', 'v1', { headers: server.admin });
});
after(async () => {
  await server.stop();
});

const manifestAccept = { accept: 'application/vnd.oci.image.manifest.v1+json' };

async function pullWith(token: string, repository = 'secret/app'): Promise<Response> {
  return fetch(`${server.url}/v2/${repository}/manifests/v1`, { headers: { authorization: `Bearer ${token}`, ...manifestAccept } });
}

function claims(jwt: string): any {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());
}

test('a token without an expiry, signed with Berth’s own key, is refused every time', async () => {
  const pem = await signingKeyFromDatabase(server.berth.database.db, server.berth.paths.tokenKeyFile);
  const key = await importPKCS8(pem, 'RS256');
  const now = Math.floor(Date.now() / 1000);
  const forever = await new SignJWT({ access: [{ type: 'repository', name: 'secret/app', actions: ['pull'] }] })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
    .setIssuer('berth-token-issuer')
    .setSubject('admin')
    .setAudience('harbor-registry')
    .setIssuedAt(now)
    .sign(key);
  for (const attempt of ['first', 'second']) {
    const res = await pullWith(forever);
    assert.equal(res.status, 401, `${attempt} use`);
    assert.match((await res.json()).errors[0].message, /exp/);
  }
});

test('scopes naming an impossible repository grant nothing; valid ones in the same request still do', async () => {
  const bad = [
    'repository:secret/../secret/app:pull,push',
    'repository:secret/..:pull',
    'repository:secret//app:pull',
    'repository:/secret/app:pull',
    'repository:secret/app/:pull',
    'repository:Secret/App:pull',
    'repository:..:pull',
  ];
  const params = new URLSearchParams({ service: 'harbor-registry' });
  for (const scope of [...bad, 'repository:secret/app:pull']) params.append('scope', scope);
  const res = await fetch(`${server.url}/service/token?${params}`, { headers: server.admin });
  assert.equal(res.status, 200);
  const { token } = await res.json();
  assert.deepEqual(claims(token).access, [{ type: 'repository', name: 'secret/app', actions: ['pull'] }]);
});

test('anonymous tokens name nobody, as Harbor’s do, and still pull public images', async () => {
  await pushImage(server.url, 'library/pub', 'v1', { headers: server.admin });
  const res = await fetch(`${server.url}/service/token?service=harbor-registry&scope=repository:library/pub:pull`);
  const { token } = await res.json();
  assert.equal(claims(token).sub, '');
  assert.equal((await pullWith(token, 'library/pub')).status, 200);
});

test('a robot’s token stops working once the robot is disabled or deleted, not at the token’s expiry', async () => {
  const robot = await createRobot(server, projectRobot('secret', 'puller', pushPull));
  const auth = basicAuth(robot.name, robot.secret);
  const { token } = await registryToken(server, auth, 'repository:secret/app:pull');
  assert.equal((await pullWith(token!)).status, 200);

  const disable = await api(server, 'PUT', `/robots/${robot.id}`, {
    auth: server.admin.authorization,
    body: { name: robot.name, level: 'project', duration: -1, disable: true, permissions: projectRobot('secret', 'puller', pushPull).permissions },
  });
  assert.equal(disable.status, 200);
  const refused = await pullWith(token!);
  assert.equal(refused.status, 401);
  assert.match((await refused.json()).errors[0].message, /no longer exists or is disabled/);

  const enable = await api(server, 'PUT', `/robots/${robot.id}`, {
    auth: server.admin.authorization,
    body: { name: robot.name, level: 'project', duration: -1, disable: false, permissions: projectRobot('secret', 'puller', pushPull).permissions },
  });
  assert.equal(enable.status, 200);
  assert.equal((await pullWith(token!)).status, 200, 'enabled again, its unexpired token works again');

  assert.equal((await api(server, 'DELETE', `/robots/${robot.id}`, { auth: server.admin.authorization })).status, 200);
  assert.equal((await pullWith(token!)).status, 401);
});

test('a user’s token stops working once the user is deleted, and does not come back with a new user of the same name', async () => {
  const id = await createUser(server, 'gone', 'Gone123456');
  await api(server, 'POST', '/projects/secret/members', { auth: server.admin.authorization, body: { role_id: 3, member_user: { username: 'gone' } } });
  const { token } = await registryToken(server, basicAuth('gone', 'Gone123456'), 'repository:secret/app:pull');
  assert.equal((await pullWith(token!)).status, 200);
  assert.equal((await api(server, 'DELETE', `/users/${id}`, { auth: server.admin.authorization })).status, 200);
  assert.equal((await pullWith(token!)).status, 401);
  // A new account of the same name, made later than the token, is not the one it was issued to.
  const later = Date.now() + 120_000;
  const row = { username: 'gone', email: '', realname: '', comment: '', password_hash: 'x', sysadmin: 0 };
  const at = new Date(later).toISOString();
  await server.berth.database.db.insertInto('users').values({ ...row, creation_time: at, update_time: at }).execute();
  server.berth.authenticator.invalidate();
  assert.equal((await pullWith(token!)).status, 401);
});

test('another instance’s change reaches this one within the credential cache bound (10 s)', async () => {
  let now = 1_000_000;
  let alive = true;
  const principals: Principals = {
    robotPrefix: 'robot$',
    userByPassword: async () => null,
    userById: async () => null,
    robotBySecret: async () => null,
    tokenSubject: async () => (alive ? { createdAt: 0 } : null),
  };
  const tokens = server.berth.authenticator.tokens;
  const authenticator = new Authenticator(principals, tokens, undefined as never, undefined as never, { now: () => now });
  const { token } = await tokens.issue('robot$elsewhere', [{ type: 'repository', name: 'secret/app', actions: ['pull'] }]);
  assert.equal((await authenticator.bearer(token)).kind, 'token');
  alive = false; // disabled through another instance: nothing tells this one
  now += credentialCacheMs - 1;
  assert.equal((await authenticator.bearer(token)).kind, 'token', 'still remembered just inside the bound');
  now += 2;
  await assert.rejects(authenticator.bearer(token), (err) => isAppError(err) && err.status === 401);
});
