import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api, createUser } from '../helpers/api.js';
import { pushImage } from '../helpers/oci.js';
import { basicAuth, startServer, type TestServer } from '../helpers/server.js';
import { assertError, auditLines, createProject, dbState } from '../projects/fixtures.js';

let server: TestServer;
let admin: string;
const users: Record<string, number> = {};
const groups: Record<string, number> = {};
const auth = (name: string) => basicAuth(name, 'Passw0rd1');

async function createGroup(body: Record<string, unknown>): Promise<number> {
  const res = await api(server, 'POST', '/usergroups', { auth: admin, body });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return Number(res.headers.get('location')!.split('/').pop());
}

async function addMember(project: string, body: Record<string, unknown>): Promise<number> {
  const res = await api(server, 'POST', `/projects/${project}/members`, { auth: admin, body });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return Number(res.headers.get('location')!.split('/').pop());
}

/** The caller's role ids in a project, as the project view shows them. */
async function rolesIn(project: string, user: string): Promise<{ status: number; id?: number; ids?: number[] }> {
  const res = await api(server, 'GET', `/projects/${project}`, { auth: auth(user) });
  if (res.status !== 200) return { status: res.status };
  return { status: 200, id: res.body.current_user_role_id, ids: res.body.current_user_role_ids };
}

before(async () => {
  server = await startServer();
  admin = server.admin.authorization;
  for (const name of ['gina', 'hank', 'ivy', 'outsider']) users[name] = await createUser(server, name);
  groups.devs = await createGroup({ group_name: 'devs', group_type: 3 });
  groups.ops = await createGroup({ group_name: 'ops', group_type: 1, ldap_group_dn: 'cn=ops,ou=groups,dc=example,dc=org' });
  groups.qa = await createGroup({ group_name: 'qa', group_type: 2 });
  for (const name of ['squad', 'other', 'pushers']) await createProject(server, { project_name: name });
});
after(async () => {
  await server.stop();
});

