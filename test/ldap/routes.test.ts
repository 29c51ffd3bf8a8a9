import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { checkShape } from '../compat/harbor-shapes.js';
import { api, errorCode, type ApiResponse } from '../helpers/api.js';
import { basicAuth, startServer, type TestServer } from '../helpers/server.js';
import { ldapSettings, slapdSkip, startSlapd, type Slapd } from '../helpers/slapd.js';

function assertError(res: ApiResponse, status: number, code: string, message?: RegExp) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(errorCode(res), code);
  if (message) assert.match((res.body as { errors: Array<{ message: string }> }).errors[0]!.message, message);
}

describe('/ldap/… against a real slapd', { skip: slapdSkip() }, () => {
  let slapd: Slapd;
  let server: TestServer;
  const admin = () => server.admin.authorization;
  const alice = basicAuth('alice', 'alice-ldap-pw');

  before(async () => {
    slapd = await startSlapd();
    server = await startServer();
    const res = await api(server, 'PUT', '/configurations', { auth: admin(), body: { auth_mode: 'ldap_auth', ...ldapSettings(slapd) } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  });
  after(async () => {
    await server?.stop();
    await slapd?.stop();
  });

  async function usernames(): Promise<string[]> {
    const res = await api(server, 'GET', '/users?page_size=100', { auth: admin() });
    return (res.body as Array<{ username: string }>).map((u) => u.username);
  }

  describe('POST /ldap/ping', () => {
    const ping = (body?: unknown, auth: string | undefined = admin()) => api(server, 'POST', '/ldap/ping', { auth, body });

    test('without a body, the stored settings', async () => {
      const res = await ping();
      assert.equal(res.status, 200);
      assert.deepEqual(checkShape(res.body, 'LdapPingResult'), []);
      assert.equal(res.body.success, true, res.body.message);
      assert.match(res.body.message, /bound as cn=admin,dc=example,dc=org/);
    });

    test("a body's fields over the stored settings; an absent or empty password is the stored one", async () => {
      const ldaps = await ping({ ldap_url: slapd.ldapsUrl, ldap_search_dn: slapd.bindDn });
      assert.deepEqual([ldaps.status, ldaps.body.success], [200, true], ldaps.body.message);
      const empty = await ping({ ldap_url: slapd.url, ldap_search_password: '' });
      assert.equal(empty.body.success, true, empty.body.message);
      const startTls = await ping({ ldap_url: slapd.url, ldap_start_tls: true, ldap_connection_timeout: 3 });
      assert.equal(startTls.body.success, true, startTls.body.message);
    });

    test('what the directory refuses is success false with the reason', async () => {
      const wrongPassword = await ping({ ldap_search_password: 'wrong' });
      assert.equal(wrongPassword.status, 200);
      assert.equal(wrongPassword.body.success, false);
      assert.match(wrongPassword.body.message, /refused the search DN .*invalid credentials/);
      const down = await ping({ ldap_url: 'ldap://127.0.0.1:1' });
      assert.equal(down.body.success, false);
      assert.match(down.body.message, /cannot be reached: connection refused/);
      const noBase = await ping({ ldap_base_dn: 'dc=nowhere,dc=org' });
      assert.equal(noBase.body.success, false);
      assert.match(noBase.body.message, /base DN "dc=nowhere,dc=org" does not exist/);
      const unknownCa = await ping({ ldap_url: slapd.ldapsUrl, ldap_verify_cert: true, ldap_ca_cert: slapd.otherCaPem });
      assert.equal(unknownCa.body.success, false);
      assert.match(unknownCa.body.message, /TLS certificate was not accepted/);
      const unverified = await ping({ ldap_url: slapd.ldapsUrl, ldap_verify_cert: false, ldap_ca_cert: '' });
      assert.equal(unverified.body.success, true, unverified.body.message);
      const notUrl = await ping({ ldap_url: 'http://127.0.0.1' });
      assert.equal(notUrl.body.success, false);
      assert.match(notUrl.body.message, /scheme must be ldap or ldaps/);
    });

    test('400 for a body of the wrong shape or types; nothing stored changes', async () => {
      assertError(await ping([]), 400, 'BAD_REQUEST', /LdapConf/);
      assertError(await ping({ ldap_scope: 5 }), 400, 'BAD_REQUEST', /ldap_scope/);
      assertError(await ping({ ldap_verify_cert: 'yes' }), 400, 'BAD_REQUEST', /ldap_verify_cert/);
      assertError(await ping({ ldap_url: 42 }), 400, 'BAD_REQUEST', /ldap_url must be a string/);
      assertError(await ping({ ldap_connection_timeout: 0 }), 400, 'BAD_REQUEST', /ldap_connection_timeout/);
      const stored = await api(server, 'GET', '/configurations', { auth: admin() });
      assert.equal(stored.body.ldap_url.value, slapd.url);
      assert.equal((await ping()).body.success, true);
    });

    test('401 anonymous, 403 for a user who is not a system administrator', async () => {
      assertError(await ping(undefined, ''), 401, 'UNAUTHORIZED');
      assertError(await ping({}, alice), 403, 'FORBIDDEN');
    });
  });

  describe('GET /ldap/users/search', () => {
    const search = (query: string, auth: string | undefined = admin()) => api(server, 'GET', `/ldap/users/search${query}`, { auth });

    test('by username (exact, escaped), or everyone', async () => {
      const res = await search('?username=erin');
      assert.equal(res.status, 200);
      assert.deepEqual(res.body, [{ username: 'erin', realname: 'Erin Brockovich', email: 'erin@example.org' }]);
      assert.deepEqual((await search('?username=nobody')).body, []);
      assert.deepEqual((await search('?username=e*')).body, []);
      const obrien = await search(`?username=${encodeURIComponent("o'brien*")}`);
      assert.deepEqual(
        obrien.body.map((u: { username: string }) => u.username),
        ["o'brien*"],
      );
      const everyone = await search('');
      assert.equal(everyone.status, 200);
      for (const user of everyone.body) assert.deepEqual(checkShape(user, 'LdapUser'), []);
      const names = everyone.body.map((u: { username: string }) => u.username);
      for (const uid of Object.keys(slapd.users)) assert.ok(names.includes(uid), uid);
      // Searching onboards nobody.
      assert.ok(!(await usernames()).includes('erin'));
    });

    test('401 anonymous, 403 for a user who is not a system administrator', async () => {
      assertError(await search('?username=erin', ''), 401, 'UNAUTHORIZED');
      assertError(await search('?username=erin', alice), 403, 'FORBIDDEN');
    });
  });

  describe('POST /ldap/users/import', () => {
    const importUsers = (body: unknown, auth: string | undefined = admin()) => api(server, 'POST', '/ldap/users/import', { auth, body });

    test('every uid known: 200 and each is a user with their email and name', async () => {
      const res = await importUsers({ ldap_uid_list: ['frank', 'dave'] });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const found = await api(server, 'GET', '/users/search?username=frank', { auth: admin() });
      const frankId = (found.body as Array<{ user_id: number; username: string }>).find((u) => u.username === 'frank')!.user_id;
      const frank = await api(server, 'GET', `/users/${frankId}`, { auth: admin() });
      assert.equal(frank.body.email, 'frank@example.org');
      assert.equal(frank.body.realname, 'Frank Poole');
      // Importing again leaves them as they are.
      assert.equal((await importUsers({ ldap_uid_list: ['frank'] })).status, 200);
      assert.equal((await usernames()).filter((u) => u === 'frank').length, 1);
      // The imported user then signs in with the directory password.
      assert.equal((await api(server, 'GET', '/users/current', { auth: basicAuth('frank', 'frank-ldap-pw') })).status, 200);
    });

    test('404 with the uids that failed and why; the others are imported', async () => {
      const res = await importUsers({ ldap_uid_list: ['carol', 'nobody', '', 'car*'] });
      assert.equal(res.status, 404);
      for (const failed of res.body) assert.deepEqual(checkShape(failed, 'LdapFailedImportUser'), []);
      assert.deepEqual(res.body, [
        { uid: 'nobody', error: 'unknown_user' },
        { uid: '', error: 'empty_uid' },
        { uid: 'car*', error: 'unknown_user' },
      ]);
      assert.ok((await usernames()).includes('carol'));
    });

    test('400 for a body of the wrong shape; nobody is imported', async () => {
      const before = await usernames();
      assertError(await importUsers({}), 400, 'BAD_REQUEST', /ldap_uid_list/);
      assertError(await importUsers({ ldap_uid_list: 'bob' }), 400, 'BAD_REQUEST', /ldap_uid_list/);
      assertError(await importUsers({ ldap_uid_list: ['bob', 7] }), 400, 'BAD_REQUEST', /ldap_uid_list/);
      assertError(await importUsers(['bob']), 400, 'BAD_REQUEST', /ldap_uid_list/);
      assert.deepEqual(await usernames(), before);
    });

    test('401 anonymous, 403 for a user who is not a system administrator; nobody is imported', async () => {
      assertError(await importUsers({ ldap_uid_list: ['bob'] }, ''), 401, 'UNAUTHORIZED');
      assertError(await importUsers({ ldap_uid_list: ['bob'] }, alice), 403, 'FORBIDDEN');
      assert.ok(!(await usernames()).includes('bob'));
    });
  });

  describe('GET /ldap/groups/search', () => {
    const search = (query: string, auth: string | undefined = admin()) => api(server, 'GET', `/ldap/groups/search${query}`, { auth });

    test('by name and by DN', async () => {
      const byName = await search('?groupname=developers');
      assert.equal(byName.status, 200);
      assert.deepEqual(byName.body, [{ group_name: 'developers', group_type: 1, ldap_group_dn: slapd.groups.developers!.dn }]);
      const byDn = await search(`?groupdn=${encodeURIComponent(slapd.groups['team-a']!.dn.toUpperCase())}`);
      assert.equal(byDn.status, 200);
      assert.deepEqual(byDn.body, [{ group_name: 'team-a', group_type: 1, ldap_group_dn: slapd.groups['team-a']!.dn }]);
    });

    test('404 when nothing is found (or nothing asked), 400 for a DN that is not one', async () => {
      assertError(await search('?groupname=nobody'), 404, 'NOT_FOUND');
      assertError(await search('?groupname=dev*'), 404, 'NOT_FOUND');
      assertError(await search(`?groupdn=${encodeURIComponent(`cn=nobody,${slapd.groupsDn}`)}`), 404, 'NOT_FOUND');
      // A person is not under the group base DN.
      assertError(await search(`?groupdn=${encodeURIComponent(slapd.users.alice!.dn)}`), 404, 'NOT_FOUND');
      assertError(await search(''), 404, 'NOT_FOUND');
      assertError(await search('?groupdn=not%20a%20dn'), 400, 'BAD_REQUEST', /not a valid LDAP DN/);
    });

    test('401 anonymous, 403 for a user who is not a system administrator', async () => {
      assertError(await search('?groupname=developers', ''), 401, 'UNAUTHORIZED');
      assertError(await search('?groupname=developers', alice), 403, 'FORBIDDEN');
    });
  });

  test('a system robot given ldap-user list may search but not import', async () => {
    const created = await api(server, 'POST', '/robots', {
      auth: admin(),
      body: {
        name: 'ldap-reader',
        level: 'system',
        duration: -1,
        permissions: [{ kind: 'system', namespace: '/', access: [{ resource: 'ldap-user', action: 'list' }] }],
      },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const robot = basicAuth(created.body.name, created.body.secret);
    const found = await api(server, 'GET', '/ldap/users/search?username=bob', { auth: robot });
    assert.equal(found.status, 200);
    assert.equal(found.body[0].username, 'bob');
    assert.equal((await api(server, 'GET', '/ldap/groups/search?groupname=admins', { auth: robot })).status, 200);
    assertError(await api(server, 'POST', '/ldap/users/import', { auth: robot, body: { ldap_uid_list: ['bob'] } }), 403, 'FORBIDDEN');
    assertError(await api(server, 'POST', '/ldap/ping', { auth: robot }), 403, 'FORBIDDEN');
    assert.ok(!(await usernames()).includes('bob'));
  });

  test('a directory that cannot be reached: the searches and import are 503 with the reason', async () => {
    assert.equal((await api(server, 'PUT', '/configurations', { auth: admin(), body: { ldap_url: 'ldap://127.0.0.1:1' } })).status, 200);
    try {
      assertError(await api(server, 'GET', '/ldap/users/search?username=bob', { auth: admin() }), 503, 'UNAVAILABLE', /cannot be reached/);
      assertError(await api(server, 'POST', '/ldap/users/import', { auth: admin(), body: { ldap_uid_list: ['bob'] } }), 503, 'UNAVAILABLE');
      assertError(await api(server, 'GET', '/ldap/groups/search?groupname=admins', { auth: admin() }), 503, 'UNAVAILABLE');
      const ping = await api(server, 'POST', '/ldap/ping', { auth: admin() });
      assert.deepEqual([ping.status, ping.body.success], [200, false]);
    } finally {
      assert.equal((await api(server, 'PUT', '/configurations', { auth: admin(), body: { ldap_url: slapd.url } })).status, 200);
    }
  });
});
