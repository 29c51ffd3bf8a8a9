import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { browserSkip, ensurePortalBuilt, field, h1, launchBrowser, openPage, signIn } from '../helpers/browser.js';
import { adminPassword, startServer, type TestServer } from '../helpers/server.js';

const skip = browserSkip();

describe('portal session', { skip }, () => {
  let server: TestServer;
  let browser: Browser;

  before(async () => {
    ensurePortalBuilt();
    server = await startServer();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('a page opened signed out goes to sign-in and comes back after it', async () => {
    const watched = await openPage(browser, server.url);
    const { page } = watched;
    try {
      await page.goto('/admin/users');
      await page.waitForURL((url) => url.pathname === '/sign-in');
      await field(page, 'Username or email').fill('admin');
      await field(page, 'Password').fill('wrong-password');
      watched.expectFailure({ path: '/c/login', status: 401 });
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('alert').filter({ hasText: 'The username or password is wrong.' }).waitFor();
      assert.equal(new URL(page.url()).pathname, '/sign-in');
      await field(page, 'Password').fill(adminPassword);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL((url) => url.pathname === '/admin/users');
      await h1(page).filter({ hasText: 'Users' }).waitFor();
      watched.assertNoConsoleErrors();
    } finally {
      await watched.close();
    }
  });

  test('signing out from the user menu ends the session on the server', async () => {
    const watched = await openPage(browser, server.url);
    const { page } = watched;
    try {
      await signIn(page, 'admin', adminPassword);
      await page.getByRole('button', { name: 'User menu for admin' }).click();
      await page.getByRole('menuitem', { name: 'Sign out' }).click();
      await page.waitForURL((url) => url.pathname === '/sign-in');
      const probe = await page.evaluate(async () => (await fetch('/api/v2.0/users/current')).status);
      assert.equal(probe, 401);
      watched.assertNoConsoleErrors();
    } finally {
      await watched.close();
    }
  });

  test('a session that ends elsewhere sends the next request to sign-in', async () => {
    const watched = await openPage(browser, server.url);
    const { page } = watched;
    try {
      await signIn(page, 'admin', adminPassword);
      // The page's own requests finish first, so the click below is the next request (under
      // load a late one would otherwise be the first to find the session gone).
      await page.waitForLoadState('networkidle');
      await page.context().clearCookies();
      watched.expectFailure({ path: '/api/v2.0/labels', status: 401 });
      // Whichever request comes next finds the session gone: the click's, or (under load) one
      // the page makes by itself first, which takes the link away before the click lands.
      const signedOut = page.waitForURL((url) => url.pathname === '/sign-in');
      await page
        .getByRole('link', { name: 'Labels' })
        .click({ timeout: 5_000 })
        .catch(() => undefined);
      await signedOut;
      await h1(page).filter({ hasText: 'Sign in to Berth' }).waitFor();
      watched.assertNoConsoleErrors();
    } finally {
      await watched.close();
    }
  });
});