describe('groups as project members', () => {
  const mids: Record<string, number> = {};

  test('add by id: 201 with Location; the member reads as a group (entity_type g, the group name); audited', async () => {
    const res = await api(server, 'POST', '/projects/squad/members', {
      auth: admin,
      body: { role_id: 2, member_group: { id: groups.devs } },
    });
    assert.equal(res.status, 201);
    assert.match(res.headers.get('location')!, /^\/api\/v2\.0\/projects\/squad\/members\/\d+$/);
    mids.devs = Number(res.headers.get('location')!.split('/').pop());
    const got = await api(server, 'GET', `/projects/squad/members/${mids.devs}`, { auth: admin });
    assert.equal(got.status, 200);
    assert.deepEqual(
      { ...got.body, project_id: 0 },
      {
        id: mids.devs,
        project_id: 0,
        entity_name: 'devs',
        role_name: 'developer',
        role_id: 2,
        entity_id: groups.devs,
        entity_type: 'g',
      },
    );
    assert.ok((await auditLines(server, 'resource_type=member')).includes('admin create member squad:devs'));
  });

  test('add by LDAP DN (any case) and by name and type of a known group', async () => {
    mids.ops = await addMember('squad', { role_id: 4, member_group: { ldap_group_dn: 'CN=Ops,OU=Groups,DC=example,DC=org' } });
    mids.qa = await addMember('squad', { role_id: 3, member_group: { group_name: 'qa', group_type: 2 } });
    const list = await api<any[]>(server, 'GET', `/projects/squad/members`, { auth: admin });
    assert.deepEqual(
      list.body.map((m) => `${m.entity_type}:${m.entity_name}:${m.role_name}`),
      ['u:admin:projectAdmin', 'g:devs:developer', 'g:ops:maintainer', 'g:qa:guest'],
    );
    assert.equal(list.headers.get('x-total-count'), '4');
  });

  test('list: entityname matches group names too; paging counts groups', async () => {
    const filtered = await api<any[]>(server, 'GET', '/projects/squad/members?entityname=OP', { auth: admin });
    assert.deepEqual(
      filtered.body.map((m) => m.entity_name),
      ['ops'],
    );
    assert.equal(filtered.headers.get('x-total-count'), '1');
    const page = await api<any[]>(server, 'GET', '/projects/squad/members?page=2&page_size=2', { auth: admin });
    assert.deepEqual(
      page.body.map((m) => m.entity_name),
      ['ops', 'qa'],
    );
  });

  test('refusals: both or neither of member_user/member_group 400, unknown group 404, twice 409; nothing changes', async () => {
    const before = await dbState(server);
    const bad: unknown[] = [
      { role_id: 2, member_user: { username: 'gina' }, member_group: { id: groups.devs } },
      { role_id: 2 },
      { role_id: 2, member_group: {} },
      { role_id: 2, member_group: { id: 0, group_name: '' } },
      { role_id: 2, member_group: 'devs' },
      { role_id: 2, member_group: { id: 'x' } },
      { role_id: 2, member_group: { id: -4 } },
      { role_id: 2, member_group: { group_name: 'devs', group_type: 9 } },
      { role_id: 2, member_group: { ldap_group_dn: 'not a dn' } },
      { role_id: 9, member_group: { id: groups.devs } },
    ];
    for (const body of bad) {
      assertError(await api(server, 'POST', '/projects/other/members', { auth: admin, body }), 400, 'BAD_REQUEST', JSON.stringify(body));
    }
    const neither = await api(server, 'POST', '/projects/other/members', { auth: admin, body: { role_id: 2 } });
    assert.equal((neither.body as any).errors[0].message, 'at least one of member_user or member_group must be provided');
    const notFound: unknown[] = [
      { role_id: 2, member_group: { id: 999999 } },
      { role_id: 2, member_group: { group_name: 'nobody' } },
      { role_id: 2, member_group: { group_name: 'devs', group_type: 1 } },
      // Outside ldap_auth an unknown DN cannot be looked up.
      { role_id: 2, member_group: { ldap_group_dn: 'cn=unknown,dc=example,dc=org' } },
    ];
    for (const body of notFound) {
      assertError(await api(server, 'POST', '/projects/other/members', { auth: admin, body }), 404, 'NOT_FOUND', JSON.stringify(body));
    }
    const twice = await api(server, 'POST', '/projects/squad/members', {
      auth: admin,
      body: { role_id: 1, member_group: { group_name: 'devs', group_type: 3 } },
    });
    assertError(twice, 409, 'CONFLICT');
    assert.match((twice.body as any).errors[0].message, /^The project member specified already exist/);
    assert.deepEqual(await dbState(server), before);
  });

  test('in oidc_auth, a group named by an unknown OIDC name is created, as Harbor onboards it', async () => {
    await server.berth.settings.write({ auth_mode: 'oidc_auth' });
    try {
      const mid = await addMember('other', { role_id: 3, member_group: { group_name: 'newcomers' } });
      const got = await api(server, 'GET', `/projects/other/members/${mid}`, { auth: admin });
      assert.equal(got.body.entity_type, 'g');
      assert.equal(got.body.entity_name, 'newcomers');
      const group = await api(server, 'GET', `/usergroups/${got.body.entity_id}`, { auth: admin });
      assert.deepEqual({ ...group.body, id: 0 }, { id: 0, group_name: 'newcomers', group_type: 3, ldap_group_dn: '' });
    } finally {
      await server.berth.settings.write({ auth_mode: 'db_auth' });
    }
  });

  test('PUT and DELETE work on a group member, audited', async () => {
    const put = await api(server, 'PUT', `/projects/squad/members/${mids.qa}`, { auth: admin, body: { role_id: 5 } });
    assert.equal(put.status, 200);
    assert.equal((await api(server, 'GET', `/projects/squad/members/${mids.qa}`, { auth: admin })).body.role_name, 'limitedGuest');
    const del = await api(server, 'DELETE', `/projects/squad/members/${mids.qa}`, { auth: admin });
    assert.equal(del.status, 200);
    assertError(await api(server, 'GET', `/projects/squad/members/${mids.qa}`, { auth: admin }), 404, 'NOT_FOUND');
    const lines = await auditLines(server, 'resource_type=member');
    assert.ok(lines.includes('admin update member squad:qa'), lines.join('\n'));
    assert.ok(lines.includes('admin delete member squad:qa'), lines.join('\n'));
  });

  test("a user's role is the strongest of their own and their groups' roles", async () => {
    // gina: developer through devs only.
    await server.berth.userGroups.setUserGroups(users.gina, 3, [{ name: 'devs' }]);
    assert.deepEqual(await rolesIn('squad', 'gina'), { status: 200, id: 2, ids: [2] });
    // ... and a guest herself: developer still wins; both are listed.
    await addMember('squad', { role_id: 3, member_user: { username: 'gina' } });
    assert.deepEqual(await rolesIn('squad', 'gina'), { status: 200, id: 2, ids: [2, 3] });
    // ... and maintainer through the LDAP group ops as well.
    await server.berth.userGroups.setUserGroups(users.gina, 1, [{ name: 'ops', ldapDn: 'cn=ops,ou=groups,dc=example,dc=org' }]);
    assert.deepEqual(await rolesIn('squad', 'gina'), { status: 200, id: 4, ids: [2, 3, 4] });
    const permissions = await api<any[]>(
      server,
      'GET',
      `/users/current/permissions?scope=/project/${(await api(server, 'GET', '/projects/squad', { auth: admin })).body.project_id}&relative=true`,
      {
        auth: auth('gina'),
      },
    );
    const pairs = new Set(permissions.body.map((p) => `${p.resource}:${p.action}`));
    assert.ok(pairs.has('repository:delete'), 'maintainer may delete repositories');
    assert.ok(!pairs.has('member:create'), 'a maintainer may not add members');
    // hank: project admin himself, guest through devs: project admin.
    await addMember('squad', { role_id: 1, member_user: { username: 'hank' } });
    await server.berth.userGroups.setUserGroups(users.hank, 3, [{ name: 'devs' }]);
    assert.deepEqual(await rolesIn('squad', 'hank'), { status: 200, id: 1, ids: [1, 2] });
  });

  test("projects reached through a group are listed as the user's own (private projects included)", async () => {
    const list = await api<any[]>(server, 'GET', '/projects?page_size=100', { auth: auth('gina') });
    assert.deepEqual(list.body.map((p) => p.name).sort(), ['library', 'squad']);
    const squad = list.body.find((p) => p.name === 'squad');
    assert.equal(squad.current_user_role_id, 4);
    const outsider = await api<any[]>(server, 'GET', '/projects?page_size=100', { auth: auth('outsider') });
    assert.deepEqual(
      outsider.body.map((p) => p.name),
      ['library'],
    );
  });

  test("a project admin through a group sees the project's audit log", async () => {
    await addMember('other', { role_id: 1, member_group: { id: groups.ops } });
    const logs = await api<any[]>(server, 'GET', '/audit-logs?page_size=100', { auth: auth('gina') });
    assert.equal(logs.status, 200);
    assert.ok(
      logs.body.some((l) => l.resource.startsWith('other:')),
      JSON.stringify(logs.body),
    );
    const none = await api<any[]>(server, 'GET', '/audit-logs?page_size=100', { auth: auth('outsider') });
    assert.deepEqual(none.body, []);
  });

  test('leaving the group, or the group leaving the project, takes the access away at once', async () => {
    await server.berth.userGroups.setUserGroups(users.gina, 1, []);
    assert.deepEqual(await rolesIn('squad', 'gina'), { status: 200, id: 2, ids: [2, 3] });
    const res = await api(server, 'DELETE', `/projects/squad/members/${mids.devs}`, { auth: admin });
    assert.equal(res.status, 200);
    assert.deepEqual(await rolesIn('squad', 'gina'), { status: 200, id: 3, ids: [3] });
    assert.deepEqual(await rolesIn('squad', 'hank'), { status: 200, id: 1, ids: [1] });
  });
});

