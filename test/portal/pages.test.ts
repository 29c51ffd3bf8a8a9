import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { api, createUser } from '../helpers/api.js';
import {
  browserSkip,
  desktopDark,
  desktopLight,
  eventually,
  field,
  h1,
  inspectPage,
  launchBrowser,
  openPage,
  phoneLight,
  screenshot,
  type Viewport,
  type WatchedPage,
} from '../helpers/browser.js';
import { pushImage } from '../helpers/oci.js';
import { basicAuth, type TestServer } from '../helpers/server.js';
import { closePortal, openDialog, openSignedIn, startPortalServer } from './ui.js';

const skip = browserSkip();

const project = 'pages';
const repository = 'app';

type StorageState = Awaited<ReturnType<BrowserContext['storageState']>>;

interface PortalPage {
  name: string;
  path: () => string;
  /** Signed out (the sign-in and sign-up pages); otherwise the admin is signed in. */
  anonymous?: boolean;
}

/**
 * Every page of the portal, at desktop width in light and dark and at a phone's width:
 * screenshot, axe, one h1, the "… · Berth" title, no console errors, nothing wider than
 * the phone; the keyboard reaches the header's controls with a visible focus; and a robot
 * account is created with its secret shown once, copied, and accepted by the registry.
 */
describe('portal pages at every size', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  let signedIn: StorageState;
  let digest: string;

  const pages: PortalPage[] = [
    { name: 'sign-in', path: () => '/sign-in', anonymous: true },
    { name: 'sign-up', path: () => '/sign-up', anonymous: true },
    { name: 'projects', path: () => '/projects' },
    { name: 'project-summary', path: () => `/projects/${project}/summary` },
    { name: 'project-repositories', path: () => `/projects/${project}/repositories` },
    { name: 'project-members', path: () => `/projects/${project}/members` },
    { name: 'project-robots', path: () => `/projects/${project}/robots` },
    { name: 'project-logs', path: () => `/projects/${project}/logs` },
    { name: 'project-p2p-preheat', path: () => `/projects/${project}/p2p-preheat` },
    { name: 'project-webhooks', path: () => `/projects/${project}/webhooks` },
    { name: 'project-configuration', path: () => `/projects/${project}/configuration` },
    { name: 'repository', path: () => `/projects/${project}/repositories/${repository}` },
    { name: 'artifact', path: () => `/projects/${project}/repositories/${repository}/-/artifacts/${digest}` },
    { name: 'admin-users', path: () => '/admin/users' },
    { name: 'admin-labels', path: () => '/admin/labels' },
    { name: 'admin-audit-log', path: () => '/admin/audit-logs' },
    { name: 'admin-registries', path: () => '/admin/registries' },
    { name: 'admin-replications', path: () => '/admin/replications' },
    { name: 'admin-distributions', path: () => '/admin/distributions' },
    { name: 'admin-system', path: () => '/admin/system' },
    { name: 'not-found', path: () => '/no/such/page' },
  ];

  before(async () => {
    server = await startPortalServer({ yaml: { 'auth.self_registration': true } });
    const admin = server.admin.authorization;
    // Something on every page: a project with a member, a repository with a tagged, labelled
    // artifact, a label, a second user, a webhook policy.
    const created = await api(server, 'POST', '/projects', { auth: admin, body: { project_name: project, metadata: { public: 'false' } } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await createUser(server, 'dev1');
    assert.equal(
      (await api(server, 'POST', `/projects/${project}/members`, { auth: admin, body: { role_id: 2, member_user: { username: 'dev1' } } }))
        .status,
      201,
    );
    const pushed = await pushImage(server.url, `${project}/${repository}`, 'v1', { headers: server.admin });
    digest = pushed.digest;
    await pushImage(server.url, `${project}/${repository}`, 'v2', { headers: server.admin });
    const label = await api(server, 'POST', '/labels', { auth: admin, body: { name: 'stable', color: '#61717D', scope: 'g' } });
    assert.equal(label.status, 201, JSON.stringify(label.body));
    const labelId = Number(label.headers.get('location')!.split('/').pop());
    const labelled = await api(server, 'POST', `/projects/${project}/repositories/${repository}/artifacts/${digest}/labels`, {
      auth: admin,
      body: { id: labelId },
    });
    assert.equal(labelled.status, 200, JSON.stringify(labelled.body));
    const webhook = await api(server, 'POST', `/projects/${project}/webhook/policies`, {
      auth: admin,
      body: {
        name: 'ci',
        event_types: ['PUSH_ARTIFACT', 'DELETE_ARTIFACT', 'SCANNING_COMPLETED'],
        targets: [{ type: 'http', address: 'http://127.0.0.1:9/hooks', payload_format: 'CloudEvents' }],
      },
    });
    assert.equal(webhook.status, 201, JSON.stringify(webhook.body));

    browser = await launchBrowser();
    const first = await openSignedIn(browser, server);
    signedIn = await first.context.storageState();
    first.assertNoConsoleErrors();
    await first.close();
  });

  after(async () => {
    await closePortal({ browser, server });
  });

  // The three sizes at once, each in its own browser context (axe takes most of the time).
  describe('every page', { concurrency: 3 }, () => {
    for (const viewport of [desktopLight, desktopDark, phoneLight]) {
      describe(viewport.name, { concurrency: 1 }, () => {
        let anonymous: WatchedPage;
        let admin: WatchedPage;

        before(async () => {
          anonymous = await openPage(browser, server.url, viewport);
          admin = await openPage(browser, server.url, viewport, { storageState: signedIn });
        });

        after(async () => {
          await anonymous?.close();
          await admin?.close();
        });

        for (const portalPage of pages) {
          test(portalPage.name, async () => {
            const watched = portalPage.anonymous ? anonymous : admin;
            const { page } = watched;
            await page.goto(portalPage.path());
            await h1(page).waitFor();
            assert.equal(await h1(page).count(), 1, 'one h1');
            assert.ok(((await h1(page).textContent()) ?? '').trim().length > 0, 'the h1 says something');
            if (!portalPage.anonymous) await page.getByRole('button', { name: /^User menu for admin$/ }).waitFor();
            await inspectPage(page, `page-${portalPage.name}-${viewport.name}`);
            if (viewport.width <= 400) await assertNoHorizontalOverflow(page, viewport);
            watched.assertNoConsoleErrors();
          });
        }

        test('the keyboard reaches the user menu from the top of the page, with a visible focus', async () => {
          const { page } = admin;
          await page.goto('/projects');
          await h1(page).waitFor();
          await page.getByRole('button', { name: /^User menu for admin$/ }).waitFor();
          const reached = await tabTo(page, (el) => el.label.startsWith('User menu for'), 15);
          assert.ok(reached, 'Tab reaches the user menu button');
          await assertFocusVisible(page, 'the user menu button');
          await screenshot(page, `keyboard-user-menu-${viewport.name}`);
          const newProject = await tabTo(page, (el) => el.label === 'New project', 40);
          assert.ok(newProject, 'Tab goes on to the "New project" button');
          await assertFocusVisible(page, 'the "New project" button');
          admin.assertNoConsoleErrors();
        });
      });
    }
  });

  describe('robot accounts', () => {
    let watched: WatchedPage;

    before(async () => {
      watched = await openPage(browser, server.url, desktopLight, { storageState: signedIn });
    });

    after(async () => {
      await watched?.close();
    });

    test('a robot created in the Robot accounts tab shows its secret once, copies it, and the secret works', async () => {
      const { page } = watched;
      await page.goto(`/projects/${project}/summary`);
      await page.getByRole('tab', { name: 'Robot accounts' }).click();
      await page.waitForURL((url) => url.pathname === `/projects/${project}/robots`);
      await page.getByRole('button', { name: 'New robot account' }).click();
      const dialog = await openDialog(page);
      await field(dialog, 'Name').fill('ci');
      // Pull and push are chosen to begin with.
      assert.ok(await dialog.getByRole('checkbox', { name: 'Pull repository' }).isChecked(), 'Pull repository is chosen');
      await inspectPage(page, 'robot-new-dialog');
      await dialog.getByRole('button', { name: /^(Create|Add)$/ }).click();

      // The secret, once: a dialog with the robot's name, its secret and their copy buttons.
      const copy = page.getByRole('button', { name: 'Copy secret' });
      await copy.waitFor();
      const secretDialog = page.getByRole('dialog').filter({ has: copy });
      await inspectPage(page, 'robot-secret-dialog');
      await copy.click();
      const secret = await eventually(async () => {
        const text = await page.evaluate(() => navigator.clipboard.readText());
        assert.ok(text.length >= 8, `the clipboard holds the secret: ${JSON.stringify(text)}`);
        return text;
      });
      assert.equal(await field(secretDialog, 'Secret').inputValue(), secret, 'the dialog shows the secret it copies');
      assert.equal(await field(secretDialog, 'Name').inputValue(), `robot$${project}+ci`);

      const { project_id } = (
        await api<{ project_id: number }>(server, 'GET', `/projects/${project}`, { auth: server.admin.authorization })
      ).body;
      const q = encodeURIComponent(`Level=project,ProjectID=${project_id}`);
      const robots = await api<Array<{ name: string }>>(server, 'GET', `/robots?q=${q}&page_size=100`, {
        auth: server.admin.authorization,
      });
      const robot = robots.body.find((r) => r.name === `robot$${project}+ci`);
      assert.ok(robot, `the robot is listed: ${JSON.stringify(robots.body)}`);
      const res = await fetch(`${server.url}/v2/${project}/${repository}/tags/list`, {
        headers: { authorization: basicAuth(robot.name, secret) },
      });
      assert.equal(res.status, 200, `the registry takes ${robot.name}'s secret: ${await res.text()}`);
      const wrong = await fetch(`${server.url}/v2/${project}/${repository}/tags/list`, {
        headers: { authorization: basicAuth(robot.name, `${secret}x`) },
      });
      assert.equal(wrong.status, 401);

      // Closed, the secret is gone from the page, and reloading does not bring it back.
      await secretDialog.getByRole('button', { name: 'I have copied the secret' }).click();
      await secretDialog.waitFor({ state: 'hidden' });
      const table = page.getByRole('table', { name: 'Robot accounts' });
      await table.getByRole('row').filter({ hasText: robot.name }).waitFor();
      const shows = () =>
        page.evaluate(
          (s) =>
            document.body.innerText.includes(s) ||
            [...document.querySelectorAll('input, textarea')].some((el) => (el as HTMLInputElement).value.includes(s)),
          secret,
        );
      assert.equal(await shows(), false, 'the secret is shown only once');
      await page.reload();
      await table.getByRole('row').filter({ hasText: robot.name }).waitFor();
      assert.equal(await shows(), false, 'the secret is not shown again');
      await inspectPage(page, 'robot-list');
      watched.assertNoConsoleErrors();
    });
  });
});

/** The phone's page is no wider than its screen. */
async function assertNoHorizontalOverflow(page: Page, viewport: Viewport): Promise<void> {
  const widths = await page.evaluate(() => {
    const width = document.documentElement.scrollWidth;
    // The widest elements, to say what overflows.
    const culprits = [...document.querySelectorAll('body *')]
      .map((el) => ({ el, right: el.getBoundingClientRect().right }))
      .filter((x) => x.right > window.innerWidth + 1)
      .slice(0, 5)
      .map(
        (x) =>
          `${x.el.tagName.toLowerCase()}${x.el.className && typeof x.el.className === 'string' ? `.${x.el.className.split(' ').join('.')}` : ''} (right edge ${Math.round(x.right)})`,
      );
    return { width, culprits };
  });
  assert.ok(widths.width <= viewport.width + 1, `the page is ${widths.width}px wide at ${viewport.width}px: ${widths.culprits.join(', ')}`);
}

interface Focused {
  label: string;
}

/** Presses Tab until `wanted` holds for the focused element (its accessible label or text), at most `limit` times. */
async function tabTo(page: Page, wanted: (el: Focused) => boolean, limit: number): Promise<boolean> {
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      return { label: (el?.getAttribute('aria-label') ?? el?.textContent ?? '').trim() };
    });
    if (wanted(focused)) return true;
  }
  return false;
}

/** The focused element shows it: an outline or a box shadow. */
async function assertFocusVisible(page: Page, what: string): Promise<void> {
  const style = await page.evaluate(() => {
    const el = document.activeElement as HTMLElement;
    const s = getComputedStyle(el);
    return { outlineStyle: s.outlineStyle, outlineWidth: s.outlineWidth, boxShadow: s.boxShadow };
  });
  const outline = style.outlineStyle !== 'none' && style.outlineWidth !== '0px';
  assert.ok(outline || style.boxShadow !== 'none', `focus is visible on ${what}: ${JSON.stringify(style)}`);
}
