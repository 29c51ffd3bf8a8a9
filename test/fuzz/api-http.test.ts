/**
 * Fuzzing of /api/v2.0 against a running Berth: generated q=, sort=, page= and page_size= on
 * the list endpoints, and generated JSON bodies to create and update endpoints. The answer is
 * never a 5xx; every refusal is Harbor's {"errors":[{code,message}]}; a refused write changes
 * nothing (the list it would have changed is the same).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { api, type ApiResponse } from '../helpers/api.js';
import { pushImage } from '../helpers/oci.js';
import { jsonNestedDeeperThan } from '../../src/server/json-body.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { anyJson, hostileString, params, prototypeKeys } from './fuzz.js';

let server: TestServer;
let auth: string;
before(async () => {
  server = await startServer();
  auth = server.admin.authorization;
  await pushImage(server.url, 'library/base', 'v1', { headers: server.admin });
  const label = await api(server, 'POST', '/labels', { auth, body: { name: 'fuzz', scope: 'g' } });
  assert.equal(label.status, 201);
});
after(async () => {
  await server.stop();
});

function assertHarborAnswer(res: ApiResponse, what: string) {
  const text = typeof res.body === 'string' ? res.body : JSON.stringify(res.body);
  assert.ok(res.status < 500, `${what}: ${res.status} ${text?.slice(0, 300)}`);
  if (res.status >= 400) {
    const doc = res.body as { errors?: Array<{ code: unknown; message: unknown }> };
    assert.ok(doc && Array.isArray(doc.errors) && doc.errors.length > 0, `${what}: Harbor's errors list: ${text?.slice(0, 300)}`);
    for (const e of doc.errors) {
      assert.match(String(e.code), /^[A-Z_]+$/, `${what}: ${text.slice(0, 300)}`);
      assert.equal(typeof e.message, 'string', `${what}: ${text.slice(0, 300)}`);
    }
  }
}

const lists = [
  '/projects',
  '/projects/library/repositories',
  '/projects/library/repositories/base/artifacts',
  '/projects/library/repositories/base/artifacts/v1/tags',
  '/repositories',
  '/audit-logs',
  '/projects/library/logs',
  '/users',
  '/labels?scope=g',
  '/registries',
  '/replication/policies',
  '/robots',
  '/projects/library/members',
  '/projects/library/webhook/policies',
  '/projects/library/immutabletagrules',
  '/p2p/preheat/instances',
  '/scanners',
  '/usergroups',
  '/system/gc',
  '/jobservice/queues',
];
const keys = [
  'name',
  'id',
  'project_id',
  'repository_id',
  'creation_time',
  'update_time',
  'op_time',
  'operation',
  'resource',
  'username',
  'tags',
  'digest',
  'push_time',
  'pull_time',
  'public',
  'type',
  'media_type',
  'enabled',
  'level',
  ...prototypeKeys,
];

/** Harbor's q: mostly real keys with every operator, and text over its own grammar. */
const q = fc.oneof(
  fc
    .array(
      fc.tuple(
        fc.constantFrom(...keys),
        fc.constantFrom('=', '=~', '=[', '={', '=('),
        hostileString('azAZ09-:T.~ ,+', 60),
        fc.constantFrom('', ']', '}', ')', '~]'),
      ),
      { minLength: 1, maxLength: 3 },
    )
    .map((terms) => terms.map(([k, op, v, close]) => `${k}${op}${v}${close}`).join(',')),
  hostileString('azAZ09=~[]{}(),%_ ', 2000),
);
const sort = fc.oneof(
  fc
    .array(fc.tuple(fc.boolean(), fc.constantFrom(...keys)), { minLength: 1, maxLength: 3 })
    .map((ks) => ks.map(([d, k]) => (d ? `-${k}` : k)).join(',')),
  hostileString('-,az_ ', 300),
);
const number = fc.oneof(fc.integer({ min: -5, max: 200 }).map(String), fc.constantFrom('', '1e2', '0x1', '9'.repeat(30), '1.5', 'NaN'));

function queryString(parts: Array<[string, string | string[] | undefined]>): string {
  const params = new URLSearchParams();
  for (const [k, v] of parts) for (const one of Array.isArray(v) ? v : v === undefined ? [] : [v]) params.append(k, one);
  return params.toString();
}

