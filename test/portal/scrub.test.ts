import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { api } from '../helpers/api.js';
import { browserSkip, eventually, field, h1, inspectPage, launchBrowser, phoneDark, type WatchedPage } from '../helpers/browser.js';
import { pushImage } from '../helpers/oci.js';
import type { TestServer } from '../helpers/server.js';
import { scrub } from '../scrub/helpers.js';
import {
  assertNoOverflow,
  chooseOption,
  closePortal,
  dismissDialog,
  inSignedInPage,
  navigate,
  openDialog,
  openSignedIn,
  startPortalServer,
} from './ui.js';

const skip = browserSkip();

/**
 * The integrity scrub panel on the administration's garbage collection page: a run started
 * from the portal finds a blob file damaged on disk, its findings and log are shown, and a
 * schedule is set; in light at desktop width and dark on a phone, with axe and no console error.
 */
describe('portal: integrity scrub on the garbage collection page', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  let watched: WatchedPage;
  // The empty schedule shows as such, not as a failed request.
  const noSchedule = 'No scheduled scrub.';
  let layerDigest: string;

  before(async () => {
    server = await startPortalServer({ yaml: { 'jobs.poll_interval_ms': 50 } });
    const image = await pushImage(server.url, 'library/scrubbed', 'v1', { headers: server.admin });
    layerDigest = image.layer.digest;
    const hex = layerDigest.slice('sha256:'.length);
    const file = path.join(server.berth.paths.storageRoot, 'blobs', 'sha256', hex.slice(0, 2), hex);
    const bytes = await readFile(file);
    bytes[0] ^= 0x20;
    await writeFile(file, bytes);
    browser = await launchBrowser();
  });
  after(async () => {
    await closePortal({ watched, browser, server });
  });

  test('run now: the history shows the run and its problem; details list the finding and the log', async () => {
    watched = await openSignedIn(browser, server);
    const { page } = watched;
    await navigate(page, 'Garbage collection');
    await eventually(async () => assert.equal(await h1(page).textContent(), 'Garbage collection'));
    await page.getByText('No scrub has run yet.').waitFor();
    await page.getByText(noSchedule).waitFor();
    await inspectPage(page, 'admin-gc-scrub-empty');

    await page.getByRole('button', { name: 'Scrub now' }).click();
    const history = page.getByRole('table', { name: 'Scrub history' });
    const row = history.getByRole('row').filter({ hasText: 'Success' });
    await row.waitFor({ timeout: 30_000 });
    assert.match((await row.textContent()) ?? '', /By hand/);
    assert.match((await row.textContent()) ?? '', /2\/2 blobs/);

    await row.getByRole('button', { name: /^Details of scrub \d+$/ }).click();
    const dialog = await openDialog(page);
    const findings = dialog.getByRole('table', { name: 'Findings' });
    await findings.getByText('Wrong bytes').waitFor();
    assert.ok(((await findings.textContent()) ?? '').includes(layerDigest), 'the finding names the blob');
    await dialog.getByText('1 problem(s) found; 1 blob(s) quarantined, 1 artifact(s) affected', { exact: true }).waitFor();
    await inspectPage(page, 'admin-gc-scrub-findings');
    await dialog.getByRole('tab', { name: 'Log' }).click();
    await dialog.getByText(/scrubbing 2 blob\(s\) and 1 manifest\(s\)/).waitFor();
    await dismissDialog(page, dialog);
    watched.assertNoConsoleErrors();
  });

  test('a schedule is set from the panel and shown with its next run', async () => {
    const { page } = watched;
    await chooseOption(page, field(page, 'Schedule'), 'Daily');
    await page.getByRole('button', { name: 'Save schedule' }).click();
    await page.getByText(/^Next run: .* \(0 0 0 \* \* \*\)$/).waitFor();
    const schedule = await api(server, 'GET', '/system/scrub/schedule', { auth: server.admin.authorization });
    assert.equal(schedule.body.schedule.type, 'Daily');
    assert.equal(schedule.body.schedule.cron, '0 0 0 * * *');
    watched.assertNoConsoleErrors();
  });

  test('the page on a phone, in dark', async () => {
    await inSignedInPage(browser, server, phoneDark, async (phone) => {
      // A run of its own, so that this test stands alone.
      if ((await api(server, 'GET', '/system/scrub', { auth: server.admin.authorization })).body.length === 0) await scrub(server);
      await phone.page.goto('/admin/gc');
      await phone.page.getByRole('table', { name: 'Scrub history' }).getByText('Success').waitFor();
      await inspectPage(phone.page, 'admin-gc-scrub-phone-dark');
      await assertNoOverflow(phone.page);
      phone.assertNoConsoleErrors();
    });
  });
});
