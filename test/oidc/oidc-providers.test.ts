import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { api } from '../helpers/api.js';
import { signInThroughProvider, startOidcProvider, type TestOidcProvider } from '../helpers/oidc-provider.js';
import { basicAuth, startServer, type TestServer } from '../helpers/server.js';
import { requireTools } from '../helpers/tools.js';
import { testDialect } from '../helpers/database.js';
import { selfSignedCertificateDir } from '../helpers/self-signed.js';

async function configure(server: TestServer, settings: Record<string, unknown>) {
  const res = await api(server, 'PUT', '/configurations', { auth: server.admin.authorization, body: settings });
  assert.equal(res.status, 200, JSON.stringify(res.body));
}

async function tokenStatus(server: TestServer, username: string, secret: string): Promise<number> {
  const res = await fetch(`${server.url}/service/token?service=harbor-registry&scope=repository:library/app:pull`, {
    headers: { authorization: basicAuth(username, secret) },
  });
  await res.arrayBuffer();
  return res.status;
}

async function groupsOf(server: TestServer, username: string): Promise<string[]> {
  const db = server.berth.database.db;
  const user = await db.selectFrom('users').select('id').where('username', '=', username).executeTakeFirstOrThrow();
  const rows = await db
    .selectFrom('user_group_members')
    .innerJoin('user_groups', 'user_groups.id', 'user_group_members.group_id')
    .select('user_groups.group_name')
    .where('user_group_members.user_id', '=', user.id)
    .execute();
  return rows.map((r) => r.group_name).sort();
}

/**
 * A provider whose ID token carries only `sub` (as some do): the username claim, email and
 * groups come from its userinfo endpoint, at sign-in and at each token refresh.
 */
describe('OIDC: claims from the userinfo endpoint', () => {
  let server: TestServer;
  let provider: TestOidcProvider;

  before(async () => {
    server = await startServer();
    provider = await startOidcProvider({
      berthUrls: [server.url],
      claimsInIdToken: false,
      accounts: [
        { id: 'u-42', preferred_username: 'grace', name: 'Grace Hopper', email: 'grace@example.com', groups: ['navy', 'registry-admins'] },
      ],
    });
    await configure(server, provider.settings());
  });
  after(async () => {
    await server?.stop();
    await provider?.stop();
  });

  test('the user is onboarded from the userinfo claims and refreshed from them', async () => {
    const signIn = await signInThroughProvider(server.url, 'u-42');
    assert.equal(signIn.status, 302, signIn.body);
    assert.equal(signIn.location, '/');
    const cookie = `sid=${signIn.cookies.get('sid')}`;
    const me = await api(server, 'GET', '/users/current', { headers: { cookie } });
    assert.equal(me.body.username, 'grace');
    assert.equal(me.body.email, 'grace@example.com');
    assert.equal(me.body.realname, 'Grace Hopper');
    assert.deepEqual(await groupsOf(server, 'grace'), ['navy', 'registry-admins']);
    assert.equal((await api(server, 'GET', '/users', { headers: { cookie } })).status, 200, 'admin through the userinfo groups');

    const secret = me.body.oidc_user_meta.secret;
    provider.setAccount({ id: 'u-42', preferred_username: 'grace', name: 'Grace Hopper', email: 'grace@example.com', groups: ['navy'] });
    await server.berth.database.db
      .updateTable('oidc_users')
      .set({ token_expires_at: Date.now() - 1000 })
      .execute();
    server.berth.authenticator.invalidate();
    assert.equal(await tokenStatus(server, 'grace', secret), 200);
    assert.deepEqual(await groupsOf(server, 'grace'), ['navy']);
    const user = await server.berth.database.db
      .selectFrom('users')
      .select('group_admin')
      .where('username', '=', 'grace')
      .executeTakeFirstOrThrow();
    assert.equal(Number(user.group_admin), 0, 'no longer in the admin group after the refresh');
  });
});

describe('OIDC: usernames', () => {
  let server: TestServer;
  let provider: TestOidcProvider;

  before(async () => {
    server = await startServer();
    provider = await startOidcProvider({
      berthUrls: [server.url],
      accounts: [
        { id: 'u-43', name: 'Ada Lovelace', email: 'ada@example.com' },
        { id: 'u-44', email: 'nameless@example.com' },
      ],
    });
    await configure(server, provider.settings({ oidc_user_claim: '' }));
  });
  after(async () => {
    await server?.stop();
    await provider?.stop();
  });

  test('without oidc_user_claim the username is the name claim, blanks made underscores (Harbor)', async () => {
    const signIn = await signInThroughProvider(server.url, 'u-43');
    assert.equal(signIn.location, '/');
    const me = await api(server, 'GET', '/users/current', { headers: { cookie: `sid=${signIn.cookies.get('sid')}` } });
    assert.equal(me.body.username, 'Ada_Lovelace');
  });

  test('auto-onboarding refuses a sign-in whose username claim is missing, naming the claim', async () => {
    await configure(server, { oidc_user_claim: 'preferred_username' });
    const signIn = await signInThroughProvider(server.url, 'u-44');
    const location = new URL(signIn.location, server.url);
    assert.equal(location.pathname, '/sign-in');
    assert.match(location.searchParams.get('oidc_error') ?? '', /preferred_username/);
    assert.ok(!signIn.cookies.has('sid'));
    // Without auto-onboarding the user chooses one.
    await configure(server, { oidc_auto_onboard: false });
    const again = await signInThroughProvider(server.url, 'u-44');
    const onboard = new URL(again.location, server.url);
    assert.equal(onboard.pathname, '/oidc-onboard');
    assert.equal(onboard.searchParams.get('username'), '');
  });
});

