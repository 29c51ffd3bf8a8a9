import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createDatabaseOn, defaultPostgresServer, probePostgres, testPostgresServer, type TestDatabase } from '../helpers/database.js';
import { adminPassword, basicAuth, startServer, type TestServer } from '../helpers/server.js';
import { environmentLimit } from '../helpers/tools.js';

const admin = basicAuth('admin', adminPassword);

async function token(server: TestServer, headers: Record<string, string> = { authorization: admin }) {
  return fetch(`${server.url}/service/token?service=harbor-registry&scope=repository:library/x:pull`, { headers });
}

async function statuses(responses: Promise<Response>[]): Promise<number[]> {
  return Promise.all(
    responses.map(async (p) => {
      const res = await p;
      await res.arrayBuffer();
      return res.status;
    }),
  );
}

describe('rate limits are off by default', () => {
  let server: TestServer;
  before(async () => (server = await startServer()));
  after(() => server?.stop());

  test('many token requests in a row are all answered', async () => {
    const all = await statuses(Array.from({ length: 40 }, () => token(server)));
    assert.deepEqual(new Set(all), new Set([200]));
  });
});

describe('rate limits (one instance)', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({
      yaml: {
        'rate_limits.enabled': true,
        'rate_limits.token': { per_ip: 0, per_user: 5, window_seconds: 600 },
        'rate_limits.api': { per_ip: 0, per_user: 3, window_seconds: 600 },
        'rate_limits.login': { per_ip: 100, per_user: 2, window_seconds: 600 },
        'rate_limits.registry': { per_ip: 4, per_user: 0, window_seconds: 600 },
      },
    });
    // Created before the API's per-user limit is used up by the tests below.
    const created = await fetch(`${server.url}/api/v2.0/users`, {
      method: 'POST',
      headers: { authorization: admin, 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'limited', email: 'limited@example.com', realname: 'L', password: 'Limited12345' }),
    });
    assert.equal(created.status, 201);
  });
  after(() => server?.stop());

  test('the token service: 429 TOOMANYREQUESTS with Retry-After past the per-user limit', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await token(server)).status, 200);
    const refused = await token(server);
    assert.equal(refused.status, 429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 600, `Retry-After ${retryAfter}`);
    const body = (await refused.json()) as { errors: { code: string; message: string }[] };
    assert.equal(body.errors[0].code, 'TOOMANYREQUESTS');
    assert.match(body.errors[0].message, /5 requests per 600 s per user/);
    // Anonymous callers are another key (no per-address limit here).
    assert.equal((await token(server, {})).status, 200);
  });

  test("the API: Harbor's error body TOO_MANY_REQUEST past the per-user limit", async () => {
    for (let i = 0; i < 2; i++)
      assert.equal((await fetch(`${server.url}/api/v2.0/projects`, { headers: { authorization: admin } })).status, 200);
    const refused = await fetch(`${server.url}/api/v2.0/projects`, { headers: { authorization: admin } });
    assert.equal(refused.status, 429);
    assert.ok(refused.headers.get('retry-after'));
    assert.deepEqual(
      ((await refused.json()) as { errors: { code: string }[] }).errors.map((e) => e.code),
      ['TOO_MANY_REQUEST'],
    );
  });

  test('failed sign-ins: after the limit the name is refused before its password is checked, the right one too', async () => {
    const login = (password: string) =>
      fetch(`${server.url}/c/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `principal=limited&password=${password}`,
      });
    assert.equal((await login('wrong1')).status, 401);
    assert.equal((await login('wrong2')).status, 401);
    const refused = await login('Limited12345');
    assert.equal(refused.status, 429);
    assert.equal(((await refused.json()) as { errors: { code: string }[] }).errors[0].code, 'TOO_MANY_REQUEST');
    // Basic credentials for the same name are refused alike, on /v2 in the OCI format.
    const v2 = await fetch(`${server.url}/v2/`, { headers: { authorization: basicAuth('limited', 'Limited12345') } });
    assert.equal(v2.status, 429);
    assert.equal(((await v2.json()) as { errors: { code: string }[] }).errors[0].code, 'TOOMANYREQUESTS');
  });

  test('/v2: a per-address limit when configured', async () => {
    const all = await statuses(Array.from({ length: 6 }, () => fetch(`${server.url}/v2/`)));
    assert.equal(all.filter((s) => s === 429).length, 2);
  });
});

describe('client addresses and server.trust_proxy', () => {
  const limits = { 'rate_limits.enabled': true, 'rate_limits.token': { per_ip: 2, per_user: 0, window_seconds: 600 } };
  const fromProxy = (server: TestServer, client: string) => token(server, { 'x-forwarded-for': client });

  test('without trust_proxy, X-Forwarded-For is ignored: every request counts against the peer', async () => {
    const server = await startServer({ yaml: limits });
    try {
      const all = await statuses(['10.0.0.1', '10.0.0.2', '10.0.0.3'].map((ip) => fromProxy(server, ip)));
      assert.deepEqual(all.sort(), [200, 200, 429]);
    } finally {
      await server.stop();
    }
  });

  test('with trust_proxy, each forwarded client has its own count', async () => {
    const server = await startServer({ yaml: { ...limits, 'server.trust_proxy': '127.0.0.1' } });
    try {
      const clients = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.1', '10.0.0.1'];
      const all = await statuses(clients.map((ip) => fromProxy(server, ip)));
      // Sent at once: which of 10.0.0.1's three is refused is not known, only that one is.
      const of = (ip: string) => all.filter((_, i) => clients[i] === ip).sort();
      assert.deepEqual(of('10.0.0.1'), [200, 200, 429]);
      assert.deepEqual([...of('10.0.0.2'), ...of('10.0.0.3')], [200, 200]);
    } finally {
      await server.stop();
    }
  });
});

const pgServer = testPostgresServer() ?? defaultPostgresServer;
const pgProblem = await probePostgres(pgServer);
const skipPg = pgProblem ? environmentLimit(pgProblem) : false;

describe('two instances over one PostgreSQL enforce one limit', { skip: skipPg }, () => {
  let database: TestDatabase;
  let one: TestServer;
  let two: TestServer;
  before(async () => {
    database = await createDatabaseOn(pgServer);
    const yaml = {
      'database.url': database.url,
      'rate_limits.enabled': true,
      'rate_limits.token': { per_ip: 0, per_user: 10, window_seconds: 600 },
    };
    one = await startServer({ yaml });
    two = await startServer({ yaml });
  });
  after(async () => {
    await one?.stop();
    await two?.stop();
    await database?.drop();
  });

  test('requests spread over both instances: together they allow the limit, not twice it', async () => {
    const all = await statuses(Array.from({ length: 30 }, (_, i) => token(i % 2 === 0 ? one : two)));
    assert.equal(all.filter((s) => s === 200).length, 10);
    assert.equal(all.filter((s) => s === 429).length, 20);
    // Both instances refuse from now on.
    assert.equal((await token(one)).status, 429);
    assert.equal((await token(two)).status, 429);
  });
});
