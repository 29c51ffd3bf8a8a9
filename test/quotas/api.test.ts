import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api, createUser } from '../helpers/api.js';
import { basicAuth, startServer, type TestServer } from '../helpers/server.js';
import { assertError } from '../projects/fixtures.js';
import { bytes, createProject, quotaOf, V2 } from './fixtures.js';

let server: TestServer;
let admin: string;
const alice = basicAuth('alice', 'Passw0rd1');
const ids: Record<string, number> = {};

before(async () => {
  server = await startServer();
  admin = server.admin.authorization;
  await createUser(server, 'alice');
  // Created in this order: GET /quotas lists the newest first.
  ids.small = await createProject(server, 'small', 1024 * 1024);
  ids.big = await createProject(server, 'big', 10 * 1024 * 1024);
  ids.free = await createProject(server, 'free', -1);
  const v2 = new V2(server);
  await v2.pushBlob('small/app', bytes(3000));
  await v2.pushBlob('big/app', bytes(1000));
  await v2.pushBlob('free/app', bytes(5000));
});
after(async () => {
  await server.stop();
});

const get = <T = any>(path: string, auth: string | null = admin) => api<T>(server, 'GET', path, { auth: auth ?? undefined });
const put = (id: number | string, body: unknown, auth: string | null = admin) =>
  api(server, 'PUT', `/quotas/${id}`, { auth: auth ?? undefined, body });

