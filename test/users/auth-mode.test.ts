import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api, createUser, errorCode } from '../helpers/api.js';
import { adminPassword, basicAuth, startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let aliceId: number;
let adminId: number;
before(async () => {
  server = await startServer();
  aliceId = await createUser(server, 'alice', 'Alice1234');
  adminId = Number((await api(server, 'GET', '/users/current', { auth: server.admin.authorization })).body.user_id);
});
after(async () => {
  await server.stop();
});

function message(res: { body: unknown }): string {
  return (res.body as { errors: Array<{ message: string }> }).errors[0].message;
}

describe('users outside db_auth (Harbor: accounts live in the directory or the provider)', () => {
  for (const mode of ['ldap_auth', 'oidc_auth'] as const) {
    test(`${mode}: no local user is created, and only the local admin may be changed`, async () => {
      await server.berth.settings.write({ auth_mode: mode });
      try {
        const create = await api(server, 'POST', '/users', {
          auth: server.admin.authorization,
          body: { username: 'bob', password: 'Bobby1234', email: 'bob@example.com', realname: 'Bob' },
        });
        assert.equal(create.status, 403);
        assert.equal(errorCode(create), 'FORBIDDEN');
        assert.equal(message(create), `creating local user is not allowed under auth mode: ${mode}`);
        const anonymous = await api(server, 'POST', '/users', { body: { username: 'bob', password: 'Bobby1234' } });
        assert.equal(anonymous.status, 401);
        assert.equal((await server.berth.users.byUsername('bob')) === undefined, true);

        // Not even the administrator changes another account here (its owner signs in through the provider).
        for (const auth of [server.admin.authorization]) {
          const profile = await api(server, 'PUT', `/users/${aliceId}`, { auth, body: { realname: 'Changed' } });
          assert.equal(profile.status, 403, JSON.stringify(profile.body));
          assert.equal(message(profile), `User with ID ${aliceId} can't be updated`);
          const password = await api(server, 'PUT', `/users/${aliceId}/password`, {
            auth,
            body: { old_password: 'Alice1234', new_password: 'Alice5678' },
          });
          assert.equal(password.status, 403);
        }
        assert.equal((await server.berth.users.byUsername('alice'))?.realname, 'alice');

        // The local admin keeps its own profile.
        const own = await api(server, 'PUT', `/users/${adminId}`, { auth: server.admin.authorization, body: { comment: `in ${mode}` } });
        assert.equal(own.status, 200);
      } finally {
        await server.berth.settings.write({ auth_mode: 'db_auth' });
      }
    });
  }

  test('db_auth: users change their own profile as before', async () => {
    const res = await api(server, 'PUT', `/users/${aliceId}`, { auth: basicAuth('alice', 'Alice1234'), body: { realname: 'Alice A' } });
    assert.equal(res.status, 200);
    const me = await api(server, 'GET', '/users/current', { auth: basicAuth('admin', adminPassword) });
    assert.equal(me.status, 200);
  });
});
