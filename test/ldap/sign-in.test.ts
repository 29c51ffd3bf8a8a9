import assert from 'node:assert/strict';
import { Attribute, Change } from 'ldapts';
import { after, before, describe, test } from 'node:test';
import { api, errorCode } from '../helpers/api.js';
import { adminPassword, basicAuth, startServer, type TestServer } from '../helpers/server.js';
import { ldapSettings, slapdSkip, startSlapd, type Slapd } from '../helpers/slapd.js';

/** The LDAP groups Berth recorded for a user, by name. */
async function recordedGroups(server: TestServer, username: string): Promise<string[]> {
  const rows = await server.berth.database.db
    .selectFrom('user_group_members')
    .innerJoin('user_groups', 'user_groups.id', 'user_group_members.group_id')
    .innerJoin('users', 'users.id', 'user_group_members.user_id')
    .where('users.username', '=', username)
    .where('user_groups.group_type', '=', 1)
    .select(['user_groups.group_name', 'user_groups.ldap_group_dn'])
    .execute();
  return rows.map((r) => r.group_name).sort();
}

async function currentUser(server: TestServer, username: string, password: string) {
  return api(server, 'GET', '/users/current', { auth: basicAuth(username, password) });
}

async function portalLogin(server: TestServer, principal: string, password: string) {
  return fetch(`${server.url}/c/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ principal, password }).toString(),
  });
}

describe('LDAP sign-in (auth_mode ldap_auth) against a real slapd', { skip: slapdSkip() }, () => {
  let slapd: Slapd;
  let server: TestServer;
  const admin = () => server.admin.authorization;

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

  test('Basic on /users/current: the right password signs in and onboards the user with email and name', async () => {
    const res = await currentUser(server, 'alice', 'alice-ldap-pw');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.username, 'alice');
    assert.equal(res.body.email, 'alice@example.org');
    assert.equal(res.body.realname, 'Alice L.');
    assert.equal(res.body.comment, 'from LDAP.');
    assert.equal(res.body.sysadmin_flag, false);
  });

  test('a wrong password, an empty password and an unknown user are 401', async () => {
    for (const [username, password] of [
      ['frank', 'wrong'],
      ['frank', ''],
      ['nobody', 'frank-ldap-pw'],
      ['*', 'frank-ldap-pw'],
    ] as const) {
      const res = await currentUser(server, username, password);
      assert.equal(res.status, 401, `${username}/${password}: ${res.status}`);
      assert.equal(errorCode(res), 'UNAUTHORIZED');
    }
    // Neither the wrong nor the empty password onboarded frank; the unknown user was not created.
    const users = await api(server, 'GET', '/users?page_size=100', { auth: admin() });
    const names = (users.body as Array<{ username: string }>).map((u) => u.username);
    assert.ok(!names.includes('frank') && !names.includes('nobody') && !names.includes('*'), names.join(','));
  });

  test('the user is onboarded once, however often they sign in, by any route', async () => {
    assert.equal((await currentUser(server, 'carol', 'carol-ldap-pw')).status, 200);
    const token = await fetch(`${server.url}/service/token?service=harbor-registry`, {
      headers: { authorization: basicAuth('carol', 'carol-ldap-pw') },
    });
    assert.equal(token.status, 200);
    assert.ok(((await token.json()) as { token: string }).token);
    const login = await portalLogin(server, 'carol', 'carol-ldap-pw');
    assert.equal(login.status, 200);
    assert.match(login.headers.get('set-cookie') ?? '', /sid=|session/i);
    const found = await api(server, 'GET', '/users/search?username=carol', { auth: admin() });
    assert.equal(found.status, 200);
    assert.equal((found.body as unknown[]).filter((u: any) => u.username === 'carol').length, 1);
  });

  test("a new email in the directory is taken at the next sign-in, as Harbor does; another user's address is not, and the sign-in goes on", async () => {
    const setMail = async (uid: string, mail: string) => {
      const client = await slapd.admin();
      await client.modify(
        slapd.users[uid].dn,
        new Change({ operation: 'replace', modification: new Attribute({ type: 'mail', values: [mail] }) }),
      );
      // Credentials verified in the last 10 s are remembered: the next sign-in asks the directory.
      server.berth.authenticator.invalidate();
    };
    const before = await currentUser(server, 'dave', 'dave-ldap-pw');
    assert.equal(before.body.email, 'dave@example.org');
    try {
      await setMail('dave', 'dave.bowman@example.org');
      const after = await currentUser(server, 'dave', 'dave-ldap-pw');
      assert.equal(after.status, 200);
      assert.equal(after.body.email, 'dave.bowman@example.org');
      assert.equal(after.body.realname, before.body.realname, 'the name stays');

      // frank's address, once frank is a Berth user: dave keeps his.
      assert.equal((await currentUser(server, 'frank', 'frank-ldap-pw')).status, 200);
      await setMail('dave', 'frank@example.org');
      const refused = await currentUser(server, 'dave', 'dave-ldap-pw');
      assert.equal(refused.status, 200, 'the sign-in goes on');
      assert.equal(refused.body.email, 'dave.bowman@example.org');
    } finally {
      await setMail('dave', 'dave@example.org');
    }
  });

  test('/service/token and the portal sign-in refuse a wrong password', async () => {
    const token = await fetch(`${server.url}/service/token?service=harbor-registry`, {
      headers: { authorization: basicAuth('dave', 'wrong') },
    });
    assert.equal(token.status, 401);
    const login = await portalLogin(server, 'dave', 'wrong');
    assert.equal(login.status, 401);
    const empty = await portalLogin(server, 'dave', '');
    assert.equal(empty.status, 401);
  });

  test('groups are recorded at sign-in, nested ones included', async () => {
    assert.equal((await currentUser(server, 'carol', 'carol-ldap-pw')).status, 200);
    assert.deepEqual(await recordedGroups(server, 'carol'), ['developers', 'team-a']);
    assert.equal((await currentUser(server, 'alice', 'alice-ldap-pw')).status, 200);
    assert.deepEqual(await recordedGroups(server, 'alice'), ['developers']);
    assert.equal((await currentUser(server, 'dave', 'dave-ldap-pw')).status, 200);
    assert.deepEqual(await recordedGroups(server, 'dave'), ['cycle-a', 'cycle-b']);
  });

  test('the admin group (directly or nested) makes a system administrator; others are refused admin routes', async () => {
    const bob = await currentUser(server, 'bob', 'bob-ldap-pw');
    assert.equal(bob.status, 200);
    assert.equal((await api(server, 'GET', '/configurations', { auth: basicAuth('bob', 'bob-ldap-pw') })).status, 200);
    assert.equal((await api(server, 'GET', '/configurations', { auth: basicAuth('erin', 'erin-ldap-pw') })).status, 200);
    const alice = await api(server, 'GET', '/configurations', { auth: basicAuth('alice', 'alice-ldap-pw') });
    assert.equal(alice.status, 403);
    const row = await server.berth.database.db
      .selectFrom('users')
      .where('username', '=', 'erin')
      .select(['group_admin', 'sysadmin'])
      .executeTakeFirstOrThrow();
    assert.equal(Number(row.group_admin), 1);
    assert.equal(Number(row.sysadmin), 0);
  });

  test('an LDAP group as project member gives its role to a user in it through a nested group; removing it takes the role away', async () => {
    const tokenActions = async () => {
      const res = await fetch(`${server.url}/service/token?service=harbor-registry&scope=repository:ldap-devs/app:pull,push`, {
        headers: { authorization: basicAuth('carol', 'carol-ldap-pw') },
      });
      assert.equal(res.status, 200);
      const { token } = (await res.json()) as { token: string };
      const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { access: Array<{ actions: string[] }> };
      return claims.access.flatMap((a) => a.actions).sort();
    };
    const project = await api(server, 'POST', '/projects', {
      auth: admin(),
      body: { project_name: 'ldap-devs', metadata: { public: 'false' } },
    });
    assert.equal(project.status, 201, JSON.stringify(project.body));
    assert.deepEqual(await tokenActions(), []);
    const added = await api(server, 'POST', '/projects/ldap-devs/members', {
      auth: admin(),
      body: { role_id: 2, member_group: { group_type: 1, ldap_group_dn: slapd.groups.developers!.dn } },
    });
    assert.equal(added.status, 201, JSON.stringify(added.body));
    assert.deepEqual(await tokenActions(), ['pull', 'push']);
    const memberId = added.headers.get('location')!.split('/').pop();
    assert.equal((await api(server, 'DELETE', `/projects/ldap-devs/members/${memberId}`, { auth: admin() })).status, 200);
    assert.deepEqual(await tokenActions(), []);
  });

  test('the local admin still signs in with its database password; not with a directory one', async () => {
    assert.equal((await currentUser(server, 'admin', adminPassword)).status, 200);
    assert.equal((await currentUser(server, 'admin', 'bob-ldap-pw')).status, 401);
    // A directory account named admin, reached by typing another case, is not the local admin.
    await slapd.addUser({
      uid: 'admin',
      password: 'directory-admin-pw',
      cn: 'Directory Admin',
      sn: 'Admin',
      mail: 'dir-admin@example.org',
    });
    assert.equal((await currentUser(server, 'Admin', 'directory-admin-pw')).status, 401);
    assert.equal((await currentUser(server, 'ADMIN', 'directory-admin-pw')).status, 401);
    assert.equal((await currentUser(server, 'admin', adminPassword)).status, 200);
  });

  test('a settings change applies at once (no restart): ldap_filter narrows who may sign in', async () => {
    const narrowed = await api(server, 'PUT', '/configurations', {
      auth: admin(),
      body: { ldap_filter: `(memberOf=${slapd.groups.admins!.dn})` },
    });
    assert.equal(narrowed.status, 200);
    try {
      // frank has not signed in before, so no remembered credential answers for him.
      assert.equal((await currentUser(server, 'frank', 'frank-ldap-pw')).status, 401);
    } finally {
      const restored = await api(server, 'PUT', '/configurations', { auth: admin(), body: { ldap_filter: '(objectClass=inetOrgPerson)' } });
      assert.equal(restored.status, 200);
    }
    assert.equal((await currentUser(server, 'frank', 'frank-ldap-pw')).status, 200);
  });

  test('a directory name that cannot be a Berth username is refused with the reason, and creates nobody', async () => {
    assert.equal((await api(server, 'PUT', '/configurations', { auth: admin(), body: { ldap_uid: 'cn' } })).status, 200);
    try {
      const res = await currentUser(server, 'Frank Poole', 'frank-ldap-pw');
      assert.equal(res.status, 403, JSON.stringify(res.body));
      assert.equal(errorCode(res), 'FORBIDDEN');
      assert.match(res.body.errors[0].message, /"Frank Poole", which cannot be a Berth username .*choose an ldap_uid attribute/);
      const users = await api(server, 'GET', '/users/search?username=Poole', { auth: admin() });
      assert.deepEqual(users.body, []);
    } finally {
      assert.equal((await api(server, 'PUT', '/configurations', { auth: admin(), body: { ldap_uid: 'uid' } })).status, 200);
    }
  });

  test('a directory that cannot be reached is 503 with a clear message, not a wrong password', async () => {
    const moved = await api(server, 'PUT', '/configurations', { auth: admin(), body: { ldap_url: 'ldap://127.0.0.1:1' } });
    assert.equal(moved.status, 200);
    try {
      const res = await currentUser(server, "o'brien*", 'obrien-ldap-pw');
      assert.equal(res.status, 503, JSON.stringify(res.body));
      assert.equal(errorCode(res), 'UNAVAILABLE');
      assert.match(res.body.errors[0].message, /LDAP sign-in is unavailable: .*cannot be reached/);
      const v2 = await fetch(`${server.url}/v2/`, { headers: { authorization: basicAuth("o'brien*", 'obrien-ldap-pw') } });
      assert.equal(v2.status, 503);
      const login = await portalLogin(server, "o'brien*", 'obrien-ldap-pw');
      assert.equal(login.status, 503);
      // The outage counted as no failed login: more tries than the lock allows still are not locked out.
      for (let i = 0; i < 6; i++) assert.equal((await currentUser(server, "o'brien*", 'obrien-ldap-pw')).status, 503);
    } finally {
      const back = await api(server, 'PUT', '/configurations', { auth: admin(), body: { ldap_url: slapd.url } });
      assert.equal(back.status, 200);
    }
    assert.equal((await currentUser(server, "o'brien*", 'obrien-ldap-pw')).status, 200);
  });
});
