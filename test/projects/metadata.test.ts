import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { api, createUser } from '../helpers/api.js';
import { basicAuth, startServer, type TestServer } from '../helpers/server.js';
import { assertError, auditLines, createProject, dbState } from './fixtures.js';

let server: TestServer;
let admin: string;
const maintainer = basicAuth('mona', 'Passw0rd1');
const developer = basicAuth('dev', 'Passw0rd1');

before(async () => {
  server = await startServer();
  admin = server.admin.authorization;
  await createProject(server, { project_name: 'meta' });
  const mona = await createUser(server, 'mona');
  const dev = await createUser(server, 'dev');
  for (const [userId, role] of [[mona, 4], [dev, 2]]) {
    const res = await api(server, 'POST', '/projects/meta/members', { auth: admin, body: { role_id: role, member_user: { user_id: userId } } });
    assert.equal(res.status, 201);
  }
});
after(async () => {
  await server.stop();
});

test('GET lists the metadata, with or without the trailing slash the swagger spells', async () => {
  for (const path of ['/projects/meta/metadatas', '/projects/meta/metadatas/']) {
    const res = await api(server, 'GET', path, { auth: admin });
    assert.equal(res.status, 200, path);
    assert.deepEqual(res.body, { public: 'false' });
  }
});

test('POST adds one key (normalised); a key already set is 409', async () => {
  assert.equal((await api(server, 'POST', '/projects/meta/metadatas/', { auth: admin, body: { auto_scan: 'TRUE' } })).status, 200);
  assert.deepEqual((await api(server, 'GET', '/projects/meta/metadatas/auto_scan', { auth: admin })).body, { auto_scan: 'true' });
  assert.equal((await api(server, 'POST', '/projects/meta/metadatas', { auth: admin, body: { severity: 'Critical' } })).status, 200);
  assert.deepEqual((await api(server, 'GET', '/projects/meta', { auth: admin })).body.metadata, { public: 'false', auto_scan: 'true', severity: 'critical' });

  const before = await dbState(server);
  assertError(await api(server, 'POST', '/projects/meta/metadatas', { auth: admin, body: { auto_scan: 'false' } }), 409, 'CONFLICT');
  assertError(await api(server, 'POST', '/projects/meta/metadatas', { auth: admin, body: { public: 'true' } }), 409, 'CONFLICT');
  assert.deepEqual(await dbState(server), before);
  assert.ok((await auditLines(server, 'resource_type=project_metadata')).includes('admin create project_metadata meta:auto_scan'));
});

test('bad metadata is 400 with the offending text quoted literally, and nothing is stored', async () => {
  const sqlish = "true'; DROP TABLE project_metadata;--";
  const htmlish = '<img src=x onerror=alert(1)>';
  const before = await dbState(server);
  const cases: Array<[unknown, string | null]> = [
    [{ prevent_vul: sqlish }, sqlish],
    [{ [htmlish]: 'true' }, htmlish],
    [{ enable_content_trust: true }, null],
    [{ prevent_vul: 'true', auto_sbom_generation: 'true' }, null],
    [{}, null],
    [{ retention_id: '1' }, null],
  ];
  for (const [body, quoted] of cases) {
    const res = await api(server, 'POST', '/projects/meta/metadatas', { auth: admin, body });
    assertError(res, 400, 'BAD_REQUEST', JSON.stringify(body));
    if (quoted) assert.ok((res.body as any).errors[0].message.includes(quoted), (res.body as any).errors[0].message);
  }
  assertError(await api(server, 'POST', '/projects/meta/metadatas', { auth: admin, rawBody: '{"auto_scan": tru' }), 400, 'BAD_REQUEST');
  assertError(await api(server, 'PUT', '/projects/meta/metadatas/severity', { auth: admin, body: { auto_scan: 'true' } }), 400, 'BAD_REQUEST');
  assertError(await api(server, 'PUT', '/projects/meta/metadatas/severity', { auth: admin, body: { severity: htmlish } }), 400, 'BAD_REQUEST');
  assertError(await api(server, 'PUT', '/projects/meta/metadatas/nosuchkey', { auth: admin, body: { nosuchkey: 'true' } }), 400, 'BAD_REQUEST');
  assertError(await api(server, 'DELETE', `/projects/meta/metadatas/${encodeURIComponent(htmlish)}`, { auth: admin }), 400, 'BAD_REQUEST');
  assert.deepEqual(await dbState(server), before);
  assert.deepEqual((await api(server, 'GET', '/projects/meta/metadatas', { auth: admin })).body, { public: 'false', auto_scan: 'true', severity: 'critical' });
});

