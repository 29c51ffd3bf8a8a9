import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { api } from '../helpers/api.js';
import {
  browserSkip,
  desktopLight,
  eventually,
  field,
  h1,
  inspectPage,
  launchBrowser,
  openPage,
  phoneDark,
  settle,
  signIn,
  type WatchedPage,
} from '../helpers/browser.js';
import { startOidcProvider, type TestOidcProvider } from '../helpers/oidc-provider.js';
import { adminPassword, basicAuth, type TestServer } from '../helpers/server.js';
import { assertNoOverflow, closePortal, openDialog, startPortalServer } from './ui.js';

const skip = browserSkip();

/**
 * Single sign-on in the portal against a real OpenID Connect provider (oidc-provider on
 * loopback, its own login and consent pages): in db_auth the sign-in page offers only the
 * form; in oidc_auth a first sign-in goes through the provider and, with auto-onboarding off,
 * the onboarding page (a taken username refused on the field, a free one signs in); the user
 * profile (read-only: the account lives at the provider) shows the CLI secret on demand, copies it, generates a new one and sets one (a weak
 * one refused with the server's message) and the token service takes only the current secret;
 * a returning user comes back to the page they asked for, as does a first one with automatic
 * onboarding; the callback's error is shown; an OIDC user signs out through the server (and
 * the provider with oidc_logout); the local admin still signs in with the form, folded away
 * when OIDC is the primary mode, and edits their profile (a bad email refused). On a phone in dark, with axe and no console error on Berth's
 * pages.
 */
