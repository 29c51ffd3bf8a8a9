import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SignJWT, generateKeyPair } from 'jose';
import { signingKeyFromDatabase } from '../../src/auth/signing-key.js';
import { TokenService } from '../../src/auth/tokens.js';
import { api, createUser } from '../helpers/api.js';
import { pushImage } from '../helpers/oci.js';
import { basicAuth, startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
before(async () => {
  server = await startServer();
  await createUser(server, 'tina', 'Tina12345');
  // A private project with one image, and one in the public library.
  await server.berth.projects.create('private1', false);
  await pushImage(server.url, 'private1/app', 'v1', { headers: server.admin });
  await pushImage(server.url, 'library/app', 'v1', { headers: server.admin });
});
after(async () => {
  await server.stop();
});

async function token(scope: string | string[], auth?: string): Promise<{ status: number; body: any }> {
  const params = new URLSearchParams({ service: 'harbor-registry' });
  for (const s of Array.isArray(scope) ? scope : [scope]) params.append('scope', s);
  const res = await fetch(`${server.url}/service/token?${params}`, { headers: auth ? { authorization: auth } : {} });
  return { status: res.status, body: await res.json() };
}

function claims(jwt: string): any {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());
}

test('/v2/ challenges anonymous callers with the token realm', async () => {
  const res = await fetch(`${server.url}/v2/`);
  assert.equal(res.status, 401);
  assert.equal(res.headers.get('www-authenticate'), `Bearer realm="${server.url}/service/token",service="harbor-registry"`);
  const body = await res.json();
  assert.equal(body.errors[0].code, 'UNAUTHORIZED');
});

test('a pull from a private repository is challenged with its exact scope', async () => {
  const res = await fetch(`${server.url}/v2/private1/app/manifests/v1`);
  assert.equal(res.status, 401);
  assert.match(res.headers.get('www-authenticate')!, /scope="repository:private1\/app:pull"/);
  const push = await fetch(`${server.url}/v2/private1/app/blobs/uploads/`, { method: 'POST' });
  assert.match(push.headers.get('www-authenticate')!, /scope="repository:private1\/app:pull,push"/);
});

test('the token carries what RBAC allows and no more; asking for more is not an error', async () => {
  const admin = await token('repository:private1/app:pull,push,delete', server.admin.authorization);
  assert.equal(admin.status, 200);
  assert.ok(admin.body.token && admin.body.access_token && admin.body.expires_in === 1800 && admin.body.issued_at);
  assert.deepEqual(claims(admin.body.token).access, [{ type: 'repository', name: 'private1/app', actions: ['pull', 'push', 'delete'] }]);
  assert.equal(claims(admin.body.token).aud, 'harbor-registry');
  assert.equal(claims(admin.body.token).sub, 'admin');

  const stranger = await token('repository:private1/app:pull,push', basicAuth('tina', 'Tina12345'));
  assert.equal(stranger.status, 200);
  assert.deepEqual(claims(stranger.body.token).access, []);

  const anonymousPublic = await token('repository:library/app:pull,push');
  assert.equal(anonymousPublic.status, 200);
  assert.deepEqual(claims(anonymousPublic.body.token).access, [{ type: 'repository', name: 'library/app', actions: ['pull'] }]);

  const catalogByUser = await token('registry:catalog:*', basicAuth('tina', 'Tina12345'));
  assert.deepEqual(claims(catalogByUser.body.token).access, []);
  const catalogByAdmin = await token('registry:catalog:*', server.admin.authorization);
  assert.deepEqual(claims(catalogByAdmin.body.token).access, [{ type: 'registry', name: 'catalog', actions: ['*'] }]);
});

test('a token opens exactly the repository it names', async () => {
  const t = (await token('repository:library/app:pull', server.admin.authorization)).body.token;
  const bearer = { authorization: `Bearer ${t}` };
  const ok = await fetch(`${server.url}/v2/library/app/manifests/v1`, { headers: { ...bearer, accept: 'application/vnd.oci.image.manifest.v1+json' } });
  assert.equal(ok.status, 200);
  const other = await fetch(`${server.url}/v2/private1/app/manifests/v1`, { headers: bearer });
  assert.equal(other.status, 401);
  assert.match(other.headers.get('www-authenticate')!, /scope="repository:private1\/app:pull"/);
  const push = await fetch(`${server.url}/v2/library/app/blobs/uploads/`, { method: 'POST', headers: bearer });
  assert.equal(push.status, 401, 'a pull token does not push');
  const catalog = await fetch(`${server.url}/v2/_catalog`, { headers: bearer });
  assert.equal(catalog.status, 401);
});

