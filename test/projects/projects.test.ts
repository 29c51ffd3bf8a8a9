import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api, createUser } from '../helpers/api.js';
import { pushImage, types } from '../helpers/oci.js';
import { basicAuth, startServer, type TestServer } from '../helpers/server.js';
import { assertError, auditLines, createProject, dbState } from './fixtures.js';

let server: TestServer;
let admin: string;
const bob = basicAuth('bob', 'Passw0rd1');
const carol = basicAuth('carol', 'Passw0rd1');

before(async () => {
  server = await startServer();
  admin = server.admin.authorization;
  await createUser(server, 'bob');
  await createUser(server, 'carol');
});
after(async () => {
  await server.stop();
});

const projectKeys = [
  'creation_time',
  'current_user_role_id',
  'current_user_role_ids',
  'cve_allowlist',
  'deleted',
  'metadata',
  'name',
  'owner_id',
  'owner_name',
  'project_id',
  'repo_count',
  'togglable',
  'update_time',
];

describe('projects API: create and read', () => {
  test('admin creates a project: 201 with Location, then reads it by id and by name with Harbor field names', async () => {
    const res = await api(server, 'POST', '/projects', {
      auth: admin,
      body: { project_name: 'alpha', metadata: { public: 'false', auto_scan: 'true' }, storage_limit: 1024 },
    });
    assert.equal(res.status, 201);
    const location = res.headers.get('location')!;
    assert.match(location, /^\/api\/v2\.0\/projects\/\d+$/);
    const id = Number(location.split('/').pop());

    const byId = await api(server, 'GET', `/projects/${id}`, { auth: admin });
    assert.equal(byId.status, 200);
    assert.deepEqual(Object.keys(byId.body).sort(), projectKeys);
    assert.equal(byId.body.project_id, id);
    assert.equal(byId.body.name, 'alpha');
    assert.equal(byId.body.owner_name, 'admin');
    assert.equal(byId.body.owner_id, 1);
    assert.deepEqual(byId.body.metadata, { public: 'false', auto_scan: 'true' });
    assert.equal(byId.body.current_user_role_id, 1, 'the creator is Project Admin');
    assert.deepEqual(byId.body.current_user_role_ids, [1]);
    assert.equal(byId.body.repo_count, 0);
    assert.equal(byId.body.deleted, false);
    assert.equal(byId.body.togglable, true);
    assert.equal('registry_id' in byId.body, false, 'Harbor leaves registry_id out for a project that is not a proxy cache');
    assert.deepEqual(byId.body.cve_allowlist.items, []);
    assert.ok(!Number.isNaN(Date.parse(byId.body.creation_time)));

    const byName = await api(server, 'GET', '/projects/alpha', { auth: admin });
    assert.equal(byName.status, 200);
    assert.equal(byName.body.project_id, id);

    assert.ok((await auditLines(server, 'resource_type=project')).includes('admin create project alpha'));
  });

  test('X-Resource-Name-In-Location puts the name in Location', async () => {
    const res = await api(server, 'POST', '/projects', {
      auth: admin,
      body: { project_name: 'beta', public: true },
      headers: { 'x-resource-name-in-location': 'true' },
    });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('location'), '/api/v2.0/projects/beta');
    const got = await api(server, 'GET', '/projects/beta', { auth: admin });
    assert.equal(got.body.metadata.public, 'true', 'the deprecated `public` field sets metadata.public');
  });

  test('HEAD /projects?project_name= answers 200 or 404, and needs the name', async () => {
    assert.equal((await api(server, 'HEAD', '/projects?project_name=alpha', { auth: admin })).status, 200);
    assert.equal((await api(server, 'HEAD', '/projects?project_name=nope', { auth: admin })).status, 404);
    assert.equal((await api(server, 'HEAD', '/projects', { auth: admin })).status, 400);
    assert.equal((await api(server, 'HEAD', '/projects?project_name=library')).status, 200, 'a public project, anonymously');
  });

  test('an all-digit name is a name only with X-Is-Resource-Name: true', async () => {
    const id = await createProject(server, { project_name: '4242' });
    assert.equal((await api(server, 'GET', '/projects/4242', { auth: admin })).status, 404, 'read as project id 4242');
    const named = await api(server, 'GET', '/projects/4242', { auth: admin, headers: { 'x-is-resource-name': 'true' } });
    assert.equal(named.status, 200);
    assert.equal(named.body.project_id, id);
    assert.equal((await api(server, 'GET', `/projects/${id}`, { auth: admin })).body.name, '4242');
  });

  test('any signed-in user may create a project and becomes its owner and Project Admin; anonymous may not', async () => {
    const res = await api(server, 'POST', '/projects', { auth: carol, body: { project_name: 'carols', storage_limit: 5 } });
    assert.equal(res.status, 201);
    const got = await api(server, 'GET', '/projects/carols', { auth: carol });
    assert.equal(got.body.owner_name, 'carol');
    assert.deepEqual(got.body.current_user_role_ids, [1]);
    assert.equal(got.body.togglable, true);
    const members = await api<any[]>(server, 'GET', '/projects/carols/members', { auth: carol });
    assert.deepEqual(members.body.map((m) => `${m.entity_name}:${m.role_name}`), ['carol:projectAdmin']);
    const summary = await api(server, 'GET', '/projects/carols/summary', { auth: carol });
    assert.deepEqual(summary.body.quota, { hard: { storage: -1 }, used: { storage: 0 } }, 'only admins choose storage_limit');

    const before = await dbState(server);
    assertError(await api(server, 'POST', '/projects', { body: { project_name: 'anon' } }), 401, 'UNAUTHORIZED');
    assert.deepEqual(await dbState(server), before);
  });
});

