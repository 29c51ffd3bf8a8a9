import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api, createUser, errorCode } from '../helpers/api.js';
import { basicAuth, startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let admin: string;
before(async () => {
  server = await startServer();
  admin = server.admin.authorization;
});
after(async () => {
  await server.stop();
});

describe('users API', () => {
  test('admin creates a user; the user reads their own profile with Harbor field names', async () => {
    const id = await createUser(server, 'alice', 'Alice1234');
    const me = await api(server, 'GET', '/users/current', { auth: basicAuth('alice', 'Alice1234') });
    assert.equal(me.status, 200);
    assert.deepEqual(Object.keys(me.body).sort(), [
      'admin_role_in_auth',
      'comment',
      'creation_time',
      'email',
      'realname',
      'sysadmin_flag',
      'update_time',
      'user_id',
      'username',
    ]);
    assert.equal(me.body.user_id, id);
    assert.equal(me.body.username, 'alice');
    assert.equal(me.body.sysadmin_flag, false);
    assert.equal('password' in me.body || 'password_hash' in me.body, false);
  });

  test('listing users is for admins, with paging headers', async () => {
    await createUser(server, 'bob1');
    await createUser(server, 'bob2');
    const page = await api<any[]>(server, 'GET', '/users?page=1&page_size=2&q=username%3D~bob', { auth: admin });
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('x-total-count'), '2');
    assert.deepEqual(page.body.map((u) => u.username).sort(), ['bob1', 'bob2']);
    const denied = await api(server, 'GET', '/users', { auth: basicAuth('bob1', 'Passw0rd1') });
    assert.equal(denied.status, 403);
    const anonymous = await api(server, 'GET', '/users');
    assert.equal(anonymous.status, 401);
    assert.equal(errorCode(anonymous), 'UNAUTHORIZED');
  });

  test('search finds users by name fragment for any signed-in user', async () => {
    const res = await api<any[]>(server, 'GET', '/users/search?username=bob', { auth: basicAuth('bob1', 'Passw0rd1') });
    assert.equal(res.status, 200);
    assert.deepEqual(res.body.map((u) => Object.keys(u).sort()), [['user_id', 'username'], ['user_id', 'username']]);
    // LIKE wildcards in the fragment match literally.
    await createUser(server, 'under_score');
    const literal = await api<any[]>(server, 'GET', '/users/search?username=r_s', { auth: server.admin.authorization });
    assert.deepEqual(literal.body.map((u) => u.username), ['under_score']);
    const wildcard = await api<any[]>(server, 'GET', '/users/search?username=%25', { auth: server.admin.authorization });
    assert.deepEqual(wildcard.body, []);
  });

  test('weak passwords are refused with the rule, and nothing is created', async () => {
    for (const password of ['short1A', 'alllowercase1', 'ALLUPPERCASE1', 'NoDigitsHere', 'x'.repeat(120) + 'Aa1' + 'y'.repeat(10)]) {
      const res = await api(server, 'POST', '/users', { auth: admin, body: { username: 'weak', password } });
      assert.equal(res.status, 400, password);
      assert.match(JSON.stringify(res.body), /password must/);
    }
    const list = await api<any[]>(server, 'GET', '/users?q=username%3Dweak', { auth: admin });
    assert.equal(list.body.length, 0);
  });

  test('duplicate usernames and emails are 409', async () => {
    await createUser(server, 'carol');
    const again = await api(server, 'POST', '/users', { auth: admin, body: { username: 'carol', password: 'Passw0rd1' } });
    assert.equal(again.status, 409);
    assert.equal(errorCode(again), 'CONFLICT');
    const sameEmail = await api(server, 'POST', '/users', {
      auth: admin,
      body: { username: 'carol2', password: 'Passw0rd1', email: 'carol@example.com' },
    });
    assert.equal(sameEmail.status, 409);
  });

  test('bad usernames, emails and bodies are 400 with Harbor error bodies', async () => {
    const cases: unknown[] = [
      { username: '', password: 'Passw0rd1' },
      { username: 'has space', password: 'Passw0rd1' },
      { username: 'a,b', password: 'Passw0rd1' },
      { username: 'ok-name', password: 'Passw0rd1', email: 'not-an-email' },
      { username: 42, password: 'Passw0rd1' },
    ];
    for (const body of cases) {
      const res = await api(server, 'POST', '/users', { auth: admin, body });
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(errorCode(res), 'BAD_REQUEST');
    }
    const malformed = await api(server, 'POST', '/users', { auth: admin, rawBody: '{"username": "x", ' });
    assert.equal(malformed.status, 400);
    assert.ok(Array.isArray((malformed.body as any).errors));
  });

  test('strings that look like SQL or HTML are stored and returned literally', async () => {
    const sqlish = "Robert'); DROP TABLE users;--";
    const htmlish = '<script>alert("x")</script>';
    const id = await createUser(server, 'literal');
    const put = await api(server, 'PUT', `/users/${id}`, { auth: admin, body: { realname: sqlish, comment: htmlish } });
    assert.equal(put.status, 200);
    const got = await api(server, 'GET', `/users/${id}`, { auth: admin });
    assert.equal(got.body.realname, sqlish);
    assert.equal(got.body.comment, htmlish);
    assert.equal((await api<any[]>(server, 'GET', '/users?page_size=100', { auth: admin })).status, 200, 'the users table is still there');
  });

  test('password change: the old password is required from the user, and the new one works at once', async () => {
    const id = await createUser(server, 'dave', 'Dave12345');
    const wrongOld = await api(server, 'PUT', `/users/${id}/password`, {
      auth: basicAuth('dave', 'Dave12345'),
      body: { old_password: 'Nope12345', new_password: 'Dave54321' },
    });
    assert.equal(wrongOld.status, 403);
    const ok = await api(server, 'PUT', `/users/${id}/password`, {
      auth: basicAuth('dave', 'Dave12345'),
      body: { old_password: 'Dave12345', new_password: 'Dave54321' },
    });
    assert.equal(ok.status, 200);
    assert.equal((await api(server, 'GET', '/users/current', { auth: basicAuth('dave', 'Dave12345') })).status, 401);
    assert.equal((await api(server, 'GET', '/users/current', { auth: basicAuth('dave', 'Dave54321') })).status, 200);
    const reset = await api(server, 'PUT', `/users/${id}/password`, { auth: admin, body: { new_password: 'Reset1234' } });
    assert.equal(reset.status, 200, 'an admin resets without the old password');
  });

  test('users cannot read or change one another; admins can make admins and delete users', async () => {
    const erin = await createUser(server, 'erin');
    const frank = await createUser(server, 'frank');
    assert.equal((await api(server, 'GET', `/users/${frank}`, { auth: basicAuth('erin', 'Passw0rd1') })).status, 403);
    assert.equal((await api(server, 'PUT', `/users/${frank}`, { auth: basicAuth('erin', 'Passw0rd1'), body: { comment: 'x' } })).status, 403);
    assert.equal((await api(server, 'PUT', `/users/${erin}/sysadmin`, { auth: admin, body: { sysadmin_flag: true } })).status, 200);
    const asAdmin = await api(server, 'GET', '/users', { auth: basicAuth('erin', 'Passw0rd1') });
    assert.equal(asAdmin.status, 200, 'erin is now a system admin');
    assert.equal((await api(server, 'DELETE', `/users/${frank}`, { auth: admin })).status, 200);
    assert.equal((await api(server, 'GET', `/users/${frank}`, { auth: admin })).status, 404);
    assert.equal((await api(server, 'GET', '/users/current', { auth: basicAuth('frank', 'Passw0rd1') })).status, 401);
    assert.equal((await api(server, 'GET', '/users/abc', { auth: admin })).status, 400);
  });

  test('self-registration is off by default', async () => {
    const res = await api(server, 'POST', '/users', { body: { username: 'selfie', password: 'Passw0rd1' } });
    assert.equal(res.status, 401);
  });

  test('changes to users are in the audit log', async () => {
    const logs = await api<any[]>(server, 'GET', '/audit-logs?q=resource_type%3Duser&page_size=100', { auth: admin });
    assert.equal(logs.status, 200);
    const ops = logs.body.map((l) => `${l.operation} ${l.resource} by ${l.username}`);
    assert.ok(ops.includes('create alice by admin'), ops.join('\n'));
    assert.ok(ops.includes('delete frank by admin'));
    // A password change reads as one: the resource says so, and so does the description.
    assert.ok(ops.includes('update dave:password by dave'), ops.join('\n'));
    assert.ok(ops.includes('update dave:password by admin'), 'the reset too');
    const ext = await api<any[]>(server, 'GET', `/auditlog-exts?q=${encodeURIComponent('resource=dave:password')}&page_size=100`, { auth: admin });
    assert.ok(
      ext.body.some((l) => l.operation_description === 'change password of user dave' && l.username === 'dave'),
      JSON.stringify(ext.body),
    );
  });
});

describe('self-registration when enabled', () => {
  test('anyone may sign up, but gets no admin flag', async () => {
    const open = await startServer({ yaml: { 'auth.self_registration': true } });
    try {
      const res = await api(open, 'POST', '/users', { body: { username: 'newbie', password: 'Passw0rd1', sysadmin_flag: true } });
      assert.equal(res.status, 201);
      const me = await api(open, 'GET', '/users/current', { auth: basicAuth('newbie', 'Passw0rd1') });
      assert.equal(me.body.sysadmin_flag, false);
    } finally {
      await open.stop();
    }
  });
});
