import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { api, createUser } from '../helpers/api.js';
import {
  browserSkip,
  desktopLight,
  ensurePortalBuilt,
  eventually,
  h1,
  inspectPage,
  launchBrowser,
  openPage,
  phoneLight,
  settle,
  type Viewport,
  type WatchedPage,
} from '../helpers/browser.js';
import { pushCosignSignature, pushMultiPlatform, pushSbomReferrer } from '../helpers/artifacts.js';
import { pushImage } from '../helpers/oci.js';
import { adminPassword, basicAuth, startServer, type TestServer } from '../helpers/server.js';
import { openDialog } from './ui.js';

const skip = browserSkip();

type StorageState = Awaited<ReturnType<BrowserContext['storageState']>>;

const laptop: Viewport = { name: 'laptop-light', width: 1024, height: 768, colorScheme: 'light' };

/** The element is wholly inside the window (nothing to scroll to reach it). */
async function assertInView(page: Page, locator: Locator, what: string): Promise<void> {
  const box = await locator.boundingBox();
  assert.ok(box, `${what} is shown`);
  const { width, height } = page.viewportSize()!;
  assert.ok(
    box.x >= 0 && box.y >= 0 && box.x + box.width <= width + 1 && box.y + box.height <= height + 1,
    `${what} is in the window (${JSON.stringify(box)} in ${width}×${height})`,
  );
}

/** The page scrolls only up and down. */
async function assertNoSidewaysScroll(page: Page): Promise<void> {
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
  }));
  assert.ok(scrollWidth <= innerWidth + 1, `the page is ${scrollWidth}px wide in a ${innerWidth}px window`);
}

/**
 * What a new team lead meets on the first day (issue 12): project deletion that says why
 * not, an audit log that reads, a robot dialog that fits a phone, and no switch that does
 * nothing.
 */
