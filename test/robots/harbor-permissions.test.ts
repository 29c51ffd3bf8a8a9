import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { api, createUser, errorCode } from '../helpers/api.js';
import { basicAuth, startServer, type TestServer } from '../helpers/server.js';
import { access, addMember, createProject, createRobot, projectRobot, robotCount, type Pair } from './fixtures.js';

/**
 * Robot permissions as Harbor validates them: against its NolimitProvider (goharbor/harbor
 * src/common/rbac/const.go), the fixed PoliciesMap lists plus robot administration at both
 * levels, member administration and CVE export at project level, and users, groups, LDAP
 * import and quota changes at system level. Written out here as the facts a Harbor client
 * relies on, independently of Berth's own table, so that the test catches a gap in it.
 */
function expand(map: Record<string, string[]>): Pair[] {
  return Object.entries(map).flatMap(([resource, actions]) => actions.map((action): Pair => [resource, action]));
}

const harborProjectPolicies = expand({
  log: ['list'],
  project: ['read', 'delete', 'update'],
  metadata: ['read', 'create', 'delete', 'list', 'update'],
  repository: ['read', 'update', 'delete', 'list', 'pull', 'push'],
  artifact: ['read', 'create', 'list', 'delete'],
  scan: ['create', 'read', 'stop'],
  sbom: ['create', 'stop', 'read'],
  tag: ['create', 'list', 'delete'],
  accessory: ['list'],
  'artifact-addition': ['read'],
  'artifact-label': ['create', 'delete'],
  scanner: ['create', 'read'],
  'preheat-policy': ['read', 'create', 'delete', 'list', 'update'],
  'immutable-tag': ['create', 'delete', 'list', 'update'],
  'notification-policy': ['read', 'create', 'delete', 'list', 'update'],
  'tag-retention': ['read', 'create', 'delete', 'list', 'update'],
  label: ['read', 'create', 'delete', 'list', 'update'],
  quota: ['read'],
});
const harborProjectExtras = expand({
  robot: ['create', 'read', 'list', 'delete'],
  'export-cve': ['create', 'read'],
  member: ['create', 'read', 'update', 'list', 'delete'],
});

const harborSystemPolicies = expand({
  'audit-log': ['list'],
  'preheat-instance': ['read', 'create', 'delete', 'list', 'update'],
  project: ['list', 'create'],
  'replication-policy': ['read', 'create', 'delete', 'list', 'update'],
  replication: ['read', 'create', 'list'],
  'replication-adapter': ['list'],
  registry: ['read', 'create', 'delete', 'list', 'update'],
  'scan-all': ['read', 'update', 'stop', 'create'],
  'system-volumes': ['read'],
  'garbage-collection': ['read', 'create', 'list', 'update', 'stop'],
  'purge-audit': ['read', 'create', 'list', 'update', 'stop'],
  'jobservice-monitor': ['list', 'stop'],
  scanner: ['read', 'create', 'delete', 'list', 'update'],
  label: ['read', 'create', 'delete', 'update'],
  'security-hub': ['read', 'list'],
  catalog: ['read'],
  quota: ['read', 'list'],
});
const harborSystemExtras = expand({
  robot: ['create', 'read', 'list', 'delete'],
  user: ['create', 'read', 'update', 'list', 'delete'],
  'ldap-user': ['create', 'list'],
  quota: ['update'],
  'user-group': ['create', 'read', 'update', 'list', 'delete'],
});

let server: TestServer;
const admin = () => server.admin.authorization;
before(async () => {
  server = await startServer();
  await createProject(server, 'alpha');
  await createUser(server, 'pam', 'Pam1234567');
  await addMember(server, 'alpha', 'pam', 1);
});
after(async () => {
  await server.stop();
});

test('the lists are the ones Harbor has (53 system, 59 project policies)', () => {
  assert.equal(harborSystemPolicies.length, 53);
  assert.equal(harborProjectPolicies.length, 59);
});

test('an "all permissions" system robot, as a Harbor client creates it (every pair of both lists), is created and shown as sent', async () => {
  const permissions = [
    { kind: 'system', namespace: '/', access: access([...harborSystemPolicies, ...harborSystemExtras]) },
    { kind: 'project', namespace: '*', access: access([...harborProjectPolicies, ...harborProjectExtras]) },
  ];
  const res = await api(server, 'POST', '/robots', { auth: admin(), body: { name: 'everything', level: 'system', duration: -1, permissions } });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const got = await api(server, 'GET', `/robots/${res.body.id}`, { auth: admin() });
  assert.deepEqual(got.body.permissions, permissions, 'stored and shown, features Berth lacks included');
});

test('metadata list at project level, which no role holds, is accepted, from an administrator and from a Project Admin', async () => {
  const byAdmin = await createRobot(server, projectRobot('alpha', 'meta', [['metadata', 'list']]));
  assert.ok(byAdmin.id);
  // Harbor lets whoever may create a project's robots give them any pair of its project list.
  const all = projectRobot('alpha', 'all', [...harborProjectPolicies, ...harborProjectExtras]);
  const byProjectAdmin = await api(server, 'POST', '/robots', { auth: basicAuth('pam', 'Pam1234567'), body: all });
  assert.equal(byProjectAdmin.status, 201, JSON.stringify(byProjectAdmin.body));
});

