import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api, createUser } from '../helpers/api.js';
import { basicAuth, startServer, type TestServer } from '../helpers/server.js';
import type { SystemSettings } from '../../src/settings/keys.js';
import { ldapSettings, slapdSkip, startSlapd, type Slapd } from '../helpers/slapd.js';
import { assertError, auditLines, createProject } from '../projects/fixtures.js';

let server: TestServer;
let admin: string;
const dan = basicAuth('dan', 'Passw0rd1');
let danId: number;

/** Every row a user group request could change, to prove that a refusal changed nothing. */
async function groupState() {
  await server.berth.pulls.flush(); // pull audit records are written in batches
  const db = server.berth.database.db;
  return {
    groups: await db.selectFrom('user_groups').selectAll().orderBy('id').execute(),
    userGroups: await db.selectFrom('user_group_members').selectAll().orderBy('user_id').orderBy('group_id').execute(),
    members: await db.selectFrom('project_members').selectAll().orderBy('id').execute(),
    audits: Number(
      (
        await db
          .selectFrom('audit_logs')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    ),
  };
}

async function createGroup(body: Record<string, unknown>): Promise<number> {
  const res = await api(server, 'POST', '/usergroups', { auth: admin, body });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return Number(res.headers.get('location')!.split('/').pop());
}

before(async () => {
  server = await startServer();
  admin = server.admin.authorization;
  danId = await createUser(server, 'dan');
});
after(async () => {
  await server.stop();
});

describe('/usergroups', () => {
  const ids: Record<string, number> = {};

  test('create: 201 with Location; GET shows Harbor UserGroup fields; audited', async () => {
    const res = await api(server, 'POST', '/usergroups', { auth: admin, body: { group_name: 'platform', group_type: 3 } });
    assert.equal(res.status, 201);
    assert.match(res.headers.get('location')!, /^\/api\/v2\.0\/usergroups\/\d+$/);
    ids.platform = Number(res.headers.get('location')!.split('/').pop());
    const got = await api(server, 'GET', `/usergroups/${ids.platform}`, { auth: admin });
    assert.equal(got.status, 200);
    assert.deepEqual(got.body, { id: ids.platform, group_name: 'platform', group_type: 3, ldap_group_dn: '' });
    assert.ok((await auditLines(server, 'resource_type=user_group')).includes('admin create user_group platform'));

    ids.ldapOps = await createGroup({ group_name: 'ops', group_type: 1, ldap_group_dn: 'cn=Ops,ou=Groups,dc=example,dc=org' });
    ids.httpOps = await createGroup({ group_name: 'ops', group_type: 2 });
    ids.oidcOps = await createGroup({ group_name: 'ops-team', group_type: 3 });
    const ldap = await api(server, 'GET', `/usergroups/${ids.ldapOps}`, { auth: admin });
    assert.deepEqual(ldap.body, { id: ids.ldapOps, group_name: 'ops', group_type: 1, ldap_group_dn: 'cn=Ops,ou=Groups,dc=example,dc=org' });
  });

  test('list: every type outside ldap_auth, paging headers, group_name and ldap_group_dn filters', async () => {
    const all = await api<any[]>(server, 'GET', '/usergroups', { auth: admin });
    assert.equal(all.status, 200);
    assert.equal(all.headers.get('x-total-count'), '4');
    assert.deepEqual(
      all.body.map((g) => `${g.group_name}:${g.group_type}`),
      ['ops:1', 'ops:2', 'ops-team:3', 'platform:3'],
    );
    assert.deepEqual(Object.keys(all.body[0]).sort(), ['group_name', 'group_type', 'id', 'ldap_group_dn']);
    const page = await api<any[]>(server, 'GET', '/usergroups?page=2&page_size=1', { auth: admin });
    assert.deepEqual(
      page.body.map((g) => g.id),
      [ids.httpOps],
    );
    assert.match(page.headers.get('link')!, /page=1&page_size=1>; rel="prev"/);
    assert.match(page.headers.get('link')!, /page=3&page_size=1>; rel="next"/);
    const byName = await api<any[]>(server, 'GET', '/usergroups?group_name=TEAM', { auth: admin });
    assert.deepEqual(
      byName.body.map((g) => g.id),
      [ids.oidcOps],
    );
    assert.equal(byName.headers.get('x-total-count'), '1');
    const byDn = await api<any[]>(server, 'GET', `/usergroups?ldap_group_dn=${encodeURIComponent('CN=ops,ou=groups,dc=example,dc=org')}`, {
      auth: admin,
    });
    assert.deepEqual(
      byDn.body.map((g) => g.id),
      [ids.ldapOps],
    );
    const none = await api<any[]>(server, 'GET', '/usergroups?group_name=nothing-like-this', { auth: admin });
    assert.deepEqual(none.body, []);
    assert.equal(none.headers.get('x-total-count'), '0');
    assertError(await api(server, 'GET', '/usergroups?page_size=500', { auth: admin }), 400, 'BAD_REQUEST');
  });

  test('list in ldap_auth shows only LDAP groups, as Harbor does', async () => {
    await server.berth.settings.write({ auth_mode: 'ldap_auth' });
    try {
      const all = await api<any[]>(server, 'GET', '/usergroups', { auth: admin });
      assert.deepEqual(
        all.body.map((g) => g.id),
        [ids.ldapOps],
      );
      // Search is not limited by the mode.
      const found = await api<any[]>(server, 'GET', '/usergroups/search?groupname=ops', { auth: admin });
      assert.equal(found.body.length, 3);
    } finally {
      await server.berth.settings.write({ auth_mode: 'db_auth' });
    }
  });

  test('create refusals: 400 for a bad body, 409 for a taken name or DN; nothing changes', async () => {
    const before = await groupState();
    const bad: unknown[] = [
      {},
      { group_name: 'x' },
      { group_name: 'x', group_type: 4 },
      { group_name: 'x', group_type: '3' },
      { group_type: 3 },
      { group_name: '   ', group_type: 2 },
      { group_name: 7, group_type: 3 },
      { group_name: 'x'.repeat(256), group_type: 3 },
      { group_name: 'ldap-no-dn', group_type: 1 },
      { group_name: 'ldap-bad-dn', group_type: 1, ldap_group_dn: 'not a dn' },
      { group_type: 1, ldap_group_dn: 'cn=noname,dc=example,dc=org' },
    ];
    for (const body of bad)
      assertError(await api(server, 'POST', '/usergroups', { auth: admin, body }), 400, 'BAD_REQUEST', JSON.stringify(body));
    const badDn = await api(server, 'POST', '/usergroups', {
      auth: admin,
      body: { group_name: 'ldap-bad-dn', group_type: 1, ldap_group_dn: 'not a dn' },
    });
    assert.equal((badDn.body as any).errors[0].message, 'invalid DN syntax. DN: not a dn');
    assertError(await api(server, 'POST', '/usergroups', { auth: admin, rawBody: '{"group_name":' }), 400, 'BAD_REQUEST');
    assertError(await api(server, 'POST', '/usergroups', { auth: admin, rawBody: '[1]' }), 400, 'BAD_REQUEST');

    const sameName = await api(server, 'POST', '/usergroups', { auth: admin, body: { group_name: 'platform', group_type: 3 } });
    assertError(sameName, 409, 'CONFLICT');
    assert.equal((sameName.body as any).errors[0].message, 'duplicate user group, group name:platform, group type: 3, ldap group DN: ');
    // An LDAP group is the same group whatever the case of its DN.
    assertError(
      await api(server, 'POST', '/usergroups', {
        auth: admin,
        body: { group_name: 'ops2', group_type: 1, ldap_group_dn: 'CN=OPS,OU=Groups,DC=example,DC=org' },
      }),
      409,
      'CONFLICT',
    );
    assertError(
      await api(server, 'POST', '/usergroups', {
        auth: admin,
        body: { group_name: 'ops', group_type: 1, ldap_group_dn: 'cn=other,dc=example,dc=org' },
      }),
      409,
      'CONFLICT',
    );
    assert.deepEqual(await groupState(), before);
  });

  test('rename: PUT changes group_name only; 400, 404 and 409 change nothing', async () => {
    const res = await api(server, 'PUT', `/usergroups/${ids.ldapOps}`, {
      auth: admin,
      body: { group_name: 'operations', group_type: 3, ldap_group_dn: 'cn=changed,dc=example,dc=org' },
    });
    assert.equal(res.status, 200);
    const got = await api(server, 'GET', `/usergroups/${ids.ldapOps}`, { auth: admin });
    assert.deepEqual(got.body, {
      id: ids.ldapOps,
      group_name: 'operations',
      group_type: 1,
      ldap_group_dn: 'cn=Ops,ou=Groups,dc=example,dc=org',
    });
    assert.ok((await auditLines(server, 'resource_type=user_group')).includes('admin update user_group operations'));
    // An OIDC group is known by its name: after a rename the new name finds it.
    assert.equal((await api(server, 'PUT', `/usergroups/${ids.oidcOps}`, { auth: admin, body: { group_name: 'sre' } })).status, 200);
    const key = await server.berth.database.db
      .selectFrom('user_groups')
      .select('group_key')
      .where('id', '=', ids.oidcOps)
      .executeTakeFirstOrThrow();
    assert.equal(key.group_key, 'sre');

    const before = await groupState();
    assertError(await api(server, 'PUT', `/usergroups/${ids.oidcOps}`, { auth: admin, body: { group_name: '' } }), 400, 'BAD_REQUEST');
    assertError(await api(server, 'PUT', `/usergroups/${ids.oidcOps}`, { auth: admin, body: {} }), 400, 'BAD_REQUEST');
    assertError(await api(server, 'PUT', `/usergroups/${ids.oidcOps}`, { auth: admin, rawBody: '{' }), 400, 'BAD_REQUEST');
    assertError(await api(server, 'PUT', '/usergroups/abc', { auth: admin, body: { group_name: 'x' } }), 400, 'BAD_REQUEST');
    assertError(await api(server, 'PUT', '/usergroups/0', { auth: admin, body: { group_name: 'x' } }), 400, 'BAD_REQUEST');
    const missing = await api(server, 'PUT', '/usergroups/999999', { auth: admin, body: { group_name: 'x' } });
    assertError(missing, 404, 'NOT_FOUND');
    assert.equal((missing.body as any).errors[0].message, 'the user group with id 999999 is not found');
    assertError(await api(server, 'PUT', `/usergroups/${ids.oidcOps}`, { auth: admin, body: { group_name: 'platform' } }), 409, 'CONFLICT');
    assert.deepEqual(await groupState(), before);
  });

  test('GET of an unknown or malformed id: 404, 400', async () => {
    assertError(await api(server, 'GET', '/usergroups/999999', { auth: admin }), 404, 'NOT_FOUND');
    assertError(await api(server, 'GET', '/usergroups/-1', { auth: admin }), 400, 'BAD_REQUEST');
  });

  test('search: any signed-in user; groupname required; UserGroupSearchItem fields; paging', async () => {
    const res = await api<any[]>(server, 'GET', '/usergroups/search?groupname=OP', { auth: dan });
    assert.equal(res.status, 200);
    assert.deepEqual(
      res.body.map((g) => `${g.group_name}:${g.group_type}`),
      ['operations:1', 'ops:2'],
    );
    assert.deepEqual(Object.keys(res.body[0]).sort(), ['group_name', 'group_type', 'id']);
    assert.equal(res.headers.get('x-total-count'), '2');
    const page = await api<any[]>(server, 'GET', '/usergroups/search?groupname=op&page=2&page_size=1', { auth: dan });
    assert.deepEqual(
      page.body.map((g) => g.group_name),
      ['ops'],
    );
    assert.match(page.headers.get('link')!, /rel="prev"/);
    const missing = await api(server, 'GET', '/usergroups/search', { auth: dan });
    assertError(missing, 400, 'BAD_REQUEST');
    assert.equal((missing.body as any).errors[0].message, 'need to provide groupname to search user group');
    assertError(await api(server, 'GET', '/usergroups/search?groupname=op'), 401, 'UNAUTHORIZED');
  });

  test('only system administrators manage groups: 401 anonymous, 403 for a user; nothing changes', async () => {
    const before = await groupState();
    const calls: Array<[string, string, unknown?]> = [
      ['GET', '/usergroups'],
      ['POST', '/usergroups', { group_name: 'mine', group_type: 3 }],
      ['GET', `/usergroups/${ids.platform}`],
      ['PUT', `/usergroups/${ids.platform}`, { group_name: 'mine' }],
      ['DELETE', `/usergroups/${ids.platform}`],
    ];
    for (const [method, path, body] of calls) {
      assertError(await api(server, method, path, { body }), 401, 'UNAUTHORIZED', `${method} ${path}`);
      assertError(await api(server, method, path, { auth: dan, body }), 403, 'FORBIDDEN', `${method} ${path}`);
    }
    assert.deepEqual(await groupState(), before);
  });

  test('delete: the group leaves its projects and its users in one go, audited; a second delete is 404', async () => {
    const projectId = await createProject(server, { project_name: 'grouped' });
    const member = await api(server, 'POST', '/projects/grouped/members', {
      auth: admin,
      body: { role_id: 2, member_group: { id: ids.platform } },
    });
    assert.equal(member.status, 201);
    await server.berth.userGroups.setUserGroups(danId, 3, [{ name: 'platform' }]);
    assert.equal((await api(server, 'GET', '/projects/grouped', { auth: dan })).status, 200);

    const res = await api(server, 'DELETE', `/usergroups/${ids.platform}`, { auth: admin });
    assert.equal(res.status, 200);
    const db = server.berth.database.db;
    assert.equal((await db.selectFrom('user_groups').select('id').where('id', '=', ids.platform).execute()).length, 0);
    assert.equal((await db.selectFrom('user_group_members').select('user_id').where('group_id', '=', ids.platform).execute()).length, 0);
    assert.equal(
      (await db.selectFrom('project_members').select('id').where('entity_type', '=', 'g').where('entity_id', '=', ids.platform).execute())
        .length,
      0,
    );
    assert.equal((await api(server, 'GET', '/projects/grouped', { auth: dan })).status, 403);
    const lines = await auditLines(server, 'operation=delete');
    assert.ok(lines.includes('admin delete user_group platform'), lines.join('\n'));
    assert.ok(lines.includes('admin delete member grouped:platform'), lines.join('\n'));
    assert.ok(projectId > 0);

    assertError(await api(server, 'DELETE', `/usergroups/${ids.platform}`, { auth: admin }), 404, 'NOT_FOUND');
    assertError(await api(server, 'DELETE', '/usergroups/zero', { auth: admin }), 400, 'BAD_REQUEST');
  });
});

describe('/usergroups and member_group in ldap_auth, against a real LDAP server', { skip: slapdSkip() }, () => {
  let slapd: Slapd;
  let ldapServer: TestServer;
  before(async () => {
    slapd = await startSlapd();
    ldapServer = await startServer();
    await ldapServer.berth.settings.write({ ...(ldapSettings(slapd) as Partial<SystemSettings>), auth_mode: 'ldap_auth' });
  });
  after(async () => {
    await ldapServer?.stop();
    await slapd?.stop();
  });

  test('an LDAP group must exist in the directory; without a name it takes the directory name', async () => {
    const auth = ldapServer.admin.authorization;
    const dn = slapd.groups.developers!.dn;
    const res = await api(ldapServer, 'POST', '/usergroups', { auth, body: { group_type: 1, ldap_group_dn: dn } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const got = await api(ldapServer, 'GET', res.headers.get('location')!.replace('/api/v2.0', ''), { auth });
    assert.equal(got.body.group_name, 'developers');
    assert.equal(got.body.ldap_group_dn.toLowerCase(), dn.toLowerCase());

    const missingDn = `cn=nosuch,${slapd.groupsDn}`;
    const missing = await api(ldapServer, 'POST', '/usergroups', {
      auth,
      body: { group_name: 'nosuch', group_type: 1, ldap_group_dn: missingDn },
    });
    assertError(missing, 400, 'BAD_REQUEST');
    assert.equal((missing.body as any).errors[0].message, `LDAP Group DN is not found: DN:${missingDn}`);
  });

  test('member_group by an unknown DN onboards the directory group; a DN the directory lacks is 404', async () => {
    const auth = ldapServer.admin.authorization;
    await createProject(ldapServer, { project_name: 'ldap-team' });
    const dn = slapd.groups['team-a']!.dn;
    const res = await api(ldapServer, 'POST', '/projects/ldap-team/members', {
      auth,
      body: { role_id: 2, member_group: { ldap_group_dn: dn } },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const member = await api(ldapServer, 'GET', res.headers.get('location')!.replace('/api/v2.0', ''), { auth });
    assert.equal(member.body.entity_type, 'g');
    assert.equal(member.body.entity_name, 'team-a');
    const group = await api(ldapServer, 'GET', `/usergroups/${member.body.entity_id}`, { auth });
    assert.equal(group.body.group_type, 1);
    assertError(
      await api(ldapServer, 'POST', '/projects/ldap-team/members', {
        auth,
        body: { role_id: 2, member_group: { ldap_group_dn: `cn=nosuch,${slapd.groupsDn}` } },
      }),
      404,
      'NOT_FOUND',
    );
  });

  test("a directory user's sign-in records their groups, which give them the group's role", async () => {
    const auth = ldapServer.admin.authorization;
    await createProject(ldapServer, { project_name: 'ldap-devs' });
    const add = await api(ldapServer, 'POST', '/projects/ldap-devs/members', {
      auth,
      body: { role_id: 2, member_group: { ldap_group_dn: slapd.groups.developers!.dn } },
    });
    assert.equal(add.status, 201, JSON.stringify(add.body));
    const alice = basicAuth('alice', slapd.users.alice!.password);
    const project = await api(ldapServer, 'GET', '/projects/ldap-devs', { auth: alice });
    assert.equal(project.status, 200, JSON.stringify(project.body));
    assert.equal(project.body.current_user_role_id, 2);
    // frank is in no group: the private project stays closed to him.
    const frank = basicAuth('frank', slapd.users.frank!.password);
    assert.equal((await api(ldapServer, 'GET', '/projects/ldap-devs', { auth: frank })).status, 403);
  });
});
