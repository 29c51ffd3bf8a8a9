// A cross-repository mount through Docker token authentication, by a client that knows
// nothing but what the challenges tell it: it asks the token service for exactly the scopes
// of the WWW-Authenticate header and retries. The challenge must name the mount's source
// (repository:<from>:pull) as well as the target, as Distribution's does, so that the mount
// happens (201) instead of falling back to a full upload (202).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { api, createUser } from '../helpers/api.js';
import { basicAuth, startServer, type TestServer } from '../helpers/server.js';
import { assertOciError, V2, type V2Reply } from '../helpers/v2.js';

let server: TestServer;
let v2: V2;
let digest: string;
const source = 'mnt-src/app';
const target = 'mnt-dst/app';
const tina = basicAuth('tina', 'Tina12345');

before(async () => {
  server = await startServer();
  v2 = new V2(server);
  // Two private projects; tina is a developer of the target only.
  await server.berth.projects.create('mnt-src', false);
  await server.berth.projects.create('mnt-dst', false);
  await createUser(server, 'tina', 'Tina12345');
  const member = await api(server, 'POST', '/projects/mnt-dst/members', {
    auth: server.admin.authorization,
    body: { role_id: 2, member_user: { username: 'tina' } },
  });
  assert.equal(member.status, 201);
  digest = await v2.pushBlob(source, randomBytes(2048));
});
after(async () => {
  await server.stop();
});

/** The parameters of a `Bearer realm=…,service=…,scope=…` challenge. */
function challenge(res: V2Reply): { realm: string; service: string; scopes: string[] } {
  const header = res.headers.get('www-authenticate') ?? '';
  assert.ok(header.startsWith('Bearer '), `a Bearer challenge: ${header}`);
  const params = Object.fromEntries([...header.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
  return { realm: params.realm, service: params.service, scopes: params.scope ? params.scope.split(' ') : [] };
}

/** Asks the realm for a token with exactly the challenge's scopes, as docker and containerd do. */
async function tokenFor(res: V2Reply, credentials: string): Promise<string> {
  const { realm, service, scopes } = challenge(res);
  const params = new URLSearchParams({ service });
  for (const scope of scopes) params.append('scope', scope);
  const reply = await fetch(`${realm}?${params}`, { headers: { authorization: credentials } });
  assert.equal(reply.status, 200);
  return ((await reply.json()) as { token: string }).token;
}

function mount(headers: Record<string, string> = {}): Promise<V2Reply> {
  return v2.call('POST', `/v2/${target}/blobs/uploads/?mount=${digest}&from=${source}`, {
    anonymous: true,
    headers: { 'content-length': '0', ...headers },
  });
}

async function blobInTarget(): Promise<boolean> {
  const res = await v2.call('HEAD', `/v2/${target}/blobs/${digest}`);
  return res.status === 200;
}

describe('cross-repository mount with token authentication', () => {
  test('the challenge asks for pull on the source as well as pull,push on the target', async () => {
    const res = await mount();
    const error = assertOciError(res, 401, 'UNAUTHORIZED');
    assert.deepEqual(challenge(res).scopes, [`repository:${target}:pull,push`, `repository:${source}:pull`]);
    assert.deepEqual(error.detail, [
      { Type: 'repository', Name: target, Action: 'push' },
      { Type: 'repository', Name: source, Action: 'pull' },
    ]);
    // Without a mount, or with an invalid source name, the challenge is the target's alone.
    const plain = await v2.call('POST', `/v2/${target}/blobs/uploads/?from=${source}`, { anonymous: true });
    assert.deepEqual(challenge(plain).scopes, [`repository:${target}:pull,push`]);
    const invalid = await v2.call('POST', `/v2/${target}/blobs/uploads/?mount=${digest}&from=..%2Fx`, { anonymous: true });
    assert.deepEqual(challenge(invalid).scopes, [`repository:${target}:pull,push`]);
    assert.equal(await blobInTarget(), false);
  });

  test('a client that follows the challenge gets a token allowing the mount, and the mount: 201', async () => {
    const first = await mount();
    assert.equal(first.status, 401);
    const token = await tokenFor(first, server.admin.authorization);
    const second = await mount({ authorization: `Bearer ${token}` });
    assert.equal(second.status, 201, second.text);
    assert.equal(second.headers.get('location'), `/v2/${target}/blobs/${digest}`);
    assert.equal(second.headers.get('docker-content-digest'), digest);
    assert.equal(await blobInTarget(), true);
  });

  test('a token for the target alone is challenged again for the source, as in Distribution, and the refreshed token mounts', async () => {
    await v2.call('DELETE', `/v2/${target}/blobs/${digest}`);
    assert.equal(await blobInTarget(), false);
    const push = await v2.call('POST', `/v2/${target}/blobs/uploads/`, { anonymous: true });
    const narrow = await tokenFor(push, server.admin.authorization);
    const refused = await mount({ authorization: `Bearer ${narrow}` });
    assertOciError(refused, 401, 'UNAUTHORIZED');
    assert.deepEqual(challenge(refused).scopes, [`repository:${target}:pull,push`, `repository:${source}:pull`]);
    assert.equal(await blobInTarget(), false, 'a refused mount links nothing');
    const wide = await tokenFor(refused, server.admin.authorization);
    const mounted = await mount({ authorization: `Bearer ${wide}` });
    assert.equal(mounted.status, 201, mounted.text);
    assert.equal(await blobInTarget(), true);
  });

  test('a caller who may not pull the source never gets the mount: its token is challenged again, Basic gets an ordinary upload', async () => {
    await v2.call('DELETE', `/v2/${target}/blobs/${digest}`);
    const token = await tokenFor(await mount(), tina);
    const refused = await mount({ authorization: `Bearer ${token}` });
    assertOciError(refused, 401, 'UNAUTHORIZED');
    assert.match(challenge(refused).scopes.join(' '), new RegExp(`repository:${source}:pull`));
    const basic = await mount({ authorization: tina });
    assert.equal(basic.status, 202, basic.text);
    assert.match(basic.headers.get('location') ?? '', new RegExp(`^/v2/${target}/blobs/uploads/`));
    assert.equal(await blobInTarget(), false, 'nothing was mounted');
  });
});