const tlsSkip = requireTools('openssl');

/** A provider serving HTTPS with a certificate nobody trusts: oidc_verify_cert decides. */
describe('OIDC: a provider with an untrusted certificate', { skip: tlsSkip }, () => {
  let server: TestServer;
  let provider: TestOidcProvider;
  let dir: string;
  let cert: Buffer;

  before(async () => {
    dir = await selfSignedCertificateDir('berth-oidc-tls-');
    cert = await readFile(path.join(dir, 'cert.pem'));
    server = await startServer();
    provider = await startOidcProvider({
      berthUrls: [server.url],
      tls: { key: await readFile(path.join(dir, 'key.pem')), cert },
      accounts: [{ id: 'tls-user', preferred_username: 'tina', email: 'tina@example.com' }],
    });
  });
  after(async () => {
    await server?.stop();
    await provider?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('ping: refused with certificate verification, accepted without', async () => {
    assert.match(provider.issuer, /^https:/);
    const verified = await api(server, 'POST', '/system/oidc/ping', {
      auth: server.admin.authorization,
      body: { url: provider.issuer, verify_cert: true },
    });
    assert.equal(verified.status, 400);
    assert.match(verified.body.errors[0].message, /certificate|self.signed/i);
    const unverified = await api(server, 'POST', '/system/oidc/ping', {
      auth: server.admin.authorization,
      body: { url: provider.issuer, verify_cert: false },
    });
    assert.equal(unverified.status, 200, JSON.stringify(unverified.body));
  });

  test('with oidc_verify_cert on the login fails; off, the whole sign-in and a token refresh work', async () => {
    await configure(server, provider.settings({ oidc_verify_cert: true }));
    const refused = await fetch(`${server.url}/c/oidc/login`, { redirect: 'manual' });
    assert.equal(refused.status, 500);
    assert.match((await refused.json()).errors[0].message, /cannot be reached/);

    await configure(server, { oidc_verify_cert: false });
    const signIn = await signInThroughProvider(server.url, 'tls-user', { providerCa: cert });
    assert.equal(signIn.status, 302, signIn.body);
    assert.equal(signIn.location, '/');
    const me = await api(server, 'GET', '/users/current', { headers: { cookie: `sid=${signIn.cookies.get('sid')}` } });
    assert.equal(me.body.username, 'tina');
    await server.berth.database.db
      .updateTable('oidc_users')
      .set({ token_expires_at: Date.now() - 1000 })
      .execute();
    server.berth.authenticator.invalidate();
    const refreshes = provider.refreshes();
    assert.equal(await tokenStatus(server, 'tina', me.body.oidc_user_meta.secret), 200);
    assert.equal(provider.refreshes(), refreshes + 1);
  });
});

// Two instances share one database only on PostgreSQL (a SQLite file belongs to one process).
const multiSkip = testDialect() !== 'postgres' ? 'needs PostgreSQL: set BERTH_TEST_DATABASE_URL' : false;

/** The login's state lives in a sealed cookie, not in one instance's memory: another instance takes the callback. */
describe('OIDC: two instances sharing one database', { skip: multiSkip }, () => {
  let first: TestServer;
  let second: TestServer;
  let provider: TestOidcProvider;

  before(async () => {
    first = await startServer();
    provider = await startOidcProvider({
      berthUrls: [first.url],
      accounts: [
        { id: 'ivy-sub', preferred_username: 'ivy', email: 'ivy@example.com' },
        { id: 'jon-sub', preferred_username: 'jon', email: 'jon@example.com' },
      ],
    });
    await configure(first, provider.settings());
    second = await startServer({ dataDir: first.dataDir });
  });
  after(async () => {
    await second?.stop({ keepData: true });
    await first?.stop();
    await provider?.stop();
  });

  test('a sign-in started on one instance completes on the other; its session and CLI secret work on both', async () => {
    const signIn = await signInThroughProvider(first.url, 'ivy-sub', { callbackOrigin: second.url, redirectUrl: '/projects' });
    assert.equal(signIn.status, 302, signIn.body);
    assert.equal(signIn.location, '/projects');
    const cookie = `sid=${signIn.cookies.get('sid')}`;
    const me = await api(first, 'GET', '/users/current', { headers: { cookie } });
    assert.equal(me.status, 200);
    assert.equal(me.body.username, 'ivy');
    const secret = me.body.oidc_user_meta.secret;
    assert.equal(await tokenStatus(first, 'ivy', secret), 200);
    assert.equal(await tokenStatus(second, 'ivy', secret), 200);
  });

  test('onboarding started on one instance completes on the other', async () => {
    await configure(first, { oidc_auto_onboard: false });
    await eventually(async () => second.berth.settings.current().oidc_auto_onboard === false);
    const signIn = await signInThroughProvider(first.url, 'jon-sub', { callbackOrigin: second.url });
    assert.equal(new URL(signIn.location, first.url).pathname, '/oidc-onboard');
    const res = await fetch(`${first.url}/c/oidc/onboard`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie: `berth_oidc_onboard=${signIn.cookies.get('berth_oidc_onboard')}` },
      body: JSON.stringify({ username: 'jon' }),
    });
    assert.equal(res.status, 200, await res.clone().text());
  });
});

async function eventually(check: () => Promise<boolean>, limitMs = 30_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail('the second instance never saw the setting');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