test('tampered, foreign-signed, expired and wrong-audience tokens are refused', async () => {
  const good = (await token('repository:library/app:pull', server.admin.authorization)).body.token as string;
  const [header, payload, signature] = good.split('.');
  const widened = Buffer.from(
    JSON.stringify({ ...claims(good), access: [{ type: 'repository', name: 'private1/app', actions: ['pull', 'push'] }] }),
  ).toString('base64url');
  const { privateKey } = await generateKeyPair('RS256');
  const now = Math.floor(Date.now() / 1000);
  const sign = (claims: Record<string, unknown>, aud: string, exp: number) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256' })
      .setIssuer('berth-token-issuer')
      .setSubject('admin')
      .setAudience(aud)
      .setIssuedAt(now - 7200)
      .setExpirationTime(exp)
      .sign(privateKey);
  const cases: Record<string, string> = {
    tampered: `${header}.${widened}.${signature}`,
    'bad signature': `${header}.${payload}.${signature.slice(0, -4)}AAAA`,
    'foreign key': await sign({ access: [{ type: 'repository', name: 'private1/app', actions: ['pull'] }] }, 'harbor-registry', now + 600),
    'not a jwt': 'abc.def',
    'alg none': `${Buffer.from('{"alg":"none"}').toString('base64url')}.${payload}.`,
  };
  for (const [name, jwt] of Object.entries(cases)) {
    const res = await fetch(`${server.url}/v2/private1/app/manifests/v1`, { headers: { authorization: `Bearer ${jwt}` } });
    assert.equal(res.status, 401, name);
    assert.equal((await res.json()).errors[0].code, 'UNAUTHORIZED', name);
  }
});

test('tokens signed by Berth but expired or for another audience are refused', async () => {
  // Sign with Berth's own key through its token service, then check the verifier's time and audience rules.
  const tokens = server.berth.authenticator.tokens;
  const wrongAudience = await tokens.issue('admin', [{ type: 'repository', name: 'private1/app', actions: ['pull'] }], 'another-service');
  const res = await fetch(`${server.url}/v2/private1/app/manifests/v1`, { headers: { authorization: `Bearer ${wrongAudience.token}` } });
  assert.equal(res.status, 401);
  assert.match((await res.json()).errors[0].message, /aud/);

  // The same key, but a token whose lifetime ended two minutes ago (beyond the 60 s leeway).
  const pem = await signingKeyFromDatabase(server.berth.database.db, server.berth.paths.tokenKeyFile);
  const expiredIssuer = await TokenService.open({ pem, lifetimeSeconds: -120 });
  const expired = await expiredIssuer.issue('admin', [{ type: 'repository', name: 'private1/app', actions: ['pull'] }]);
  const late = await fetch(`${server.url}/v2/private1/app/manifests/v1`, { headers: { authorization: `Bearer ${expired.token}` } });
  assert.equal(late.status, 401);
  assert.match((await late.json()).errors[0].message, /exp/);
});

test('the token endpoint refuses wrong credentials without saying which part was wrong', async () => {
  const wrongPassword = await token('repository:library/app:pull', basicAuth('tina', 'Wrong1234'));
  const noSuchUser = await token('repository:library/app:pull', basicAuth('nobody-here', 'Wrong1234'));
  assert.equal(wrongPassword.status, 401);
  assert.equal(noSuchUser.status, 401);
  assert.deepEqual(wrongPassword.body, noSuchUser.body);
  const login = await fetch(`${server.url}/service/token?service=harbor-registry`);
  assert.equal(login.status, 401, 'docker login without credentials');
  const unknownService = await fetch(`${server.url}/service/token?service=elsewhere&scope=repository:library/app:pull`);
  assert.equal(unknownService.status, 400);
  const badScope = await fetch(`${server.url}/service/token?service=harbor-registry&scope=nonsense`);
  assert.equal(badScope.status, 400);
});

test('Basic credentials work directly on /v2 and on the API', async () => {
  const v2 = await fetch(`${server.url}/v2/private1/app/tags/list`, { headers: server.admin });
  assert.equal(v2.status, 200);
  assert.deepEqual(await v2.json(), { name: 'private1/app', tags: ['v1'] });
  const denied = await fetch(`${server.url}/v2/private1/app/tags/list`, { headers: { authorization: basicAuth('tina', 'Tina12345') } });
  assert.equal(denied.status, 403);
  assert.equal((await denied.json()).errors[0].code, 'DENIED');
  const apiCall = await api(server, 'GET', '/users/current', { auth: server.admin.authorization });
  assert.equal(apiCall.status, 200);
  const bearerOnApi = await api(server, 'GET', '/users/current', { auth: 'Bearer abc' });
  assert.equal(bearerOnApi.status, 401);
});
