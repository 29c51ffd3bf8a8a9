import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { api, errorCode } from '../helpers/api.js';
import { signInThroughProvider, startOidcProvider, type TestOidcProvider } from '../helpers/oidc-provider.js';
import { basicAuth, startServer, type TestServer } from '../helpers/server.js';

/**
 * OIDC sign-in (auth_mode oidc_auth) against a real OpenID Connect provider on loopback
 * (oidc-provider: its login and consent forms driven over HTTP): the login redirect, first
 * sign-ins with automatic onboarding on and off, groups and the admin group, returning users,
 * refused callbacks, CLI secrets (shown, set, used by the registry and refused elsewhere,
 * kept alive by refreshing the provider token, dead once the provider revokes it), sign-out
 * at the provider and /system/oidc/ping.
 */
describe('OIDC sign-in', () => {
  let server: TestServer;
  let provider: TestOidcProvider;
  const admin = () => server.admin.authorization;

  before(async () => {
    server = await startServer();
    provider = await startOidcProvider({
      berthUrls: [server.url],
      accounts: [
        { id: 'alice-sub', preferred_username: 'alice', name: 'Alice Liddell', email: 'alice@example.com', groups: ['dev', 'qa'] },
        { id: 'carol-sub', preferred_username: 'carol', name: 'Carol', email: 'carol@example.com', groups: ['registry-admins', 'dev'] },
        { id: 'mallory-sub', preferred_username: 'admin', name: 'Mallory', email: 'mallory@example.com' },
        { id: 'kate-sub', preferred_username: 'kate', name: 'Kate', email: 'alice@example.com' },
        { id: 'erin-sub', preferred_username: 'erin', name: 'Erin', email: 'erin@example.com', groups: ['ops'] },
        { id: 'frank-sub', preferred_username: 'frank', name: 'Frank', email: 'frank@example.com' },
        {
          id: 'henry-sub',
          preferred_username: 'henry',
          email: 'henry@example.com',
          groups: Array.from({ length: 150 }, (_, i) => `engineering-team-${i}-developers`),
        },
      ],
    });
  });
  after(async () => {
    await server?.stop();
    await provider?.stop();
  });

  async function configure(settings: Record<string, unknown>) {
    const res = await api(server, 'PUT', '/configurations', { auth: admin(), body: settings });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  }

  interface Session {
    cookie: string;
    csrf: string;
  }
  /** A signed-in session from a cookie header, with its CSRF token (from any answer to it). */
  async function sessionOf(cookie: string): Promise<Session> {
    const res = await api(server, 'GET', '/users/current', { headers: { cookie } });
    assert.equal(res.status, 200, `the session works: ${JSON.stringify(res.body)}`);
    return { cookie, csrf: res.headers.get('x-harbor-csrf-token') ?? '' };
  }
  const withSession = (s: Session) => ({ cookie: s.cookie, 'x-harbor-csrf-token': s.csrf });
  const sid = (cookies: Map<string, string>) => (cookies.has('sid') ? `sid=${cookies.get('sid')}` : '');
  const db = () => server.berth.database.db;
  const userId = async (username: string) =>
    Number((await db().selectFrom('users').select('id').where('username', '=', username).executeTakeFirst())?.id ?? 0);
  const groupsOf = async (username: string) =>
    (
      await db()
        .selectFrom('user_group_members')
        .innerJoin('user_groups', 'user_groups.id', 'user_group_members.group_id')
        .select(['user_groups.group_name', 'user_groups.group_type'])
        .where('user_group_members.user_id', '=', await userId(username))
        .execute()
    )
      .map((g) => `${g.group_name}:${g.group_type}`)
      .sort();

  /** /service/token with Basic username:secret, as docker login does. */
  async function tokenStatus(username: string, secret: string): Promise<number> {
    const res = await fetch(`${server.url}/service/token?service=harbor-registry&scope=repository:library/app:pull`, {
      headers: { authorization: basicAuth(username, secret) },
    });
    await res.arrayBuffer();
    return res.status;
  }
  async function cliSecret(session: Session): Promise<string> {
    const me = await api(server, 'GET', '/users/current', { headers: { cookie: session.cookie } });
    return me.body.oidc_user_meta.secret;
  }

  let alice: Session;
  let aliceSecret = '';

  test('in db_auth, /c/oidc/* and PUT cli_secret answer 412', async () => {
    for (const [method, path] of [
      ['GET', '/c/oidc/login'],
      ['GET', '/c/oidc/callback?code=x&state=y'],
      ['POST', '/c/oidc/onboard'],
    ]) {
      const res = await fetch(`${server.url}${path}`, {
        method,
        redirect: 'manual',
        headers: method === 'POST' ? { 'content-type': 'application/json' } : {},
        body: method === 'POST' ? JSON.stringify({ username: 'x' }) : undefined,
      });
      assert.equal(res.status, 412, `${method} ${path}`);
      assert.equal((await res.json()).errors[0].code, 'PRECONDITION');
    }
    const res = await api(server, 'PUT', '/users/1/cli_secret', { auth: admin(), body: { secret: 'Secret12345' } });
    assert.equal(res.status, 412);
    await configure(provider.settings());
  });

  test('GET /c/oidc/login redirects to the provider with PKCE (S256), state, nonce, the scopes and extra parameters', async () => {
    const res = await fetch(`${server.url}/c/oidc/login?redirect_url=${encodeURIComponent('/projects?x=1')}`, { redirect: 'manual' });
    assert.equal(res.status, 302);
    const location = new URL(res.headers.get('location')!);
    assert.equal(location.origin, provider.issuer);
    const q = location.searchParams;
    assert.equal(q.get('client_id'), provider.clientId);
    assert.equal(q.get('response_type'), 'code');
    assert.equal(q.get('redirect_uri'), `${server.url}/c/oidc/callback`);
    assert.equal(q.get('scope'), 'openid profile email offline_access');
    assert.equal(q.get('code_challenge_method'), 'S256');
    assert.match(q.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.ok((q.get('state') ?? '').length >= 20, 'a random state');
    assert.ok((q.get('nonce') ?? '').length >= 20, 'a random nonce');
    assert.equal(q.get('prompt'), 'consent', 'oidc_extra_redirect_parms');
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('berth_oidc_login='))!;
    assert.ok(cookie, 'the login state travels in a cookie');
    assert.match(cookie, /HttpOnly/i);
    assert.match(cookie, /SameSite=Lax/i);
    assert.match(cookie, /Path=\/c\/oidc/);
    assert.ok(!cookie.includes(q.get('state')!), 'the cookie is sealed: the state is not readable in it');

    const second = new URL((await fetch(`${server.url}/c/oidc/login`, { redirect: 'manual' })).headers.get('location')!);
    assert.notEqual(second.searchParams.get('state'), q.get('state'));
    assert.notEqual(second.searchParams.get('code_challenge'), q.get('code_challenge'));
  });

  test('GET /c/oidc/login refuses a redirect_url off this site (400)', async () => {
    for (const target of ['https://evil.example/', '//evil.example/x', '/\\evil.example', 'projects']) {
      const res = await fetch(`${server.url}/c/oidc/login?redirect_url=${encodeURIComponent(target)}`, { redirect: 'manual' });
      assert.equal(res.status, 400, target);
      assert.equal((await res.json()).errors[0].code, 'BAD_REQUEST');
    }
  });

  test('a first sign-in with auto-onboarding: the user is created from the claims, signed in and sent back where they asked', async () => {
    const signIn = await signInThroughProvider(server.url, 'alice-sub', { redirectUrl: '/projects/library' });
    assert.equal(signIn.status, 302, signIn.body);
    assert.equal(signIn.location, '/projects/library');
    assert.ok(signIn.cookies.get('sid'), 'the session cookie is set');
    alice = await sessionOf(sid(signIn.cookies));
    const me = await api(server, 'GET', '/users/current', { headers: { cookie: alice.cookie } });
    assert.equal(me.body.username, 'alice');
    assert.equal(me.body.email, 'alice@example.com');
    assert.equal(me.body.realname, 'Alice Liddell');
    assert.equal(me.body.sysadmin_flag, false);
    const meta = me.body.oidc_user_meta;
    assert.equal(meta.user_id, me.body.user_id);
    assert.equal(meta.subiss, `alice-sub${provider.issuer}`);
    assert.match(meta.secret, /^(?=.*[a-z])(?=.*[A-Z])(?=.*\d).{8,128}$/, 'the CLI secret follows the password rule');
    aliceSecret = meta.secret;
    assert.ok(meta.creation_time && meta.update_time);
    assert.deepEqual(await groupsOf('alice'), ['dev:3', 'qa:3'], 'the groups claim became OIDC groups');
    const logins = await api(server, 'GET', `/audit-logs?q=${encodeURIComponent('operation=login,username=alice')}`, { auth: admin() });
    assert.equal(logins.status, 200);
    assert.ok(
      logins.body.some((l: any) => l.operation === 'login' && l.username === 'alice'),
      JSON.stringify(logins.body),
    );
  });

  test('the CLI secret is shown to the user themself only', async () => {
    const id = await userId('alice');
    const byAdmin = await api(server, 'GET', `/users/${id}`, { auth: admin() });
    assert.equal(byAdmin.status, 200);
    assert.equal(byAdmin.body.oidc_user_meta, undefined);
    const own = await api(server, 'GET', `/users/${id}`, { headers: { cookie: alice.cookie } });
    assert.equal(own.body.oidc_user_meta.secret, aliceSecret);
    const adminSelf = await api(server, 'GET', '/users/current', { auth: admin() });
    assert.equal(adminSelf.body.oidc_user_meta, undefined, 'the local admin has no OIDC record');
  });

  test('a member of the admin group is a system administrator; others are not', async () => {
    const carol = await signInThroughProvider(server.url, 'carol-sub');
    assert.equal(carol.location, '/');
    const list = await api(server, 'GET', '/users', { headers: { cookie: sid(carol.cookies) } });
    assert.equal(list.status, 200, 'carol administers through registry-admins');
    const carolMe = await api(server, 'GET', '/users/current', { headers: { cookie: sid(carol.cookies) } });
    assert.equal(carolMe.body.admin_role_in_auth, true);
    assert.equal(carolMe.body.sysadmin_flag, false, 'her own flag is untouched');
    const carolByAdmin = await api(server, 'GET', `/users/${carolMe.body.user_id}`, { auth: admin() });
    assert.equal(carolByAdmin.body.admin_role_in_auth, false, 'Harbor shows it to the user themself only');
    assert.equal((await api(server, 'GET', '/users/current', { headers: { cookie: alice.cookie } })).body.admin_role_in_auth, false);
    assert.equal((await api(server, 'GET', '/users', { headers: { cookie: alice.cookie } })).status, 403);
    assert.deepEqual(await groupsOf('carol'), ['dev:3', 'registry-admins:3']);
  });

  test('a returning user is the same account; their claims and groups are read again, and the group filter applies', async () => {
    const before = await userId('alice');
    provider.setAccount({
      id: 'alice-sub',
      preferred_username: 'alice',
      name: 'Alice Liddell',
      email: 'alice@example.com',
      groups: ['dev', 'ops', 'registry-admins'],
    });
    await configure({ oidc_group_filter: '^(dev|ops)$' });
    const again = await signInThroughProvider(server.url, 'alice-sub');
    assert.equal(again.status, 302);
    assert.equal(again.location, '/');
    assert.equal(await userId('alice'), before);
    assert.equal(
      Number(
        (
          await db()
            .selectFrom('oidc_users')
            .select((eb) => eb.fn.countAll().as('n'))
            .where('subiss', '=', `alice-sub${provider.issuer}`)
            .executeTakeFirst()
        )?.n,
      ),
      1,
    );
    assert.deepEqual(await groupsOf('alice'), ['dev:3', 'ops:3'], 'filtered: registry-admins is not stored as a group');
    const session = await sessionOf(sid(again.cookies));
    assert.equal(
      (await api(server, 'GET', '/users', { headers: { cookie: session.cookie } })).status,
      200,
      'but the admin group still counts',
    );
    // Back to plain alice for the rest.
    provider.setAccount({
      id: 'alice-sub',
      preferred_username: 'alice',
      name: 'Alice Liddell',
      email: 'alice@example.com',
      groups: ['dev', 'qa'],
    });
    await configure({ oidc_group_filter: '' });
    const plain = await signInThroughProvider(server.url, 'alice-sub');
    alice = await sessionOf(sid(plain.cookies));
    assert.equal((await api(server, 'GET', '/users', { headers: { cookie: alice.cookie } })).status, 403);
    assert.equal(await cliSecret(alice), aliceSecret, 'signing in again keeps the CLI secret');
  });

  test('the callback refuses a state that does not match, a forged code, a missing login cookie and a provider error', async () => {
    const start = await fetch(`${server.url}/c/oidc/login`, { redirect: 'manual' });
    const state = new URL(start.headers.get('location')!).searchParams.get('state')!;
    const loginCookie = start.headers.getSetCookie()[0].split(';')[0];
    const usersBefore = (await db().selectFrom('users').select('id').execute()).length;
    const cases: Array<[string, string, RegExp]> = [
      [`?code=abc&state=wrong`, loginCookie, /State mismatch/],
      [`?code=forged-code&state=${state}`, loginCookie, /refused/],
      [`?code=abc&state=${state}`, '', /expired|another browser/],
      [`?error=access_denied&error_description=nope&state=${state}`, loginCookie, /access_denied/],
      [`?code=abc&state=${state}`, 'berth_oidc_login=bsec1:0123456789ab:AAAA', /expired|another browser/],
    ];
    for (const [query, cookie, message] of cases) {
      const res = await fetch(`${server.url}/c/oidc/callback${query}`, { redirect: 'manual', headers: cookie ? { cookie } : {} });
      assert.equal(res.status, 302, query);
      const location = new URL(res.headers.get('location')!, server.url);
      assert.equal(location.pathname, '/sign-in', query);
      assert.match(location.searchParams.get('oidc_error') ?? '', message, query);
      assert.ok(!res.headers.getSetCookie().some((c) => c.startsWith('sid=')), `${query}: no session`);
    }
    assert.equal((await db().selectFrom('users').select('id').execute()).length, usersBefore, 'nobody was created');
  });

  test('auto-onboarding never takes over an existing account with the claimed username', async () => {
    const adminBefore = await db().selectFrom('users').selectAll().where('id', '=', 1).executeTakeFirstOrThrow();
    const res = await signInThroughProvider(server.url, 'mallory-sub');
    assert.equal(res.status, 302);
    const location = new URL(res.location, server.url);
    assert.equal(location.pathname, '/sign-in');
    assert.match(location.searchParams.get('oidc_error') ?? '', /admin is already taken/);
    assert.ok(!res.cookies.has('sid'));
    assert.equal(await db().selectFrom('oidc_users').selectAll().where('user_id', '=', 1).executeTakeFirst(), undefined);
    assert.deepEqual(
      await db().selectFrom('users').selectAll().where('id', '=', 1).executeTakeFirstOrThrow(),
      adminBefore,
      'admin is unchanged',
    );
  });

  test("auto-onboarding refuses an email another account uses, without naming that account (Harbor's 409)", async () => {
    const res = await signInThroughProvider(server.url, 'kate-sub');
    const location = new URL(res.location, server.url);
    assert.equal(location.pathname, '/sign-in');
    const message = location.searchParams.get('oidc_error') ?? '';
    assert.match(message, /alice@example\.com is already used/);
    assert.doesNotMatch(message, /\balice\b(?!@)/);
    assert.equal(await userId('kate'), 0);
  });

  test('without auto-onboarding a first sign-in goes to /oidc-onboard, and POST /c/oidc/onboard creates the user', async () => {
    await configure({ oidc_auto_onboard: false });
    const res = await signInThroughProvider(server.url, 'erin-sub', { redirectUrl: '/projects' });
    assert.equal(res.status, 302);
    const location = new URL(res.location, server.url);
    assert.equal(location.pathname, '/oidc-onboard');
    assert.equal(location.searchParams.get('username'), 'erin');
    assert.equal(location.searchParams.get('redirect_url'), '/projects');
    assert.ok(!res.cookies.has('sid'), 'not signed in yet');
    assert.equal(await userId('erin'), 0, 'not created yet');
    const onboardCookie = `berth_oidc_onboard=${res.cookies.get('berth_oidc_onboard')}`;

    const onboard = (body: unknown, cookie?: string) =>
      fetch(`${server.url}/c/oidc/onboard`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
        body: JSON.stringify(body),
      });
    const expectError = async (res: Response, status: number, code: string, message?: RegExp) => {
      assert.equal(res.status, status);
      const body = await res.json();
      assert.equal(body.errors[0].code, code);
      if (message) assert.match(body.errors[0].message, message);
      assert.ok(!res.headers.getSetCookie().some((c) => c.startsWith('sid=')));
    };
    await expectError(await onboard({ username: 'alice' }, onboardCookie), 409, 'CONFLICT', /alice is already taken/);
    await expectError(await onboard({ username: 'bad#name' }, onboardCookie), 400, 'BAD_REQUEST');
    await expectError(await onboard({ username: '' }, onboardCookie), 400, 'BAD_REQUEST');
    await expectError(await onboard({ username: 'erin' }), 400, 'BAD_REQUEST', /sign in through the OIDC provider/);
    await expectError(await onboard({ username: 'erin' }, 'berth_oidc_onboard=forged'), 401, 'UNAUTHORIZED');
    const value = res.cookies.get('berth_oidc_onboard')!;
    const tampered = value.slice(0, -6) + (value.endsWith('AAAAAA') ? 'BBBBBB' : 'AAAAAA');
    await expectError(await onboard({ username: 'erin' }, `berth_oidc_onboard=${tampered}`), 401, 'UNAUTHORIZED');
    assert.equal(await userId('erin'), 0, 'nothing was created by the refused requests');

    const done = await onboard({ username: 'erin_b' }, onboardCookie);
    assert.equal(done.status, 200, await done.clone().text());
    const setCookies = done.headers.getSetCookie();
    const sidCookie = setCookies.find((c) => c.startsWith('sid='))!;
    assert.ok(sidCookie);
    assert.match(sidCookie, /HttpOnly/i);
    assert.match(sidCookie, /SameSite=Lax/i);
    const erin = await sessionOf(sidCookie.split(';')[0]);
    const me = await api(server, 'GET', '/users/current', { headers: { cookie: erin.cookie } });
    assert.equal(me.body.username, 'erin_b');
    assert.equal(me.body.email, 'erin@example.com');
    assert.equal(me.body.oidc_user_meta.subiss, `erin-sub${provider.issuer}`);
    assert.deepEqual(await groupsOf('erin_b'), ['ops:3']);
    // The same sign-in cannot onboard a second account.
    await expectError(await onboard({ username: 'erin_c' }, onboardCookie), 409, 'CONFLICT');
    // Erin's next sign-in goes straight in.
    const back = await signInThroughProvider(server.url, 'erin-sub');
    assert.equal(back.location, '/');
    assert.ok(back.cookies.has('sid'));
    await configure({ oidc_auto_onboard: true });
  });

  test('a first sign-in with many groups still fits its onboarding cookie in what browsers keep', async () => {
    await configure({ oidc_auto_onboard: false });
    const res = await signInThroughProvider(server.url, 'henry-sub');
    assert.equal(new URL(res.location, server.url).pathname, '/oidc-onboard');
    const cookie = `berth_oidc_onboard=${res.cookies.get('berth_oidc_onboard')}`;
    assert.ok(cookie.length < 4000, `${cookie.length} bytes`);
    const done = await fetch(`${server.url}/c/oidc/onboard`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie },
      body: JSON.stringify({ username: 'henry' }),
    });
    assert.equal(done.status, 200, await done.clone().text());
    assert.equal((await groupsOf('henry')).length, 150);
    await configure({ oidc_auto_onboard: true });
  });

  test('the CLI secret opens /service/token and /v2, and nothing else', async () => {
    assert.equal(await tokenStatus('alice', aliceSecret), 200);
    assert.equal(await tokenStatus('alice', 'Wrong12345'), 401);
    assert.equal(await tokenStatus('nobody', aliceSecret), 401);
    const v2 = await fetch(`${server.url}/v2/`, { headers: { authorization: basicAuth('alice', aliceSecret) } });
    assert.equal(v2.status, 200);
    const apiCall = await api(server, 'GET', '/users/current', { auth: basicAuth('alice', aliceSecret) });
    assert.equal(apiCall.status, 401);
    assert.equal(errorCode(apiCall), 'UNAUTHORIZED');
    const login = await fetch(`${server.url}/c/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ principal: 'alice', password: aliceSecret }).toString(),
    });
    assert.equal(login.status, 401, 'the CLI secret does not sign in to the portal');
    assert.ok(!login.headers.getSetCookie().some((c) => c.startsWith('sid=')));
    // The local admin still signs in with their password.
    const adminLogin = await fetch(`${server.url}/c/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ principal: 'admin', password: 'Harbor12345' }).toString(),
    });
    assert.equal(adminLogin.status, 200);
  });

  test('PUT /users/{id}/cli_secret: the user themself or an admin; others 403, weak 400, non-OIDC users 412, unknown 404', async () => {
    const id = await userId('alice');
    const put = (target: number, body: unknown, headers: Record<string, string>) =>
      api(server, 'PUT', `/users/${target}/cli_secret`, { headers, body });
    const self = await put(id, { secret: 'AliceOwn2024' }, withSession(alice));
    assert.equal(self.status, 200, JSON.stringify(self.body));
    assert.equal(await cliSecret(alice), 'AliceOwn2024');
    assert.equal(await tokenStatus('alice', 'AliceOwn2024'), 200);
    assert.equal(await tokenStatus('alice', aliceSecret), 401, 'the old secret stops at once');

    const weak = await put(id, { secret: 'short' }, withSession(alice));
    assert.equal(weak.status, 400);
    assert.equal(errorCode(weak), 'BAD_REQUEST');
    assert.equal(await cliSecret(alice), 'AliceOwn2024', 'unchanged');

    const byAdmin = await api(server, 'PUT', `/users/${id}/cli_secret`, { auth: admin(), body: { secret: 'SetByAdmin77' } });
    assert.equal(byAdmin.status, 200);
    assert.equal(await cliSecret(alice), 'SetByAdmin77');

    const erin = await signInThroughProvider(server.url, 'erin-sub');
    const erinSession = await sessionOf(sid(erin.cookies));
    const other = await put(id, { secret: 'ErinWasHere1' }, withSession(erinSession));
    assert.equal(other.status, 403);
    assert.equal(errorCode(other), 'FORBIDDEN');
    assert.equal(await cliSecret(alice), 'SetByAdmin77');
    const anonymous = await api(server, 'PUT', `/users/${id}/cli_secret`, { body: { secret: 'Anonymous12' } });
    assert.equal(anonymous.status, 401);

    const local = await api(server, 'PUT', '/users/1/cli_secret', { auth: admin(), body: { secret: 'AdminSecret1' } });
    assert.equal(local.status, 412);
    assert.equal(errorCode(local), 'PRECONDITION');
    const missing = await api(server, 'PUT', '/users/99999/cli_secret', { auth: admin(), body: { secret: 'Nobody12345' } });
    assert.equal(missing.status, 404);

    const generated = await put(id, { secret: '' }, withSession(alice));
    assert.equal(generated.status, 200);
    aliceSecret = await cliSecret(alice);
    assert.notEqual(aliceSecret, 'SetByAdmin77');
    assert.match(aliceSecret, /^(?=.*[a-z])(?=.*[A-Z])(?=.*\d).{8,128}$/);

    const audit = await api(server, 'GET', `/audit-logs?q=${encodeURIComponent('resource=alice:cli_secret')}`, { auth: admin() });
    assert.equal(audit.status, 200);
    assert.ok(audit.body.length >= 3, JSON.stringify(audit.body));
  });

  test('an expired provider token is refreshed at the next docker login (new groups read); a revoked one stops the CLI secret', async () => {
    const id = await userId('alice');
    provider.setAccount({
      id: 'alice-sub',
      preferred_username: 'alice',
      name: 'Alice Liddell',
      email: 'alice@example.com',
      groups: ['dev', 'qa', 'platform'],
    });
    await db()
      .updateTable('oidc_users')
      .set({ token_expires_at: Date.now() - 1000 })
      .where('user_id', '=', id)
      .execute();
    server.berth.authenticator.invalidate();
    const refreshes = provider.refreshes();
    assert.equal(await tokenStatus('alice', aliceSecret), 200);
    assert.equal(provider.refreshes(), refreshes + 1, 'the provider was asked for a new token');
    const row = await db().selectFrom('oidc_users').selectAll().where('user_id', '=', id).executeTakeFirstOrThrow();
    assert.ok(Number(row.token_expires_at) > Date.now(), 'the new expiry is stored');
    assert.deepEqual(await groupsOf('alice'), ['dev:3', 'platform:3', 'qa:3']);

    // Concurrent logins share one refresh (the provider rotates refresh tokens: a second use would fail).
    await db()
      .updateTable('oidc_users')
      .set({ token_expires_at: Date.now() - 1000 })
      .where('user_id', '=', id)
      .execute();
    server.berth.authenticator.invalidate();
    const statuses = await Promise.all([1, 2, 3].map(() => tokenStatus('alice', aliceSecret)));
    assert.deepEqual(statuses, [200, 200, 200]);
    assert.equal(provider.refreshes(), refreshes + 2);

    assert.ok(provider.revokeAccount('alice-sub') > 0);
    await db()
      .updateTable('oidc_users')
      .set({ token_expires_at: Date.now() - 1000 })
      .where('user_id', '=', id)
      .execute();
    server.berth.authenticator.invalidate();
    assert.equal(await tokenStatus('alice', aliceSecret), 401, 'the refresh fails, so the secret no longer works');
    const v2 = await fetch(`${server.url}/v2/`, { headers: { authorization: basicAuth('alice', aliceSecret) } });
    assert.equal(v2.status, 401);

    // Signing in again through the provider brings it back.
    const again = await signInThroughProvider(server.url, 'alice-sub');
    alice = await sessionOf(sid(again.cookies));
    server.berth.authenticator.invalidate();
    assert.equal(await tokenStatus('alice', aliceSecret), 200);
  });

  test('a token that expired with no refresh token stops the CLI secret', async () => {
    await configure({ oidc_scope: 'openid,profile,email' });
    const frank = await signInThroughProvider(server.url, 'frank-sub');
    const session = await sessionOf(sid(frank.cookies));
    const secret = await cliSecret(session);
    assert.equal(await tokenStatus('frank', secret), 200, 'works while the token is valid');
    await db()
      .updateTable('oidc_users')
      .set({ token_expires_at: Date.now() - 1000 })
      .where('user_id', '=', await userId('frank'))
      .execute();
    server.berth.authenticator.invalidate();
    assert.equal(await tokenStatus('frank', secret), 401);
    await configure({ oidc_scope: 'openid,profile,email,offline_access' });
  });

  test('sign-out with oidc_logout on names the provider end-session URL; /c/oidc/logout redirects there', async () => {
    const plain = await fetch(`${server.url}/c/log_out`, { headers: { cookie: alice.cookie } });
    assert.equal(plain.status, 200);
    assert.equal(await plain.text(), '', 'oidc_logout off: nothing more to do');
    assert.equal((await api(server, 'GET', '/users/current', { headers: { cookie: alice.cookie } })).status, 401);

    await configure({ oidc_logout: true });
    const first = await signInThroughProvider(server.url, 'alice-sub');
    const res = await fetch(`${server.url}/c/log_out`, { headers: { cookie: sid(first.cookies) } });
    assert.equal(res.status, 200);
    const target = new URL((await res.json()).redirect_location);
    assert.equal(target.origin, provider.issuer);
    assert.ok(target.searchParams.get('id_token_hint'));
    assert.equal(target.searchParams.get('post_logout_redirect_uri'), `${server.url}/sign-in`);
    assert.equal(
      (await api(server, 'GET', '/users/current', { headers: { cookie: sid(first.cookies) } })).status,
      401,
      'the session ended',
    );
    const endSession = await fetch(target, { redirect: 'manual' });
    assert.ok(endSession.status < 500, 'the provider accepts the end-session request');

    const second = await signInThroughProvider(server.url, 'alice-sub');
    const viaHarborPath = await fetch(`${server.url}/c/oidc/logout`, { redirect: 'manual', headers: { cookie: sid(second.cookies) } });
    assert.equal(viaHarborPath.status, 302);
    assert.equal(new URL(viaHarborPath.headers.get('location')!).origin, provider.issuer);
    assert.equal((await api(server, 'GET', '/users/current', { headers: { cookie: sid(second.cookies) } })).status, 401);
    const anonymous = await fetch(`${server.url}/c/oidc/logout`, { redirect: 'manual' });
    assert.equal(anonymous.headers.get('location'), '/sign-in');
    await configure({ oidc_logout: false });
    const third = await signInThroughProvider(server.url, 'alice-sub');
    alice = await sessionOf(sid(third.cookies));
  });

  test('POST /system/oidc/ping: 200 for a working issuer, 400 with the reason otherwise; system administrators only', async () => {
    const ok = await api(server, 'POST', '/system/oidc/ping', { auth: admin(), body: { url: provider.issuer, verify_cert: true } });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    const down = await api(server, 'POST', '/system/oidc/ping', { auth: admin(), body: { url: 'http://127.0.0.1:1', verify_cert: false } });
    assert.equal(down.status, 400);
    assert.match(down.body.errors[0].message, /127\.0\.0\.1:1/);
    const notOidc = await api(server, 'POST', '/system/oidc/ping', { auth: admin(), body: { url: `${server.url}/nothing` } });
    assert.equal(notOidc.status, 400);
    const plainHttp = await api(server, 'POST', '/system/oidc/ping', { auth: admin(), body: { url: 'http://idp.example.com' } });
    assert.equal(plainHttp.status, 400);
    assert.match(plainHttp.body.errors[0].message, /https/);
    assert.equal((await api(server, 'POST', '/system/oidc/ping', { auth: admin(), body: {} })).status, 400);
    assert.equal((await api(server, 'POST', '/system/oidc/ping', { body: { url: provider.issuer } })).status, 401);
    const byUser = await api(server, 'POST', '/system/oidc/ping', { headers: withSession(alice), body: { url: provider.issuer } });
    assert.equal(byUser.status, 403);
  });
});