describe('projects API: listing and visibility', () => {
  test('paging headers, filters, q and sort', async () => {
    for (let i = 1; i <= 5; i += 1) await createProject(server, { project_name: `plist-${i}`, metadata: { public: String(i % 2 === 1) } });
    const first = await api<any[]>(server, 'GET', '/projects?name=plist&page=1&page_size=2', { auth: admin });
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('x-total-count'), '5');
    assert.deepEqual(first.body.map((p) => p.name), ['plist-1', 'plist-2'], 'by name unless told otherwise');
    assert.match(first.headers.get('link')!, /page=2&page_size=2>; rel="next"/);
    assert.doesNotMatch(first.headers.get('link')!, /rel="prev"/);
    const middle = await api<any[]>(server, 'GET', '/projects?name=plist&page=2&page_size=2', { auth: admin });
    assert.match(middle.headers.get('link')!, /rel="prev".*rel="next"/);
    const last = await api<any[]>(server, 'GET', '/projects?name=plist&page=3&page_size=2', { auth: admin });
    assert.deepEqual(last.body.map((p) => p.name), ['plist-5']);
    assert.doesNotMatch(last.headers.get('link')!, /rel="next"/);

    const q = await api<any[]>(server, 'GET', `/projects?q=${encodeURIComponent('name=~plist')}&sort=-name&page_size=100`, { auth: admin });
    assert.deepEqual(q.body.map((p) => p.name), ['plist-5', 'plist-4', 'plist-3', 'plist-2', 'plist-1']);
    const publicOnes = await api<any[]>(server, 'GET', '/projects?name=plist&public=true', { auth: admin });
    assert.deepEqual(publicOnes.body.map((p) => p.name), ['plist-1', 'plist-3', 'plist-5']);
    const byOwner = await api<any[]>(server, 'GET', '/projects?owner=carol', { auth: admin });
    assert.deepEqual(byOwner.body.map((p) => p.name), ['carols']);
    const exact = await api<any[]>(server, 'GET', `/projects?q=${encodeURIComponent('name=plist-2')}`, { auth: admin });
    assert.deepEqual(exact.body.map((p) => p.name), ['plist-2']);

    const bare = await api<any[]>(server, 'GET', '/projects?name=plist-1&with_detail=false', { auth: admin });
    assert.equal('metadata' in bare.body[0], false, 'with_detail=false leaves metadata out');
    assert.equal(bare.body[0].repo_count, 0);

    for (const bad of ['page_size=101', 'page=0', 'public=maybe', 'with_detail=yes', `q=${encodeURIComponent('bogus=1')}`, 'sort=bogus']) {
      assertError(await api(server, 'GET', `/projects?${bad}`, { auth: admin }), 400, 'BAD_REQUEST', bad);
    }
  });

  test('SQL-looking filters match literally and change nothing', async () => {
    const before = await dbState(server);
    for (const name of ["' OR '1'='1", "x'; DROP TABLE projects;--", '%', '_']) {
      const res = await api<any[]>(server, 'GET', `/projects?name=${encodeURIComponent(name)}`, { auth: admin });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-total-count'), '0', name);
    }
    assert.deepEqual(await dbState(server), before);
  });

  test('non-members see public projects and their own; a private one is 403 to them, 401 to anonymous', async () => {
    await createProject(server, { project_name: 'secret' });
    const bobs = await api<any[]>(server, 'GET', '/projects?page_size=100', { auth: bob });
    const names = bobs.body.map((p) => p.name);
    assert.ok(names.includes('library') && names.includes('beta'));
    assert.ok(!names.includes('secret') && !names.includes('alpha'));
    assert.equal(bobs.headers.get('x-total-count'), String(names.length));
    assert.equal(bobs.body.find((p) => p.name === 'library').current_user_role_id, 0);

    assertError(await api(server, 'GET', '/projects/secret', { auth: bob }), 403, 'FORBIDDEN');
    assertError(await api(server, 'GET', '/projects/secret'), 401, 'UNAUTHORIZED');
    assertError(await api(server, 'GET', '/projects/no-such-project', { auth: bob }), 404, 'NOT_FOUND');
    assert.equal((await api(server, 'HEAD', '/projects?project_name=secret', { auth: bob })).status, 403);
    assertError(await api(server, 'GET', '/projects/secret/summary', { auth: bob }), 403, 'FORBIDDEN');

    const anonymous = await api<any[]>(server, 'GET', '/projects?page_size=100');
    assert.ok(anonymous.body.every((p) => p.metadata.public === 'true'));
    const anonymousPrivate = await api<any[]>(server, 'GET', '/projects?public=false');
    assert.deepEqual(anonymousPrivate.body, []);
    assert.equal(anonymousPrivate.headers.get('x-total-count'), '0');

    const bobId = Number((await api<any[]>(server, 'GET', '/users/search?username=bob', { auth: admin })).body[0].user_id);
    assert.equal((await api(server, 'POST', '/projects/secret/members', { auth: admin, body: { role_id: 3, member_user: { user_id: bobId } } })).status, 201);
    const asGuest = await api(server, 'GET', '/projects/secret', { auth: bob });
    assert.equal(asGuest.status, 200);
    assert.equal(asGuest.body.current_user_role_id, 3);
    assert.equal(asGuest.body.togglable, false);
    const privateOnes = await api<any[]>(server, 'GET', '/projects?public=false', { auth: bob });
    assert.deepEqual(privateOnes.body.map((p) => p.name), ['secret']);
  });
});

