import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { checkShape } from '../compat/harbor-shapes.js';
import { api, createUser, errorCode } from '../helpers/api.js';
import { testDialect } from '../helpers/database.js';
import { basicAuth, startServer, type TestServer } from '../helpers/server.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

/*
 * Harbor's webhook policy API on a real Berth: create, list (q, sort, paging), get, update,
 * delete; every bad input a Harbor-shaped 400/404/409 with nothing saved; Harbor's role matrix
 * (project admin all, maintainer read, developer nothing); the supported types; the test send
 * against real receivers on 127.0.0.1 (one answering 200, one 500, one not listening).
 */
describe(`webhook policy API (${testDialect()})`, () => {
  let server: TestServer;
  let receiver: WebhookReceiver;
  let failing: WebhookReceiver;
  let projectId: number;
  const admin = () => server.admin.authorization;
  const rows = () => server.berth.database.db.selectFrom('webhook_policies').selectAll().orderBy('id').execute();
  const maintainer = basicAuth('mia', 'Passw0rd1');
  const developer = basicAuth('dave', 'Passw0rd1');
  const good = (change: Record<string, unknown> = {}) => ({
    name: 'ci',
    description: 'tell CI',
    enabled: true,
    event_types: ['PUSH_ARTIFACT', 'DELETE_ARTIFACT'],
    targets: [{ type: 'http', address: receiver.url + '/hook', auth_header: 'Bearer s3cret', skip_cert_verify: false }],
    ...change,
  });

  before(async () => {
    server = await startServer();
    receiver = await startWebhookReceiver();
    failing = await startWebhookReceiver();
    failing.status = 500;
    failing.answer = 'receiver broke';
    const res = await api(server, 'POST', '/projects', { auth: admin(), body: { project_name: 'hooks', metadata: { public: 'false' } } });
    assert.equal(res.status, 201);
    projectId = Number(res.headers.get('location')!.split('/').pop());
    assert.equal((await api(server, 'POST', '/projects', { auth: admin(), body: { project_name: 'other' } })).status, 201);
    for (const [name, role] of [
      ['mia', 4],
      ['dave', 2],
    ] as const) {
      const id = await createUser(server, name);
      const added = await api(server, 'POST', '/projects/hooks/members', {
        auth: admin(),
        body: { role_id: role, member_user: { user_id: id } },
      });
      assert.equal(added.status, 201);
    }
  });
  after(async () => {
    await server?.stop();
    await receiver?.close();
    await failing?.close();
  });

  test('create answers 201 with Location; get answers the policy as Harbor shapes it', async () => {
    const res = await api(server, 'POST', '/projects/hooks/webhook/policies', { auth: admin(), body: good() });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const location = res.headers.get('location')!;
    assert.match(location, /^\/api\/v2\.0\/projects\/hooks\/webhook\/policies\/\d+$/);
    const id = Number(location.split('/').pop());
    const got = await api(server, 'GET', `/projects/hooks/webhook/policies/${id}`, { auth: admin() });
    assert.equal(got.status, 200);
    assert.deepEqual(
      { ...got.body, creation_time: undefined, update_time: undefined },
      {
        id,
        name: 'ci',
        description: 'tell CI',
        project_id: projectId,
        targets: [
          {
            type: 'http',
            address: receiver.url + '/hook',
            auth_header: 'Bearer s3cret',
            skip_cert_verify: false,
            payload_format: 'Default',
          },
        ],
        event_types: ['PUSH_ARTIFACT', 'DELETE_ARTIFACT'],
        creator: 'admin',
        enabled: true,
        creation_time: undefined,
        update_time: undefined,
      },
    );
    assert.ok(!Number.isNaN(Date.parse(got.body.creation_time)));
    // By id as well as by name; X-Is-Resource-Name as Harbor.
    assert.equal((await api(server, 'GET', `/projects/${projectId}/webhook/policies/${id}`, { auth: admin() })).body.name, 'ci');
    assert.deepEqual(checkShape(got.body, 'WebhookPolicy'), []);
  });

  const bad: Array<[string, Record<string, unknown>, RegExp]> = [
    ['no event type', { event_types: [] }, /^empty event type$/],
    ['an unknown event type', { event_types: ['PUSH_IMAGE'] }, /^unsupported event type PUSH_IMAGE$/],
    ['event_types not a list', { event_types: 'PUSH_ARTIFACT' }, /event_types must be a list/],
    ['no target', { targets: [] }, /^empty notification target with policy ci$/],
    [
      'an unknown target type',
      { targets: [{ type: 'teams', address: 'http://127.0.0.1:1' }] },
      /^unsupported target type teams with policy ci$/,
    ],
    ['an ftp address', { targets: [{ type: 'http', address: 'ftp://127.0.0.1/x' }] }, /^invalid scheme: ftp$/],
    ['an empty address', { targets: [{ type: 'http', address: '  ' }] }, /^empty URL$/],
    [
      'a format on a slack target',
      { targets: [{ type: 'slack', address: 'https://hooks.example.com/x', payload_format: 'Default' }] },
      /^set payload format is not allowed for slack$/,
    ],
    [
      'an unknown format',
      { targets: [{ type: 'http', address: 'http://127.0.0.1:1', payload_format: 'XML' }] },
      /^unsupported payload format type: XML$/,
    ],
    [
      'skip_cert_verify as a string',
      { targets: [{ type: 'http', address: 'http://127.0.0.1:1', skip_cert_verify: 'yes' }] },
      /skip_cert_verify must be true or false/,
    ],
    ['no name', { name: '' }, /^name is required$/],
    ['enabled as a string', { enabled: 'yes' }, /enabled must be true or false/],
  ];
  for (const [what, change, message] of bad) {
    test(`create with ${what}: 400, nothing saved; the same on update`, async () => {
      const before = await rows();
      const res = await api(server, 'POST', '/projects/hooks/webhook/policies', { auth: admin(), body: good({ name: 'ci', ...change }) });
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(errorCode(res), 'BAD_REQUEST');
      assert.match(res.body.errors[0].message, message);
      const first = before[0]!;
      const upd = await api(server, 'PUT', `/projects/hooks/webhook/policies/${first.id}`, { auth: admin(), body: good(change) });
      assert.equal(upd.status, 400);
      assert.match(upd.body.errors[0].message, message);
      assert.deepEqual(await rows(), before);
    });
  }

  test('a body that is not an object, or not JSON: 400, nothing saved', async () => {
    const before = await rows();
    assert.equal((await api(server, 'POST', '/projects/hooks/webhook/policies', { auth: admin(), body: [1] })).status, 400);
    assert.equal((await api(server, 'POST', '/projects/hooks/webhook/policies', { auth: admin(), rawBody: '{"name":' })).status, 400);
    assert.deepEqual(await rows(), before);
  });

  test('addresses kept as Harbor keeps them: http assumed, query and user info dropped, trailing slash trimmed', async () => {
    const res = await api(server, 'POST', '/projects/hooks/webhook/policies', {
      auth: admin(),
      body: good({
        name: 'addr',
        targets: [
          { type: 'http', address: '127.0.0.1:9/a/' },
          { type: 'http', address: 'https://user:pw@example.com/b?token=x#f', payload_format: 'CloudEvents' },
          { type: 'slack', address: 'https://hooks.slack.example/services/T/B/X' },
        ],
      }),
    });
    assert.equal(res.status, 201);
    const got = await api(server, 'GET', res.headers.get('location')!.replace('/api/v2.0', ''), { auth: admin() });
    assert.deepEqual(got.body.targets, [
      { type: 'http', address: 'http://127.0.0.1:9/a', skip_cert_verify: false, payload_format: 'Default' },
      { type: 'http', address: 'https://example.com/b', skip_cert_verify: false, payload_format: 'CloudEvents' },
      { type: 'slack', address: 'https://hooks.slack.example/services/T/B/X', skip_cert_verify: false },
    ]);
    assert.equal((await api(server, 'DELETE', `/projects/hooks/webhook/policies/${got.body.id}`, { auth: admin() })).status, 200);
  });

  test('a taken name: 409 on create and on rename, nothing changed', async () => {
    const before = await rows();
    const res = await api(server, 'POST', '/projects/hooks/webhook/policies', { auth: admin(), body: good() });
    assert.equal(res.status, 409);
    assert.equal(errorCode(res), 'CONFLICT');
    assert.match(res.body.errors[0].message, /notification policy named ci already exists/);
    const second = await api(server, 'POST', '/projects/hooks/webhook/policies', { auth: admin(), body: good({ name: 'second' }) });
    assert.equal(second.status, 201);
    const id = Number(second.headers.get('location')!.split('/').pop());
    const snapshot = await rows();
    const rename = await api(server, 'PUT', `/projects/hooks/webhook/policies/${id}`, { auth: admin(), body: good() });
    assert.equal(rename.status, 409);
    assert.deepEqual(await rows(), snapshot);
    // The same name in another project is fine.
    assert.equal((await api(server, 'POST', '/projects/other/webhook/policies', { auth: admin(), body: good() })).status, 201);
    assert.equal(before.length + 1, snapshot.length);
  });

  test('update replaces the policy; enabled false switches it off', async () => {
    const [first] = await rows();
    const res = await api(server, 'PUT', `/projects/hooks/webhook/policies/${first!.id}`, {
      auth: admin(),
      body: good({ enabled: false, event_types: ['PULL_ARTIFACT'], description: 'changed' }),
    });
    assert.equal(res.status, 200);
    const got = (await api(server, 'GET', `/projects/hooks/webhook/policies/${first!.id}`, { auth: admin() })).body;
    assert.equal(got.enabled, false);
    assert.deepEqual(got.event_types, ['PULL_ARTIFACT']);
    assert.equal(got.description, 'changed');
    assert.equal(got.creator, 'admin');
    assert.equal((await api(server, 'PUT', `/projects/hooks/webhook/policies/${first!.id}`, { auth: admin(), body: good() })).status, 200);
  });

  test("another project's policy, an unknown id, a bad id, an unknown project: 404/400", async () => {
    const otherId = (await api(server, 'GET', '/projects/other/webhook/policies', { auth: admin() })).body[0].id;
    const cross = await api(server, 'GET', `/projects/hooks/webhook/policies/${otherId}`, { auth: admin() });
    assert.equal(cross.status, 404);
    assert.match(cross.body.errors[0].message, /webhook policy id: \d+ not found/);
    assert.equal(
      (await api(server, 'PUT', `/projects/hooks/webhook/policies/${otherId}`, { auth: admin(), body: good({ name: 'x' }) })).status,
      404,
    );
    assert.equal((await api(server, 'DELETE', `/projects/hooks/webhook/policies/${otherId}`, { auth: admin() })).status, 404);
    assert.equal((await api(server, 'GET', '/projects/hooks/webhook/policies/999999', { auth: admin() })).status, 404);
    assert.equal((await api(server, 'GET', '/projects/hooks/webhook/policies/abc', { auth: admin() })).status, 400);
    assert.equal((await api(server, 'GET', '/projects/nope/webhook/policies', { auth: admin() })).status, 404);
    assert.equal((await api(server, 'GET', `/projects/hooks/webhook/policies/${otherId}/executions`, { auth: admin() })).status, 404);
    assert.equal((await api(server, 'GET', '/projects/other/webhook/policies', { auth: admin() })).body.length, 1);
  });

  test('list: newest first, X-Total-Count and Link, q by name, sort', async () => {
    const res = await api(server, 'GET', '/projects/hooks/webhook/policies?page_size=1', { auth: admin() });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-total-count'), '2');
    assert.match(res.headers.get('link')!, /rel="next"/);
    assert.equal(res.body[0].name, 'second');
    const byName = await api(server, 'GET', `/projects/hooks/webhook/policies?q=${encodeURIComponent('name=~sec')}`, { auth: admin() });
    assert.deepEqual(
      byName.body.map((p: any) => p.name),
      ['second'],
    );
    const sorted = await api(server, 'GET', '/projects/hooks/webhook/policies?sort=name', { auth: admin() });
    assert.deepEqual(
      sorted.body.map((p: any) => p.name),
      ['ci', 'second'],
    );
    assert.equal((await api(server, 'GET', '/projects/hooks/webhook/policies?q=nonsense', { auth: admin() })).status, 400);
  });

  test('supported event types, notify types and formats', async () => {
    const res = await api(server, 'GET', '/projects/hooks/webhook/events', { auth: admin() });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.notify_type, ['http', 'slack']);
    assert.deepEqual(res.body.payload_formats, [{ notify_type: 'http', formats: ['Default', 'CloudEvents'] }]);
    for (const t of [
      'PUSH_ARTIFACT',
      'PULL_ARTIFACT',
      'DELETE_ARTIFACT',
      'SCANNING_COMPLETED',
      'QUOTA_EXCEED',
      'REPLICATION',
      'TAG_RETENTION',
    ])
      assert.ok(res.body.event_type.includes(t), t);
  });

  test("roles as Harbor's matrix: maintainer reads, developer and anonymous do not, only the admin changes", async () => {
    const id = (await rows())[0]!.id;
    assert.equal((await api(server, 'GET', '/projects/hooks/webhook/policies', { auth: maintainer })).status, 200);
    assert.equal((await api(server, 'GET', `/projects/hooks/webhook/policies/${id}`, { auth: maintainer })).status, 200);
    assert.equal((await api(server, 'GET', '/projects/hooks/webhook/lasttrigger', { auth: maintainer })).status, 200);
    const before = await rows();
    assert.equal(
      (await api(server, 'POST', '/projects/hooks/webhook/policies', { auth: maintainer, body: good({ name: 'm' }) })).status,
      403,
    );
    assert.equal((await api(server, 'PUT', `/projects/hooks/webhook/policies/${id}`, { auth: maintainer, body: good() })).status, 403);
    assert.equal((await api(server, 'DELETE', `/projects/hooks/webhook/policies/${id}`, { auth: maintainer })).status, 403);
    assert.equal((await api(server, 'POST', '/projects/hooks/webhook/policies/test', { auth: maintainer, body: good() })).status, 403);
    assert.equal((await api(server, 'GET', '/projects/hooks/webhook/policies', { auth: developer })).status, 403);
    assert.equal((await api(server, 'GET', '/projects/hooks/webhook/events', { auth: developer })).status, 403);
    assert.equal((await api(server, 'GET', '/projects/hooks/webhook/policies')).status, 401);
    assert.deepEqual(await rows(), before);
    assert.equal(receiver.received.length, 0);
  });

  test('test send: 200 when every target answers 2xx, with the rendered event and the auth header; nothing stored', async () => {
    const before = await rows();
    const res = await api(server, 'POST', '/projects/hooks/webhook/policies/test', {
      auth: admin(),
      body: { targets: [{ type: 'http', address: receiver.url + '/test', auth_header: 'Bearer t0ken' }] },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const [got] = await receiver.waitFor(1, (r) => r.path === '/test');
    assert.equal(got!.method, 'POST');
    assert.equal(got!.headers.authorization, 'Bearer t0ken');
    const body = JSON.parse(got!.body);
    assert.equal(body.type, 'PUSH_ARTIFACT');
    assert.equal(body.operator, 'admin');
    assert.equal(body.event_data.repository.namespace, 'hooks');
    assert.deepEqual(await rows(), before);
    assert.equal(
      Number(
        (
          await server.berth.database.db
            .selectFrom('webhook_tasks')
            .select((e) => e.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      ),
      0,
    );
  });

  test('test send: 400 naming each target that failed and why (HTTP 500 with its answer; nothing listening)', async () => {
    const dead = await startWebhookReceiver();
    const deadUrl = dead.url + '/gone';
    await dead.close();
    const res = await api(server, 'POST', '/projects/hooks/webhook/policies/test', {
      auth: admin(),
      body: {
        targets: [
          { type: 'http', address: receiver.url + '/fine' },
          { type: 'http', address: failing.url + '/broken', payload_format: 'CloudEvents' },
          { type: 'http', address: deadUrl },
        ],
      },
    });
    assert.equal(res.status, 400);
    assert.equal(errorCode(res), 'BAD_REQUEST');
    const message: string = res.body.errors[0].message;
    assert.match(message, new RegExp(`target ${failing.url}/broken: HTTP 500: receiver broke`));
    assert.match(message, new RegExp(`target ${deadUrl}: `));
    assert.doesNotMatch(message, /\/fine/);
    // A bad body is refused before anything is sent.
    const n = receiver.received.length;
    const invalid = await api(server, 'POST', '/projects/hooks/webhook/policies/test', { auth: admin(), body: { targets: [] } });
    assert.equal(invalid.status, 400);
    assert.equal(receiver.received.length, n);
  });

  test('deleting a project deletes its policies', async () => {
    assert.equal((await api(server, 'POST', '/projects', { auth: admin(), body: { project_name: 'doomed' } })).status, 201);
    assert.equal(
      (await api(server, 'POST', '/projects/doomed/webhook/policies', { auth: admin(), body: good({ name: 'gone' }) })).status,
      201,
    );
    assert.equal((await api(server, 'DELETE', '/projects/doomed', { auth: admin() })).status, 200);
    assert.equal((await rows()).filter((r) => r.name === 'gone').length, 0);
  });

  test('delete: 200, then 404; the list no longer has it', async () => {
    const id = (await rows()).find((r) => r.name === 'second')!.id;
    assert.equal((await api(server, 'DELETE', `/projects/hooks/webhook/policies/${id}`, { auth: admin() })).status, 200);
    assert.equal((await api(server, 'GET', `/projects/hooks/webhook/policies/${id}`, { auth: admin() })).status, 404);
    assert.equal((await api(server, 'DELETE', `/projects/hooks/webhook/policies/${id}`, { auth: admin() })).status, 404);
  });
});
