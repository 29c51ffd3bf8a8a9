import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api, createUser, errorCode } from '../helpers/api.js';
import { basicAuth, startServer, type TestServer } from '../helpers/server.js';
import { addMember, createProject, createRobot, projectRobot, pushPull, robotCount, systemRobot } from './fixtures.js';

let server: TestServer;
let admin: string;
let alphaId: number;
let betaId: number;
before(async () => {
  server = await startServer();
  admin = server.admin.authorization;
  alphaId = await createProject(server, 'alpha');
  betaId = await createProject(server, 'beta');
});
after(async () => {
  await server.stop();
});

const robotKeys = [
  'creation_time',
  'creator_ref',
  'creator_type',
  'description',
  'disable',
  'duration',
  'editable',
  'expires_at',
  'id',
  'level',
  'name',
  'permissions',
  'update_time',
];

describe('creating and reading robots', () => {
  test('a project robot: 201 with Location and RobotCreated; full name robot$<project>+<name>', async () => {
    const before = Math.floor(Date.now() / 1000);
    const res = await api(server, 'POST', '/robots', {
      auth: admin,
      body: projectRobot('alpha', 'ci', pushPull, { description: 'builds', duration: 7 }),
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.deepEqual(Object.keys(res.body).sort(), ['creation_time', 'expires_at', 'id', 'name', 'secret']);
    assert.equal(res.headers.get('location'), `/api/v2.0/robots/${res.body.id}`);
    assert.equal(res.body.name, 'robot$alpha+ci');
    assert.match(res.body.secret, /^(?=.*[a-z])(?=.*[A-Z])(?=.*\d).{8,}$/);
    assert.ok(Math.abs(res.body.expires_at - (before + 7 * 86400)) < 60, `expires_at ${res.body.expires_at}`);

    const got = await api(server, 'GET', `/robots/${res.body.id}`, { auth: admin });
    assert.equal(got.status, 200);
    assert.deepEqual(Object.keys(got.body).sort(), robotKeys);
    assert.equal(got.body.name, 'robot$alpha+ci');
    assert.equal(got.body.level, 'project');
    assert.equal(got.body.description, 'builds');
    assert.equal(got.body.duration, 7);
    assert.equal(got.body.editable, true);
    assert.equal(got.body.disable, false);
    assert.equal(got.body.creator_type, 'local');
    assert.equal(got.body.creator_ref, 1);
    assert.equal(got.body.creation_time, res.body.creation_time);
    assert.deepEqual(got.body.permissions, [
      {
        kind: 'project',
        namespace: 'alpha',
        access: [
          { resource: 'repository', action: 'pull' },
          { resource: 'repository', action: 'push' },
        ],
      },
    ]);
  });

  test('a system robot has no project in its name; no duration means the configured 30 days; -1 never expires', async () => {
    const now = Math.floor(Date.now() / 1000);
    const body = systemRobot('ops', ['*'], pushPull);
    delete (body as { duration?: number }).duration;
    const sys = await createRobot(server, body);
    assert.equal(sys.name, 'robot$ops');
    assert.ok(Math.abs(sys.expires_at - (now + 30 * 86400)) < 60);
    const forever = await createRobot(server, systemRobot('forever', ['alpha', 'beta'], [['repository', 'pull']]));
    assert.equal(forever.expires_at, -1);
    const got = await api(server, 'GET', `/robots/${sys.id}`, { auth: admin });
    assert.equal(got.body.level, 'system');
    assert.equal(got.body.duration, 30);
  });

  test('the secret is never in GET answers, single or listed', async () => {
    const robot = await createRobot(server, projectRobot('alpha', 'quiet', pushPull));
    const one = await api(server, 'GET', `/robots/${robot.id}`, { auth: admin });
    const list = await api(server, 'GET', `/robots?q=${encodeURIComponent(`Level=project,ProjectID=${alphaId}`)}&page_size=100`, {
      auth: admin,
    });
    const system = await api(server, 'GET', '/robots?page_size=100', { auth: admin });
    for (const res of [one, list, system]) {
      const text = JSON.stringify(res.body);
      assert.equal(res.status, 200);
      assert.ok(!text.includes(robot.secret), 'the secret leaked');
      assert.ok(!/secret/i.test(text), 'a secret field is present');
    }
  });

  test('unknown and malformed ids', async () => {
    const missing = await api(server, 'GET', '/robots/99999', { auth: admin });
    assert.equal(missing.status, 404);
    assert.equal(errorCode(missing), 'NOT_FOUND');
    assert.equal((await api(server, 'GET', '/robots/abc', { auth: admin })).status, 400);
    assert.equal((await api(server, 'DELETE', '/robots/99999', { auth: admin })).status, 404);
    assert.equal((await api(server, 'GET', '/robots/1')).status, 401);
  });
});

describe('listing robots', () => {
  test("no Level lists system robots; Level=project,ProjectID=n lists a project's; paging, name filter and sort", async () => {
    await createRobot(server, projectRobot('beta', 'l1', pushPull));
    await createRobot(server, projectRobot('beta', 'l2', pushPull));
    await createRobot(server, projectRobot('beta', 'l3', pushPull));
    const q = (s: string) => encodeURIComponent(s);

    const system = await api<any[]>(server, 'GET', '/robots?page_size=100', { auth: admin });
    assert.ok(system.body.length > 0 && system.body.every((r) => r.level === 'system'));
    const explicit = await api<any[]>(server, 'GET', `/robots?page_size=100&q=${q('Level=system')}`, { auth: admin });
    assert.deepEqual(
      explicit.body.map((r) => r.id),
      system.body.map((r) => r.id),
    );

    const page = await api<any[]>(server, 'GET', `/robots?page=1&page_size=2&sort=name&q=${q(`Level=project,ProjectID=${betaId}`)}`, {
      auth: admin,
    });
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('x-total-count'), '3');
    assert.deepEqual(
      page.body.map((r) => r.name),
      ['robot$beta+l1', 'robot$beta+l2'],
    );
    assert.match(page.headers.get('link')!, /rel="next"/);
    const desc = await api<any[]>(server, 'GET', `/robots?sort=-name&q=${q(`ProjectID=${betaId}`)}`, { auth: admin });
    assert.deepEqual(
      desc.body.map((r) => r.name),
      ['robot$beta+l3', 'robot$beta+l2', 'robot$beta+l1'],
    );
    const fuzzy = await api<any[]>(server, 'GET', `/robots?q=${q(`Level=project,ProjectID=${betaId},name=~l2`)}`, { auth: admin });
    assert.deepEqual(
      fuzzy.body.map((r) => r.name),
      ['robot$beta+l2'],
    );
  });

  test('bad list queries are 400; an unknown project is 404', async () => {
    const q = (s: string) => encodeURIComponent(s);
    for (const query of [
      'Level=galaxy',
      'Level=project',
      `Level=project,ProjectID=abc`,
      'Level=~system',
      `Level=system,ProjectID=${alphaId}`,
      'colour=red',
    ]) {
      const res = await api(server, 'GET', `/robots?q=${q(query)}`, { auth: admin });
      assert.equal(res.status, 400, query);
      assert.equal(errorCode(res), 'BAD_REQUEST');
    }
    assert.equal((await api(server, 'GET', '/robots?sort=secret_hash', { auth: admin })).status, 400);
    assert.equal((await api(server, 'GET', `/robots?q=${q('Level=project,ProjectID=4242')}`, { auth: admin })).status, 404);
    assert.equal((await api(server, 'GET', '/robots')).status, 401);
  });
});

describe('validation: clear 400s with Harbor error bodies, and nothing created', () => {
  const ok = projectRobot('alpha', 'valid', pushPull);
  const perm = (namespace: string, access: unknown, kind = 'project') => [{ kind, namespace, access }];
  const cases: Array<[string, unknown, number, RegExp]> = [
    ['no name', { ...ok, name: undefined }, 400, /name is required/],
    ['upper case name', { ...ok, name: 'CI' }, 400, /lower case/],
    ['name with +', { ...ok, name: 'a+b' }, 400, /illegal characters/],
    ['name with space', { ...ok, name: 'a b' }, 400, /illegal characters/],
    ['unknown level', { ...ok, level: 'global' }, 400, /level must be/],
    [
      'project robot with a system permission',
      { ...ok, permissions: perm('/', [{ resource: 'robot', action: 'list' }], 'system') },
      400,
      /kind "project"/,
    ],
    [
      'project robot with two permissions',
      { ...ok, permissions: [...ok.permissions, ...perm('beta', [{ resource: 'repository', action: 'pull' }])] },
      400,
      /exactly one permission/,
    ],
    [
      'project robot for every project',
      { ...ok, permissions: perm('*', [{ resource: 'repository', action: 'pull' }]) },
      400,
      /one project, not "\*"/,
    ],
    ['no permissions', { ...ok, permissions: [] }, 400, /non-empty list/],
    ['permissions not a list', { ...ok, permissions: 'all' }, 400, /non-empty list/],
    ['empty access', { ...ok, permissions: perm('alpha', []) }, 400, /access must be a non-empty list/],
    ['unknown kind', { ...ok, permissions: perm('alpha', [{ resource: 'repository', action: 'pull' }], 'galaxy') }, 400, /kind must be/],
    [
      'pair no project role holds',
      { ...ok, permissions: perm('alpha', [{ resource: 'user', action: 'create' }]) },
      400,
      /"create" on "user" is not a permission/,
    ],
    ['made-up action', { ...ok, permissions: perm('alpha', [{ resource: 'repository', action: 'fly' }]) }, 400, /"fly" on "repository"/],
    [
      'bad effect',
      { ...ok, permissions: perm('alpha', [{ resource: 'repository', action: 'pull', effect: 'maybe' }]) },
      400,
      /effect must be/,
    ],
    [
      'project pair at system kind',
      systemRobot('sysbad', [], [], { permissions: perm('/', [{ resource: 'repository', action: 'push' }], 'system') }),
      400,
      /at system level/,
    ],
    [
      'system kind with a project namespace',
      systemRobot('sysns', [], [], { permissions: perm('alpha', [{ resource: 'audit-log', action: 'list' }], 'system') }),
      400,
      /namespace "\/"/,
    ],
    ['the same namespace twice', systemRobot('twice', ['alpha', 'alpha'], pushPull), 400, /listed twice/],
    ['duration 0', { ...ok, duration: 0 }, 400, /duration must be either -1/],
    ['duration -2', { ...ok, duration: -2 }, 400, /duration/],
    ['fractional duration', { ...ok, duration: 1.5 }, 400, /duration/],
    ['duration as a string', { ...ok, duration: '7' }, 400, /duration/],
    ['weak secret', { ...ok, secret: 'weakweak' }, 400, /secret must contain/],
    ['short secret', { ...ok, secret: 'Ab1' }, 400, /secret must be 8 to 128/],
    ['disable not a boolean', { ...ok, disable: 'yes' }, 400, /disable must be/],
    ['description not a string', { ...ok, description: 5 }, 400, /description must be/],
    ['project robot in a missing project', projectRobot('nowhere', 'x', pushPull), 404, /project nowhere does not exist/],
    ['system robot naming a missing project', systemRobot('ghost', ['alpha', 'nowhere'], pushPull), 404, /project nowhere does not exist/],
    ['body is a list', [ok], 400, /JSON object/],
  ];
  for (const [what, body, status, message] of cases) {
    test(what, async () => {
      const count = await robotCount(server);
      const res = await api(server, 'POST', '/robots', { auth: admin, body });
      assert.equal(res.status, status, JSON.stringify(res.body));
      assert.equal(errorCode(res), status === 404 ? 'NOT_FOUND' : 'BAD_REQUEST');
      assert.equal(res.body.errors.length, 1);
      assert.match(res.body.errors[0].message, message);
      assert.equal(await robotCount(server), count, 'a robot was created');
    });
  }

  test('a duplicate name is 409; the same name in another project or at system level is fine', async () => {
    await createRobot(server, projectRobot('alpha', 'dup', pushPull));
    const count = await robotCount(server);
    const again = await api(server, 'POST', '/robots', { auth: admin, body: projectRobot('alpha', 'dup', [['repository', 'pull']]) });
    assert.equal(again.status, 409);
    assert.equal(errorCode(again), 'CONFLICT');
    assert.match(again.body.errors[0].message, /robot\$alpha\+dup already exists/);
    assert.equal(await robotCount(server), count);
    await createRobot(server, projectRobot('beta', 'dup', pushPull));
    await createRobot(server, systemRobot('dup', ['alpha'], pushPull));
  });
});

describe('who may manage robots', () => {
  let padmin: string;
  let maintainer: string;
  let guest: string;
  let stranger: string;
  before(async () => {
    await createUser(server, 'padmin', 'Padmin123');
    await createUser(server, 'maint', 'Maint1234');
    await createUser(server, 'guesty', 'Guesty123');
    await createUser(server, 'stranger', 'Strange12');
    await addMember(server, 'alpha', 'padmin', 1);
    await addMember(server, 'alpha', 'maint', 4);
    await addMember(server, 'alpha', 'guesty', 3);
    padmin = basicAuth('padmin', 'Padmin123');
    maintainer = basicAuth('maint', 'Maint1234');
    guest = basicAuth('guesty', 'Guesty123');
    stranger = basicAuth('stranger', 'Strange12');
  });

  test('a project admin creates, updates, refreshes and deletes robots of their project', async () => {
    const robot = await createRobot(server, projectRobot('alpha', 'byadmin', pushPull), padmin);
    const got = await api(server, 'GET', `/robots/${robot.id}`, { auth: padmin });
    assert.equal(got.status, 200);
    assert.equal(got.body.creator_type, 'local');
    assert.equal(
      (await api(server, 'PUT', `/robots/${robot.id}`, { auth: padmin, body: { ...got.body, description: 'mine' } })).status,
      200,
    );
    assert.equal((await api(server, 'PATCH', `/robots/${robot.id}`, { auth: padmin, body: {} })).status, 200);
    assert.equal((await api(server, 'DELETE', `/robots/${robot.id}`, { auth: padmin })).status, 200);
  });

  test('maintainers, guests and strangers may not create; anonymous is 401', async () => {
    const count = await robotCount(server);
    for (const auth of [maintainer, guest, stranger]) {
      const res = await api(server, 'POST', '/robots', { auth, body: projectRobot('alpha', 'nope', pushPull) });
      assert.equal(res.status, 403);
      assert.equal(errorCode(res), 'FORBIDDEN');
    }
    assert.equal((await api(server, 'POST', '/robots', { body: projectRobot('alpha', 'nope', pushPull) })).status, 401);
    assert.equal(await robotCount(server), count);
  });

  test('a project admin may not create robots in other projects or system robots', async () => {
    assert.equal((await api(server, 'POST', '/robots', { auth: padmin, body: projectRobot('beta', 'nope', pushPull) })).status, 403);
    assert.equal((await api(server, 'POST', '/robots', { auth: padmin, body: systemRobot('nope', ['alpha'], pushPull) })).status, 403);
  });

  test("members with robot:list see the project's robots; strangers do not; only admins list system robots", async () => {
    const q = encodeURIComponent(`Level=project,ProjectID=${alphaId}`);
    for (const auth of [padmin, maintainer, guest]) {
      const res = await api<any[]>(server, 'GET', `/robots?q=${q}&page_size=100`, { auth });
      assert.equal(res.status, 200);
      assert.ok(res.body.length > 0 && res.body.every((r) => r.name.startsWith('robot$alpha+')));
    }
    assert.equal((await api(server, 'GET', `/robots?q=${q}`, { auth: stranger })).status, 403);
    assert.equal((await api(server, 'GET', '/robots', { auth: padmin })).status, 403);
    const sys = await createRobot(server, systemRobot('hidden', ['alpha'], pushPull));
    assert.equal((await api(server, 'GET', `/robots/${sys.id}`, { auth: padmin })).status, 403);
  });

  test('maintainers read robots but may not change or delete them', async () => {
    const robot = await createRobot(server, projectRobot('alpha', 'guarded', pushPull));
    assert.equal((await api(server, 'GET', `/robots/${robot.id}`, { auth: maintainer })).status, 200);
    assert.equal((await api(server, 'PUT', `/robots/${robot.id}`, { auth: maintainer, body: { disable: true } })).status, 403);
    assert.equal((await api(server, 'PATCH', `/robots/${robot.id}`, { auth: maintainer, body: {} })).status, 403);
    assert.equal((await api(server, 'DELETE', `/robots/${robot.id}`, { auth: maintainer })).status, 403);
    assert.equal((await api(server, 'GET', `/robots/${robot.id}`, { auth: stranger })).status, 403);
  });
});

describe('updating, refreshing and deleting', () => {
  test('PUT changes description, disable, duration and permissions; name, level and project stay', async () => {
    const robot = await createRobot(server, projectRobot('alpha', 'editme', pushPull, { duration: 10 }));
    const got = (await api(server, 'GET', `/robots/${robot.id}`, { auth: admin })).body;
    const put = await api(server, 'PUT', `/robots/${robot.id}`, {
      auth: admin,
      body: {
        ...got,
        description: 'edited',
        disable: true,
        duration: 3,
        permissions: [{ kind: 'project', namespace: 'alpha', access: [{ resource: 'repository', action: 'pull' }] }],
      },
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const after = (await api(server, 'GET', `/robots/${robot.id}`, { auth: admin })).body;
    assert.equal(after.description, 'edited');
    assert.equal(after.disable, true);
    assert.equal(after.duration, 3);
    assert.equal(after.expires_at, Math.floor(Date.parse(got.creation_time) / 1000) + 3 * 86400, 'expiry counts from creation');
    assert.deepEqual(after.permissions[0].access, [{ resource: 'repository', action: 'pull' }]);
    assert.equal(after.name, got.name);

    const never = await api(server, 'PUT', `/robots/${robot.id}`, { auth: admin, body: { ...after, duration: -1 } });
    assert.equal(never.status, 200);
    const current = (await api(server, 'GET', `/robots/${robot.id}`, { auth: admin })).body;
    assert.equal(current.expires_at, -1);

    const refused: Array<[unknown, RegExp]> = [
      [{ ...after, name: 'robot$alpha+other' }, /name/],
      [{ ...after, level: 'system' }, /level/],
      [
        { ...after, permissions: [{ kind: 'project', namespace: 'beta', access: [{ resource: 'repository', action: 'pull' }] }] },
        /another project/,
      ],
      [
        { ...after, permissions: [{ kind: 'project', namespace: 'alpha', access: [{ resource: 'user', action: 'delete' }] }] },
        /not a permission/,
      ],
      [{ ...after, duration: 0 }, /duration/],
    ];
    for (const [body, message] of refused) {
      const res = await api(server, 'PUT', `/robots/${robot.id}`, { auth: admin, body });
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.match(res.body.errors[0].message, message);
    }
    assert.deepEqual((await api(server, 'GET', `/robots/${robot.id}`, { auth: admin })).body, current, 'a refused PUT changed something');
  });

  test('PATCH answers a generated secret, but not one the caller chose; weak secrets are 400', async () => {
    const robot = await createRobot(server, projectRobot('alpha', 'refresh', pushPull));
    const generated = await api(server, 'PATCH', `/robots/${robot.id}`, { auth: admin, body: {} });
    assert.equal(generated.status, 200);
    assert.match(generated.body.secret, /^(?=.*[a-z])(?=.*[A-Z])(?=.*\d).{8,}$/);
    assert.notEqual(generated.body.secret, robot.secret);
    const chosen = await api(server, 'PATCH', `/robots/${robot.id}`, { auth: admin, body: { secret: 'Chosen123' } });
    assert.equal(chosen.status, 200);
    assert.deepEqual(chosen.body, {});
    const weak = await api(server, 'PATCH', `/robots/${robot.id}`, { auth: admin, body: { secret: 'weak' } });
    assert.equal(weak.status, 400);
    assert.match(weak.body.errors[0].message, /secret must/);
    assert.equal((await api(server, 'PATCH', '/robots/99999', { auth: admin, body: {} })).status, 404);
  });

  test('create, update and delete are audited as robot operations', async () => {
    const robot = await createRobot(server, projectRobot('alpha', 'audited', pushPull));
    await api(server, 'PUT', `/robots/${robot.id}`, { auth: admin, body: { description: 'x' } });
    await api(server, 'DELETE', `/robots/${robot.id}`, { auth: admin });
    assert.equal((await api(server, 'GET', `/robots/${robot.id}`, { auth: admin })).status, 404);
    const q = encodeURIComponent('resource_type=robot,resource=robot$alpha+audited');
    const logs = await api<any[]>(server, 'GET', `/audit-logs?q=${q}&sort=op_time&page_size=100`, { auth: admin });
    assert.equal(logs.status, 200);
    assert.deepEqual(logs.body.map((l) => `${l.username} ${l.operation} ${l.resource_type} ${l.resource}`).sort(), [
      'admin create robot robot$alpha+audited',
      'admin delete robot robot$alpha+audited',
      'admin update robot robot$alpha+audited',
    ]);
  });
});