describe('projects API: update, summary, delete', () => {
  test('PUT merges metadata, toggles public, refuses a rename; members without update rights get 403', async () => {
    const before = (await api(server, 'GET', '/projects/alpha', { auth: admin })).body;
    const res = await api(server, 'PUT', '/projects/alpha', { auth: admin, body: { metadata: { public: 'true', severity: 'HIGH' } } });
    assert.equal(res.status, 200);
    const after = (await api(server, 'GET', '/projects/alpha', { auth: admin })).body;
    assert.deepEqual(after.metadata, { public: 'true', auto_scan: 'true', severity: 'high' });
    assert.ok(after.update_time >= before.update_time);
    assert.equal((await api(server, 'GET', '/projects/alpha')).status, 200, 'now public');

    const state = await dbState(server);
    assertError(await api(server, 'PUT', '/projects/alpha', { auth: admin, body: { project_name: 'renamed' } }), 400, 'BAD_REQUEST');
    assertError(await api(server, 'PUT', '/projects/alpha', { auth: admin, body: { metadata: { auto_scan: 'perhaps' } } }), 400, 'BAD_REQUEST');
    assertError(await api(server, 'PUT', '/projects/alpha', { auth: bob, body: { metadata: { public: 'false' } } }), 403, 'FORBIDDEN');
    assertError(await api(server, 'PUT', '/projects/alpha', { body: { metadata: { public: 'false' } } }), 401, 'UNAUTHORIZED');
    assertError(await api(server, 'PUT', '/projects/alpha', { auth: admin, rawBody: '{"metadata": ' }), 400, 'BAD_REQUEST');
    assert.deepEqual(await dbState(server), state);

    assert.equal((await api(server, 'PUT', '/projects/alpha', { auth: admin, body: { project_name: 'alpha', metadata: { public: 'false' } } })).status, 200);
    assert.ok((await auditLines(server, 'operation=update')).includes('admin update project alpha'));
  });

  test('summary shows repo count, members per role and quota to those who may read them', async () => {
    const summary = await api(server, 'GET', '/projects/alpha/summary', { auth: admin });
    assert.equal(summary.status, 200);
    assert.deepEqual(summary.body, {
      repo_count: 0,
      project_admin_count: 1,
      maintainer_count: 0,
      developer_count: 0,
      guest_count: 0,
      limited_guest_count: 0,
      quota: { hard: { storage: 1024 }, used: { storage: 0 } },
    });
    const anonymous = await api(server, 'GET', '/projects/library/summary');
    assert.equal(anonymous.status, 200);
    assert.deepEqual(Object.keys(anonymous.body), ['repo_count']);
  });

  test("the summary's storage used counts each blob and manifest the project holds once", async () => {
    await createProject(server, { project_name: 'usage' });
    const usedOf = async () => (await api(server, 'GET', '/projects/usage/summary', { auth: admin })).body.quota.used.storage;
    assert.equal(await usedOf(), 0);
    const first = await pushImage(server.url, 'usage/one', 'v1', { headers: server.admin, layer: 'a shared layer' });
    // Blobs and the manifest's own bytes (quotas count manifests, as Harbor does).
    const firstBytes = first.config.size + first.layer.size + first.size;
    assert.equal(await usedOf(), firstBytes);
    // The same config, layer and manifest in a second repository: stored once, counted once.
    await pushImage(server.url, 'usage/two', 'v1', { headers: server.admin, layer: 'a shared layer' });
    assert.equal(await usedOf(), firstBytes);
    const other = await pushImage(server.url, 'usage/two', 'v2', { headers: server.admin, layer: 'a layer of its own, longer' });
    assert.equal(await usedOf(), firstBytes + other.layer.size + other.size);
    // Another project's blobs are not this one's.
    await pushImage(server.url, 'alpha/elsewhere', 'v1', { headers: server.admin, layer: 'somewhere else entirely' });
    assert.equal(await usedOf(), firstBytes + other.layer.size + other.size);
  });

  test('a project holding a repository cannot be deleted (412) and stays; once empty it can', async () => {
    const id = await createProject(server, { project_name: 'proj' });
    const image = await pushImage(server.url, 'proj/app', 'v1', { headers: server.admin });
    assert.equal((await api(server, 'GET', '/projects/proj', { auth: admin })).body.repo_count, 1);
    assert.deepEqual((await api(server, 'GET', '/projects/proj/_deletable', { auth: admin })).body, {
      deletable: false,
      message: 'the project contains repositories, can not be deleted',
    });

    const before = await dbState(server);
    assertError(await api(server, 'DELETE', '/projects/proj', { auth: admin }), 412, 'PRECONDITION');
    assertError(await api(server, 'DELETE', `/projects/${id}`, { auth: admin }), 412, 'PRECONDITION');
    assertError(await api(server, 'DELETE', '/projects/proj', { auth: bob }), 403, 'FORBIDDEN');
    assertError(await api(server, 'GET', '/projects/proj/_deletable', { auth: bob }), 403, 'FORBIDDEN');
    assert.deepEqual(await dbState(server), before);
    assert.equal((await api(server, 'GET', '/projects/proj', { auth: admin })).status, 200);
    const pulled = await fetch(`${server.url}/v2/proj/app/manifests/v1`, { headers: { ...server.admin, accept: types.manifest } });
    assert.equal(pulled.status, 200, 'the image is still there');

    const removed = await fetch(`${server.url}/v2/proj/app/manifests/${image.digest}`, { method: 'DELETE', headers: server.admin });
    assert.equal(removed.status, 202);
    // As in Harbor, the emptied repository stays and still holds the project.
    assert.equal((await api(server, 'GET', '/projects/proj', { auth: admin })).body.repo_count, 1);
    assert.equal((await api(server, 'GET', '/projects/proj/_deletable', { auth: admin })).body.deletable, false);
    assertError(await api(server, 'DELETE', '/projects/proj', { auth: admin }), 412, 'PRECONDITION');
    assert.equal((await api(server, 'DELETE', '/projects/proj/repositories/app', { auth: admin })).status, 200);
    assert.deepEqual((await api(server, 'GET', '/projects/proj/_deletable', { auth: admin })).body, { deletable: true });
    assert.equal((await api(server, 'DELETE', '/projects/proj', { auth: admin })).status, 200);
    assertError(await api(server, 'GET', '/projects/proj', { auth: admin }), 404, 'NOT_FOUND');
    assertError(await api(server, 'DELETE', '/projects/proj', { auth: admin }), 404, 'NOT_FOUND');
    assert.ok((await auditLines(server, 'operation=delete')).includes('admin delete project proj'));
    const rows = await server.berth.database.db.selectFrom('project_members').selectAll().where('project_id', '=', id).execute();
    assert.deepEqual(rows, [], 'memberships go with the project');
  });
});