describe('the portal on a first day', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  let signedIn: StorageState;
  let admin: string;
  let webappDigest: string;
  const opened: WatchedPage[] = [];

  /** A fresh signed-in page; the previous test's page is closed first (one browser page at a time). */
  async function open(viewport: Viewport = desktopLight): Promise<WatchedPage> {
    for (const previous of opened.splice(0)) await previous.close().catch(() => undefined);
    const watched = await openPage(browser, server.url, viewport, { storageState: signedIn });
    opened.push(watched);
    return watched;
  }

  before(async () => {
    ensurePortalBuilt();
    server = await startServer();
    admin = server.admin.authorization;
    for (const project_name of ['team', 'spare']) {
      const res = await api(server, 'POST', '/projects', { auth: admin, body: { project_name } });
      assert.equal(res.status, 201, JSON.stringify(res.body));
    }
    webappDigest = (await pushImage(server.url, 'team/webapp', 'v1', { headers: server.admin })).digest;
    await pushImage(server.url, 'team/api', 'v1', { headers: server.admin });
    browser = await launchBrowser();
    const first = await openPage(browser, server.url, desktopLight);
    await first.page.goto('/sign-in');
    await first.page.getByLabel(/^Username or email/).fill('admin');
    await first.page.getByLabel(/^Password/).fill(adminPassword);
    await first.page.getByRole('button', { name: 'Sign in' }).click();
    await first.page.waitForURL((url) => url.pathname === '/projects');
    signedIn = await first.context.storageState();
    await first.close();
  });

  after(async () => {
    for (const watched of opened) await watched.close().catch(() => undefined);
    await browser?.close();
    await server?.stop();
  });

  describe('global search in the top bar (item 13)', () => {
    test('“/” focuses it; it finds projects and repositories by part of their name, as links the keyboard follows', async () => {
      const watched = await open();
      const { page } = watched;
      await page.goto('/projects');
      await h1(page).waitFor();
      // A new user types "webapp" where the projects are: the top bar's search knows the repository.
      await page.locator('body').click({ position: { x: 600, y: 300 } });
      await page.keyboard.press('/');
      const box = page.getByRole('searchbox', { name: 'Search projects and repositories' });
      await eventually(async () => assert.equal(await box.evaluate((el) => el === document.activeElement), true, '“/” focuses the search'));
      await page.keyboard.type('webapp');
      const results = page.getByRole('navigation', { name: 'Search results' });
      const link = results.getByRole('link', { name: /^team\/webapp/ });
      await link.waitFor();
      assert.equal(await link.getAttribute('href'), '/projects/team/repositories/webapp');
      await inspectPage(page, 'first-day-search-results');
      await page.keyboard.press('ArrowDown');
      await eventually(async () => assert.equal(await link.evaluate((el) => el === document.activeElement), true, '↓ reaches the result'));
      await page.keyboard.press('Enter');
      await page.waitForURL((url) => url.pathname === '/projects/team/repositories/webapp');
      await h1(page).filter({ hasText: 'team/webapp' }).waitFor();

      // Projects too; a name that matches nothing says so.
      await box.fill('spa');
      const project = results.getByRole('link', { name: 'spare', exact: true });
      await project.waitFor();
      assert.equal(await project.getAttribute('href'), '/projects/spare/summary');
      await project.click();
      await page.waitForURL((url) => url.pathname === '/projects/spare/summary');
      await box.fill('nothing-is-called-this');
      await results.getByText('No project or repository name contains “nothing-is-called-this”.').waitFor();
      await page.keyboard.press('Escape');
      await results.waitFor({ state: 'hidden' });
      watched.assertNoConsoleErrors();
    });

    test('it fits a phone’s top bar', async () => {
      const watched = await open(phoneLight);
      const { page } = watched;
      await page.goto('/projects');
      const box = page.getByRole('searchbox', { name: 'Search projects and repositories' });
      await assertInView(page, box, 'the search field');
      await box.fill('api');
      await page
        .getByRole('navigation', { name: 'Search results' })
        .getByRole('link', { name: /^team\/api/ })
        .waitFor();
      await assertNoSidewaysScroll(page);
      await inspectPage(page, 'first-day-search-phone');
      watched.assertNoConsoleErrors();
    });
  });

  describe('bulk deletion with one confirmation (item 14)', () => {
    test('artifacts: select a page, confirm once, watch the progress, read each result', async () => {
      const pushed: string[] = [];
      for (let i = 1; i <= 5; i++)
        pushed.push((await pushImage(server.url, 'team/builds', `build-${i}`, { headers: server.admin })).digest);
      const watched = await open();
      const { page } = watched;
      await page.goto('/projects/team/repositories/builds');
      const table = page.getByRole('table', { name: 'Artifacts' });
      await table.getByRole('row').filter({ hasText: 'build-5' }).waitFor();
      await table.getByRole('checkbox', { name: 'Select every row on this page' }).check();
      await page.getByRole('button', { name: 'Delete 5 selected' }).click();
      const dialog = await openDialog(page);
      assert.equal(await page.getByRole('dialog').count(), 1, 'one confirmation');
      for (let i = 1; i <= 5; i++) await dialog.getByText(new RegExp(`^build-${i} \\(sha256:`)).waitFor();
      // One of them goes elsewhere before the confirmation: its result says so, the others go on.
      const gone = await api(server, 'DELETE', `/projects/team/repositories/builds/artifacts/${pushed[2]}`, { auth: admin });
      assert.equal(gone.status, 200);
      watched.expectFailure({
        path: `/api/v2.0/projects/team/repositories/builds/artifacts/${encodeURIComponent(pushed[2])}`,
        status: 404,
      });
      await dialog.getByRole('button', { name: 'Delete 5 artifacts' }).click();
      await dialog.getByRole('status').filter({ hasText: '4 of 5 artifacts deleted, 1 failed.' }).waitFor();
      const results = dialog.getByRole('list', { name: 'Results' });
      assert.equal(await results.getByText(/: deleted$/).count(), 4);
      await results.getByText(/^build-3 \(sha256:[0-9a-f]+.*\): not deleted, /).waitFor();
      assert.ok(await dialog.getByRole('progressbar').isVisible(), 'a progress bar');
      await inspectPage(page, 'first-day-bulk-artifacts-results');
      await dialog.getByRole('button', { name: 'Done' }).click();
      await table.getByText('No artifacts in this repository.').waitFor();
      // The emptied repository stays (item 11).
      const repo = await api(server, 'GET', '/projects/team/repositories/builds', { auth: admin });
      assert.equal(repo.body.artifact_count, 0);
      watched.assertNoConsoleErrors();
    });

    test('repositories of a project, chosen one by one', async () => {
      for (const name of ['one', 'two', 'three']) await pushImage(server.url, `spare/${name}`, 'v1', { headers: server.admin });
      const watched = await open();
      const { page } = watched;
      await page.goto('/projects/spare/repositories');
      const table = page.getByRole('table', { name: 'Repositories' });
      await table.getByRole('row').filter({ hasText: 'spare/three' }).waitFor();
      await table.getByRole('checkbox', { name: 'Select spare/one' }).check();
      await table.getByRole('checkbox', { name: 'Select spare/three' }).check();
      await page.getByRole('button', { name: 'Delete 2 selected' }).click();
      const dialog = await openDialog(page);
      await dialog.getByRole('button', { name: 'Delete 2 repositories' }).click();
      await dialog.getByRole('status').filter({ hasText: '2 of 2 repositories deleted.' }).waitFor();
      await dialog.getByRole('button', { name: 'Done' }).click();
      await eventually(async () => assert.deepEqual(await table.getByRole('link').allTextContents(), ['spare/two']));
      const left = await api<any[]>(server, 'GET', '/projects/spare/repositories', { auth: admin });
      assert.deepEqual(
        left.body.map((r) => r.name),
        ['spare/two'],
      );
      assert.equal((await api(server, 'DELETE', '/projects/spare/repositories/two', { auth: admin })).status, 200);
      watched.assertNoConsoleErrors();
    });

    test('tags of an artifact', async () => {
      const image = await pushImage(server.url, 'team/tagged', 'a', { headers: server.admin });
      for (const tag of ['b', 'c']) {
        const res = await api(server, 'POST', `/projects/team/repositories/tagged/artifacts/${image.digest}/tags`, {
          auth: admin,
          body: { name: tag },
        });
        assert.equal(res.status, 201, JSON.stringify(res.body));
      }
      const watched = await open();
      const { page } = watched;
      await page.goto(`/projects/team/repositories/tagged/-/artifacts/${image.digest}`);
      const table = page.getByRole('table', { name: 'Tags' });
      await table.getByRole('checkbox', { name: 'Select tag a' }).check();
      await table.getByRole('checkbox', { name: 'Select tag c' }).check();
      await page.getByRole('button', { name: 'Delete 2 selected' }).click();
      const dialog = await openDialog(page);
      await dialog.getByRole('button', { name: 'Delete 2 tags' }).click();
      await dialog.getByRole('status').filter({ hasText: '2 of 2 tags deleted.' }).waitFor();
      await dialog.getByRole('button', { name: 'Done' }).click();
      const tags = await api<any[]>(server, 'GET', `/projects/team/repositories/tagged/artifacts/${image.digest}/tags`, { auth: admin });
      assert.deepEqual(
        tags.body.map((t) => t.name),
        ['b'],
      );
      watched.assertNoConsoleErrors();
    });
  });

  describe('accessories where people browse (item 16)', () => {
    let index: Awaited<ReturnType<typeof pushMultiPlatform>>;
    let signature: { digest: string };

    before(async () => {
      index = await pushMultiPlatform(server, 'team/signed', 'v1');
      signature = await pushCosignSignature(server, 'team/signed', index.digest);
      await pushSbomReferrer(server, 'team/signed', index.digest);
      await pushImage(server.url, 'team/signed', 'plain', { headers: server.admin });
    });

    for (const viewport of [desktopLight, phoneLight]) {
      test(`an artifact row shows "signed" and "SBOM" when it has such accessories (${viewport.name})`, async () => {
        const watched = await open(viewport);
        const { page } = watched;
        await page.goto('/projects/team/repositories/signed');
        const table = page.getByRole('table', { name: 'Artifacts' });
        const signedRow = table.getByRole('row').filter({ hasText: 'v1' });
        await signedRow.getByText('signed', { exact: true }).filter({ visible: true }).waitFor();
        await signedRow.getByText('SBOM', { exact: true }).filter({ visible: true }).waitFor();
        const plainRow = table.getByRole('row').filter({ hasText: 'plain' });
        await plainRow.waitFor();
        assert.equal(await plainRow.getByText('signed', { exact: true }).filter({ visible: true }).count(), 0);
        assert.equal(await plainRow.getByText('SBOM', { exact: true }).filter({ visible: true }).count(), 0);
        await inspectPage(page, `first-day-accessory-marks-${viewport.name}`);
        watched.assertNoConsoleErrors();
      });
    }

    test('a signature’s page links to the artifact it signs', async () => {
      const watched = await open();
      const { page } = watched;
      await page.goto(`/projects/team/repositories/signed/-/artifacts/${signature.digest}`);
      const link = page.getByRole('link', { name: `v1 (${index.digest.slice(0, 19)})` });
      await link.waitFor();
      await page.getByText('Cosign signature of').waitFor();
      await inspectPage(page, 'first-day-signature-subject');
      await link.click();
      await page.waitForURL((url) => url.pathname === `/projects/team/repositories/signed/-/artifacts/${encodeURIComponent(index.digest)}`);
      await h1(page)
        .filter({ hasText: `signed@${index.digest.slice(0, 19)}` })
        .waitFor();
      watched.assertNoConsoleErrors();
    });

    test('a platform image reached from its index links back to the index and its tags', async () => {
      const watched = await open();
      const { page } = watched;
      await page.goto(`/projects/team/repositories/signed/-/artifacts/${index.images[1].digest}`);
      await page.getByText('Part of index').waitFor();
      const back = page.getByRole('link', { name: index.digest.slice(0, 19), exact: true });
      assert.equal(await back.getAttribute('href'), `/projects/team/repositories/signed/-/artifacts/${encodeURIComponent(index.digest)}`);
      const tag = page.getByRole('link', { name: 'v1', exact: true });
      await inspectPage(page, 'first-day-platform-image-index');
      await tag.click();
      await page.waitForURL((url) => url.pathname === '/projects/team/repositories/signed/-/artifacts/v1');
      await h1(page).filter({ hasText: 'signed:v1' }).waitFor();
      watched.assertNoConsoleErrors();
    });
  });

  describe('deleting a project that holds repositories (item 15)', () => {
    test('the projects list shows the delete action disabled with the server’s reason, and it opens nothing', async () => {
      const watched = await open();
      const { page } = watched;
      await page.goto('/projects');
      const table = page.getByRole('table', { name: 'Projects' });
      const blocked = table.getByRole('button', { name: 'Delete project team' });
      await eventually(async () => assert.equal(await blocked.getAttribute('aria-disabled'), 'true'));
      const describedBy = (await blocked.getAttribute('aria-describedby'))!;
      assert.equal(
        (await page.locator(`[id="${describedBy}"]`).textContent())?.trim(),
        'The project contains repositories, can not be deleted.',
      );
      await blocked.focus();
      await page.getByRole('tooltip').filter({ hasText: 'The project contains repositories' }).waitFor();
      await blocked.click({ force: true });
      await settle(page);
      assert.equal(await page.getByRole('dialog').count(), 0, 'no confirmation is offered');
      // A project without repositories can be deleted.
      const free = table.getByRole('button', { name: 'Delete project spare' });
      await eventually(async () => assert.equal(await free.getAttribute('aria-disabled'), null));
      await inspectPage(page, 'first-day-projects-not-deletable');
      watched.assertNoConsoleErrors();
    });

    test('the project’s configuration says why and offers no delete', async () => {
      const watched = await open();
      const { page } = watched;
      await page.goto('/projects/team/configuration');
      const button = page.getByRole('button', { name: 'Delete project' });
      await page.getByText('The project contains repositories, can not be deleted.').waitFor();
      assert.equal(await button.isDisabled(), true);
      await inspectPage(page, 'first-day-configuration-not-deletable');
      watched.assertNoConsoleErrors();
    });
  });

  describe('no switch that does nothing (item 19)', () => {
    test('project configuration shows only switches whose feature exists, and saving leaves the hidden settings alone', async () => {
      // A Harbor client set a setting Berth has no feature for.
      const put = await api(server, 'PUT', '/projects/team', { auth: admin, body: { metadata: { enable_content_trust_cosign: 'true' } } });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      const watched = await open();
      const { page } = watched;
      await page.goto('/projects/team/configuration');
      const publicSwitch = page.getByRole('switch', { name: /^Public/ });
      await publicSwitch.waitFor();
      // Scanning, SBOMs and the signature policies exist: their switches are offered (Notary v1 is not).
      const labels = await page
        .getByRole('switch')
        .evaluateAll((switches) => switches.map((s) => s.closest('.mantine-Switch-root')?.textContent ?? ''));
      assert.equal(labels.length, 6, labels.join(' | '));
      const starts = [
        'Public',
        'Prevent vulnerable',
        'Automatically scan',
        'Automatically generate SBOM',
        'Enforce cosign',
        'Enforce Notation',
      ];
      for (const [i, start] of starts.entries()) {
        assert.ok(labels[i].startsWith(start), `switch ${i} is ${start}: ${labels[i]}`);
      }
      assert.equal(await page.getByText('Notary').count(), 0, '"Notary" is not offered');
      assert.equal(await page.getByRole('switch', { name: /^Enforce cosign/ }).isChecked(), true, 'the setting the client made is shown');
      await publicSwitch.click({ force: true });
      await page.getByRole('button', { name: 'Save', exact: true }).click();
      await page.getByText('Configuration of team saved').waitFor();
      const after = await api(server, 'GET', '/projects/team', { auth: admin });
      assert.equal(after.body.metadata.public, 'true');
      assert.equal(after.body.metadata.enable_content_trust_cosign, 'true', 'the other setting kept its value');
      watched.assertNoConsoleErrors();
    });

    test('the New robot dialog offers no permission whose feature does not exist', async () => {
      const watched = await open();
      const { page } = watched;
      await page.goto('/projects/team/robots');
      await page.getByRole('button', { name: 'New robot account' }).click();
      const dialog = await openDialog(page);
      await dialog.getByRole('checkbox', { name: 'Pull repository' }).waitFor();
      const names = await dialog
        .getByRole('table')
        .getByRole('checkbox')
        .evaluateAll((boxes) => boxes.map((b) => b.getAttribute('aria-label')));
      assert.ok(names.includes('Push repository') && names.includes('Delete artifact'), names.join(', '));
      // Features this Berth has (web/src/lib/features.ts) are offered.
      for (const present of [
        'Read quota',
        'Create tag retention',
        'Create immutable tag',
        'Create scan',
        'Read scanner',
        'Create sbom',
        'Create preheat policy',
        'Create notification policy',
      ]) {
        assert.ok(names.includes(present), `${present} is offered: ${names.join(', ')}`);
      }
      watched.assertNoConsoleErrors();
    });
  });

  describe('the audit log reads (item 17)', () => {
    before(async () => {
      const label = await api(server, 'POST', '/labels', { auth: admin, body: { name: 'stable', color: '#61717D', scope: 'g' } });
      assert.equal(label.status, 201, JSON.stringify(label.body));
      const labelId = Number(label.headers.get('location')!.split('/').pop());
      const labels = `/projects/team/repositories/webapp/artifacts/${webappDigest}/labels`;
      assert.equal((await api(server, 'POST', labels, { auth: admin, body: { id: labelId } })).status, 200);
      assert.equal((await api(server, 'DELETE', `${labels}/${labelId}`, { auth: admin })).status, 200);
      const pat = await createUser(server, 'pat', 'Passw0rd1');
      const changed = await api(server, 'PUT', `/users/${pat}/password`, {
        auth: basicAuth('pat', 'Passw0rd1'),
        body: { old_password: 'Passw0rd1', new_password: 'Passw0rd2' },
      });
      assert.equal(changed.status, 200, JSON.stringify(changed.body));
    });

    for (const viewport of [laptop, phoneLight]) {
      test(`label operations name the label, a password change says so, and Result is whole (${viewport.name})`, async () => {
        const watched = await open(viewport);
        const { page } = watched;
        await page.goto('/admin/audit-logs');
        const table = page.getByRole('table', { name: 'Audit log' });
        const row = (text: string) => table.getByRole('row').filter({ hasText: text });
        await row('change password').filter({ hasText: 'pat' }).waitFor();
        await row('add label')
          .filter({ hasText: `stable on team/webapp@${webappDigest}` })
          .waitFor();
        await row('remove label')
          .filter({ hasText: `stable on team/webapp@${webappDigest}` })
          .waitFor();
        await settle(page);
        // Every row's result is shown whole, inside the table's visible area.
        const frame = await table.evaluate(
          (t) =>
            t.parentElement!.closest('.mantine-ScrollArea-viewport, .mantine-Table-scrollContainer')?.getBoundingClientRect().right ??
            window.innerWidth,
        );
        const results = table.locator('tbody tr td:last-child .mantine-Badge-root');
        const count = await results.count();
        assert.ok(count >= 5, `${count} results shown`);
        for (let i = 0; i < count; i++) {
          const badge = results.nth(i);
          const text = ((await badge.textContent()) ?? '').trim();
          assert.match(text, /^(Succeeded|Failed)$/);
          const cut = await badge.evaluate((b) => {
            const label = b.querySelector('.mantine-Badge-label') as HTMLElement;
            return label.scrollWidth > label.clientWidth + 1 || b.scrollWidth > b.clientWidth + 1;
          });
          assert.equal(cut, false, `result "${text}" of row ${i + 1} is not cut`);
          const box = (await badge.boundingBox())!;
          assert.ok(
            box.x + box.width <= Math.min(frame, viewport.width) + 1,
            `result of row ${i + 1} is within the table (${box.x + box.width} > ${frame})`,
          );
        }
        await assertNoSidewaysScroll(page);
        await inspectPage(page, `first-day-audit-log-${viewport.name}`);
        watched.assertNoConsoleErrors();
      });
    }
  });

  describe('a phone’s width (item 18)', () => {
    test('the artifact table keeps every row’s actions in view without sideways scrolling (a row menu)', async () => {
      const image = await pushImage(server.url, 'team/phone', 'a-rather-long-release-tag-name-v1.2.3', { headers: server.admin });
      await pushImage(server.url, 'team/phone', 'v2', { headers: server.admin });
      const watched = await open(phoneLight);
      const { page } = watched;
      await page.goto('/projects/team/repositories/phone');
      const table = page.getByRole('table', { name: 'Artifacts' });
      const menus = table.getByRole('button', { name: /^Actions for / });
      await eventually(async () => assert.equal(await menus.count(), 2));
      await settle(page);
      const scroller = await table.evaluate((t) => {
        const box = t.closest('.mantine-ScrollArea-viewport, .mantine-Table-scrollContainer') as HTMLElement;
        return { scrollWidth: box.scrollWidth, clientWidth: box.clientWidth };
      });
      assert.ok(scroller.scrollWidth <= scroller.clientWidth + 1, `the table fits its box: ${JSON.stringify(scroller)}`);
      for (let i = 0; i < 2; i++) await assertInView(page, menus.nth(i), `row ${i + 1}'s actions`);
      await assertNoSidewaysScroll(page);
      await inspectPage(page, 'first-day-artifacts-phone');
      // The menu holds what the wide table shows as buttons: pull commands and Delete.
      await table.getByRole('button', { name: 'Actions for a-rather-long-release-tag-name-v1.2.3' }).click();
      await page.getByRole('menuitem', { name: 'Copy docker pull command' }).waitFor();
      await page.getByRole('menuitem', { name: 'Delete artifact' }).click();
      const dialog = await openDialog(page);
      await dialog.getByText(/^Delete sha256:/).waitFor();
      await dialog.getByRole('button', { name: 'Delete' }).click();
      await eventually(async () => assert.equal(await menus.count(), 1));
      const gone = await api(server, 'GET', `/projects/team/repositories/phone/artifacts/${image.digest}`, { auth: admin });
      assert.equal(gone.status, 404);
      watched.assertNoConsoleErrors();
    });

    test('the New robot dialog scrolls its permission grid inside the dialog and keeps Create in view', async () => {
      const watched = await open(phoneLight);
      const { page } = watched;
      await page.goto('/projects/team/robots');
      await page.getByRole('button', { name: 'New robot account' }).click();
      const dialog = await openDialog(page);
      const grid = dialog.getByRole('table');
      await grid.getByRole('checkbox', { name: 'Pull repository' }).waitFor();
      await assertInView(page, dialog.getByRole('button', { name: 'Create' }), 'Create');
      await assertInView(page, dialog.getByRole('button', { name: 'Cancel' }), 'Cancel');
      // The grid scrolls in a box of its own that fits the dialog.
      const box = await grid.evaluate((table) => {
        const scroller = table.closest('.mantine-ScrollArea-viewport, .mantine-Table-scrollContainer') as HTMLElement;
        const r = scroller.getBoundingClientRect();
        return { right: r.right, scrolls: scroller.scrollWidth > scroller.clientWidth || scroller.scrollHeight > scroller.clientHeight };
      });
      assert.ok(box.right <= phoneLight.width, `the grid's box ends at ${box.right}px`);
      assert.ok(box.scrolls, 'the grid scrolls inside its box');
      // Scrolled to its last permission, Create is still in view.
      await grid.getByRole('checkbox').last().scrollIntoViewIfNeeded();
      await assertInView(page, dialog.getByRole('button', { name: 'Create' }), 'Create after scrolling the grid');
      await assertNoSidewaysScroll(page);
      await inspectPage(page, 'first-day-robot-dialog-phone');
      watched.assertNoConsoleErrors();
    });
  });
});
