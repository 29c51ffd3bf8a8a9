import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { api, createUser } from '../helpers/api.js';
import { pushImage } from '../helpers/oci.js';
import { basicAuth, startServer, type TestServer } from '../helpers/server.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { PullRecorder } from '../../src/registry/pulls.js';
import type { RegistryStore } from '../../src/registry/store.js';

let server: TestServer;
let receiver: WebhookReceiver;
let userAuth: string;
before(async () => {
  server = await startServer({ yaml: { 'jobs.poll_interval_ms': 20 } });
  receiver = await startWebhookReceiver();
  await createUser(server, 'live-user');
  userAuth = basicAuth('live-user', 'Passw0rd1');
});
after(async () => {
  await server.stop();
  await receiver.close();
});

const admin = () => server.admin.authorization;
async function put(body: Record<string, unknown>) {
  const res = await api(server, 'PUT', '/configurations', { auth: admin(), body });
  assert.equal(res.status, 200, JSON.stringify(res.body));
}

test('token_expiration: the next registry token has the new lifetime', async () => {
  const token = async () => {
    const res = await fetch(`${server.url}/service/token?service=harbor-registry&scope=repository:library/x:pull`, {
      headers: { authorization: admin() },
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { token: string; expires_in: number };
    const claims = JSON.parse(Buffer.from(body.token.split('.')[1]!, 'base64url').toString()) as { exp: number; iat: number };
    return { expiresIn: body.expires_in, lifetime: claims.exp - claims.iat };
  };
  assert.deepEqual(await token(), { expiresIn: 1800, lifetime: 1800 });
  await put({ token_expiration: 5 });
  assert.deepEqual(await token(), { expiresIn: 300, lifetime: 300 });
  await put({ token_expiration: 30 });
});

test('project_creation_restriction: adminonly refuses a user at once, everyone lets them again', async () => {
  const create = (name: string) =>
    api(server, 'POST', '/projects', { auth: userAuth, body: { project_name: name, metadata: { public: 'false' } } });
  assert.equal((await create('live-one')).status, 201);
  await put({ project_creation_restriction: 'adminonly' });
  const refused = await create('live-two');
  assert.equal(refused.status, 403, JSON.stringify(refused.body));
  const perms = await api(server, 'GET', '/users/current/permissions', { auth: userAuth });
  assert.ok(!perms.body.some((p: { resource: string; action: string }) => p.resource === 'project' && p.action === 'create'));
  await put({ project_creation_restriction: 'everyone' });
  assert.equal((await create('live-two')).status, 201);
});

test('self_registration: anonymous sign-up is allowed only while it is on', async () => {
  const signUp = (username: string) =>
    api(server, 'POST', '/users', { body: { username, password: 'Passw0rd1', email: `${username}@example.com`, realname: username } });
  assert.notEqual((await signUp('live-self1')).status, 201);
  await put({ self_registration: true });
  assert.equal((await signUp('live-self1')).status, 201);
  await put({ self_registration: false });
  assert.notEqual((await signUp('live-self2')).status, 201);
});

test('storage_per_project: a new project gets the new default limit', async () => {
  await put({ storage_per_project: 5 * 1024 * 1024 });
  const res = await api(server, 'POST', '/projects', {
    auth: admin(),
    body: { project_name: 'live-quota', metadata: { public: 'false' } },
  });
  assert.equal(res.status, 201);
  const summary = await api(server, 'GET', '/projects/live-quota/summary', { auth: admin() });
  assert.equal(summary.body.quota.hard.storage, 5 * 1024 * 1024);
  await put({ storage_per_project: -1 });
  await api(server, 'POST', '/projects', { auth: admin(), body: { project_name: 'live-unlimited', metadata: { public: 'false' } } });
  assert.equal((await api(server, 'GET', '/projects/live-unlimited/summary', { auth: admin() })).body.quota.hard.storage, -1);
});

test('robot_name_prefix and robot_token_duration apply to the next robot', async () => {
  await put({ robot_name_prefix: 'bot+', robot_token_duration: 7 });
  const res = await api(server, 'POST', '/robots', {
    auth: admin(),
    body: {
      name: 'ci',
      level: 'project',
      permissions: [{ kind: 'project', namespace: 'live-one', access: [{ resource: 'repository', action: 'pull' }] }],
    },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  assert.equal(res.body.name, 'bot+live-one+ci');
  const robot = await api(server, 'GET', `/robots/${res.body.id}`, { auth: admin() });
  assert.equal(robot.body.duration, 7);
  // The robot signs in under its new name.
  const me = await fetch(`${server.url}/v2/`, { headers: { authorization: basicAuth(res.body.name, res.body.secret) } });
  assert.equal(me.status, 200);
  await put({ robot_name_prefix: 'robot$', robot_token_duration: 30 });
});

test('session_timeout: the next portal session cookie lasts the new timeout', async () => {
  const login = async () => {
    const res = await fetch(`${server.url}/c/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'principal=live-user&password=Passw0rd1',
    });
    assert.equal(res.status, 200);
    return /Max-Age=(\d+)/i.exec(res.headers.get('set-cookie') ?? '')?.[1];
  };
  assert.equal(await login(), String(60 * 60));
  await put({ session_timeout: 15 });
  assert.equal(await login(), String(15 * 60));
  await put({ session_timeout: 60 });
});

test('notification_enable: off, a push sends no webhook; on again, the next one does', async () => {
  const policy = await api(server, 'POST', '/projects/live-one/webhook/policies', {
    auth: admin(),
    body: { name: 'hook', enabled: true, event_types: ['PUSH_ARTIFACT'], targets: [{ type: 'http', address: `${receiver.url}/hook` }] },
  });
  assert.equal(policy.status, 201, JSON.stringify(policy.body));
  const tagsDelivered = () => receiver.received.map((r) => JSON.parse(r.body).event_data.resources[0].tag as string);
  await pushImage(server.url, 'live-one/app', 'first', { headers: server.admin });
  await receiver.waitFor(1);
  await put({ notification_enable: false });
  assert.equal((await api(server, 'GET', '/systeminfo', { auth: admin() })).body.notification_enable, false);
  await pushImage(server.url, 'live-one/app', 'while-off', { headers: server.admin });
  // Its push event is handled (and skipped) before the setting goes back on. On PostgreSQL an
  // event waits while any older transaction of the server is open, so drain until it is past.
  const newest = await server.berth.database.db
    .selectFrom('events')
    .select(['tx_id', 'id'])
    .orderBy('tx_id', 'desc')
    .orderBy('id', 'desc')
    .executeTakeFirstOrThrow();
  for (let waited = 0; ; waited += 50) {
    await server.berth.jobs.dispatcher.drain();
    const cursor = await server.berth.database.db
      .selectFrom('event_cursors')
      .select(['last_tx_id', 'last_event_id'])
      .where('subscriber', '=', 'webhooks')
      .executeTakeFirstOrThrow();
    const tx = Number(cursor.last_tx_id);
    if (tx > Number(newest.tx_id) || (tx === Number(newest.tx_id) && Number(cursor.last_event_id) >= Number(newest.id))) break;
    if (waited > 30_000) throw new Error('the webhook subscriber did not reach the push event within 30 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await put({ notification_enable: true });
  await pushImage(server.url, 'live-one/app', 'after', { headers: server.admin });
  await receiver.waitFor(2);
  assert.deepEqual(tagsDelivered(), ['first', 'after']);
});

test('scanner_skip_update_pulltime: a scanner pull leaves pull time and count alone while on', async () => {
  const recorded: Array<{ pulls: unknown[]; audits: unknown[] }> = [];
  const store = {
    recordPulls: async (pulls: unknown[], audits: unknown[]) => void recorded.push({ pulls, audits }),
  } as unknown as RegistryStore;
  let skip = true;
  const recorder = new PullRecorder(store, {
    intervalMs: 60_000,
    auditPulls: true,
    onError: (err) => assert.fail(String(err)),
    skipsPullTime: (username) => skip && username.startsWith('scanner:'),
  });
  const pull = (username: string) => recorder.record({ artifactId: 1, projectId: 1, tag: 'v1', resource: 'p/r:v1', username });
  pull('scanner:trivy:1');
  pull('alice');
  await recorder.flush();
  assert.equal(recorded[0]!.pulls.length, 1);
  assert.equal(recorded[0]!.audits.length, 2);
  skip = false;
  pull('scanner:trivy:2');
  await recorder.flush();
  assert.equal(recorded[1]!.pulls.length, 1);
});
