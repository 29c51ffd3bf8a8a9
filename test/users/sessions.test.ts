import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { api, createUser } from '../helpers/api.js';
import { startServer, type TestServer } from '../helpers/server.js';

/**
 * A change to who a user is or what they may do ends their other portal sessions at once:
 * a password change (theirs, or an administrator's reset), the loss of system administration,
 * the deletion of the account. The session that made a change to itself may stay.
 */
let server: TestServer;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server.stop();
});

interface Session {
  cookie: string;
  csrf: string;
}

async function signIn(principal: string, password: string): Promise<Session> {
  const res = await fetch(`${server.url}/c/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ principal, password }).toString(),
  });
  assert.equal(res.status, 200, `${principal} signs in`);
  const sid = /sid=([^;]+)/.exec(res.headers.get('set-cookie') ?? '')![1];
  return { cookie: `sid=${sid}`, csrf: res.headers.get('x-harbor-csrf-token')! };
}

async function whoAmI(session: Session): Promise<number> {
  return (await api(server, 'GET', '/users/current', { headers: { cookie: session.cookie } })).status;
}

function withSession(session: Session) {
  return { cookie: session.cookie, 'x-harbor-csrf-token': session.csrf };
}

test("a user who changes their password keeps the session they did it from; their other sessions end", async () => {
  const id = await createUser(server, 'paula', 'Paula12345');
  const laptop = await signIn('paula', 'Paula12345');
  const phone = await signIn('paula', 'Paula12345');
  const res = await api(server, 'PUT', `/users/${id}/password`, {
    headers: withSession(laptop),
    body: { old_password: 'Paula12345', new_password: 'Paula67890' },
  });
  assert.equal(res.status, 200);
  assert.equal(await whoAmI(laptop), 200, 'the session that changed the password stays');
  assert.equal(await whoAmI(phone), 401, 'the other session ended');
});

test("a refused password change ends nothing", async () => {
  const id = await createUser(server, 'oscar', 'Oscar12345');
  const laptop = await signIn('oscar', 'Oscar12345');
  const phone = await signIn('oscar', 'Oscar12345');
  const res = await api(server, 'PUT', `/users/${id}/password`, {
    headers: withSession(laptop),
    body: { old_password: 'NotMine123', new_password: 'Oscar67890' },
  });
  assert.equal(res.status, 403);
  assert.equal(await whoAmI(phone), 200);
});

test("a password change through Basic credentials ends every session of the user", async () => {
  const id = await createUser(server, 'quinn', 'Quinn12345');
  const laptop = await signIn('quinn', 'Quinn12345');
  const res = await api(server, 'PUT', `/users/${id}/password`, {
    auth: `Basic ${Buffer.from('quinn:Quinn12345').toString('base64')}`,
    body: { old_password: 'Quinn12345', new_password: 'Quinn67890' },
  });
  assert.equal(res.status, 200);
  assert.equal(await whoAmI(laptop), 401);
});

test("an administrator's password reset ends every session of that user, not the administrator's", async () => {
  const id = await createUser(server, 'rita', 'Rita123456');
  const rita = await signIn('rita', 'Rita123456');
  const adminSession = await signIn('admin', 'Harbor12345');
  const res = await api(server, 'PUT', `/users/${id}/password`, { headers: withSession(adminSession), body: { new_password: 'Rita654321' } });
  assert.equal(res.status, 200);
  assert.equal(await whoAmI(rita), 401);
  assert.equal(await whoAmI(adminSession), 200);
});

test('taking away system administration ends that user’s sessions; granting it does not', async () => {
  const id = await createUser(server, 'sam', 'Sam1234567');
  const before = await signIn('sam', 'Sam1234567');
  const grant = await api(server, 'PUT', `/users/${id}/sysadmin`, { auth: server.admin.authorization, body: { sysadmin_flag: true } });
  assert.equal(grant.status, 200);
  assert.equal(await whoAmI(before), 200, 'becoming an administrator ends nothing');
  const asAdmin = await signIn('sam', 'Sam1234567');
  const other = await signIn('sam', 'Sam1234567');
  // Sam takes the flag away from himself: the session doing it stays, the other one ends.
  const revoke = await api(server, 'PUT', `/users/${id}/sysadmin`, { headers: withSession(asAdmin), body: { sysadmin_flag: false } });
  assert.equal(revoke.status, 200);
  assert.equal(await whoAmI(asAdmin), 200);
  assert.equal(await whoAmI(other), 401);
  assert.equal(await whoAmI(before), 401);
  const again = await signIn('sam', 'Sam1234567');
  const regrant = await api(server, 'PUT', `/users/${id}/sysadmin`, { auth: server.admin.authorization, body: { sysadmin_flag: true } });
  assert.equal(regrant.status, 200);
  const byAdmin = await api(server, 'PUT', `/users/${id}/sysadmin`, { auth: server.admin.authorization, body: { sysadmin_flag: false } });
  assert.equal(byAdmin.status, 200);
  assert.equal(await whoAmI(again), 401, 'taken away by another administrator: every session ends');
});

test('deleting a user ends their sessions', async () => {
  const id = await createUser(server, 'tess', 'Tess123456');
  const tess = await signIn('tess', 'Tess123456');
  const res = await api(server, 'DELETE', `/users/${id}`, { auth: server.admin.authorization });
  assert.equal(res.status, 200);
  assert.equal(await whoAmI(tess), 401);
  const rows = await server.berth.database.db.selectFrom('sessions').select('user_id').where('user_id', '=', id).execute();
  assert.equal(rows.length, 0);
});
