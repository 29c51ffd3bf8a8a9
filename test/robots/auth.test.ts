import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api, errorCode } from '../helpers/api.js';
import { pushImage } from '../helpers/oci.js';
import { basicAuth, startServer, type TestServer } from '../helpers/server.js';
import { createProject, createRobot, projectRobot, pushPull, registryToken, systemRobot, type CreatedRobot } from './fixtures.js';

let server: TestServer;
let teamaId: number;
before(async () => {
  server = await startServer();
  teamaId = await createProject(server, 'teama');
  await createProject(server, 'teamb');
  await pushImage(server.url, 'teamb/app', 'v1', { headers: server.admin });
});
after(async () => {
  await server.stop();
});

function basic(robot: CreatedRobot, secret = robot.secret): string {
  return basicAuth(robot.name, secret);
}

async function v2(path: string, auth: string, init: RequestInit = {}) {
  return fetch(`${server.url}/v2/${path}`, { ...init, headers: { authorization: auth, ...(init.headers as Record<string, string>) } });
}

async function bearerPush(robot: CreatedRobot, repo: string, tag: string) {
  const { token } = await registryToken(server, basic(robot), `repository:${repo}:pull,push`);
  return pushImage(server.url, repo, tag, { headers: { authorization: `Bearer ${token}` } });
}

