import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api, createUser } from '../helpers/api.js';
import { basicAuth, startServer, type TestServer } from '../helpers/server.js';
import { assertError, createProject } from '../projects/fixtures.js';

let server: TestServer;
let admin: string;
const maintainer = basicAuth('mia', 'Passw0rd1');
const developer = basicAuth('dev', 'Passw0rd1');
const outsider = basicAuth('otto', 'Passw0rd1');
const base = '/projects/team/immutabletagrules';

const rule = (tag = 'v*', repo = '**', extra: Record<string, unknown> = {}) => ({
  action: 'immutable',
  template: 'immutable_template',
  disabled: false,
  tag_selectors: [{ kind: 'doublestar', decoration: 'matches', pattern: tag }],
  scope_selectors: { repository: [{ kind: 'doublestar', decoration: 'repoMatches', pattern: repo }] },
  ...extra,
});

async function rows() {
  return server.berth.database.db.selectFrom('immutable_rules').selectAll().orderBy('id').execute();
}

async function create(body: unknown, auth = admin): Promise<number> {
  const res = await api(server, 'POST', base, { auth, body });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const location = res.headers.get('location')!;
  assert.match(location, /^\/api\/v2\.0\/projects\/team\/immutabletagrules\/\d+$/);
  return Number(location.split('/').pop());
}

before(async () => {
  server = await startServer();
  admin = server.admin.authorization;
  for (const name of ['mia', 'dev', 'otto']) await createUser(server, name);
  await createProject(server, { project_name: 'team' });
  for (const [username, role] of [
    ['mia', 4],
    ['dev', 2],
  ] as const) {
    const res = await api(server, 'POST', '/projects/team/members', { auth: admin, body: { role_id: role, member_user: { username } } });
    assert.equal(res.status, 201);
  }
});
after(async () => server.stop());

