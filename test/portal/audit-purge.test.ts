import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { api, createUser } from '../helpers/api.js';
import {
  browserSkip,
  desktopLight,
  eventually,
  field,
  inspectPage,
  launchBrowser,
  phoneDark,
  type WatchedPage,
} from '../helpers/browser.js';
import type { TestServer } from '../helpers/server.js';
import { createProject } from '../projects/fixtures.js';
import {
  assertNoOverflow,
  chooseOption,
  closePortal,
  dismissDialog,
  inSignedInPage,
  openDialog,
  openSignedIn,
  startPortalServer,
} from './ui.js';

const skip = browserSkip();
const day = 24 * 3600 * 1000;

/**
 * Audit log rotation on the Garbage collection page: a refused retention is explained and
 * starts nothing; a dry run counts the records older than the time kept; Purge now deletes
 * them (and only them), its details show the count and the log; a schedule is saved with
 * its retention and event types; a pending purge is stopped from its row. Light at desktop
 * width and dark on a phone, axe on each.
 */
describe('portal: audit log purge', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  let watched: WatchedPage;
  let old = 0;
  const db = () => server.berth.database.db;
  const admin = () => server.admin.authorization;
  const rows = async () => (await db().selectFrom('audit_logs').select(['id', 'resource', 'op_time']).execute()) as { resource: string }[];

  before(async () => {
    server = await startPortalServer({ yaml: { 'jobs.poll_interval_ms': 50 } });
    await createProject(server, { project_name: 'ancient' });
    await createUser(server, 'olduser');
    // What was recorded so far is 40 days old; what follows is recent.
    await db()
      .updateTable('audit_logs')
      .set({ op_time: new Date(Date.now() - 40 * day).toISOString() })
      .execute();
    old = (await rows()).length;
    assert.ok(old >= 2, `old records: ${old}`);
    await createProject(server, { project_name: 'recent' });
    browser = await launchBrowser();
  });
  after(async () => {
    await closePortal({ watched, browser, server });
  });

  test('a refused retention is explained; a dry run counts the old records; Purge now deletes them', async () => {
    watched = await openSignedIn(browser, server, desktopLight, {
      expected: [{ path: '/api/v2.0/system/purgeaudit/schedule', status: 400 }],
    });
    const { page } = watched;
    await page.goto('/admin/gc');
    const panel = page.getByRole('region', { name: 'Audit log rotation' });
    await panel.getByText('No purge has run yet.').waitFor();
    await panel.getByText('No scheduled purge.').waitFor();
    const now = panel.getByRole('form', { name: 'Purge the audit log now' });
    // Every event type is chosen to begin with, Harbor's "other" among them.
    await now.getByRole('checkbox', { name: 'create project', exact: true }).waitFor();
    assert.equal(await now.getByRole('checkbox', { name: 'other events' }).isChecked(), true);
    await inspectPage(page, 'admin-audit-purge-empty');

    // Longer than Harbor's limit (240000 hours): the server's message, nothing started.
    await field(now, 'Keep records of the last').fill('20000');
    await now.getByRole('button', { name: 'Dry run' }).click();
    await now.getByText('The purge did not start').waitFor();
    const none = await api<any[]>(server, 'GET', '/system/purgeaudit', { auth: admin() });
    assert.deepEqual(none.body, []);
    await inspectPage(page, 'admin-audit-purge-refused');

    await field(now, 'Keep records of the last').fill('30');
    await now.getByRole('button', { name: 'Dry run' }).click();
    const history = panel.getByRole('table', { name: 'Audit log purge history' });
    const dry = history.getByRole('row').filter({ hasText: 'dry run' }).filter({ hasText: 'Success' });
    await dry.waitFor({ timeout: 30_000 });
    await dry.getByRole('cell', { name: `would purge ${old}`, exact: true }).waitFor();
    await dry.getByRole('cell', { name: 'By hand', exact: true }).waitFor();
    await dry.getByRole('cell', { name: '30 days', exact: true }).waitFor();
    assert.equal((await rows()).filter((r) => r.resource.includes('ancient')).length > 0, true, 'a dry run deletes nothing');

    await now.getByRole('button', { name: 'Purge now' }).click();
    const real = history.getByRole('row').filter({ hasNotText: 'dry run' }).filter({ hasText: 'Success' });
    await real.waitFor({ timeout: 30_000 });
    // Run, Status, Started by, Created, Kept, Records.
    assert.equal(await real.getByRole('cell').nth(5).textContent(), String(old));
    const left = await rows();
    assert.equal(
      left.filter((r) => r.resource.includes('ancient') || r.resource.includes('olduser')).length,
      0,
      'the old records are gone',
    );
    assert.ok(
      left.some((r) => r.resource.includes('recent')),
      'the recent record is kept',
    );
    const runs = await api<any[]>(server, 'GET', '/system/purgeaudit', { auth: admin() });
    const run = runs.body.find((r) => JSON.parse(r.job_parameters).dry_run === false);
    assert.equal(JSON.parse(run.job_parameters).audit_retention_hour, 30 * 24);
    assert.equal(JSON.parse(run.job_parameters).purged, old);

    await real.getByRole('button', { name: /^Details of audit log purge \d+$/ }).click();
    const dialog = await openDialog(page);
    await dialog.getByText('Records purged').waitFor();
    await dialog.getByText('the last 30 days').waitFor();
    const log = dialog.getByLabel('Audit log purge log');
    await eventually(async () => {
      const text = (await log.first().textContent()) ?? '';
      assert.notEqual(text.trim(), 'Loading…');
      assert.ok(text.trim().length > 0, 'the log has lines');
    }, 15_000);
    await inspectPage(page, 'admin-audit-purge-details');
    await dismissDialog(page, dialog);
    watched.assertNoConsoleErrors();
  });

  test('a schedule is saved with its retention and event types and shown with its next run', async () => {
    const { page } = watched;
    const panel = page.getByRole('region', { name: 'Audit log rotation' });
    const form = panel.getByRole('form', { name: 'Audit log purge schedule' });
    await chooseOption(page, field(form, 'Purge schedule'), 'Daily');
    await field(form, 'Keep records of the last').fill('12');
    await chooseOption(page, field(form, 'Unit'), 'Hours');
    await form.getByRole('button', { name: 'None', exact: true }).click();
    await form.getByRole('checkbox', { name: 'pull artifact', exact: true }).check({ force: true });
    await form.getByRole('checkbox', { name: 'delete artifact', exact: true }).check({ force: true });
    await form.getByRole('button', { name: 'Save purge schedule' }).click();
    await panel.getByText(/^Next purge: .* \(0 0 0 \* \* \*\), keeping 12 hours$/).waitFor();
    const schedule = await api(server, 'GET', '/system/purgeaudit/schedule', { auth: admin() });
    assert.equal(schedule.body.schedule.type, 'Daily');
    assert.equal(schedule.body.schedule.cron, '0 0 0 * * *');
    const parameters = JSON.parse(schedule.body.job_parameters);
    assert.equal(parameters.audit_retention_hour, 12);
    assert.deepEqual(parameters.include_event_types.split(',').sort(), ['delete_artifact', 'pull_artifact']);
    await inspectPage(page, 'admin-audit-purge-scheduled');

    // Loaded again, the form shows what was saved.
    await page.reload();
    const again = page.getByRole('form', { name: 'Audit log purge schedule' });
    await eventually(async () => assert.equal(await field(again, 'Keep records of the last').inputValue(), '12'));
    assert.equal(await again.getByRole('checkbox', { name: 'pull artifact', exact: true }).isChecked(), true);
    assert.equal(await again.getByRole('checkbox', { name: 'create project', exact: true }).isChecked(), false);
    watched.assertNoConsoleErrors();
  });

  test('a purge not yet started is stopped from its row', async () => {
    // A Berth that runs no jobs (jobs.concurrency 0, an instance that only serves requests): the purge stays pending.
    const idle = await startPortalServer({ yaml: { 'jobs.concurrency': 0 } });
    try {
      await inSignedInPage(browser, idle, desktopLight, async (other) => {
        const { page } = other;
        await page.goto('/admin/gc');
        const panel = page.getByRole('region', { name: 'Audit log rotation' });
        await panel.getByRole('form', { name: 'Purge the audit log now' }).getByRole('button', { name: 'Purge now' }).click();
        const history = panel.getByRole('table', { name: 'Audit log purge history' });
        const row = history.getByRole('row').filter({ hasText: 'Pending' });
        await row.waitFor();
        await panel.getByText('A purge is already pending or running.').waitFor();
        await row.getByRole('button', { name: /^Stop audit log purge \d+$/ }).click();
        await history.getByRole('row').filter({ hasText: 'Stopped' }).waitFor({ timeout: 30_000 });
        const runs = await api<any[]>(idle, 'GET', '/system/purgeaudit', { auth: idle.admin.authorization });
        assert.equal(runs.body.length, 1);
        assert.equal(runs.body[0].job_status, 'Stopped');
        assert.equal(await panel.getByRole('button', { name: 'Purge now' }).isEnabled(), true, 'a new purge may start');
        other.assertNoConsoleErrors();
      });
    } finally {
      await idle.stop();
    }
  });

  test('the panel on a phone, in dark', async () => {
    await inSignedInPage(browser, server, phoneDark, async (phone) => {
      await phone.page.goto('/admin/gc');
      await phone.page.getByRole('table', { name: 'Audit log purge history' }).getByText('Success').first().waitFor();
      await inspectPage(phone.page, 'admin-audit-purge-phone-dark');
      await assertNoOverflow(phone.page);
      phone.assertNoConsoleErrors();
    });
  });
});