test('pairs outside every list are still refused with the pair named, and nothing is stored', async () => {
  const before = await robotCount(server);
  const cases: Array<[string, unknown]> = [
    ['made-up action', projectRobot('alpha', 'bad1', [['repository', 'fly']])],
    ['system pair at project level', projectRobot('alpha', 'bad2', [['user', 'create']])],
    ['project pair at system level', { name: 'bad3', level: 'system', duration: -1, permissions: [{ kind: 'system', namespace: '/', access: access([['repository', 'pull']]) }] }],
    ['unknown resource', projectRobot('alpha', 'bad4', [['helm-chart', 'read']])],
  ];
  for (const [what, body] of cases) {
    const res = await api(server, 'POST', '/robots', { auth: admin(), body });
    assert.equal(res.status, 400, what);
    assert.equal(errorCode(res), 'BAD_REQUEST', what);
    assert.match(JSON.stringify(res.body), /is not a permission a robot may hold/, what);
  }
  assert.equal(await robotCount(server), before);
});

test('a newly accepted pair for a feature Berth has takes effect: user create and read for a system robot', async () => {
  const robot = await createRobot(server, {
    name: 'onboarder',
    level: 'system',
    duration: -1,
    permissions: [{ kind: 'system', namespace: '/', access: access([['user', 'create'], ['user', 'read']]) }],
  });
  const auth = basicAuth(robot.name, robot.secret);
  const made = await api(server, 'POST', '/users', { auth, body: { username: 'newbie', password: 'Newbie1234', email: 'newbie@example.com' } });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const id = Number(made.headers.get('location')!.split('/').pop());
  assert.equal((await api(server, 'GET', `/users/${id}`, { auth })).body.username, 'newbie');
  assert.equal((await api(server, 'DELETE', `/users/${id}`, { auth })).status, 403, 'delete was not given');
});

async function signsIn(name: string, secret: string): Promise<number> {
  return (await fetch(`${server.url}/v2/`, { headers: { authorization: basicAuth(name, secret) } })).status;
}

test('a robot that may update robots cannot take over a broader one by setting its secret or its permissions', async () => {
  const strong = await createRobot(server, {
    name: 'strong',
    level: 'system',
    duration: -1,
    permissions: [{ kind: 'system', namespace: '/', access: access([['user', 'create'], ['user', 'delete']]) }],
  });
  const manager = await createRobot(server, {
    name: 'manager',
    level: 'system',
    duration: -1,
    permissions: [{ kind: 'system', namespace: '/', access: access([['robot', 'read'], ['robot', 'update'], ['robot', 'list'], ['user', 'create']]) }],
  });
  const weak = await createRobot(server, {
    name: 'weak',
    level: 'system',
    duration: -1,
    permissions: [{ kind: 'system', namespace: '/', access: access([['user', 'create']]) }],
  });
  const auth = basicAuth(manager.name, manager.secret);
  const refresh = await api(server, 'PATCH', `/robots/${strong.id}`, { auth, body: { secret: 'Chosen12345' } });
  assert.equal(refresh.status, 403, JSON.stringify(refresh.body));
  assert.match(JSON.stringify(refresh.body), /robot\$strong holds it/);
  assert.equal((await signsIn(strong.name, strong.secret)), 200, 'its secret is unchanged');
  const update = await api(server, 'PUT', `/robots/${strong.id}`, {
    auth,
    body: { name: strong.name, level: 'system', duration: -1, disable: true, permissions: [{ kind: 'system', namespace: '/', access: access([['user', 'create']]) }] },
  });
  assert.equal(update.status, 403);
  // A robot no broader than itself it may change.
  const ok = await api(server, 'PATCH', `/robots/${weak.id}`, { auth, body: { secret: 'Chosen12345' } });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal(await signsIn(weak.name, 'Chosen12345'), 200);
});

test('GET /permissions: both levels for administrators, the project level for project administrators, and a robot made of all of it is created', async () => {
  const anyone = await api(server, 'GET', '/permissions');
  assert.equal(anyone.status, 401);
  await createUser(server, 'plain', 'Plain12345');
  assert.equal((await api(server, 'GET', '/permissions', { auth: basicAuth('plain', 'Plain12345') })).status, 403);

  const all = await api<{ system: Array<{ resource: string; action: string }>; project: Array<{ resource: string; action: string }> }>(
    server,
    'GET',
    '/permissions',
    { auth: admin() },
  );
  assert.equal(all.status, 200);
  const has = (list: Array<{ resource: string; action: string }>, [resource, action]: Pair) =>
    list.some((p) => p.resource === resource && p.action === action);
  for (const pair of [...harborSystemPolicies, ...harborSystemExtras]) assert.ok(has(all.body.system, pair), `system ${pair}`);
  for (const pair of [...harborProjectPolicies, ...harborProjectExtras]) assert.ok(has(all.body.project, pair), `project ${pair}`);

  const forProjectAdmin = await api(server, 'GET', '/permissions', { auth: basicAuth('pam', 'Pam1234567') });
  assert.equal(forProjectAdmin.status, 200);
  assert.equal(forProjectAdmin.body.system, undefined, 'a project administrator does not see the system level');
  assert.deepEqual(forProjectAdmin.body.project, all.body.project);

  // What a client such as Harbor's portal does for "select all".
  const created = await api(server, 'POST', '/robots', {
    auth: admin(),
    body: {
      name: 'catalogue',
      level: 'system',
      duration: -1,
      permissions: [
        { kind: 'system', namespace: '/', access: all.body.system },
        { kind: 'project', namespace: '*', access: all.body.project },
      ],
    },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const mine = await api(server, 'POST', '/robots', {
    auth: basicAuth('pam', 'Pam1234567'),
    body: { name: 'catalogue', level: 'project', duration: -1, permissions: [{ kind: 'project', namespace: 'alpha', access: forProjectAdmin.body.project }] },
  });
  assert.equal(mine.status, 201, JSON.stringify(mine.body));
});