describe('projects API: bad input changes nothing', () => {
  test('invalid names are 400 with a Harbor error body', async () => {
    const before = await dbState(server);
    const names: unknown[] = ['Upper', 'a'.repeat(256), 'a..b', '', '-lead', 'trail-', 'a__b', 'with space', 'ünïcode', "x'; DROP TABLE projects;--", '<b>x</b>', 42, null];
    for (const project_name of names) {
      assertError(await api(server, 'POST', '/projects', { auth: admin, body: { project_name } }), 400, 'BAD_REQUEST', String(project_name));
    }
    assertError(await api(server, 'POST', '/projects', { auth: admin, body: {} }), 400, 'BAD_REQUEST');
    assert.deepEqual(await dbState(server), before);
    assert.equal((await api(server, 'POST', '/projects', { auth: admin, body: { project_name: 'a'.repeat(255) } })).status, 201, '255 characters are allowed');
    assert.equal((await api(server, 'POST', '/projects', { auth: admin, body: { project_name: 'a.b_c-d9' } })).status, 201);
  });

  test('a duplicate name is 409', async () => {
    const before = await dbState(server);
    assertError(await api(server, 'POST', '/projects', { auth: admin, body: { project_name: 'alpha' } }), 409, 'CONFLICT');
    assertError(await api(server, 'POST', '/projects', { auth: carol, body: { project_name: 'library' } }), 409, 'CONFLICT');
    assert.deepEqual(await dbState(server), before);
  });

  test('malformed JSON and bad fields are 400 with a Harbor error body', async () => {
    const before = await dbState(server);
    assertError(await api(server, 'POST', '/projects', { auth: admin, rawBody: '{"project_name": "x", ' }), 400, 'BAD_REQUEST', 'malformed');
    assertError(await api(server, 'POST', '/projects', { auth: admin, rawBody: '["x"]' }), 400, 'BAD_REQUEST', 'array');
    const bodies: Array<Record<string, unknown>> = [
      { project_name: 'x1', public: 'yes' },
      { project_name: 'x2', metadata: { auto_scan: 'maybe' } },
      { project_name: 'x3', metadata: { severity: 'apocalyptic' } },
      { project_name: 'x4', metadata: { nosuchkey: 'true' } },
      { project_name: 'x5', metadata: { auto_scan: true } },
      { project_name: 'x6', metadata: 'public' },
      { project_name: 'x7', metadata: { retention_id: '3' } },
      { project_name: 'x8', metadata: { proxy_speed_kb: '10' } },
      { project_name: 'x9', storage_limit: -5 },
      { project_name: 'x10', storage_limit: 1.5 },
      { project_name: 'x11', registry_id: 1 },
      { project_name: 'x12', cve_allowlist: { items: [{ cve_id: 'CVE-2024-1' }, { cve_id: 'CVE-2024-1' }] } },
      { project_name: 'x13', metadata: { public: "true'; DROP TABLE project_metadata;--" } },
    ];
    for (const body of bodies) assertError(await api(server, 'POST', '/projects', { auth: admin, body }), 400, 'BAD_REQUEST', JSON.stringify(body));
    assert.deepEqual(await dbState(server), before);
  });
});

describe('project creation restricted to admins', () => {
  test('with auth.project_creation_restriction adminonly, a user gets 403 and an admin 201', async () => {
    const locked = await startServer({ yaml: { 'auth.project_creation_restriction': 'adminonly' } });
    try {
      await createUser(locked, 'dora');
      const dora = basicAuth('dora', 'Passw0rd1');
      const before = await dbState(locked);
      assertError(await api(locked, 'POST', '/projects', { auth: dora, body: { project_name: 'doras' } }), 403, 'FORBIDDEN');
      assert.deepEqual(await dbState(locked), before);
      const perms = await api<any[]>(locked, 'GET', '/users/current/permissions?relative=true', { auth: dora });
      assert.deepEqual(perms.body, [{ resource: 'project', action: 'list' }]);
      assert.equal((await api(locked, 'POST', '/projects', { auth: locked.admin.authorization, body: { project_name: 'doras' } })).status, 201);
    } finally {
      await locked.stop();
    }
  });
});