test("list endpoints: any q, sort and paging is a page or a 400 in Harbor's format", async () => {
  const maybe = <T>(arb: fc.Arbitrary<T>) =>
    fc.option(fc.oneof({ weight: 5, arbitrary: arb }, { weight: 1, arbitrary: fc.array(arb, { minLength: 2, maxLength: 2 }) }), {
      nil: undefined,
    });
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...lists), maybe(q), maybe(sort), maybe(number), maybe(number), async (path, qv, sv, page, size) => {
      const qs = queryString([
        ['q', qv as string | string[] | undefined],
        ['sort', sv as string | string[] | undefined],
        ['page', page as string | string[] | undefined],
        ['page_size', size as string | string[] | undefined],
      ]);
      const url = `${path}${path.includes('?') ? '&' : '?'}${qs}`;
      const res = await api(server, 'GET', url, { auth });
      assertHarborAnswer(res, `GET ${url.slice(0, 300)}`);
    }),
    params(150),
  );
});

/** Create and update endpoints, each with the list whose count a refused request must leave alone. */
const writes: Array<{ method: string; path: string; list: string; example: Record<string, unknown> }> = [
  {
    method: 'POST',
    path: '/projects',
    list: '/projects',
    example: { project_name: 'fz', metadata: { public: 'true' }, storage_limit: -1 },
  },
  {
    method: 'PUT',
    path: '/projects/library',
    list: '/projects',
    example: { metadata: { public: 'true', auto_scan: 'false', severity: 'high' } },
  },
  {
    method: 'POST',
    path: '/users',
    list: '/users',
    example: { username: 'fz', password: 'Passw0rd1', email: 'fz@example.com', realname: 'fz' },
  },
  { method: 'POST', path: '/labels', list: '/labels?scope=g', example: { name: 'l', scope: 'g', color: '#fff' } },
  {
    method: 'POST',
    path: '/registries',
    list: '/registries',
    example: { name: 'r', type: 'docker-registry', url: 'http://127.0.0.1:9', insecure: true },
  },
  {
    method: 'POST',
    path: '/projects/library/immutabletagrules',
    list: '/projects/library/immutabletagrules',
    example: {
      tag_selectors: [{ kind: 'doublestar', decoration: 'matches', pattern: 'v*' }],
      scope_selectors: { repository: [{ kind: 'doublestar', decoration: 'repoMatches', pattern: '**' }] },
    },
  },
  {
    method: 'POST',
    path: '/projects/library/webhook/policies',
    list: '/projects/library/webhook/policies',
    example: { name: 'w', event_types: ['PUSH_ARTIFACT'], targets: [{ type: 'http', address: 'http://127.0.0.1:9/hook' }] },
  },
  {
    method: 'POST',
    path: '/robots',
    list: '/robots',
    example: {
      name: 'bot',
      level: 'project',
      duration: 30,
      permissions: [{ kind: 'project', namespace: 'library', access: [{ resource: 'repository', action: 'pull' }] }],
    },
  },
  {
    method: 'POST',
    path: '/projects/library/members',
    list: '/projects/library/members',
    example: { role_id: 2, member_user: { username: 'nobody' } },
  },
  {
    method: 'PUT',
    path: '/projects/library/repositories/base/artifacts/v1/labels',
    list: '/projects/library/repositories/base/artifacts/v1/tags',
    example: { id: 1 },
  },
  {
    method: 'POST',
    path: '/projects/library/repositories/base/artifacts/v1/tags',
    list: '/projects/library/repositories/base/artifacts/v1/tags',
    example: { name: 'fz' },
  },
];

function paths(value: unknown, prefix: string[] = []): string[][] {
  if (typeof value !== 'object' || value === null) return [prefix];
  return [prefix, ...Object.entries(value).flatMap(([k, v]) => paths(v, [...prefix, k]))];
}

function replaced(doc: unknown, path: string[], value: unknown): unknown {
  if (path.length === 0) return value;
  const copy: any = Array.isArray(doc) ? [...doc] : { ...(typeof doc === 'object' && doc !== null ? doc : {}) };
  Object.defineProperty(copy, path[0], {
    value: replaced(copy[path[0]], path.slice(1), value),
    enumerable: true,
    writable: true,
    configurable: true,
  });
  return copy;
}

async function listState(list: string): Promise<string> {
  const res = await api<unknown[]>(server, 'GET', `${list}${list.includes('?') ? '&' : '?'}page_size=100`, { auth });
  assert.equal(res.status, 200, `${list}: ${JSON.stringify(res.body)}`);
  return JSON.stringify(res.body);
}