describe('GET /quotas and /quotas/{id}', () => {
  test("Harbor's Quota: id, ref {id, name, owner_name}, hard and used storage, times", async () => {
    const res = await get(`/quotas/${ids.small}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const q = res.body;
    assert.deepEqual(Object.keys(q).sort(), ['creation_time', 'hard', 'id', 'ref', 'update_time', 'used']);
    assert.equal(q.id, ids.small);
    assert.deepEqual(q.ref, { id: ids.small, name: 'small', owner_name: 'admin' });
    assert.deepEqual(q.hard, { storage: 1024 * 1024 });
    assert.deepEqual(q.used, { storage: 3000 });
    assert.ok(!Number.isNaN(Date.parse(q.creation_time)) && !Number.isNaN(Date.parse(q.update_time)));
    assert.ok(q.update_time >= q.creation_time);
  });

  test('the list: newest project first, X-Total-Count and Link, reference and reference_id filters', async () => {
    const all = await get<any[]>('/quotas?page_size=100');
    assert.equal(all.status, 200);
    assert.equal(all.headers.get('x-total-count'), String(all.body.length));
    const names = all.body.map((q) => q.ref.name);
    assert.ok(names.indexOf('free') < names.indexOf('big') && names.indexOf('big') < names.indexOf('small'), names.join());
    assert.ok(names.includes('library'), 'every project has a quota');

    const page = await get<any[]>('/quotas?page=1&page_size=2');
    assert.equal(page.body.length, 2);
    assert.equal(page.headers.get('x-total-count'), String(all.body.length));
    assert.match(page.headers.get('link') ?? '', /<\/api\/v2\.0\/quotas\?page=2&page_size=2>; rel="next"/);

    const one = await get<any[]>(`/quotas?reference=project&reference_id=${ids.big}`);
    assert.deepEqual(
      one.body.map((q) => q.id),
      [ids.big],
    );
    assert.equal(one.headers.get('x-total-count'), '1');
    for (const query of ['reference=user', 'reference_id=abc', 'reference_id=999999']) {
      const none = await get<any[]>(`/quotas?${query}`);
      assert.equal(none.status, 200);
      assert.deepEqual(none.body, [], query);
      assert.equal(none.headers.get('x-total-count'), '0');
    }
  });

  test('sorted by usage or limit (unlimited counts as the largest limit), either way', async () => {
    const order = async (sort: string) =>
      (await get<any[]>(`/quotas?reference=project&sort=${sort}&page_size=100`)).body.map((q) => q.ref.name).filter((n) => n !== 'library');
    assert.deepEqual(await order('-used.storage'), ['free', 'small', 'big']);
    assert.deepEqual(await order('used.storage'), ['big', 'small', 'free']);
    assert.deepEqual(await order('-hard.storage'), ['free', 'big', 'small']);
    assert.deepEqual(await order('hard.storage'), ['small', 'big', 'free']);
    assert.deepEqual(await order('creation_time'), ['small', 'big', 'free']);
    const bad = await get('/quotas?sort=size');
    assertError(bad, 400, 'BAD_REQUEST');
    assert.match((bad.body as any).errors[0].message, /unknown key "size"/);
  });

  test('bad ids and unknown quotas', async () => {
    assertError(await get('/quotas/abc'), 400, 'BAD_REQUEST');
    assertError(await get('/quotas/0'), 400, 'BAD_REQUEST');
    assertError(await get('/quotas/999999'), 404, 'NOT_FOUND');
    assertError(await get('/quotas?page_size=101'), 400, 'BAD_REQUEST');
  });

  test('only system administrators: 401 without credentials, 403 for a user', async () => {
    assertError(await get('/quotas', null), 401, 'UNAUTHORIZED');
    assertError(await get('/quotas', alice), 403, 'FORBIDDEN');
    assertError(await get(`/quotas/${ids.small}`, alice), 403, 'FORBIDDEN');
  });
});

describe('PUT /quotas/{id}', () => {
  test('a system administrator changes the limit; the audit log records it; usage stays', async () => {
    const before = await quotaOf(server, ids.big);
    const res = await put(ids.big, { hard: { storage: 20 * 1024 * 1024 } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const after = await quotaOf(server, ids.big);
    assert.deepEqual(after.hard, { storage: 20 * 1024 * 1024 });
    assert.deepEqual(after.used, before.used);
    const logs = await get<any[]>('/projects/big/logs?page_size=100');
    assert.ok(
      logs.body.some((l) => l.resource_type === 'quota' && l.operation === 'update' && l.resource === 'big: storage limit 20971520 bytes'),
    );
    assert.equal((await put(ids.big, { hard: { storage: -1 } })).status, 200);
    assert.deepEqual((await quotaOf(server, ids.big)).hard, { storage: -1 });
    const summary = await get(`/projects/${ids.big}/summary`);
    assert.deepEqual((summary.body as any).quota, { hard: { storage: -1 }, used: { storage: 1000 } });
  });

  test('every bad input is refused with a clear message and changes nothing', async () => {
    const before = await get(`/quotas/${ids.small}`);
    const cases: Array<[string, unknown, number, RegExp]> = [
      ['no hard', {}, 400, /hard required in body/],
      ['hard empty', { hard: {} }, 400, /hard required in body/],
      ['hard not an object', { hard: 5 }, 400, /hard must be an object/],
      ['unknown resource', { hard: { count: 10 } }, 400, /resource count not support/],
      ['an extra resource', { hard: { storage: 10, count: 1 } }, 400, /resource count not support/],
      ['negative other than -1', { hard: { storage: -2 } }, 400, /invalid non-positive value for quota limit, value=-2/],
      ['zero', { hard: { storage: 0 } }, 400, /invalid non-positive value/],
      ['fraction', { hard: { storage: 1.5 } }, 400, /whole number of bytes/],
      ['string', { hard: { storage: '10' } }, 400, /whole number of bytes/],
      ['null', { hard: { storage: null } }, 400, /whole number of bytes/],
      ['over 1024 TiB', { hard: { storage: 1024 ** 5 + 1 } }, 400, /exceeded 1024TB, which is 1125899906842624 Bytes/],
    ];
    for (const [what, body, status, message] of cases) {
      const res = await put(ids.small, body);
      assertError(res, status, 'BAD_REQUEST', what);
      assert.match((res.body as any).errors[0].message, message, what);
    }
    const notJson = await api(server, 'PUT', `/quotas/${ids.small}`, { auth: admin, rawBody: '{"hard": {"storage": ' });
    assertError(notJson, 400, 'BAD_REQUEST', 'malformed JSON');
    const array = await api(server, 'PUT', `/quotas/${ids.small}`, { auth: admin, rawBody: '[1]' });
    assertError(array, 400, 'BAD_REQUEST', 'a JSON array');
    assertError(await put(999999, { hard: { storage: 10 } }), 404, 'NOT_FOUND');
    assertError(await put('abc', { hard: { storage: 10 } }), 400, 'BAD_REQUEST');
    assertError(await put(ids.small, { hard: { storage: 10 } }, alice), 403, 'FORBIDDEN');
    assertError(await put(ids.small, { hard: { storage: 10 } }, null), 401, 'UNAUTHORIZED');
    assert.deepEqual((await get(`/quotas/${ids.small}`)).body, before.body, 'nothing changed, not even update_time');
  });
});

describe('limits at project creation', () => {
  test("storage_limit from a system administrator; others get the configured default (Harbor's storage_per_project)", async () => {
    const configured = await startServer({ yaml: { 'quota.storage_per_project': 5 * 1024 * 1024 } });
    try {
      await createUser(configured, 'bob');
      const bob = basicAuth('bob', 'Passw0rd1');
      const chosen = await createProject(configured, 'chosen', 123456);
      const byDefault = await createProject(configured, 'defaulted', 0);
      const res = await api(configured, 'POST', '/projects', { auth: bob, body: { project_name: 'bobs', storage_limit: 1 } });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const bobs = Number(res.headers.get('location')!.split('/').pop());
      assert.deepEqual((await quotaOf(configured, chosen)).hard, { storage: 123456 });
      assert.deepEqual((await quotaOf(configured, byDefault)).hard, { storage: 5 * 1024 * 1024 });
      assert.deepEqual((await quotaOf(configured, bobs)).hard, { storage: 5 * 1024 * 1024 }, 'a user cannot choose the limit');
      const tooBig = await api(configured, 'POST', '/projects', {
        auth: configured.admin.authorization,
        body: { project_name: 'toobig', storage_limit: 1024 ** 5 + 1 },
      });
      assertError(tooBig, 400, 'BAD_REQUEST');
      assert.equal((await api(configured, 'HEAD', '/projects?project_name=toobig', { auth: configured.admin.authorization })).status, 404);
    } finally {
      await configured.stop();
    }
  });
});
