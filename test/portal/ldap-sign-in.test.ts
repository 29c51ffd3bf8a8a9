import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { api } from '../helpers/api.js';
import { browserSkip, ensurePortalBuilt, field, h1, inspectPage, launchBrowser, openPage, phoneDark } from '../helpers/browser.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { ldapSettings, slapdSkip, startSlapd, type Slapd } from '../helpers/slapd.js';

const skip = browserSkip() || slapdSkip();

describe('portal sign-in with an LDAP account', { skip }, () => {
  let slapd: Slapd;
  let server: TestServer;
  let browser: Browser;

  before(async () => {
    ensurePortalBuilt();
    slapd = await startSlapd();
    server = await startServer();
    const res = await api(server, 'PUT', '/configurations', {
      auth: server.admin.authorization,
      body: { auth_mode: 'ldap_auth', ...ldapSettings(slapd) },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    await slapd?.stop();
  });

  test('a directory user signs in with the directory password (a wrong one is refused) and lands signed in as themself', async () => {
    const watched = await openPage(browser, server.url);
    const { page } = watched;
    try {
      await page.goto('/sign-in');
      await page.getByText('Sign in with your directory account.').waitFor();
      await inspectPage(page, 'ldap-sign-in');
      await field(page, 'Username or email').fill('alice');
      await field(page, 'Password').fill('wrong-password');
      watched.expectFailure({ path: '/c/login', status: 401 });
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('alert').filter({ hasText: 'The username or password is wrong.' }).waitFor();
      await field(page, 'Password').fill('alice-ldap-pw');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL((url) => url.pathname === '/projects');
      await h1(page).waitFor();
      await page.getByRole('button', { name: 'User menu for alice' }).waitFor();
      const me = await page.evaluate(
        async () => (await (await fetch('/api/v2.0/users/current')).json()) as { username: string; email: string },
      );
      assert.equal(me.username, 'alice');
      assert.equal(me.email, 'alice@example.org');
      watched.assertNoConsoleErrors();
    } finally {
      await watched.close();
    }
  });

  test('an admin-group member signs in on a phone in dark mode and sees the administration', async () => {
    const watched = await openPage(browser, server.url, phoneDark);
    const { page } = watched;
    try {
      await page.goto('/sign-in');
      await field(page, 'Username or email').fill('erin');
      await field(page, 'Password').fill('erin-ldap-pw');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL((url) => url.pathname === '/projects');
      await h1(page).waitFor();
      await inspectPage(page, 'ldap-signed-in-phone-dark');
      const status = await page.evaluate(async () => (await fetch('/api/v2.0/configurations')).status);
      assert.equal(status, 200);
      watched.assertNoConsoleErrors();
    } finally {
      await watched.close();
    }
  });
});
