/**
 * /scanners and /projects/{p}/scanner as Harbor answers them, with a second Berth as the
 * remote adapter (its /scanner/api/v1 over real HTTP on 127.0.0.1).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { version } from '../../../src/version.js';
import { api, createUser, errorCode } from '../../helpers/api.js';
import { testDialect } from '../../helpers/database.js';
import { basicAuth, startServer, type TestServer } from '../../helpers/server.js';

describe(`scanner registrations API (${testDialect()})`, () => {
  let server: TestServer;
  let remote: TestServer;
  let admin: string;
  let remoteKey: string;
  let builtinUuid: string;

  before(async () => {
    server = await startServer();
    remote = await startServer();
    admin = server.admin.authorization;
    remoteKey = (await api(remote, 'GET', '/system/scanner-adapter', { auth: remote.admin.authorization })).body.api_key;
  });
  after(async () => {
    await server?.stop();
    await remote?.stop();
  });

  const remoteReq = (extra: Record<string, unknown> = {}) => ({
    name: 'other-berth',
    description: 'a second Berth',
    url: `${remote.url}/scanner`,
    auth: 'APIKey',
    access_credential: remoteKey,
    ...extra,
  });

  test('the built-in scanner is registered at first start: default, immutable, its URL where this Berth serves /scanner', async () => {
    const res = await api(server, 'GET', '/scanners', { auth: admin });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-total-count'), '1');
    const [builtin] = res.body;
    builtinUuid = builtin.uuid;
    assert.equal(builtin.name, 'Berth');
    assert.equal(builtin.url, `${server.url}/scanner`);
    assert.equal(builtin.is_default, true);
    assert.equal(builtin.disabled, false);
    assert.equal(builtin.auth, '');
    assert.deepEqual([builtin.adapter, builtin.vendor, builtin.version, builtin.health], ['Berth', 'Berth', version, 'healthy']);
    assert.deepEqual(builtin.capabilities, { support_vulnerability: true, support_sbom: true });
    assert.equal('access_credential' in builtin, false);
    assert.equal(builtin.immutable, true);

    const meta = await api(server, 'GET', `/scanners/${builtin.uuid}/metadata`, { auth: admin });
    assert.equal(meta.status, 200);
    assert.deepEqual(meta.body.scanner, { name: 'Berth', vendor: 'Berth', version });
    assert.deepEqual(
      meta.body.capabilities.map((c: any) => [c.type, c.produces_mime_types]),
      [
        [
          'vulnerability',
          [
            'application/vnd.security.vulnerability.report; version=1.1',
            'application/vnd.scanner.adapter.vuln.report.harbor+json; version=1.0',
          ],
        ],
        ['sbom', ['application/vnd.security.sbom.report+json; version=1.0']],
      ],
    );
    assert.equal(meta.body.properties['harbor.scanner-adapter/scanner-type'], 'os-package-vulnerability');
  });

  test("the built-in scanner cannot be edited or deleted (403, Harbor's messages)", async () => {
    const put = await api(server, 'PUT', `/scanners/${builtinUuid}`, { auth: admin, body: { name: 'x', url: 'http://x' } });
    assert.equal(put.status, 403);
    assert.equal(put.body.errors[0].message, 'registration Berth is not allowed to update as it is immutable: scanner API: update');
    const del = await api(server, 'DELETE', `/scanners/${builtinUuid}`, { auth: admin });
    assert.equal(del.status, 403);
    assert.equal(del.body.errors[0].message, 'registration Berth is not allowed to delete as it is immutable: scanner API: delete');
  });

  test('bad registrations are refused with 400 and nothing is stored', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ name: '' }, /missing registration name/],
      [{ url: 'ftp://example.com' }, /invalid HTTP scheme: ftp/],
      [{ url: '' }, /empty string/],
      [{ auth: 'Token' }, /auth type Token is not supported/],
      [{ access_credential: '' }, /access_credential is required for auth type APIKey/],
      [{ name: 'Berth' }, /name "Berth" is reserved/],
      [{ skip_certVerify: 'yes' }, /skip_certVerify must be true or false/],
    ];
    for (const [change, message] of cases) {
      const res = await api(server, 'POST', '/scanners', { auth: admin, body: remoteReq(change) });
      assert.equal(res.status, 400, JSON.stringify(change));
      assert.match(res.body.errors[0].message, message);
    }
    assert.equal((await api(server, 'POST', '/scanners', { auth: admin, rawBody: '[1]' })).status, 400);
    assert.equal((await api(server, 'GET', '/scanners', { auth: admin })).headers.get('x-total-count'), '1');
  });

  test('an adapter that is down, refuses the key or answers unusable metadata is not registered (500 with the reason, as Harbor)', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const down = await api(server, 'POST', '/scanners', { auth: admin, body: remoteReq({ url: `http://127.0.0.1:${port}` }) });
    assert.equal(down.status, 500);
    assert.match(down.body.errors[0].message, /ECONNREFUSED/);

    const badKey = await api(server, 'POST', '/scanners/ping', {
      auth: admin,
      body: remoteReq({ access_credential: 'not-the-key-at-all' }),
    });
    assert.equal(badKey.status, 500);
    assert.match(badKey.body.errors[0].message, /X-ScannerAdapter-API-Key is not valid: unexpected status code: 401, expected: 200/);

    // Berth's own /api/v2.0/ping answers, but not the adapter API: unusable.
    const wrong = await api(server, 'POST', '/scanners/ping', { auth: admin, body: remoteReq({ url: `${remote.url}/api/v2.0` }) });
    assert.equal(wrong.status, 500);
    assert.equal((await api(server, 'GET', '/scanners', { auth: admin })).headers.get('x-total-count'), '1');
  });

  let remoteUuid: string;
  test('a remote adapter (a second Berth) is pinged, registered with 201 + Location, and shown without its credential', async () => {
    const ping = await api(server, 'POST', '/scanners/ping', { auth: admin, body: remoteReq() });
    assert.equal(ping.status, 200);
    // The header name, as Harbor's swagger words the mode, means APIKey too.
    const byHeader = await api(server, 'POST', '/scanners/ping', { auth: admin, body: remoteReq({ auth: 'X-ScannerAdapter-API-Key' }) });
    assert.equal(byHeader.status, 200);
    // Harbor's other two modes: the key as a Bearer token, a system administrator's user:password as Basic.
    const bearer = await api(server, 'POST', '/scanners/ping', { auth: admin, body: remoteReq({ auth: 'Bearer' }) });
    assert.equal(bearer.status, 200);
    const basic = await api(server, 'POST', '/scanners/ping', {
      auth: admin,
      body: remoteReq({ auth: 'Basic', access_credential: 'admin:Harbor12345' }),
    });
    assert.equal(basic.status, 200);
    const notAdmin = await api(server, 'POST', '/scanners/ping', {
      auth: admin,
      body: remoteReq({ auth: 'Basic', access_credential: 'admin:wrong' }),
    });
    assert.equal(notAdmin.status, 500);
    const res = await api(server, 'POST', '/scanners', { auth: admin, body: remoteReq({ url: `${remote.url}/scanner/` }) });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const location = res.headers.get('location')!;
    assert.match(location, /^\/api\/v2\.0\/scanners\/[0-9a-f-]{36}$/);
    remoteUuid = location.split('/').pop()!;
    const got = await api(server, 'GET', `/scanners/${remoteUuid}`, { auth: admin });
    assert.equal(got.status, 200);
    assert.equal(got.body.url, `${remote.url}/scanner`, 'the trailing slash is trimmed');
    assert.equal(got.body.auth, 'APIKey');
    assert.equal(got.body.immutable, false);
    assert.equal(got.body.is_default, false);
    assert.equal(got.body.health, 'healthy');
    assert.equal('access_credential' in got.body, false);
    const meta = await api(server, 'GET', `/scanners/${remoteUuid}/metadata`, { auth: admin });
    assert.deepEqual(meta.body.scanner, { name: 'Berth', vendor: 'Berth', version });
  });

  test('a taken name or URL is 409', async () => {
    const sameName = await api(server, 'POST', '/scanners', { auth: admin, body: remoteReq({ url: `${remote.url}/scanner/x` }) });
    assert.equal(sameName.status, 409);
    assert.equal(errorCode(sameName), 'CONFLICT');
    const sameUrl = await api(server, 'POST', '/scanners', { auth: admin, body: remoteReq({ name: 'again' }) });
    assert.equal(sameUrl.status, 409);
  });

  test('update keeps the stored credential when none is sent; list, q and sort', async () => {
    const put = await api(server, 'PUT', `/scanners/${remoteUuid}`, {
      auth: admin,
      body: { ...remoteReq({ description: 'changed' }), access_credential: '' },
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const got = await api(server, 'GET', `/scanners/${remoteUuid}`, { auth: admin });
    assert.equal(got.body.description, 'changed');
    const meta = await api(server, 'GET', `/scanners/${remoteUuid}/metadata`, { auth: admin });
    assert.equal(meta.status, 200, 'the kept key still opens the adapter');
    const q = await api(server, 'GET', '/scanners?q=name%3D~other', { auth: admin });
    assert.deepEqual(
      q.body.map((r: any) => r.name),
      ['other-berth'],
    );
    const legacy = await api(server, 'GET', '/scanners?ex_name=Berth', { auth: admin });
    assert.deepEqual(
      legacy.body.map((r: any) => r.name),
      ['Berth'],
    );
    const sorted = await api(server, 'GET', '/scanners?sort=-name', { auth: admin });
    assert.deepEqual(
      sorted.body.map((r: any) => r.name),
      ['other-berth', 'Berth'],
    );
    assert.equal((await api(server, 'GET', '/scanners?sort=colour', { auth: admin })).status, 400);
    assert.equal((await api(server, 'GET', '/scanners/no-such-uuid', { auth: admin })).status, 404);
    assert.equal((await api(server, 'PUT', '/scanners/no-such-uuid', { auth: admin, body: remoteReq() })).status, 404);
  });

  test('PATCH makes one the default and the built-in one stops being it; a disabled one cannot be', async () => {
    const patch = await api(server, 'PATCH', `/scanners/${remoteUuid}`, { auth: admin, body: { is_default: true } });
    assert.equal(patch.status, 200);
    const list = await api(server, 'GET', '/scanners', { auth: admin });
    assert.deepEqual(
      list.body.map((r: any) => [r.name, r.is_default]),
      [
        ['other-berth', true],
        ['Berth', false],
      ],
    );
    const disable = await api(server, 'PUT', `/scanners/${remoteUuid}`, { auth: admin, body: remoteReq({ disabled: true }) });
    assert.equal(disable.status, 400);
    assert.match(disable.body.errors[0].message, /can not be marked to deactivated/);
    assert.equal((await api(server, 'PATCH', '/scanners/no-such-uuid', { auth: admin, body: { is_default: true } })).status, 404);
    assert.equal((await api(server, 'PATCH', `/scanners/${remoteUuid}`, { auth: admin, body: { is_default: 'yes' } })).status, 400);
  });

  test("a project's scanner: the default until one is chosen; members by role; candidates", async () => {
    const dev = 'scanner-dev';
    await createUser(server, dev);
    const devAuth = basicAuth(dev, 'Passw0rd1');
    const proj = await api(server, 'POST', '/projects', { auth: admin, body: { project_name: 'scanproj', metadata: { public: 'false' } } });
    assert.equal(proj.status, 201);
    await api(server, 'POST', '/projects/scanproj/members', { auth: admin, body: { role_id: 2, member_user: { username: dev } } });

    const first = await api(server, 'GET', '/projects/scanproj/scanner', { auth: devAuth });
    assert.equal(first.status, 200);
    assert.equal(first.body.uuid, remoteUuid, 'the system default');

    assert.equal((await api(server, 'PUT', '/projects/scanproj/scanner', { auth: devAuth, body: { uuid: builtinUuid } })).status, 403);
    assert.equal((await api(server, 'GET', '/projects/scanproj/scanner/candidates', { auth: devAuth })).status, 403);
    assert.equal((await api(server, 'GET', '/projects/scanproj/scanner')).status, 401);
    const unknown = await api(server, 'PUT', '/projects/scanproj/scanner', { auth: admin, body: { uuid: 'nope' } });
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.errors[0].message, /scanner registration nope not found/);
    assert.equal((await api(server, 'PUT', '/projects/scanproj/scanner', { auth: admin, body: {} })).status, 400);
    assert.equal((await api(server, 'GET', '/projects/nosuchproject/scanner', { auth: admin })).status, 404);

    assert.equal((await api(server, 'PUT', '/projects/scanproj/scanner', { auth: admin, body: { uuid: builtinUuid } })).status, 200);
    assert.equal((await api(server, 'GET', '/projects/scanproj/scanner', { auth: devAuth })).body.uuid, builtinUuid);
    const candidates = await api(server, 'GET', '/projects/scanproj/scanner/candidates', { auth: admin });
    assert.equal(candidates.status, 200);
    assert.equal(candidates.headers.get('x-total-count'), '2');
  });

  test('only system administrators manage registrations', async () => {
    const user = basicAuth('scanner-dev', 'Passw0rd1');
    assert.equal((await api(server, 'GET', '/scanners', { auth: user })).status, 403);
    assert.equal((await api(server, 'POST', '/scanners', { auth: user, body: remoteReq({ name: 'x' }) })).status, 403);
    assert.equal((await api(server, 'GET', '/scanners')).status, 401);
    assert.equal((await api(server, 'GET', '/system/scanner-adapter', { auth: user })).status, 403);
  });

  test('deleting the default answers it and gives the default back to the built-in scanner', async () => {
    assert.equal((await api(server, 'PUT', '/projects/scanproj/scanner', { auth: admin, body: { uuid: remoteUuid } })).status, 200);
    const del = await api(server, 'DELETE', `/scanners/${remoteUuid}`, { auth: admin });
    assert.equal(del.status, 200);
    assert.equal(del.body.uuid, remoteUuid);
    assert.equal('access_credential' in del.body, false);
    const list = await api(server, 'GET', '/scanners', { auth: admin });
    assert.deepEqual(
      list.body.map((r: any) => [r.name, r.is_default]),
      [['Berth', true]],
    );
    assert.equal((await api(server, 'DELETE', `/scanners/${remoteUuid}`, { auth: admin })).status, 404);
    const project = await api(server, 'GET', '/projects/scanproj/scanner', { auth: admin });
    assert.equal(project.body.uuid, builtinUuid, "the project's choice went with the registration");
  });

  test('the answers match the OpenAPI document, with no field it leaves out', async () => {
    const doc = await (await fetch(`${server.url}/api/v2.0/openapi.json`)).json();
    const close = (node: any): any => {
      if (Array.isArray(node)) node.forEach(close);
      else if (node && typeof node === 'object') {
        if (node.properties !== undefined && node.additionalProperties === undefined) node.additionalProperties = false;
        Object.values(node).forEach(close);
      }
      return node;
    };
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormatsModule.default(ajv);
    ajv.addSchema(close(doc), 'openapi');
    const builtin = (await api(server, 'GET', '/scanners', { auth: admin })).body[0];
    const cases: Array<[string, string]> = [
      ['/scanners', '/scanners'],
      ['/scanners/{registration_id}', `/scanners/${builtin.uuid}`],
      ['/scanners/{registration_id}/metadata', `/scanners/${builtin.uuid}/metadata`],
      ['/system/scanner-adapter', '/system/scanner-adapter'],
      ['/projects/{project_name_or_id}/scanner', '/projects/scanproj/scanner'],
      ['/projects/{project_name_or_id}/scanner/candidates', '/projects/scanproj/scanner/candidates'],
    ];
    for (const [docPath, url] of cases) {
      const pointer = ['paths', docPath, 'get', 'responses', '200', 'content', 'application/json', 'schema']
        .map((t) => encodeURIComponent(t.replace(/~/g, '~0').replace(/\//g, '~1')))
        .join('/');
      const validate = ajv.getSchema(`openapi#/${pointer}`)!;
      assert.ok(validate, `no schema for ${docPath}`);
      const res = await api(server, 'GET', url, { auth: admin });
      assert.equal(res.status, 200);
      assert.ok(validate(res.body), `${url}: ${ajv.errorsText(validate.errors)}`);
    }
  });

  test('the adapter access endpoint tells administrators what to register elsewhere', async () => {
    const res = await api(server, 'GET', '/system/scanner-adapter', { auth: admin });
    assert.equal(res.status, 200);
    assert.equal(res.body.url, `${server.url}/scanner`);
    assert.equal(res.body.auth, 'APIKey');
    assert.equal(res.body.api_key_source, 'generated');
    assert.ok(res.body.api_key.length >= 32);
    const again = await api(server, 'GET', '/system/scanner-adapter', { auth: admin });
    assert.equal(again.body.api_key, res.body.api_key, 'kept, not regenerated');
  });
});

describe(`the built-in registration across restarts (${testDialect()})`, () => {
  test('a restart finds the same registration, default and API key; a default chosen elsewhere stays', async () => {
    let server = await startServer();
    try {
      const first = await api(server, 'GET', '/scanners', { auth: server.admin.authorization });
      const key = (await api(server, 'GET', '/system/scanner-adapter', { auth: server.admin.authorization })).body.api_key;
      await server.stop({ keepData: true });
      server = await startServer({ dataDir: server.dataDir });
      const again = await api(server, 'GET', '/scanners', { auth: server.admin.authorization });
      assert.equal(again.headers.get('x-total-count'), '1');
      assert.equal(again.body[0].uuid, first.body[0].uuid);
      assert.equal(again.body[0].is_default, true);
      assert.equal((await api(server, 'GET', '/system/scanner-adapter', { auth: server.admin.authorization })).body.api_key, key);
    } finally {
      await server.stop();
    }
  });
});
