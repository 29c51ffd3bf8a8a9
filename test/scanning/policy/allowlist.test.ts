import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api, createUser } from '../../helpers/api.js';
import { basicAuth, startServer, type TestServer } from '../../helpers/server.js';
import { assertError, createProject } from '../../projects/fixtures.js';

let server: TestServer;
let admin: string;
let carol: string;

async function rows() {
  return server.berth.database.db.selectFrom('cve_allowlists').selectAll().orderBy('project_id').execute();
}

before(async () => {
  server = await startServer();
  admin = server.admin.authorization;
  await createUser(server, 'carol');
  carol = basicAuth('carol', 'Passw0rd1');
});
after(async () => server.stop());

describe('system CVE allowlist', () => {
  test('never set: empty for any signed-in caller; anonymous is 401', async () => {
    assertError(await api(server, 'GET', '/system/CVEAllowlist'), 401, 'UNAUTHORIZED');
    const res = await api(server, 'GET', '/system/CVEAllowlist', { auth: carol });
    assert.equal(res.status, 200);
    assert.equal(res.body.project_id, 0);
    assert.deepEqual(res.body.items, []);
    assert.equal('expires_at' in res.body, false);
  });

  test('a system administrator replaces it; ids are trimmed; expires_at is kept', async () => {
    const put = await api(server, 'PUT', '/system/CVEAllowlist', {
      auth: admin,
      body: { items: [{ cve_id: 'CVE-2024-0001' }, { cve_id: ' GHSA-aaaa-bbbb-cccc ' }], expires_at: 4102444800 },
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const res = await api(server, 'GET', '/system/CVEAllowlist', { auth: carol });
    assert.deepEqual(res.body.items, [{ cve_id: 'CVE-2024-0001' }, { cve_id: 'GHSA-aaaa-bbbb-cccc' }]);
    assert.equal(res.body.expires_at, 4102444800);
    assert.ok(res.body.id > 0);
    const created = res.body.creation_time;
    // A second PUT replaces the items and keeps the creation time.
    assert.equal(
      (await api(server, 'PUT', '/system/CVEAllowlist', { auth: admin, body: { items: [{ cve_id: 'CVE-2024-0002' }] } })).status,
      200,
    );
    const again = await api(server, 'GET', '/system/CVEAllowlist', { auth: admin });
    assert.deepEqual(again.body.items, [{ cve_id: 'CVE-2024-0002' }]);
    assert.equal('expires_at' in again.body, false, 'no expires_at: never expires');
    assert.equal(again.body.creation_time, created);
  });

  test('only a system administrator may change it, and bad bodies change nothing', async () => {
    const before = await rows();
    assertError(await api(server, 'PUT', '/system/CVEAllowlist', { body: { items: [] } }), 401, 'UNAUTHORIZED');
    assertError(await api(server, 'PUT', '/system/CVEAllowlist', { auth: carol, body: { items: [] } }), 403, 'FORBIDDEN');
    const bad: unknown[] = [
      { items: [{ cve_id: 'CVE-1' }, { cve_id: 'CVE-1' }] },
      { items: [{ cve_id: '   ' }] },
      { items: [{ id: 'CVE-1' }] },
      { items: 'CVE-1' },
      { items: [], expires_at: 'tomorrow' },
      { items: [], expires_at: -5 },
      { items: [], project_id: 3 },
      { items: [{ cve_id: 'x'.repeat(200) }] },
    ];
    for (const body of bad)
      assertError(await api(server, 'PUT', '/system/CVEAllowlist', { auth: admin, body }), 400, 'BAD_REQUEST', JSON.stringify(body));
    assertError(await api(server, 'PUT', '/system/CVEAllowlist', { auth: admin, rawBody: '[1]' }), 400, 'BAD_REQUEST');
    assert.deepEqual(await rows(), before);
  });
});

describe('project CVE allowlist (cve_allowlist of Project and ProjectReq)', () => {
  test('created with the project, shown on the project, replaced by PUT, gone with the project', async () => {
    const id = await createProject(server, {
      project_name: 'listed',
      metadata: { reuse_sys_cve_allowlist: 'false' },
      cve_allowlist: { items: [{ cve_id: 'CVE-2023-1111' }] },
    });
    const shown = await api(server, 'GET', `/projects/${id}`, { auth: admin });
    assert.equal(shown.body.cve_allowlist.project_id, id);
    assert.deepEqual(shown.body.cve_allowlist.items, [{ cve_id: 'CVE-2023-1111' }]);
    assert.equal(shown.body.metadata.reuse_sys_cve_allowlist, 'false');

    const put = await api(server, 'PUT', `/projects/${id}`, {
      auth: admin,
      body: {
        cve_allowlist: { project_id: id, items: [{ cve_id: 'CVE-2023-2222' }, { cve_id: 'CVE-2023-3333' }], expires_at: 4102444800 },
      },
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const listed = await api<any[]>(server, 'GET', '/projects?name=listed&with_detail=true', { auth: admin });
    const project = listed.body.find((p) => p.name === 'listed');
    assert.deepEqual(project.cve_allowlist.items, [{ cve_id: 'CVE-2023-2222' }, { cve_id: 'CVE-2023-3333' }]);
    assert.equal(project.cve_allowlist.expires_at, 4102444800);

    // A body without cve_allowlist leaves it alone.
    assert.equal((await api(server, 'PUT', `/projects/${id}`, { auth: admin, body: { metadata: { auto_scan: 'true' } } })).status, 200);
    assert.equal((await api(server, 'GET', `/projects/${id}`, { auth: admin })).body.cve_allowlist.items.length, 2);

    assert.equal((await api(server, 'DELETE', `/projects/${id}`, { auth: admin })).status, 200);
    assert.equal(
      (await rows()).some((r) => Number(r.project_id) === id),
      false,
    );
  });

  test('a wrong project_id or a bad list is 400 and changes neither the list nor the metadata', async () => {
    const id = await createProject(server, { project_name: 'strict', cve_allowlist: { items: [{ cve_id: 'CVE-1' }] } });
    const before = await rows();
    const bodies = [
      { metadata: { auto_scan: 'true' }, cve_allowlist: { project_id: id + 100, items: [] } },
      { metadata: { auto_scan: 'true' }, cve_allowlist: { items: [{ cve_id: 'CVE-2' }, { cve_id: 'CVE-2' }] } },
      { metadata: { auto_scan: 'true' }, cve_allowlist: 'CVE-2' },
    ];
    for (const body of bodies)
      assertError(await api(server, 'PUT', `/projects/${id}`, { auth: admin, body }), 400, 'BAD_REQUEST', JSON.stringify(body));
    assertError(
      await api(server, 'POST', '/projects', {
        auth: admin,
        body: { project_name: 'strict2', cve_allowlist: { items: [{ cve_id: '' }] } },
      }),
      400,
      'BAD_REQUEST',
    );
    assert.deepEqual(await rows(), before);
    const shown = await api(server, 'GET', `/projects/${id}`, { auth: admin });
    assert.equal(shown.body.metadata.auto_scan, undefined);
    assert.equal((await api(server, 'GET', '/projects/strict2', { auth: admin })).status, 404);
  });

  test('a project never given a list shows an empty one', async () => {
    const id = await createProject(server, { project_name: 'plain' });
    const shown = await api(server, 'GET', `/projects/${id}`, { auth: admin });
    assert.deepEqual(shown.body.cve_allowlist.items, []);
    assert.equal(shown.body.cve_allowlist.project_id, id);
  });
});
