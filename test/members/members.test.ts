import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api, createUser } from '../helpers/api.js';
import { basicAuth, startServer, type TestServer } from '../helpers/server.js';
import { assertError, auditLines, createProject, dbState } from '../projects/fixtures.js';

let server: TestServer;
let admin: string;
let projectId: number;
const ids: Record<string, number> = {};
const dan = basicAuth('dan', 'Passw0rd1');
const frank = basicAuth('frank', 'Passw0rd1');
const pam = basicAuth('pam', 'Passw0rd1');
/** A username with quotes, a comment marker and markup: allowed by Harbor's username rule. */
const oddName = "o'neil;--<b>";

before(async () => {
  server = await startServer();
  admin = server.admin.authorization;
  for (const name of ['dan', 'erin', 'frank', 'pam', 'gus']) ids[name] = await createUser(server, name);
  projectId = await createProject(server, { project_name: 'team' });
});
after(async () => {
  await server.stop();
});

const memberKeys = ['entity_id', 'entity_name', 'entity_type', 'id', 'project_id', 'role_id', 'role_name'];

describe('members API', () => {
  test('add by username: 201 with Location, then read it as a ProjectMemberEntity', async () => {
    const res = await api(server, 'POST', '/projects/team/members', {
      auth: admin,
      body: { role_id: 2, member_user: { username: 'dan' } },
    });
    assert.equal(res.status, 201);
    const location = res.headers.get('location')!;
    assert.match(location, /^\/api\/v2\.0\/projects\/team\/members\/\d+$/);
    const got = await api(server, 'GET', location.replace('/api/v2.0', ''), { auth: admin });
    assert.equal(got.status, 200);
    assert.deepEqual(Object.keys(got.body).sort(), memberKeys);
    assert.deepEqual(
      { ...got.body, id: 0 },
      {
        id: 0,
        project_id: projectId,
        entity_name: 'dan',
        role_name: 'developer',
        role_id: 2,
        entity_id: ids.dan,
        entity_type: 'u',
      },
    );
    assert.ok((await auditLines(server, 'resource_type=member')).includes('admin create member team:dan'));
  });

  test('add by user_id through the project id; the Location names the project as the request did', async () => {
    const res = await api(server, 'POST', `/projects/${projectId}/members`, {
      auth: admin,
      body: { role_id: 4, member_user: { user_id: ids.erin } },
    });
    assert.equal(res.status, 201);
    assert.match(res.headers.get('location')!, new RegExp(`^/api/v2\\.0/projects/${projectId}/members/\\d+$`));
    const got = await api(server, 'GET', res.headers.get('location')!.replace('/api/v2.0', ''), { auth: admin });
    assert.equal(got.body.entity_name, 'erin');
    assert.equal(got.body.role_name, 'maintainer');
  });

  test('list: paging headers, entityname filter, sorted by name', async () => {
    const all = await api<any[]>(server, 'GET', '/projects/team/members', { auth: admin });
    assert.equal(all.status, 200);
    assert.equal(all.headers.get('x-total-count'), '3');
    assert.deepEqual(
      all.body.map((m) => `${m.entity_name}:${m.role_id}`),
      ['admin:1', 'dan:2', 'erin:4'],
    );
    const page = await api<any[]>(server, 'GET', '/projects/team/members?page=2&page_size=1', { auth: admin });
    assert.deepEqual(
      page.body.map((m) => m.entity_name),
      ['dan'],
    );
    assert.match(page.headers.get('link')!, /page=1&page_size=1>; rel="prev"/);
    assert.match(page.headers.get('link')!, /page=3&page_size=1>; rel="next"/);
    const filtered = await api<any[]>(server, 'GET', '/projects/team/members?entityname=ri', { auth: admin });
    assert.deepEqual(
      filtered.body.map((m) => m.entity_name),
      ['erin'],
    );
    assert.equal(filtered.headers.get('x-total-count'), '1');
    assertError(await api(server, 'GET', '/projects/team/members?page_size=500', { auth: admin }), 400, 'BAD_REQUEST');
  });

  test('the same user twice is 409, by name or by id, and nothing changes', async () => {
    const before = await dbState(server);
    assertError(
      await api(server, 'POST', '/projects/team/members', { auth: admin, body: { role_id: 3, member_user: { username: 'dan' } } }),
      409,
      'CONFLICT',
    );
    assertError(
      await api(server, 'POST', '/projects/team/members', { auth: admin, body: { role_id: 2, member_user: { user_id: ids.dan } } }),
      409,
      'CONFLICT',
    );
    assert.deepEqual(await dbState(server), before);
  });

  test('unknown users are 404; bad roles, groups and bodies are 400; nothing changes', async () => {
    const before = await dbState(server);
    assertError(
      await api(server, 'POST', '/projects/team/members', { auth: admin, body: { role_id: 2, member_user: { username: 'ghost' } } }),
      404,
      'NOT_FOUND',
    );
    assertError(
      await api(server, 'POST', '/projects/team/members', { auth: admin, body: { role_id: 2, member_user: { user_id: 999999 } } }),
      404,
      'NOT_FOUND',
    );
    const bad: unknown[] = [
      { role_id: 9, member_user: { username: 'gus' } },
      { role_id: 0, member_user: { username: 'gus' } },
      { role_id: '2', member_user: { username: 'gus' } },
      { member_user: { username: 'gus' } },
      { role_id: 2 },
      { role_id: 2, member_user: {} },
      { role_id: 2, member_user: 'gus' },
      { role_id: 2, member_user: { user_id: -3 } },
      { role_id: 2, member_user: { username: 7 } },
    ];
    for (const body of bad) {
      assertError(await api(server, 'POST', '/projects/team/members', { auth: admin, body }), 400, 'BAD_REQUEST', JSON.stringify(body));
    }
    const group = await api(server, 'POST', '/projects/team/members', {
      auth: admin,
      body: { role_id: 2, member_group: { group_name: 'devs', group_type: 1 } },
    });
    assertError(group, 404, 'NOT_FOUND');
    assert.match((group.body as any).errors[0].message, /user group devs does not exist/);
    assertError(
      await api(server, 'POST', '/projects/team/members', { auth: admin, rawBody: '{"role_id": 2, "member_user": {' }),
      400,
      'BAD_REQUEST',
    );
    assertError(
      await api(server, 'POST', '/projects/nosuch/members', { auth: admin, body: { role_id: 2, member_user: { username: 'gus' } } }),
      404,
      'NOT_FOUND',
    );
    assert.deepEqual(await dbState(server), before);
  });

  test('PUT changes the role (RoleRequest); bad roles and unknown members change nothing', async () => {
    const danMember = (await api<any[]>(server, 'GET', '/projects/team/members?entityname=dan', { auth: admin })).body[0];
    assert.equal((await api(server, 'PUT', `/projects/team/members/${danMember.id}`, { auth: admin, body: { role_id: 3 } })).status, 200);
    const got = await api(server, 'GET', `/projects/team/members/${danMember.id}`, { auth: admin });
    assert.equal(got.body.role_id, 3);
    assert.equal(got.body.role_name, 'guest');

    const before = await dbState(server);
    assertError(
      await api(server, 'PUT', `/projects/team/members/${danMember.id}`, { auth: admin, body: { role_id: 9 } }),
      400,
      'BAD_REQUEST',
    );
    assertError(await api(server, 'PUT', `/projects/team/members/${danMember.id}`, { auth: admin, body: {} }), 400, 'BAD_REQUEST');
    assertError(
      await api(server, 'PUT', `/projects/team/members/${danMember.id}`, { auth: admin, rawBody: '{"role_id":' }),
      400,
      'BAD_REQUEST',
    );
    assertError(await api(server, 'PUT', '/projects/team/members/999999', { auth: admin, body: { role_id: 2 } }), 404, 'NOT_FOUND');
    assertError(await api(server, 'GET', '/projects/team/members/abc', { auth: admin }), 400, 'BAD_REQUEST');
    assertError(await api(server, 'GET', '/projects/team/members/999999', { auth: admin }), 404, 'NOT_FOUND');
    assert.deepEqual(await dbState(server), before);
    assert.ok((await auditLines(server, 'operation=update')).includes('admin update member team:dan'));
  });

  test('a member of another project is not reachable through this one', async () => {
    await createProject(server, { project_name: 'other' });
    const otherAdmin = (await api<any[]>(server, 'GET', '/projects/other/members', { auth: admin })).body[0];
    assertError(await api(server, 'GET', `/projects/team/members/${otherAdmin.id}`, { auth: admin }), 404, 'NOT_FOUND');
    const before = await dbState(server);
    assertError(await api(server, 'DELETE', `/projects/team/members/${otherAdmin.id}`, { auth: admin }), 404, 'NOT_FOUND');
    assert.deepEqual(await dbState(server), before);
  });

  test('rights follow the RBAC table: members list and read, Project Admins manage, outsiders are refused', async () => {
    assert.equal((await api(server, 'GET', '/projects/team/members', { auth: dan })).status, 200, 'a guest lists members');
    const before = await dbState(server);
    assertError(
      await api(server, 'POST', '/projects/team/members', { auth: dan, body: { role_id: 2, member_user: { username: 'gus' } } }),
      403,
      'FORBIDDEN',
    );
    assertError(await api(server, 'GET', '/projects/team/members', { auth: frank }), 403, 'FORBIDDEN');
    assertError(await api(server, 'GET', '/projects/team/members'), 401, 'UNAUTHORIZED');
    assert.deepEqual(await dbState(server), before);

    assert.equal(
      (await api(server, 'POST', '/projects/team/members', { auth: admin, body: { role_id: 1, member_user: { username: 'pam' } } })).status,
      201,
    );
    const added = await api(server, 'POST', '/projects/team/members', {
      auth: pam,
      body: { role_id: 5, member_user: { username: 'gus' } },
    });
    assert.equal(added.status, 201, 'a Project Admin who is no system admin adds members');
    const summary = await api(server, 'GET', '/projects/team/summary', { auth: pam });
    assert.equal(summary.body.project_admin_count, 2);
    assert.equal(summary.body.guest_count, 1);
    assert.equal(summary.body.maintainer_count, 1);
    assert.equal(summary.body.limited_guest_count, 1);
  });

  test('DELETE removes a member, who then loses access', async () => {
    const gus = (await api<any[]>(server, 'GET', '/projects/team/members?entityname=gus', { auth: admin })).body[0];
    const gusAuth = basicAuth('gus', 'Passw0rd1');
    assert.equal((await api(server, 'GET', '/projects/team', { auth: gusAuth })).status, 200);
    assert.equal((await api(server, 'DELETE', `/projects/team/members/${gus.id}`, { auth: pam })).status, 200);
    assertError(await api(server, 'GET', `/projects/team/members/${gus.id}`, { auth: admin }), 404, 'NOT_FOUND');
    assertError(await api(server, 'GET', '/projects/team', { auth: gusAuth }), 403, 'FORBIDDEN');
    assert.ok((await auditLines(server, 'operation=delete')).includes('pam delete member team:gus'));
  });

  test('names and comments that look like SQL or HTML are stored and returned literally', async () => {
    const comment = '<script>alert("x")</script>\'); DROP TABLE project_members;--';
    const res = await api(server, 'POST', '/users', { auth: admin, body: { username: oddName, password: 'Passw0rd1', comment } });
    assert.equal(res.status, 201);
    const userId = Number(res.headers.get('location')!.split('/').pop());
    assert.equal((await api(server, 'GET', `/users/${userId}`, { auth: admin })).body.comment, comment);

    assert.equal(
      (await api(server, 'POST', '/projects/team/members', { auth: admin, body: { role_id: 2, member_user: { username: oddName } } }))
        .status,
      201,
    );
    const found = await api<any[]>(server, 'GET', `/projects/team/members?entityname=${encodeURIComponent("o'neil;--<")}`, { auth: admin });
    assert.deepEqual(
      found.body.map((m) => m.entity_name),
      [oddName],
    );
    for (const fragment of ['%', '_', "' OR '1'='1"]) {
      const none = await api<any[]>(server, 'GET', `/projects/team/members?entityname=${encodeURIComponent(fragment)}`, { auth: admin });
      assert.equal(none.headers.get('x-total-count'), '0', fragment);
    }
    const all = await api<any[]>(server, 'GET', '/projects/team/members?page_size=100', { auth: admin });
    assert.ok(all.body.some((m) => m.entity_name === oddName));
    assert.ok((await auditLines(server, 'resource_type=member')).includes(`admin create member team:${oddName}`));
  });
});