test("create and update bodies: stored or a 4xx in Harbor's format, and a refusal changes nothing", async () => {
  const value = fc.oneof(
    { weight: 4, arbitrary: anyJson },
    { weight: 2, arbitrary: hostileString('azAZ09-_.:/ #*', 300) },
    { weight: 1, arbitrary: fc.constantFrom(...prototypeKeys) },
  );
  const write = fc.constantFrom(...writes).chain((w) => fc.tuple(fc.constant(w), fc.constantFrom(...paths(w.example))));
  const raw = fc.oneof(
    { weight: 8, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: hostileString('{}[]":,azZ09 \\', 2000) },
    { weight: 1, arbitrary: fc.integer({ min: 10, max: 20_000 }).map((n) => `{"name":${'['.repeat(n)}${']'.repeat(n)}}`) },
  );
  let n = 0;
  await fc.assert(
    fc.asyncProperty(write, value, raw, async ([w, path], v, rawBody) => {
      n += 1;
      // Names stay unique across runs, so that a body accepted once does not make the next one a conflict.
      const example = JSON.parse(JSON.stringify(w.example).replace(/"(fz|l|r|w|bot)"/g, `"$1${n}"`));
      const body = replaced(example, path, v);
      const before = await listState(w.list);
      const res =
        rawBody !== undefined
          ? await api(server, w.method, w.path, { auth, rawBody })
          : await api(server, w.method, w.path, { auth, body });
      const what = `${w.method} ${w.path} ${(rawBody ?? JSON.stringify(body) ?? '').slice(0, 300)}`;
      assertHarborAnswer(res, what);
      if (res.status >= 400) assert.equal(await listState(w.list), before, `a refused ${what} changed ${w.list}`);
    }),
    params(100),
  );
});

test('regression: a deeply nested JSON body is a 400, not a 500', async () => {
  // A label name of 5000 nested arrays parsed, then overflowed the stack of JSON.stringify in
  // the refusal's message: a 500. Bodies nested more than 64 levels are now refused first.
  for (const n of [65, 5000, 100_000]) {
    const before = await listState('/labels?scope=g');
    const res = await api(server, 'POST', '/labels', { auth, rawBody: `{"name":${'['.repeat(n)}${']'.repeat(n)},"scope":"g"}` });
    assertHarborAnswer(res, `nested ${n}`);
    assert.equal(res.status, 400);
    assert.equal(await listState('/labels?scope=g'), before);
  }
  // Brackets inside strings are text, not nesting.
  const res = await api(server, 'POST', '/labels', { auth, body: { name: 'brackets', scope: 'g', description: `${'['.repeat(200)}"\\` } });
  assert.equal(res.status, 201, JSON.stringify(res.body));
});

test('JSON nesting depth: the one-pass count agrees with the parsed document', () => {
  const depthOf = (v: unknown): number => (typeof v === 'object' && v !== null ? 1 + Math.max(0, ...Object.values(v).map(depthOf)) : 0);
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 8 }), fc.nat({ max: 8 }), (value, limit) => {
      const text = JSON.stringify(value);
      assert.equal(jsonNestedDeeperThan(text, limit), depthOf(value) > limit, text);
    }),
    params(1000),
  );
});

test("regression: a URL the router cannot read is refused in Harbor's format", async () => {
  // Fastify answered a bad percent-escape with its own body ({"error","code":"FST_ERR_BAD_URL",…}).
  for (const path of ['/projects/%ff', '/projects/%', '/projects/library/repositories/%zz/artifacts']) {
    const res = await api(server, 'GET', path, { auth });
    assertHarborAnswer(res, path);
    assert.equal(res.status, 400);
  }
});

test('regression: a query parameter given twice counts once, with its last value, as in Harbor', async () => {
  // The query-string parser gives a list for a repeated parameter and the routes read strings:
  // ?name=a&name=b was a 500 on /projects, /registries, /replication/policies, /usergroups,
  // /projects/{p}/members, /users/search, /search, /system/gc (sort) and more.
  const paths = [
    '/projects?name=a&name=b',
    '/projects?owner=a&owner=admin',
    '/users/search?username=a&username=adm',
    '/search?q=a&q=lib',
    '/registries?name=a&name=b',
    '/system/gc?sort=a&sort=-creation_time',
    '/usergroups?group_name=a&group_name=b',
    '/replication/policies?name=a&name=b',
    '/projects/library/members?entityname=a&entityname=adm',
    '/labels?scope=p&scope=g',
  ];
  for (const path of paths) {
    const res = await api(server, 'GET', path, { auth });
    assertHarborAnswer(res, path);
    assert.equal(res.status, 200, `${path}: ${JSON.stringify(res.body)}`);
  }
  const named = await api<Array<{ name: string }>>(server, 'GET', '/projects?name=nothing&name=library', { auth });
  assert.deepEqual(
    named.body.map((p) => p.name),
    ['library'],
  );
});
