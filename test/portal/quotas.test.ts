import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { api, createUser } from '../helpers/api.js';
import {
  browserSkip,
  desktopLight,
  eventually,
  field,
  h1,
  inspectPage,
  launchBrowser,
  phoneDark,
  type WatchedPage,
} from '../helpers/browser.js';
import type { TestServer } from '../helpers/server.js';
import { addMember } from '../artifacts/api-fixtures.js';
import { bytes, createProject, digestOf, image, pushImage, V2 } from '../quotas/fixtures.js';
import {
  assertNoOverflow,
  chooseOption,
  closePortal,
  inSignedInPage,
  navigate,
  openDialog,
  openSignedIn,
  startPortalServer,
} from './ui.js';

const skip = browserSkip();
const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * Quotas in the portal: the administration's "Project quotas" page (sorted by usage, limits
 * edited), the project's configuration (system administrators edit, others read), its
 * summary explaining a refused push, and the usage in the projects list; in light at
 * desktop width and dark on a phone, with axe and no console error.
 */
describe('portal: project quotas', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  let watched: WatchedPage;
  const ids: Record<string, number> = {};

  before(async () => {
    server = await startPortalServer();
    const v2 = new V2(server);
    ids.full = await createProject(server, 'nearly-full', 100 * KiB);
    ids.roomy = await createProject(server, 'roomy', -1);
    ids.small = await createProject(server, 'small', 10 * MiB);
    await pushImage(v2, 'nearly-full/app', 'v1', image([bytes(90 * KiB)]));
    await pushImage(v2, 'roomy/app', 'v1', image([bytes(300 * KiB)]));
    await pushImage(v2, 'small/app', 'v1', image([bytes(2 * KiB)]));
    // A push the limit refuses: the summary explains it.
    const data = bytes(20 * KiB);
    const refused = await v2.call('POST', `/v2/nearly-full/app/blobs/uploads/?digest=${digestOf(data)}`, {
      headers: { 'content-type': 'application/octet-stream' },
      body: data,
    });
    assert.equal(refused.status, 403, refused.text);
    await createUser(server, 'owner');
    await addMember(server, 'nearly-full', 'owner', 1);
    await createUser(server, 'dev');
    await addMember(server, 'nearly-full', 'dev', 2);
    browser = await launchBrowser();
  });
  after(async () => {
    await closePortal({ watched, browser, server });
  });

  const rowNames = async (page: WatchedPage['page']) => {
    const table = page.getByRole('table', { name: 'Project quotas' });
    const cells = await table.getByRole('row').locator('td:first-child').allTextContents();
    return cells.map((c) => c.trim()).filter((c) => c !== '');
  };

  test('the administration page lists every project by usage, sorts, and edits a limit', async () => {
    watched = await openSignedIn(browser, server);
    const { page } = watched;
    await navigate(page, 'Project quotas');
    await eventually(async () => assert.equal(await h1(page).textContent(), 'Project quotas'));
    await eventually(async () => assert.deepEqual(await rowNames(page), ['roomy', 'nearly-full', 'small', 'library']));
    const table = page.getByRole('table', { name: 'Project quotas' });
    await table
      .getByRole('row', { name: /nearly-full/ })
      .getByText(/of 100\.0 KiB \(9\d%\)/)
      .waitFor();
    await table
      .getByRole('row', { name: /roomy/ })
      .getByText(/\(unlimited\)/)
      .waitFor();
    await inspectPage(page, 'admin-project-quotas');

    await table.getByRole('button', { name: 'Usage' }).click();
    await eventually(async () => assert.deepEqual(await rowNames(page), ['library', 'small', 'nearly-full', 'roomy']));

    await page.getByRole('button', { name: 'Edit the storage limit of roomy' }).click();
    let dialog = await openDialog(page);
    await dialog.getByRole('switch', { name: 'Unlimited' }).click({ force: true });
    await field(dialog, 'Limit').fill('0');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.getByText('Enter an amount above 0, or choose unlimited.').waitFor();
    assert.equal((await api<any>(server, 'GET', `/quotas/${ids.roomy}`, { auth: server.admin.authorization })).body.hard.storage, -1);
    await field(dialog, 'Limit').fill('5');
    await chooseOption(page, field(dialog, 'Unit'), 'MiB');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await eventually(async () =>
      assert.equal(
        (await api<any>(server, 'GET', `/quotas/${ids.roomy}`, { auth: server.admin.authorization })).body.hard.storage,
        5 * MiB,
      ),
    );
    await table
      .getByRole('row', { name: /roomy/ })
      .getByText(/of 5\.00 MiB/)
      .waitFor();

    // A limit below the usage is allowed, and the dialog says what it means.
    await page.getByRole('button', { name: 'Edit the storage limit of roomy' }).click();
    dialog = await openDialog(page);
    await field(dialog, 'Limit').fill('0.1');
    await dialog.getByText(/Below the current usage/).waitFor();
    await inspectPage(page, 'admin-project-quotas-edit');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    watched.assertNoConsoleErrors();
  });

  test('the summary explains the refused push; the projects list shows usage', async () => {
    const { page } = watched;
    await page.goto('/projects/nearly-full');
    const alert = page.getByRole('status').filter({ hasText: 'A push was refused for storage' });
    await alert.waitFor();
    const text = (await alert.textContent()) ?? '';
    assert.match(
      text,
      /adding 20\.0 KiB of storage resource, which when updated to current usage of 9\d\.\d KiB will exceed the configured upper limit of 100\.0 KiB\./,
    );
    assert.match(text, /nearly-full\/app@sha256:/);
    assert.match(text, /delete artifacts or repositories/);
    await inspectPage(page, 'project-summary-quota-refused');

    await navigate(page, 'Projects');
    const projects = page.getByRole('table', { name: 'Projects' });
    await projects
      .getByRole('row', { name: /nearly-full/ })
      .getByText(/of 100\.0 KiB/)
      .waitFor();
    await projects
      .getByRole('row', { name: /roomy/ })
      .getByText(/of 5\.00 MiB/)
      .waitFor();
    await inspectPage(page, 'projects-with-usage');
    watched.assertNoConsoleErrors();
  });

  test('configuration: a system administrator raises the limit; the refusal then is history', async () => {
    const { page } = watched;
    await page.goto('/projects/nearly-full/configuration');
    const section = page.getByRole('region', { name: 'Storage quota' });
    await section.getByText('Limit: 100.0 KiB').waitFor();
    await section.getByRole('button', { name: 'Edit limit' }).click();
    const dialog = await openDialog(page);
    await dialog.getByRole('switch', { name: 'Unlimited' }).click({ force: true });
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await section.getByText('Limit: unlimited').waitFor();
    await inspectPage(page, 'project-configuration-quota');
    await page.goto('/projects/nearly-full');
    await page.getByText(/used \(unlimited\)/).waitFor();
    assert.equal(await page.getByText('A push was refused for storage').count(), 0, 'a refusal before the limit changed is not shown');
    watched.assertNoConsoleErrors();
  });

  test('a project admin reads the quota in the configuration but cannot change it; a developer sees it in the summary', async () => {
    await inSignedInPage(
      browser,
      server,
      desktopLight,
      async (owner) => {
        await owner.page.goto('/projects/nearly-full/configuration');
        const section = owner.page.getByRole('region', { name: 'Storage quota' });
        await section.getByText('Only system administrators can change the limit.').waitFor();
        await section.getByText('Limit: unlimited').waitFor();
        assert.equal(await owner.page.getByRole('button', { name: 'Edit limit' }).count(), 0);
        owner.assertNoConsoleErrors();
      },
      { username: 'owner', password: 'Passw0rd1' },
    );
    await inSignedInPage(
      browser,
      server,
      desktopLight,
      async (dev) => {
        await dev.page.goto('/projects/nearly-full');
        await dev.page
          .getByLabel('Storage used')
          .or(dev.page.getByText(/used \(unlimited\)/))
          .first()
          .waitFor();
        dev.assertNoConsoleErrors();
      },
      { username: 'dev', password: 'Passw0rd1' },
    );
  });

  test('the quotas page on a phone, in dark', async () => {
    await inSignedInPage(browser, server, phoneDark, async (phone) => {
      await phone.page.goto('/admin/quotas');
      await phone.page.getByRole('table', { name: 'Project quotas' }).getByText('nearly-full').waitFor();
      await inspectPage(phone.page, 'admin-project-quotas-phone-dark');
      await assertNoOverflow(phone.page);
      phone.assertNoConsoleErrors();
    });
  });
});
