import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { api, createUser } from '../helpers/api.js';
import { basicAuth, startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
before(async () => {
  server = await startServer();
  await createUser(server, 'paula', 'Paula1234');
});
after(async () => {
  await server.stop();
});

async function login(principal: string, password: string) {
  return fetch(`${server.url}/c/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ principal, password }).toString(),
  });
}

function sessionCookie(res: Response): string {
  const cookie = res.headers.get('set-cookie') ?? '';
  const m = /sid=([^;]+)/.exec(cookie);
  assert.ok(m, `a session cookie is set: ${cookie}`);
  return `sid=${m[1]}`;
}

test('portal login sets an HTTP-only session cookie that the API accepts', async () => {
  const res = await login('paula', 'Paula1234');
  assert.equal(res.status, 200);
  const setCookie = res.headers.get('set-cookie')!;
  assert.match(setCookie, /HttpOnly/i);
  assert.match(setCookie, /SameSite=Lax/i);
  const csrf = res.headers.get('x-harbor-csrf-token');
  assert.ok(csrf, 'the login answer carries the CSRF token');
  const me = await api(server, 'GET', '/users/current', { headers: { cookie: sessionCookie(res) } });
  assert.equal(me.status, 200);
  assert.equal(me.body.username, 'paula');
  assert.equal(me.headers.get('x-harbor-csrf-token'), csrf);
});

test('a cookie-authenticated write needs the CSRF header; with it, the write goes through', async () => {
  const res = await login('paula', 'Paula1234');
  const cookie = sessionCookie(res);
  const csrf = res.headers.get('x-harbor-csrf-token')!;
  const me = await api(server, 'GET', '/users/current', { headers: { cookie } });
  const without = await api(server, 'PUT', `/users/${me.body.user_id}`, { headers: { cookie }, body: { comment: 'forged' } });
  assert.equal(without.status, 403);
  assert.match(JSON.stringify(without.body), /CSRF/);
  const wrong = await api(server, 'PUT', `/users/${me.body.user_id}`, { headers: { cookie, 'x-harbor-csrf-token': 'nope' }, body: { comment: 'forged' } });
  assert.equal(wrong.status, 403);
  assert.equal((await api(server, 'GET', '/users/current', { headers: { cookie } })).body.comment, '', 'nothing changed');
  const ok = await api(server, 'PUT', `/users/${me.body.user_id}`, { headers: { cookie, 'x-harbor-csrf-token': csrf }, body: { comment: 'mine' } });
  assert.equal(ok.status, 200);
});

test('logout ends the session', async () => {
  const res = await login('paula', 'Paula1234');
  const cookie = sessionCookie(res);
  const out = await fetch(`${server.url}/c/log_out`, { headers: { cookie } });
  assert.equal(out.status, 200);
  assert.equal((await api(server, 'GET', '/users/current', { headers: { cookie } })).status, 401);
});

test('wrong password and unknown user get the same 401, and are audited as failures', async () => {
  const wrong = await login('paula', 'Wrong1234');
  const unknown = await login('nobody', 'Wrong1234');
  assert.equal(wrong.status, 401);
  assert.equal(unknown.status, 401);
  assert.deepEqual(await wrong.json(), await unknown.json());
  const logs = await api<any[]>(server, 'GET', '/auditlog-exts?q=operation%3Dlogin&page_size=100', { auth: server.admin.authorization });
  const failures = logs.body.filter((l) => !l.operation_result).map((l) => l.resource);
  assert.ok(failures.includes('paula') && failures.includes('nobody'), JSON.stringify(logs.body));
  assert.ok(logs.body.some((l) => l.operation_result && l.resource === 'paula'), 'successful logins are audited too');
});

test('repeated failures lock the account name for a while, for existing and unknown names alike', async () => {
  await createUser(server, 'quentin', 'Quentin123');
  for (const name of ['quentin', 'ghost']) {
    for (let i = 0; i < 5; i += 1) assert.equal((await login(name, 'Wrong1234')).status, 401);
    const locked = await login(name, name === 'quentin' ? 'Quentin123' : 'Wrong1234');
    assert.equal(locked.status, 401, `${name} is locked even with the right password`);
    assert.match(JSON.stringify(await locked.json()), /too many failed logins/);
  }
  // Other accounts are unaffected.
  assert.equal((await api(server, 'GET', '/users/current', { auth: basicAuth('paula', 'Paula1234') })).status, 200);
});

test('robots cannot sign in to the portal and bad form input is a clear 401', async () => {
  assert.equal((await login('', '')).status, 401);
  const res = await fetch(`${server.url}/c/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  assert.equal(res.status, 401);
});