describe('a project robot with push and pull', () => {
  let ci: CreatedRobot;
  before(async () => {
    ci = await createRobot(server, projectRobot('teama', 'ci', pushPull));
  });

  test('pushes and pulls in its project with Basic credentials', async () => {
    const image = await pushImage(server.url, 'teama/app', 'v1', { headers: { authorization: basic(ci) } });
    const pulled = await v2('teama/app/manifests/v1', basic(ci), { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(pulled.status, 200);
    assert.equal(pulled.headers.get('docker-content-digest'), image.digest);
  });

  test('gets a token for its project and pushes with it', async () => {
    const granted = await registryToken(server, basic(ci), 'repository:teama/tokened:pull,push');
    assert.equal(granted.status, 200);
    assert.deepEqual(granted.access, [{ type: 'repository', name: 'teama/tokened', actions: ['pull', 'push'] }]);
    await bearerPush(ci, 'teama/tokened', 'v1');
    const claims = JSON.parse(Buffer.from(granted.token!.split('.')[1], 'base64url').toString());
    assert.equal(claims.sub, 'robot$teama+ci');
  });

  test('is refused in another project: 403 with Basic, an empty token and 401 with Bearer', async () => {
    await assert.rejects(pushImage(server.url, 'teamb/app', 'v2', { headers: { authorization: basic(ci) } }), /403/);
    const pull = await v2('teamb/app/manifests/v1', basic(ci));
    assert.equal(pull.status, 403);
    assert.equal((await pull.json()).errors[0].code, 'DENIED');
    const other = await registryToken(server, basic(ci), 'repository:teamb/app:pull,push');
    assert.equal(other.status, 200);
    assert.deepEqual(other.access, []);
    await assert.rejects(bearerPush(ci, 'teamb/app', 'v2'), /401/);
  });

  test('may not use the API beyond its permissions', async () => {
    assert.equal((await api(server, 'GET', '/robots', { auth: basic(ci) })).status, 403);
    assert.equal((await api(server, 'GET', '/users', { auth: basic(ci) })).status, 403);
  });
});

test('a pull-only robot pulls but cannot push, with Basic or with a token', async () => {
  const reader = await createRobot(server, projectRobot('teamb', 'reader', [['repository', 'pull']]));
  assert.equal((await v2('teamb/app/manifests/v1', basic(reader))).status, 200);
  await assert.rejects(pushImage(server.url, 'teamb/app', 'v9', { headers: { authorization: basic(reader) } }), /403/);
  const granted = await registryToken(server, basic(reader), 'repository:teamb/app:pull,push');
  assert.deepEqual(granted.access, [{ type: 'repository', name: 'teamb/app', actions: ['pull'] }]);
  await assert.rejects(bearerPush(reader, 'teamb/app', 'v9'), /401/);
});

test('a disabled robot is refused; enabling it lets it in; disabling takes effect at once', async () => {
  const robot = await createRobot(server, projectRobot('teama', 'sleepy', pushPull, { disable: true }));
  assert.equal((await v2('', basic(robot))).status, 401);
  assert.equal((await registryToken(server, basic(robot), 'repository:teama/app:pull')).status, 401);
  const body = (await api(server, 'GET', `/robots/${robot.id}`, { auth: server.admin.authorization })).body;
  assert.equal(
    (await api(server, 'PUT', `/robots/${robot.id}`, { auth: server.admin.authorization, body: { ...body, disable: false } })).status,
    200,
  );
  assert.equal((await v2('', basic(robot))).status, 200);
  assert.equal(
    (await api(server, 'PUT', `/robots/${robot.id}`, { auth: server.admin.authorization, body: { ...body, disable: true } })).status,
    200,
  );
  assert.equal((await v2('', basic(robot))).status, 401, 'a remembered login outlived the disable');
});

test('an expired robot is refused', async () => {
  const robot = await createRobot(server, projectRobot('teama', 'old', pushPull, { duration: 1 }));
  assert.equal((await v2('', basic(robot))).status, 200);
  const yesterday = Math.floor(Date.now() / 1000) - 86400;
  await server.berth.database.db.updateTable('robots').set({ expires_at: yesterday }).where('id', '=', robot.id).execute();
  server.berth.authenticator.invalidate();
  const res = await v2('', basic(robot));
  assert.equal(res.status, 401);
  assert.equal((await res.json()).errors[0].code, 'UNAUTHORIZED');
  assert.equal((await registryToken(server, basic(robot), 'repository:teama/app:pull')).status, 401);
  const listed = await api(server, 'GET', `/robots/${robot.id}`, { auth: server.admin.authorization });
  assert.equal(listed.body.expires_at, yesterday, 'the expiry is shown');
});

test('refreshing the secret: the old one fails at once, the new one works', async () => {
  const robot = await createRobot(server, projectRobot('teama', 'rotating', pushPull));
  assert.equal((await v2('', basic(robot))).status, 200);
  const refreshed = await api(server, 'PATCH', `/robots/${robot.id}`, { auth: server.admin.authorization, body: {} });
  assert.equal(refreshed.status, 200);
  assert.equal((await v2('', basic(robot))).status, 401);
  assert.equal((await v2('', basic(robot, refreshed.body.secret))).status, 200);
  await api(server, 'PATCH', `/robots/${robot.id}`, { auth: server.admin.authorization, body: { secret: 'MyOwnSecret1' } });
  assert.equal((await v2('', basic(robot, refreshed.body.secret))).status, 401);
  assert.equal((await v2('', basic(robot, 'MyOwnSecret1'))).status, 200);
});

test('a user-chosen secret at creation works; a deleted robot is refused at once', async () => {
  const robot = await createRobot(server, projectRobot('teama', 'chosen', pushPull, { secret: 'Chosen1234' }));
  assert.equal(robot.secret, 'Chosen1234');
  assert.equal((await v2('', basic(robot))).status, 200);
  assert.equal((await api(server, 'DELETE', `/robots/${robot.id}`, { auth: server.admin.authorization })).status, 200);
  assert.equal((await v2('', basic(robot))).status, 401);
});

test('a system robot with namespace "*" works in every project; one naming projects only in those', async () => {
  const everywhere = await createRobot(server, systemRobot('everywhere', ['*'], pushPull));
  await pushImage(server.url, 'teama/sys', 'v1', { headers: { authorization: basic(everywhere) } });
  await pushImage(server.url, 'teamb/sys', 'v1', { headers: { authorization: basic(everywhere) } });
  await bearerPush(everywhere, 'library/sys', 'v1');
  await createProject(server, 'later');
  await pushImage(server.url, 'later/sys', 'v1', { headers: { authorization: basic(everywhere) } });

  const onlyA = await createRobot(server, systemRobot('only-a', ['teama'], pushPull));
  await pushImage(server.url, 'teama/sys', 'v2', { headers: { authorization: basic(onlyA) } });
  await assert.rejects(pushImage(server.url, 'teamb/sys', 'v2', { headers: { authorization: basic(onlyA) } }), /403/);
});

test('a system robot with system permissions uses them on the API', async () => {
  const auditor = await createRobot(server, {
    name: 'auditor',
    level: 'system',
    duration: -1,
    permissions: [
      {
        kind: 'system',
        namespace: '/',
        access: [
          { resource: 'robot', action: 'list' },
          { resource: 'audit-log', action: 'list' },
        ],
      },
    ],
  });
  assert.equal((await api(server, 'GET', '/robots', { auth: basic(auditor) })).status, 200);
  assert.equal((await api(server, 'GET', '/audit-logs', { auth: basic(auditor) })).status, 200);
  assert.equal((await api(server, 'GET', '/users', { auth: basic(auditor) })).status, 403);
});

describe('robots creating robots', () => {
  let maker: CreatedRobot;
  before(async () => {
    maker = await createRobot(
      server,
      projectRobot('teama', 'maker', [...pushPull, ['robot', 'create'], ['robot', 'list'], ['robot', 'read']]),
    );
  });

  test('a robot creates a narrower robot, recorded as its creator', async () => {
    const child = await createRobot(server, projectRobot('teama', 'child', [['repository', 'pull']]), basic(maker));
    assert.equal(child.name, 'robot$teama+child');
    const got = await api(server, 'GET', `/robots/${child.id}`, { auth: basic(maker) });
    assert.equal(got.status, 200);
    assert.equal(got.body.creator_type, 'robot');
    assert.equal(got.body.creator_ref, maker.id);
    assert.equal((await v2('teamb/app/manifests/v1', basic(child))).status, 403);
    const q = encodeURIComponent(`Level=project,ProjectID=${teamaId}`);
    assert.equal((await api(server, 'GET', `/robots?q=${q}`, { auth: basic(maker) })).status, 200);
  });

  test('a robot may not create a broader robot, one elsewhere, or a system robot', async () => {
    const refused: Array<[unknown, number]> = [
      [projectRobot('teama', 'broader', [...pushPull, ['repository', 'delete']]), 403],
      [projectRobot('teama', 'admin-ish', [['member', 'create']]), 403],
      [projectRobot('teamb', 'elsewhere', [['repository', 'pull']]), 403],
      [systemRobot('sys', ['teama'], [['repository', 'pull']]), 403],
    ];
    for (const [body, status] of refused) {
      const res = await api(server, 'POST', '/robots', { auth: basic(maker), body });
      assert.equal(res.status, status, JSON.stringify(res.body));
      assert.equal(errorCode(res), 'FORBIDDEN');
    }
    const broader = await api(server, 'POST', '/robots', { auth: basic(maker), body: refused[0][0] });
    assert.match(broader.body.errors[0].message, /"delete" on "repository" in project teama.*narrower/);
    const names = (
      await api<any[]>(server, 'GET', `/robots?q=${encodeURIComponent(`ProjectID=${teamaId}`)}&page_size=100`, {
        auth: server.admin.authorization,
      })
    ).body.map((r) => r.name);
    assert.ok(!names.includes('robot$teama+broader') && !names.includes('robot$teama+admin-ish'));
  });

  test('a robot may not widen a robot through PUT either', async () => {
    const child = await createRobot(server, projectRobot('teama', 'child2', [['repository', 'pull']]));
    const widen = await api(server, 'PUT', `/robots/${child.id}`, {
      auth: server.admin.authorization,
      body: { permissions: [{ kind: 'project', namespace: 'teama', access: [{ resource: 'repository', action: 'delete' }] }] },
    });
    assert.equal(widen.status, 200, 'an admin may');
    const updater = await createRobot(
      server,
      projectRobot('teama', 'updater', [
        ['robot', 'update'],
        ['robot', 'read'],
        ['repository', 'pull'],
      ]),
    );
    const res = await api(server, 'PUT', `/robots/${child.id}`, {
      auth: basic(updater),
      body: { permissions: [{ kind: 'project', namespace: 'teama', access: [{ resource: 'repository', action: 'push' }] }] },
    });
    assert.equal(res.status, 403);
  });
});

test('deleting a project deletes its robots; their secrets stop working', async () => {
  await createProject(server, 'doomed');
  const robot = await createRobot(server, projectRobot('doomed', 'bot', pushPull));
  assert.equal((await v2('', basic(robot))).status, 200);
  const del = await api(server, 'DELETE', '/projects/doomed', { auth: server.admin.authorization });
  assert.equal(del.status, 200, JSON.stringify(del.body));
  server.berth.authenticator.invalidate();
  assert.equal((await api(server, 'GET', `/robots/${robot.id}`, { auth: server.admin.authorization })).status, 404);
  assert.equal((await v2('', basic(robot))).status, 401);
});
