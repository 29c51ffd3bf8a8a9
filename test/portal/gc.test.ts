import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { api } from '../helpers/api.js';
import { browserSkip, eventually, field, h1, inspectPage, launchBrowser, phoneDark, type WatchedPage } from '../helpers/browser.js';
import { pushImage } from '../helpers/oci.js';
import type { TestServer } from '../helpers/server.js';
import { V2 } from '../helpers/v2.js';
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
 * The garbage collection panel: a dry run reports what a deleted image left, a real run
 * frees it (bytes shown in the history, counts and log in the details), a schedule is set
 * with its options; in light at desktop width and dark on a phone, with axe and no console error.
 */
describe('portal: garbage collection', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  let watched: WatchedPage;
  let freed = 0;

  before(async () => {
    server = await startPortalServer({ yaml: { 'jobs.poll_interval_ms': 50, 'gc.time_window_hours': 0 } });
    const image = await pushImage(server.url, 'library/collected', 'v1', { headers: server.admin });
    freed = image.config.size + image.layer.size;
    const del = await new V2(server).call('DELETE', `/v2/library/collected/manifests/${image.digest}`);
    assert.equal(del.status, 202);
    browser = await launchBrowser();
  });
  after(async () => {
    await closePortal({ watched, browser, server });
  });

  test('a dry run reports what it would free; GC now frees it; the details show the counts and the log', async () => {
    watched = await openSignedIn(browser, server);
    const { page } = watched;
    await navigate(page, 'Garbage collection');
    await eventually(async () => assert.equal(await h1(page).textContent(), 'Garbage collection'));
    await page.getByText('No garbage collection has run yet.').waitFor();
    await page.getByText('No scheduled garbage collection.').waitFor();
    await inspectPage(page, 'admin-gc-empty');

    const history = page.getByRole('table', { name: 'Garbage collection history' });
    // The audit log rotation below has a Dry run of its own.
    await page.getByRole('form', { name: 'Run garbage collection now' }).getByRole('button', { name: 'Dry run' }).click();
    const dry = history.getByRole('row').filter({ hasText: 'dry run' }).filter({ hasText: 'Success' });
    await dry.waitFor({ timeout: 30_000 });
    assert.match((await dry.textContent()) ?? '', new RegExp(`would free ${freed} B|would free [\\d.]+ KiB`));
    assert.match((await dry.textContent()) ?? '', /By hand/);

    await page.getByRole('button', { name: 'GC now' }).click();
    const real = history.getByRole('row').filter({ hasNotText: 'dry run' }).filter({ hasText: 'Success' });
    await real.waitFor({ timeout: 30_000 });
    const runs = await api(server, 'GET', '/system/gc', { auth: server.admin.authorization });
    const run = runs.body.find((r: { job_parameters: string }) => JSON.parse(r.job_parameters).dry_run === false);
    assert.equal(JSON.parse(run.job_parameters).freed_space, freed, 'the run freed what the deleted image held');
    assert.equal(JSON.parse(run.job_parameters).purged_blobs, 2);

    await real.getByRole('button', { name: /^Details of garbage collection \d+$/ }).click();
    const dialog = await openDialog(page);
    await dialog.getByText('Blobs swept').waitFor();
    await dialog.getByText(/swept 2 blob\(s\), freed \d+ bytes/).waitFor();
    await inspectPage(page, 'admin-gc-details');
    await dismissDialog(page, dialog);
    watched.assertNoConsoleErrors();
  });

  test('a schedule is set from the panel with its options and shown with its next run', async () => {
    const { page } = watched;
    await chooseOption(page, field(page, 'GC schedule'), 'Weekly');
    await page.locator('#gc-schedule-untagged').check({ force: true });
    await page.getByRole('button', { name: 'Save GC schedule' }).click();
    await page.getByText(/^Next GC: .* \(0 0 0 \* \* 0\)$/).waitFor();
    const schedule = await api(server, 'GET', '/system/gc/schedule', { auth: server.admin.authorization });
    assert.equal(schedule.body.schedule.type, 'Weekly');
    assert.equal(schedule.body.schedule.cron, '0 0 0 * * 0');
    assert.equal(JSON.parse(schedule.body.job_parameters).delete_untagged, true);
    await inspectPage(page, 'admin-gc-scheduled');
    watched.assertNoConsoleErrors();
  });

  test('the page on a phone, in dark', async () => {
    await inSignedInPage(browser, server, phoneDark, async (phone) => {
      await phone.page.goto('/admin/gc');
      await phone.page.getByRole('table', { name: 'Garbage collection history' }).getByText('Success').first().waitFor();
      await inspectPage(phone.page, 'admin-gc-phone-dark');
      await assertNoOverflow(phone.page);
      phone.assertNoConsoleErrors();
    });
  });
});