describe('portal: OIDC sign-in and the user profile', { skip }, () => {
  let server: TestServer;
  let provider: TestOidcProvider;
  let browser: Browser;
  /** Alice's page, signed in through the provider by the first-sign-in test. */
  let alice: WatchedPage | undefined;
  const admin = () => server.admin.authorization;
  const providerName = 'Test provider';
  const ssoLink = (page: Page) => page.getByRole('link', { name: `Sign in with ${providerName}` });

  async function configure(settings: Record<string, unknown>) {
    const res = await api(server, 'PUT', '/configurations', { auth: admin(), body: settings });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  }

  /** The token service's answer to Basic username:secret (what docker login does). */
  async function tokenStatus(username: string, secret: string): Promise<number> {
    const res = await fetch(`${server.url}/service/token?service=harbor-registry&scope=repository:team/app:pull`, {
      headers: { authorization: basicAuth(username, secret) },
    });
    await res.arrayBuffer();
    return res.status;
  }

  /**
   * Fails on the browser's problems as assertNoConsoleErrors does, leaving out those of the
   * provider's own pages (they load a web font from the internet, closed here, and have no favicon).
   */
  function assertNoBerthConsoleErrors(watched: WatchedPage) {
    const providerPage = `console error on ${provider.issuer}/`;
    for (let i = watched.problems.length - 1; i >= 0; i -= 1)
      if (watched.problems[i]!.startsWith(providerPage)) watched.problems.splice(i, 1);
    watched.assertNoConsoleErrors();
  }

  /** The provider's own login form (any password for a known account) and its consent page. */
  async function logInAtProvider(page: Page, accountId: string) {
    await page.waitForURL((url) => url.origin === provider.issuer && url.pathname.startsWith('/interaction/'));
    await page.locator('input[name="login"]').fill(accountId);
    await page.locator('input[name="password"]').fill('any password');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    // The settings ask for consent at every sign-in (prompt=consent, for the refresh token).
    await page.waitForURL((url) => url.origin === provider.issuer && url.pathname.startsWith('/interaction/'));
    await page.getByRole('button', { name: 'Continue' }).click();
  }

  before(async () => {
    server = await startPortalServer();
    provider = await startOidcProvider({
      berthUrls: [server.url],
      accounts: [
        { id: 'alice-sub', preferred_username: 'alice', name: 'Alice', email: 'alice@example.com' },
        { id: 'bob-sub', preferred_username: 'bob', name: 'Bob', email: 'bob@example.com' },
      ],
    });
    const project = await api(server, 'POST', '/projects', { auth: admin(), body: { project_name: 'team', metadata: { public: 'true' } } });
    assert.equal(project.status, 201, JSON.stringify(project.body));
    browser = await launchBrowser();
  });
  after(async () => {
    await alice?.close();
    await closePortal({ browser, server });
    await provider?.stop();
  });

  test('db_auth: the sign-in page offers the form and no single sign-on', async () => {
    const watched = await openPage(browser, server.url, phoneDark);
    const { page } = watched;
    try {
      await page.goto('/sign-in');
      await h1(page).filter({ hasText: 'Sign in to Berth' }).waitFor();
      await settle(page);
      assert.equal(await page.getByRole('link', { name: /^Sign in with/ }).count(), 0, 'no single sign-on link in db_auth');
      await field(page, 'Username or email').waitFor();
      await field(page, 'Password').waitFor();
      await inspectPage(page, 'oidc-sign-in-db-auth-phone-dark');
      assertNoBerthConsoleErrors(watched);
    } finally {
      await watched.close();
    }
    await configure(provider.settings({ oidc_name: providerName, oidc_auto_onboard: false }));
  });

  test('first sign-in: the provider, then a username to choose (a taken one refused, a free one signs in)', async () => {
    alice = await openPage(browser, server.url, phoneDark);
    const { page } = alice;
    await page.goto('/projects');
    await page.waitForURL((url) => url.pathname === '/sign-in');
    await ssoLink(page).waitFor();
    // The local form stays, under its own label, for the local admin.
    await page.getByText('or sign in with a local account').waitFor();
    await field(page, 'Username or email').waitFor();
    await inspectPage(page, 'oidc-sign-in-phone-dark');
    await assertNoOverflow(page);

    await ssoLink(page).click();
    await logInAtProvider(page, 'alice-sub');

    await page.waitForURL((url) => url.pathname === '/oidc-onboard');
    await h1(page).filter({ hasText: 'Choose a username' }).waitFor();
    const username = field(page, 'Username');
    assert.equal(await username.inputValue(), 'alice', 'prefilled with the name the provider suggests');
    await inspectPage(page, 'oidc-onboard-phone-dark');
    await assertNoOverflow(page);

    // Not a username: refused before anything is sent.
    await username.fill('alice smith');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByText('No spaces and none of , " ~ # % $ :').first().waitFor();
    assert.equal(await username.getAttribute('aria-invalid'), 'true');

    // Taken: the server's 409 shows on the field; nobody is created or signed in.
    alice.expectFailure({ path: '/c/oidc/onboard', status: 409 });
    await username.fill('admin');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByText(/^The username admin is already taken/).waitFor();
    assert.equal(new URL(page.url()).pathname, '/oidc-onboard');
    const users = await api(server, 'GET', '/users?page_size=100', { auth: admin() });
    assert.deepEqual(
      (users.body as Array<{ username: string }>).map((u) => u.username),
      ['admin'],
    );
    await inspectPage(page, 'oidc-onboard-taken-phone-dark');

    await username.fill('alice');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL((url) => url.pathname === '/projects');
    await page.getByRole('button', { name: 'User menu for alice' }).waitFor();
    const me = await page.evaluate(async () => (await fetch('/api/v2.0/users/current')).json());
    assert.equal(me.username, 'alice');
    assert.ok(me.oidc_user_meta?.secret, 'an OIDC user has a CLI secret');
    assertNoBerthConsoleErrors(alice);
  });

  test('User profile: the CLI secret shown, copied, generated and set; only the current one works with the token service', async () => {
    assert.ok(alice, 'signed in by the previous test');
    const { page } = alice;
    await page.getByRole('button', { name: 'User menu for alice' }).click();
    await page.getByRole('menuitem', { name: 'User profile' }).click();
    const dialog = await openDialog(page);
    assert.equal(await field(dialog, 'Username').inputValue(), 'alice');
    assert.equal(await field(dialog, 'Username').getAttribute('readonly'), '');

    const secretInput = dialog.locator('input').and(field(dialog, 'CLI secret'));
    assert.equal(await secretInput.getAttribute('type'), 'password', 'hidden until asked for');
    await dialog.getByText(/docker login/).waitFor();
    await inspectPage(page, 'oidc-profile-phone-dark');
    await dialog.getByRole('button', { name: 'Show CLI secret' }).click();
    assert.equal(await secretInput.getAttribute('type'), 'text');
    const first = await secretInput.inputValue();
    assert.ok(first.length >= 8, first);
    await dialog.getByRole('button', { name: 'Copy CLI secret' }).click();
    await eventually(async () => assert.equal(await page.evaluate(() => navigator.clipboard.readText()), first));
    assert.equal(await tokenStatus('alice', first), 200, 'the CLI secret signs in to the token service');

    await dialog.getByRole('button', { name: 'Generate new secret' }).click();
    await page.getByText('Your CLI secret was changed: the old one no longer works').waitFor();
    await eventually(async () => assert.notEqual(await secretInput.inputValue(), first));
    const second = await secretInput.inputValue();
    assert.equal(await tokenStatus('alice', second), 200, 'the new secret works');
    assert.equal(await tokenStatus('alice', first), 401, 'the old secret does not');

    // A secret that breaks the password rule: the server's message on the field, nothing changed.
    await dialog.getByRole('button', { name: 'Set secret' }).click();
    const newSecret = field(dialog, 'New secret');
    alice.expectFailure({ path: `/api/v2.0/users/${await currentUserId(page)}/cli_secret`, status: 400 });
    await newSecret.fill('weak');
    await dialog.getByRole('button', { name: 'Save secret' }).click();
    // The server's password rule, on the field.
    await dialog.getByText('Password must be 8 to 128 characters long.').waitFor();
    assert.equal(await secretInput.inputValue(), second);
    assert.equal(await tokenStatus('alice', second), 200);
    await inspectPage(page, 'oidc-profile-weak-secret-phone-dark');

    await newSecret.fill('Chosen-Secret-42');
    await dialog.getByRole('button', { name: 'Save secret' }).click();
    await eventually(async () => assert.equal(await secretInput.inputValue(), 'Chosen-Secret-42'));
    assert.equal(await tokenStatus('alice', 'Chosen-Secret-42'), 200);
    assert.equal(await tokenStatus('alice', second), 401);

    // Outside db_auth the account lives at the provider: the profile is read-only here.
    for (const label of ['Email', 'Full name', 'Comment']) {
      assert.equal(await field(dialog, label).getAttribute('readonly'), '', `${label} is read-only`);
    }
    assert.equal(await field(dialog, 'Email').inputValue(), 'alice@example.com', 'the email the provider gave');
    assert.equal(await dialog.getByRole('button', { name: 'Save', exact: true }).count(), 0);
    await dialog.getByText(/change it there/).waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    assertNoBerthConsoleErrors(alice);
  });

  test('a returning user signs in through the provider and comes back to the page they asked for', async () => {
    const watched = await openPage(browser, server.url, desktopLight);
    const { page } = watched;
    try {
      await page.goto('/projects/team');
      await page.waitForURL((url) => url.pathname === '/sign-in');
      await ssoLink(page).click();
      await logInAtProvider(page, 'alice-sub');
      await page.waitForURL((url) => url.pathname === '/projects/team');
      await page.getByRole('button', { name: 'User menu for alice' }).waitFor();
      assertNoBerthConsoleErrors(watched);
    } finally {
      await watched.close();
    }
  });

  test('with automatic onboarding, a first sign-in goes straight in under the name the provider gives', async () => {
    await configure({ oidc_auto_onboard: true });
    const watched = await openPage(browser, server.url, desktopLight);
    const { page } = watched;
    try {
      await page.goto('/projects/team');
      await page.waitForURL((url) => url.pathname === '/sign-in');
      await ssoLink(page).click();
      await logInAtProvider(page, 'bob-sub');
      await page.waitForURL((url) => url.origin === server.url && url.pathname === '/projects/team');
      await page.getByRole('button', { name: 'User menu for bob' }).waitFor();
      assertNoBerthConsoleErrors(watched);
    } finally {
      await watched.close();
      await configure({ oidc_auto_onboard: false });
    }
  });

  test('an error at the callback comes back to the sign-in page, which shows it; onboarding without a sign-in is refused', async () => {
    const watched = await openPage(browser, server.url, phoneDark);
    const { page } = watched;
    try {
      // A callback without the sign-in this browser started (no login cookie): refused, in words.
      await page.goto('/c/oidc/callback?code=forged&state=forged');
      await page.waitForURL((url) => url.pathname === '/sign-in' && url.searchParams.has('oidc_error'));
      const alert = page.getByRole('alert').filter({ hasText: 'Single sign-on did not work' });
      await alert.waitFor();
      assert.match((await alert.textContent()) ?? '', /sign in again/);
      await ssoLink(page).waitFor();
      await inspectPage(page, 'oidc-sign-in-error-phone-dark');

      // The onboarding page without a sign-in at the provider behind it: refused, with the way back.
      watched.expectFailure({ path: '/c/oidc/onboard', status: 400 });
      await page.goto('/oidc-onboard?username=mallory');
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByRole('alert').filter({ hasText: 'sign in through the OIDC provider first' }).waitFor();
      assert.equal((await api(server, 'GET', '/users?q=username%3Dmallory', { auth: admin() })).body.length, 0);
      await page.getByRole('link', { name: 'Back to sign in' }).click();
      await page.waitForURL((url) => url.pathname === '/sign-in');
      await ssoLink(page).waitFor();
      assertNoBerthConsoleErrors(watched);
    } finally {
      await watched.close();
    }
  });

  test("signing out: an OIDC user leaves through the server; with oidc_logout on, the provider's session ends too", async () => {
    assert.ok(alice, 'signed in by the first-sign-in test');
    const { page } = alice;
    const signOut = async () => {
      await page.getByRole('button', { name: 'User menu for alice' }).click();
      await page.getByRole('menuitem', { name: 'Sign out' }).click();
    };
    const signedIn = () => page.evaluate(async () => (await fetch('/api/v2.0/users/current')).status);

    await page.goto('/projects');
    await page.getByRole('button', { name: 'User menu for alice' }).click();
    assert.equal(await page.getByRole('menuitem', { name: 'Change password' }).count(), 0, 'an OIDC user has no password here');
    await page.keyboard.press('Escape');
    await signOut();
    await page.waitForURL((url) => url.origin === server.url && url.pathname === '/sign-in');
    assert.equal(await signedIn(), 401);

    // oidc_logout off: the provider still knows Alice, so only its consent page comes up.
    await ssoLink(page).click();
    await page.waitForURL((url) => url.origin === provider.issuer && url.pathname.startsWith('/interaction/'));
    assert.equal(await page.locator('input[name="login"]').count(), 0, 'no login at the provider');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL((url) => url.origin === server.url && url.pathname === '/projects');
    await page.getByRole('button', { name: 'User menu for alice' }).waitFor();

    await configure({ oidc_logout: true });
    try {
      await signOut();
      // The provider asks whether to end its session too, then sends the browser back to sign-in.
      await page.waitForURL((url) => url.origin === provider.issuer);
      await page.getByRole('button', { name: 'Yes, sign me out' }).click();
      await page.waitForURL((url) => url.origin === server.url && url.pathname === '/sign-in');
      assert.equal(await signedIn(), 401);
      await ssoLink(page).click();
      await page.waitForURL((url) => url.origin === provider.issuer && url.pathname.startsWith('/interaction/'));
      await page.locator('input[name="login"]').waitFor();
    } finally {
      await configure({ oidc_logout: false });
    }
    assertNoBerthConsoleErrors(alice);
  });

  test('the local admin still signs in with the form, folded away when OIDC is the primary mode', async () => {
    let watched = await openPage(browser, server.url, desktopLight);
    try {
      await signIn(watched.page, 'admin', adminPassword);
      await watched.page.getByRole('button', { name: 'User menu for admin' }).waitFor();
      // The admin has no CLI secret: the profile has no such section.
      await watched.page.getByRole('button', { name: 'User menu for admin' }).click();
      await watched.page.getByRole('menuitem', { name: 'User profile' }).click();
      const dialog = await openDialog(watched.page);
      await field(dialog, 'Email').waitFor();
      assert.equal(await dialog.getByText('CLI secret').count(), 0);
      // The local admin's profile stays editable: a bad email refused on its field, nothing saved.
      watched.expectFailure({ path: '/api/v2.0/users/1', status: 400 });
      await field(dialog, 'Full name').fill('Registry Admin');
      await field(dialog, 'Email').fill('not-an-email');
      await dialog.getByRole('button', { name: 'Save', exact: true }).click();
      await dialog.getByText(/^Email "not-an-email" is not a valid address/).waitFor();
      const unchanged = await api(server, 'GET', '/users/1', { auth: admin() });
      assert.notEqual(unchanged.body.realname, 'Registry Admin');
      await field(dialog, 'Email').fill('admin@example.com');
      await field(dialog, 'Comment').fill('The local account');
      await dialog.getByRole('button', { name: 'Save', exact: true }).click();
      await dialog.waitFor({ state: 'hidden' });
      const saved = await api(server, 'GET', '/users/1', { auth: admin() });
      assert.equal(saved.body.realname, 'Registry Admin');
      assert.equal(saved.body.email, 'admin@example.com');
      assert.equal(saved.body.comment, 'The local account');
      assertNoBerthConsoleErrors(watched);
    } finally {
      await watched.close();
    }

    await configure({ primary_auth_mode: true });
    watched = await openPage(browser, server.url, phoneDark);
    const { page } = watched;
    try {
      await page.goto('/sign-in');
      await ssoLink(page).waitFor();
      const local = page.getByRole('button', { name: 'Sign in with a local account' });
      await local.waitFor();
      await settle(page);
      assert.equal(await field(page, 'Password').isVisible(), false, 'the local form is folded away');
      await inspectPage(page, 'oidc-sign-in-primary-phone-dark');
      await local.click();
      await field(page, 'Username or email').fill('admin');
      await field(page, 'Password').fill(adminPassword);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.waitForURL((url) => url.pathname === '/projects');
      await page.getByRole('button', { name: 'User menu for admin' }).waitFor();
      assertNoBerthConsoleErrors(watched);
    } finally {
      await watched.close();
      await configure({ primary_auth_mode: false });
    }
  });
});

async function currentUserId(page: Page): Promise<number> {
  return page.evaluate(async () => (await (await fetch('/api/v2.0/users/current')).json()).user_id as number);
}
