import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { checkShape } from '../compat/harbor-shapes.js';
import { api, createUser, errorCode, type ApiResponse } from '../helpers/api.js';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { settingsFromConfig } from '../../src/settings/file.js';
import { basicAuth, startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let userAuth: string;
before(async () => {
  server = await startServer();
});
after(async () => {
  await server.stop();
});

const admin = () => server.admin.authorization;
const get = (auth?: string) => api(server, 'GET', '/configurations', { auth });
const put = (body: unknown, auth: string | undefined = admin()) => api(server, 'PUT', '/configurations', { auth, body });

async function configurationAudits(): Promise<number> {
  const res = await api(server, 'GET', '/audit-logs?q=resource_type%3Dconfiguration&page_size=100', { auth: admin() });
  assert.equal(res.status, 200);
  return (res.body as unknown[]).length;
}

function assertBadRequest(res: ApiResponse, pattern: RegExp) {
  assert.equal(res.status, 400, JSON.stringify(res.body));
  assert.equal(errorCode(res), 'BAD_REQUEST');
  assert.match((res.body as { errors: Array<{ message: string }> }).errors[0]!.message, pattern);
}

test('GET answers every setting as {value, editable}, secrets never', async () => {
  const res = await get(admin());
  assert.equal(res.status, 200);
  const body = res.body as Record<string, { value: unknown; editable: boolean }>;
  assert.deepEqual(body.auth_mode, { value: 'db_auth', editable: true });
  assert.deepEqual(body.project_creation_restriction, { value: 'everyone', editable: true });
  assert.deepEqual(body.token_expiration, { value: 30, editable: true });
  assert.deepEqual(body.ldap_scope, { value: 2, editable: true });
  assert.deepEqual(body.read_only, { value: false, editable: true });
  assert.equal(body.oidc_scope!.value, 'openid,offline_access');
  assert.ok(!('ldap_search_password' in body));
  assert.ok(!('oidc_client_secret' in body));
  // Followed live by the audit forwarder (test/audit/forward-live.test.ts).
  assert.deepEqual(body.audit_log_forward_endpoint, { value: '', editable: true });
  assert.deepEqual(body.skip_audit_log_database, { value: false, editable: true });
  // Harbor's ConfigurationsResponse shape, but for Berth's two LDAP extensions.
  const { ldap_start_tls, ldap_ca_cert, ...harborKeys } = body;
  assert.deepEqual(ldap_start_tls, { value: false, editable: true });
  assert.deepEqual(ldap_ca_cert, { value: '', editable: true });
  assert.deepEqual(checkShape(harborKeys, 'ConfigurationsResponse'), []);
});

test('GET and PUT: 401 anonymous, 403 for a user who is not a system administrator', async () => {
  await createUser(server, 'cfg-user');
  userAuth = basicAuth('cfg-user', 'Passw0rd1');
  assert.equal((await get()).status, 401);
  assert.equal(errorCode(await get()), 'UNAUTHORIZED');
  const forbidden = await get(userAuth);
  assert.equal(forbidden.status, 403);
  assert.equal(errorCode(forbidden), 'FORBIDDEN');
  const anonymous = await api(server, 'PUT', '/configurations', { body: { self_registration: true } });
  assert.equal(anonymous.status, 401);
  assert.equal(errorCode(anonymous), 'UNAUTHORIZED');
  const user = await put({ self_registration: true }, userAuth);
  assert.equal(user.status, 403);
  assert.equal(errorCode(user), 'FORBIDDEN');
  assert.equal((await get(admin())).body.self_registration.value, false);
});

test('PUT changes the keys given, keeps the others, and writes one audit record', async () => {
  const before = await configurationAudits();
  const res = await put({
    project_creation_restriction: 'adminonly',
    token_expiration: 45,
    banner_message: JSON.stringify({ message: 'maintenance at noon', type: 'warning', closable: true }),
    ldap_scope: 1,
    oidc_extra_redirect_parms: '{"prompt":"login"}',
    storage_per_project: 1024 * 1024,
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const body = (await get(admin())).body;
  assert.equal(body.project_creation_restriction.value, 'adminonly');
  assert.equal(body.token_expiration.value, 45);
  assert.equal(body.ldap_scope.value, 1);
  assert.equal(body.storage_per_project.value, 1024 * 1024);
  assert.equal(body.session_timeout.value, 60);
  assert.match(body.banner_message.value, /maintenance at noon/);
  assert.equal((await configurationAudits()) - before, 1);
  const logs = await api(server, 'GET', '/audit-logs?q=resource_type%3Dconfiguration', { auth: admin() });
  assert.equal(logs.body[0].operation, 'update');
  assert.equal(logs.body[0].username, 'admin');
  // Back to the defaults for the tests below.
  assert.equal(
    (await put({ project_creation_restriction: 'everyone', token_expiration: 30, banner_message: '', ldap_scope: 2 })).status,
    200,
  );
});

test('secrets are write-only: stored, never shown, kept when a PUT leaves them out', async () => {
  assert.equal((await put({ ldap_search_password: 's3cret', oidc_client_secret: 'client-secret' })).status, 200);
  assert.equal(server.berth.settings.current().ldap_search_password, 's3cret');
  assert.equal((await put({ ldap_search_dn: 'cn=reader,dc=example,dc=org' })).status, 200);
  assert.equal(server.berth.settings.current().ldap_search_password, 's3cret');
  assert.equal(server.berth.settings.current().oidc_client_secret, 'client-secret');
  const body = (await get(admin())).body;
  assert.ok(!('ldap_search_password' in body));
  assert.equal(JSON.stringify(body).includes('s3cret'), false);
  assert.equal(JSON.stringify(body).includes('client-secret'), false);
});

const refused: Array<[string, unknown, RegExp]> = [
  ['unknown key', { no_such_key: 1 }, /no_such_key: not a configuration key/],
  ['uaa_auth', { auth_mode: 'uaa_auth' }, /uaa_auth is not supported by Berth/],
  ['http_auth', { auth_mode: 'http_auth' }, /http_auth is not supported by Berth/],
  ['uaa key', { uaa_endpoint: 'https://uaa' }, /uaa_endpoint: Berth does not support/],
  ['bad auth mode', { auth_mode: 'magic' }, /auth_mode: must be db_auth, ldap_auth or oidc_auth/],
  ['restriction', { project_creation_restriction: 'nobody' }, /project_creation_restriction: must be everyone or adminonly/],
  ['boolean as string', { self_registration: 'true' }, /self_registration: must be true or false/],
  ['integer as string', { token_expiration: '30' }, /token_expiration: must be an integer/],
  ['zero token lifetime', { token_expiration: 0 }, /token_expiration: must be an integer from 1/],
  ['fractional', { session_timeout: 1.5 }, /session_timeout: must be an integer/],
  ['robot duration 0', { robot_token_duration: 0 }, /robot_token_duration/],
  ['storage 0', { storage_per_project: 0 }, /storage_per_project: .*-1 for unlimited/],
  ['ldap scope', { ldap_scope: 3 }, /ldap_scope: must be 0 \(base\), 1 \(one level\) or 2 \(subtree\)/],
  ['group scope', { ldap_group_search_scope: -1 }, /ldap_group_search_scope/],
  ['ldap url', { ldap_url: 'http://ldap.example.org' }, /ldap_url: must be ldap:\/\/host/],
  ['ldap uid empty', { ldap_uid: '' }, /ldap_uid: must be a non-empty string/],
  ['oidc endpoint http', { oidc_endpoint: 'http://idp.example.org' }, /oidc_endpoint: must be an https URL/],
  ['oidc endpoint junk', { oidc_endpoint: 'not a url' }, /oidc_endpoint/],
  ['oidc scope', { oidc_scope: 'profile,email' }, /oidc_scope: .*includes openid/],
  ['banner', { banner_message: '{not json' }, /banner_message: must be an object/],
  ['extra parms', { oidc_extra_redirect_parms: '["a"]' }, /oidc_extra_redirect_parms/],
  ['extra parms values', { oidc_extra_redirect_parms: '{"a":1}' }, /every value must be a string/],
  ['endpoint format', { audit_log_forward_endpoint: 'no-port' }, /audit_log_forward_endpoint: must be host:port/],
  ['skip without endpoint', { skip_audit_log_database: true }, /skip_audit_log_database: needs audit_log_forward_endpoint/],
  ['skip with the endpoint emptied', { audit_log_forward_endpoint: '', skip_audit_log_database: true }, /skip_audit_log_database: needs/],
  ['robot prefix empty', { robot_name_prefix: '' }, /robot_name_prefix: must be a non-empty string/],
  ['ca cert', { ldap_ca_cert: 'not pem' }, /ldap_ca_cert/],
  ['event types', { disabled_audit_log_event_types: 'create user' }, /disabled_audit_log_event_types: must be comma-separated/],
];

test('PUT refuses a bad key or value with 400, and nothing changes', async () => {
  const before = (await get(admin())).body;
  const audits = await configurationAudits();
  for (const [what, body, message] of refused) {
    // A good key beside the bad one is not stored either.
    const res = await put({ self_registration: true, ...(body as object) });
    assert.equal(res.status, 400, `${what}: ${JSON.stringify(res.body)}`);
    assertBadRequest(res, message);
  }
  for (const raw of ['[1,2]', '"text"', 'null']) {
    const res = await api(server, 'PUT', '/configurations', { auth: admin(), rawBody: raw });
    assert.equal(res.status, 400, raw);
  }
  assert.deepEqual((await get(admin())).body, before);
  assert.equal(await configurationAudits(), audits);
});

test('oidc_endpoint over http is accepted for loopback hosts only; the same audit endpoint is accepted', async () => {
  assert.equal((await put({ oidc_endpoint: 'http://127.0.0.1:9999/realms/x' })).status, 200);
  assert.equal((await put({ oidc_endpoint: 'http://localhost:9999' })).status, 200);
  assert.equal((await put({ oidc_endpoint: 'https://idp.example.org/realms/x' })).status, 200);
  assert.equal((await put({ oidc_endpoint: '' })).status, 200);
  assert.equal((await put({ audit_log_forward_endpoint: '', skip_audit_log_database: false })).status, 200);
  assert.equal((await put({ disabled_audit_log_event_types: 'create_user,delete_robot' })).status, 200);
  assert.equal((await get(admin())).body.disabled_audit_log_event_types.value, 'create_user,delete_robot');
  assert.equal((await put({ disabled_audit_log_event_types: '' })).status, 200);
});

test('auth_mode may change only while admin is the only user (Harbor rule)', async () => {
  // cfg-user exists (created above).
  const body = (await get(admin())).body;
  assert.deepEqual(body.auth_mode, { value: 'db_auth', editable: false });
  const res = await put({ auth_mode: 'ldap_auth' });
  assertBadRequest(res, /the auth mode cannot be modified as new users have been inserted into database/);
  assert.equal((await get(admin())).body.auth_mode.value, 'db_auth');
  // Setting the same mode is no change.
  assert.equal((await put({ auth_mode: 'db_auth' })).status, 200);
});

test('auth_mode changes on a fresh server with only admin', async () => {
  const fresh = await startServer();
  try {
    const res = await api(fresh, 'GET', '/configurations', { auth: fresh.admin.authorization });
    assert.equal(res.body.auth_mode.editable, true);
    const changed = await api(fresh, 'PUT', '/configurations', {
      auth: fresh.admin.authorization,
      body: { auth_mode: 'oidc_auth', oidc_name: 'Corp SSO' },
    });
    assert.equal(changed.status, 200);
    const info = await api(fresh, 'GET', '/systeminfo');
    assert.equal(info.body.auth_mode, 'oidc_auth');
    assert.equal(info.body.oidc_provider_name, 'Corp SSO');
  } finally {
    await fresh.stop();
  }
});

test('systeminfo reflects the settings', async () => {
  const banner = JSON.stringify({ message: 'hello', type: 'info', closable: false });
  assert.equal(
    (await put({ banner_message: banner, self_registration: true, project_creation_restriction: 'adminonly', primary_auth_mode: true }))
      .status,
    200,
  );
  const anonymous = await api(server, 'GET', '/systeminfo');
  assert.equal(anonymous.body.banner_message, banner);
  assert.equal(anonymous.body.self_registration, true);
  assert.equal(anonymous.body.primary_auth_mode, true);
  assert.equal(anonymous.body.auth_mode, 'db_auth');
  assert.ok(!('oidc_provider_name' in anonymous.body));
  assert.ok(!('read_only' in anonymous.body));
  const signedIn = await api(server, 'GET', '/systeminfo', { auth: admin() });
  assert.equal(signedIn.body.project_creation_restriction, 'adminonly');
  assert.equal(signedIn.body.read_only, false);
  assert.equal(signedIn.body.notification_enable, true);
  assert.equal(
    (await put({ banner_message: '', self_registration: false, project_creation_restriction: 'everyone', primary_auth_mode: false }))
      .status,
    200,
  );
});

test('the configuration file seeds the settings; a value set with PUT wins over it, across a restart', async () => {
  const yaml = {
    'configurations.project_creation_restriction': 'adminonly',
    'configurations.ldap_url': 'ldaps://ldap.example.org',
    'configurations.token_expiration': 12,
    'auth.self_registration': true,
  };
  const seeded = await startServer({ yaml });
  let restarted: TestServer | undefined;
  try {
    const body = (await api(seeded, 'GET', '/configurations', { auth: seeded.admin.authorization })).body;
    assert.equal(body.project_creation_restriction.value, 'adminonly');
    assert.equal(body.ldap_url.value, 'ldaps://ldap.example.org');
    assert.equal(body.token_expiration.value, 12);
    // The older file keys still count where the map says nothing.
    assert.equal(body.self_registration.value, true);
    const changed = await api(seeded, 'PUT', '/configurations', {
      auth: seeded.admin.authorization,
      body: { project_creation_restriction: 'everyone' },
    });
    assert.equal(changed.status, 200);
    await seeded.stop({ keepData: true });
    restarted = await startServer({ dataDir: seeded.dataDir, yaml });
    const after = (await api(restarted, 'GET', '/configurations', { auth: restarted.admin.authorization })).body;
    assert.equal(after.project_creation_restriction.value, 'everyone');
    assert.equal(after.token_expiration.value, 12);
  } finally {
    await (restarted ?? seeded).stop();
  }
});

test('a bad value in the configuration file stops startup, naming the key', () => {
  const load = (key: string, value: unknown) => () =>
    settingsFromConfig(loadConfig({ env: {}, file: undefined, overrides: [[['configurations', key], value]] }));
  assert.throws(
    load('ldap_scope', 7),
    (err: Error) => err instanceof ConfigError && /configurations\.ldap_scope: must be 0 \(base\)/.test(err.message),
  );
  assert.throws(load('auth_mode', 'uaa_auth'), /configurations\.auth_mode: uaa_auth is not supported/);
  assert.throws(load('no_such_key', 1), /configurations\.no_such_key: not a configuration key/);
  assert.throws(load('skip_audit_log_database', true), /configurations\.skip_audit_log_database: needs audit_log_forward_endpoint/);
  assert.equal(load('read_only', true)().read_only, true);
});