test('PUT sets one key, `public` included', async () => {
  assert.equal((await api(server, 'PUT', '/projects/meta/metadatas/severity', { auth: admin, body: { severity: 'low' } })).status, 200);
  assert.equal((await api(server, 'PUT', '/projects/meta/metadatas/reuse_sys_cve_allowlist', { auth: admin, body: { reuse_sys_cve_allowlist: '0' } })).status, 200);
  assert.equal((await api(server, 'PUT', '/projects/meta/metadatas/public', { auth: admin, body: { public: 'true' } })).status, 200);
  assert.deepEqual((await api(server, 'GET', '/projects/meta/metadatas', { auth: admin })).body, {
    public: 'true',
    auto_scan: 'true',
    reuse_sys_cve_allowlist: 'false',
    severity: 'low',
  });
  assert.equal((await api(server, 'GET', '/projects/meta')).status, 200, 'public now, so anonymous may read it');
  assert.ok((await auditLines(server, 'resource_type=project_metadata')).includes('admin update project_metadata meta:public'));
});

test('DELETE removes a key (404 when it is not set); removing `public` makes the project private', async () => {
  assert.equal((await api(server, 'DELETE', '/projects/meta/metadatas/auto_scan', { auth: admin })).status, 200);
  assertError(await api(server, 'GET', '/projects/meta/metadatas/auto_scan', { auth: admin }), 404, 'NOT_FOUND');
  const before = await dbState(server);
  assertError(await api(server, 'DELETE', '/projects/meta/metadatas/auto_scan', { auth: admin }), 404, 'NOT_FOUND');
  assert.deepEqual(await dbState(server), before);
  assert.equal((await api(server, 'DELETE', '/projects/meta/metadatas/public', { auth: admin })).status, 200);
  assert.equal((await api(server, 'GET', '/projects/meta/metadatas/public', { auth: admin })).body.public, 'false');
  assertError(await api(server, 'GET', '/projects/meta'), 401, 'UNAUTHORIZED');
  assert.ok((await auditLines(server, 'operation=delete')).includes('admin delete project_metadata meta:auto_scan'));
});

test('metadata rights follow the RBAC table: maintainers read, developers do not, only admins write', async () => {
  assert.equal((await api(server, 'GET', '/projects/meta/metadatas', { auth: maintainer })).status, 200);
  const before = await dbState(server);
  assertError(await api(server, 'POST', '/projects/meta/metadatas', { auth: maintainer, body: { auto_scan: 'true' } }), 403, 'FORBIDDEN');
  assertError(await api(server, 'PUT', '/projects/meta/metadatas/severity', { auth: maintainer, body: { severity: 'none' } }), 403, 'FORBIDDEN');
  assertError(await api(server, 'DELETE', '/projects/meta/metadatas/severity', { auth: maintainer }), 403, 'FORBIDDEN');
  assertError(await api(server, 'GET', '/projects/meta/metadatas', { auth: developer }), 403, 'FORBIDDEN');
  assertError(await api(server, 'GET', '/projects/meta/metadatas'), 401, 'UNAUTHORIZED');
  assertError(await api(server, 'GET', '/projects/nothere/metadatas', { auth: admin }), 404, 'NOT_FOUND');
  assert.deepEqual(await dbState(server), before);
  assert.equal((await api(server, 'GET', '/projects/meta', { auth: developer })).body.metadata.severity, 'low', 'developers see metadata in the project');
});