describe('immutable tag rules API', () => {
  test('create, list with paging, update, disable and delete in Harbor shapes', async () => {
    const first = await create(rule('v*'), maintainer);
    const second = await create(rule('release-{a,b}', 'app/**'));
    const list = await api<any[]>(server, 'GET', `${base}?page=1&page_size=1`, { auth: maintainer });
    assert.equal(list.status, 200);
    assert.equal(list.headers.get('x-total-count'), '2');
    assert.match(list.headers.get('link') ?? '', /rel="next"/);
    assert.deepEqual(list.body, [
      {
        id: first,
        priority: 0,
        disabled: false,
        action: 'immutable',
        template: 'immutable_template',
        params: {},
        tag_selectors: [{ kind: 'doublestar', decoration: 'matches', pattern: 'v*' }],
        scope_selectors: { repository: [{ kind: 'doublestar', decoration: 'repoMatches', pattern: '**' }] },
      },
    ]);
    const put = await api(server, 'PUT', `${base}/${second}`, {
      auth: admin,
      body: rule('rc-*', 'app/**', { id: second, disabled: true }),
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const all = await api<any[]>(server, 'GET', base, { auth: maintainer });
    assert.equal(all.status, 200);
    assert.equal(all.body[1].disabled, true);
    assert.equal(all.body[1].tag_selectors[0].pattern, 'rc-*');
    // By id, with the project named by id too.
    const teamId = (await server.berth.projects.findByName('team'))!.id;
    const del = await api(server, 'DELETE', `/projects/${teamId}/immutabletagrules/${second}`, { auth: maintainer });
    assert.equal(del.status, 200);
    assert.deepEqual(
      (await rows()).map((r) => Number(r.id)),
      [first],
    );
    assertError(await api(server, 'DELETE', `${base}/${second}`, { auth: admin }), 404, 'NOT_FOUND');
    assertError(await api(server, 'PUT', `${base}/${second}`, { auth: admin, body: rule() }), 404, 'NOT_FOUND');
    await api(server, 'DELETE', `${base}/${first}`, { auth: admin });
  });

  test('bad bodies are 400 naming the field, and nothing is saved', async () => {
    const id = await create(rule('keep-*'));
    const before = await rows();
    const cases: Array<[unknown, RegExp]> = [
      ['not an object', /body/],
      [
        rule('v*', '**', { tag_selectors: [{ kind: 'doublestar', decoration: 'sometimes', pattern: 'v*' }] }),
        /tag_selectors\[0\]\.decoration/,
      ],
      [rule('v*', '**', { tag_selectors: [{ kind: 'regex', decoration: 'matches', pattern: 'v*' }] }), /tag_selectors\[0\]\.kind/],
      [rule('[v-'), /tag_selectors\[0\]\.pattern/],
      [rule('v{1,2'), /tag_selectors\[0\]\.pattern/],
      [rule('v*', 'app/[x'), /scope_selectors\.repository\[0\]\.pattern/],
      [rule(''), /tag_selectors\[0\]\.pattern/],
      [rule('v*', '**', { tag_selectors: [] }), /tag_selectors/],
      [rule('v*', '**', { tag_selectors: 'v*' }), /tag_selectors/],
      [rule('v*', '**', { scope_selectors: { repository: 'x' } }), /scope_selectors\.repository/],
      [rule('v*', '**', { scope_selectors: { label: [] } }), /scope_selectors\.label/],
      [rule('v*', '**', { disabled: 'yes' }), /disabled/],
      [rule('v*', '**', { priority: '1' }), /priority/],
      [rule('v*', '**', { action: 'retain' }), /action/],
      [rule('v*', '**', { template: 'latestPushedK' }), /template/],
      [rule('v*', '**', { tag_selectors: [{ kind: 'doublestar', decoration: 'matches', pattern: 7 }] }), /tag_selectors\[0\]\.pattern/],
    ];
    for (const [body, field] of cases) {
      const res = await api<any>(server, 'POST', base, { auth: admin, body });
      assertError(res, 400, 'BAD_REQUEST', JSON.stringify(body));
      assert.match(res.body.errors[0].message, field);
      const put = await api<any>(server, 'PUT', `${base}/${id}`, { auth: admin, body });
      assertError(put, 400, 'BAD_REQUEST', JSON.stringify(body));
      assert.match(put.body.errors[0].message, field);
    }
    const mismatch = await api<any>(server, 'PUT', `${base}/${id}`, { auth: admin, body: rule('x', '**', { id: id + 100 }) });
    assertError(mismatch, 400, 'BAD_REQUEST');
    assert.match(mismatch.body.errors[0].message, /id/);
    assertError(await api(server, 'PUT', `${base}/abc`, { auth: admin, body: rule() }), 400, 'BAD_REQUEST');
    assert.deepEqual(await rows(), before);
    await api(server, 'DELETE', `${base}/${id}`, { auth: admin });
  });

  test('at most 15 rules: the 16th is refused and not saved', async () => {
    for (let i = 0; i < 15; i++) await create(rule(`r${i}-*`));
    const res = await api<any>(server, 'POST', base, { auth: admin, body: rule('one-too-many') });
    assertError(res, 400, 'BAD_REQUEST');
    assert.match(res.body.errors[0].message, /15/);
    assert.equal((await rows()).length, 15);
    for (const r of await rows()) await api(server, 'DELETE', `${base}/${r.id}`, { auth: admin });
    assert.equal((await rows()).length, 0);
  });

  test("a project's rules go with the project", async () => {
    const id = await createProject(server, { project_name: 'short-lived' });
    const res = await api(server, 'POST', '/projects/short-lived/immutabletagrules', { auth: admin, body: rule() });
    assert.equal(res.status, 201);
    assert.equal((await api(server, 'DELETE', '/projects/short-lived', { auth: admin })).status, 200);
    const left = await server.berth.database.db.selectFrom('immutable_rules').select('id').where('project_id', '=', id).execute();
    assert.deepEqual(left, []);
  });

  test('permissions: developers and non-members are refused, unknown projects are 404', async () => {
    // Harbor gives developers no immutable-tag permission (auth/rbac.ts).
    assertError(await api(server, 'GET', base, { auth: developer }), 403, 'FORBIDDEN');
    assertError(await api(server, 'POST', base, { auth: developer, body: rule() }), 403, 'FORBIDDEN');
    const outside = await api(server, 'GET', base, { auth: outsider });
    assert.ok(outside.status === 403 || outside.status === 404, String(outside.status));
    assert.ok([403, 404].includes((await api(server, 'POST', base, { auth: outsider, body: rule() })).status));
    assertError(await api(server, 'GET', base), 401, 'UNAUTHORIZED');
    assertError(await api(server, 'GET', '/projects/nowhere/immutabletagrules', { auth: admin }), 404, 'NOT_FOUND');
    assert.equal((await rows()).length, 0);
  });
});
