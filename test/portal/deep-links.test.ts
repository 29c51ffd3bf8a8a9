import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext } from 'playwright-core';
import { browserSkip, desktopLight, ensurePortalBuilt, h1, launchBrowser, openPage, signIn } from '../helpers/browser.js';
import { pushImage } from '../helpers/oci.js';
import { adminPassword, startServer, type TestServer } from '../helpers/server.js';

const skip = browserSkip();

type StorageState = Awaited<ReturnType<BrowserContext['storageState']>>;

/**
 * The first page a browser loads may be any of the portal's lazy routes (a bookmark, a link
 * in a chat): it renders without a console warning or error, React Router's "No
 * HydrateFallback element provided" included.
 */
describe('deep links loaded first', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  let signedIn: StorageState;

  before(async () => {
    ensurePortalBuilt();
    server = await startServer();
    await pushImage(server.url, 'library/app', 'v1', { headers: server.admin });
    browser = await launchBrowser();
    const first = await openPage(browser, server.url, desktopLight);
    await signIn(first.page, 'admin', adminPassword);
    signedIn = await first.context.storageState();
    await first.close();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  const links = [
    { path: '/projects', heading: 'Projects' },
    { path: '/index.html', heading: 'Nothing here' },
    { path: '/projects/library/repositories', heading: 'library' },
    { path: '/projects/library/repositories/app', heading: 'library/app' },
    { path: '/admin/audit-logs', heading: 'Audit log' },
  ];
  for (const link of links) {
    test(`${link.path}, signed in`, async () => {
      const watched = await openPage(browser, server.url, desktopLight, { storageState: signedIn });
      const warnings: string[] = [];
      watched.page.on('console', (message) => {
        if (message.type() === 'warning') warnings.push(message.text());
      });
      try {
        await watched.page.goto(link.path);
        await h1(watched.page).filter({ hasText: link.heading }).waitFor();
        assert.deepEqual(warnings, [], `console warnings on ${link.path}`);
        watched.assertNoConsoleErrors();
      } finally {
        await watched.close();
      }
    });
  }

  test('/sign-up, signed out', async () => {
    const watched = await openPage(browser, server.url, desktopLight);
    const warnings: string[] = [];
    watched.page.on('console', (message) => {
      if (message.type() === 'warning') warnings.push(message.text());
    });
    try {
      // Self-registration is off: the page says so, still without a warning.
      await watched.page.goto('/sign-up');
      await h1(watched.page).waitFor();
      assert.deepEqual(warnings, [], 'console warnings on /sign-up');
      watched.assertNoConsoleErrors();
    } finally {
      await watched.close();
    }
  });
});