describe('/v2 through a group', () => {
  test('a user whose only access is through a group pushes and pulls with Basic credentials; without the group, 401/403', async () => {
    const mid = await addMember('pushers', { role_id: 2, member_group: { id: groups.qa } });
    await server.berth.userGroups.setUserGroups(users.ivy, 2, [{ name: 'qa' }]);
    const headers = { authorization: auth('ivy') };
    const pushed = await pushImage(server.url, 'pushers/app', 'v1', { headers });
    const pulled = await fetch(`${server.url}/v2/pushers/app/manifests/v1`, {
      headers: { ...headers, accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    assert.equal(pulled.status, 200);
    assert.equal(pulled.headers.get('docker-content-digest'), pushed.digest);

    // Out of the group: the next request is refused (the role is read per request, not cached).
    await server.berth.userGroups.setUserGroups(users.ivy, 2, []);
    const refused = await fetch(`${server.url}/v2/pushers/app/blobs/uploads/`, { method: 'POST', headers });
    assert.equal(refused.status, 403);
    const unseen = await fetch(`${server.url}/v2/pushers/app/manifests/v1`, { headers });
    assert.equal(unseen.status, 403);

    // Back in the group, then the group leaves the project.
    await server.berth.userGroups.setUserGroups(users.ivy, 2, [{ name: 'qa' }]);
    assert.equal((await fetch(`${server.url}/v2/pushers/app/manifests/v1`, { headers })).status, 200);
    assert.equal((await api(server, 'DELETE', `/projects/pushers/members/${mid}`, { auth: admin })).status, 200);
    assert.equal((await fetch(`${server.url}/v2/pushers/app/blobs/uploads/`, { method: 'POST', headers })).status, 403);
  });
});
