// The Content-Security-Policy (src/server/security-headers.ts) in a real browser: the portal
// and Swagger UI at /api/v2.0/docs render under it with no violation reported, and the policy
// does block what it should (an inline script, being framed). The other portal tests load
// every page under the same policy and fail on any console error.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { browserSkip, ensurePortalBuilt, h1, launchBrowser, openPage, signIn } from '../helpers/browser.js';
import { adminPassword, startServer, type TestServer } from '../helpers/server.js';

const skip = browserSkip();

/** Records the page's CSP violations in window.__violations (an init script is not subject to the policy). */
async function recordViolations(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { __violations: string[] }).__violations = seen;
    document.addEventListener('securitypolicyviolation', (e) => seen.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
}

async function violations(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __violations: string[] }).__violations);
}

describe('content security policy in the browser', { skip }, () => {
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

  test('the portal signs in and shows its pages with no violation', async () => {
    const watched = await openPage(browser, server.url);
    const { page } = watched;
    try {
      await recordViolations(page);
      await signIn(page, 'admin', adminPassword);
      for (const [path, title] of [
        ['/projects', 'Projects'],
        ['/admin/users', 'Users'],
        ['/projects/library/repositories', 'library'],
      ]) {
        await page.goto(path);
        await h1(page).filter({ hasText: title }).waitFor();
        assert.deepEqual(await violations(page), [], path);
      }
      watched.assertNoConsoleErrors();
    } finally {
      await watched.close();
    }
  });

  test('Swagger UI at /api/v2.0/docs renders the operations with no violation', async () => {
    const watched = await openPage(browser, server.url);
    const { page } = watched;
    try {
      await recordViolations(page);
      await page.goto('/api/v2.0/docs');
      await page.locator('.opblock-summary-path').first().waitFor();
      // Swagger UI renders only the operations near the viewport: scroll down the page collecting them.
      const seen = new Set<string>();
      for (let step = 0; step < 400; step++) {
        for (const text of await page.locator('.opblock-summary').allInnerTexts()) seen.add(text.replace(/\s+/g, ' '));
        const atEnd = await page.evaluate(() => window.scrollY + window.innerHeight >= document.documentElement.scrollHeight - 2);
        if (atEnd) break;
        await page.mouse.wheel(0, 600);
        await page.waitForTimeout(50);
      }
      assert.ok(
        [...seen].some((op) => op.includes('/projects')),
        'the project operations are listed',
      );
      assert.ok(seen.size > 50, `the operations are listed (${seen.size} seen)`);
      assert.deepEqual(await violations(page), []);
      watched.assertNoConsoleErrors();
    } finally {
      await watched.close();
    }
  });

  test('the policy blocks an inline script and framing the portal', async () => {
    const watched = await openPage(browser, server.url);
    const { page } = watched;
    try {
      await recordViolations(page);
      await page.goto('/sign-in');
      await page.evaluate(() => {
        const script = document.createElement('script');
        script.textContent = 'window.__inlineRan = true;';
        document.body.append(script);
      });
      await page.waitForFunction(() => (window as unknown as { __violations: string[] }).__violations.length > 0);
      assert.equal(await page.evaluate(() => (window as unknown as { __inlineRan?: boolean }).__inlineRan), undefined);
      assert.match((await violations(page)).join('; '), /^script-src/);

      const framed = page.waitForEvent('framenavigated', (frame) => frame !== page.mainFrame());
      await page.evaluate(() => {
        const frame = document.createElement('iframe');
        frame.src = '/sign-in';
        document.body.append(frame);
      });
      const frame = await framed;
      await frame.waitForLoadState();
      // Chromium shows its own error page in place of a frame that frame-ancestors refuses.
      assert.match(frame.url(), /^chrome-error:/, 'the portal does not render inside a frame');
      // Both refusals are reported as console errors, which is what this test provokes.
      watched.problems.splice(0);
    } finally {
      await watched.close();
    }
  });
});
