import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { api } from '../helpers/api.js';
import {
  browserSkip,
  desktopLight,
  ensurePortalBuilt,
  eventually,
  field,
  inspectPage,
  launchBrowser,
  openPage,
  signIn,
  type WatchedPage,
} from '../helpers/browser.js';
import { adminPassword, startServer, type TestServer } from '../helpers/server.js';
import { createProject, daysAgo, digestsOf, push, setTimes } from '../retention/helpers.js';
import { openDialog } from './ui.js';

const skip = browserSkip();

/**
 * Tag retention in the project's Policy tab: a rule added through the editor, the schedule
 * saved, a dry run whose task log lists what would go, then a real run; with axe and no
 * console error.
 */
describe('portal: tag retention', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  let watched: WatchedPage;
  let projectId: number;
  const digests: string[] = [];

  before(async () => {
    ensurePortalBuilt();
    server = await startServer({ yaml: { 'jobs.poll_interval_ms': 50 } });
    projectId = await createProject(server, 'tidy');
    for (let i = 0; i < 3; i++) {
      const d = await push(server, 'tidy/app', `build-${i}`);
      await setTimes(server, 'tidy/app', d, { push: daysAgo(10 - i) });
      digests.push(d);
    }
    browser = await launchBrowser();
  });
  after(async () => {
    await watched?.close();
    await browser?.close();
    await server?.stop();
  });

  const policy = async () => {
    const meta = await api(server, 'GET', `/projects/${projectId}`, { auth: server.admin.authorization });
    const id = meta.body.metadata?.retention_id;
    return id ? (await api(server, 'GET', `/retentions/${id}`, { auth: server.admin.authorization })).body : undefined;
  };

  test('add a rule, save a schedule, dry run, read the task log, run for real', async () => {
    watched = await openPage(browser, server.url, desktopLight);
    const { page } = watched;
    await signIn(page, 'admin', adminPassword);
    await page.goto('/projects/tidy/policy');
    const section = page.getByRole('region', { name: 'Tag retention' });
    await section.getByText('No rule yet: nothing is removed.').waitFor();

    await section.getByRole('button', { name: 'Add rule' }).click();
    const dialog = await openDialog(page);
    await field(dialog, '#').fill('1');
    await field(dialog, 'Tag pattern').fill('build-*');
    await dialog.getByRole('button', { name: 'Save rule' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await section
      .getByText(/1\. For repositories matching \*\*, retain the most recently pushed 1 artifacts with tags matching build-\*/)
      .waitFor();
    const saved = await eventually(async () => {
      const p = await policy();
      assert.ok(p);
      return p;
    });
    assert.deepEqual(saved.rules[0].params, { latestPushedK: 1 });
    assert.equal(saved.rules[0].tag_selectors[0].pattern, 'build-*');

    await field(section, 'Schedule (cron, UTC)').fill('0 0 4 * * *');
    await section.getByRole('button', { name: 'Save settings' }).click();
    await eventually(async () => assert.equal((await policy()).trigger.settings.cron, '0 0 4 * * *'));

    await section.getByRole('button', { name: 'Dry run' }).click();
    const executions = section.getByRole('table', { name: 'Retention executions' });
    await executions.getByRole('row').filter({ hasText: 'Success' }).filter({ hasText: 'yes' }).waitFor();
    await inspectPage(page, 'project-policy-retention');
    await executions.getByRole('button', { name: 'Tasks' }).first().click();
    const tasks = await openDialog(page);
    await tasks.getByRole('row', { name: /app/ }).getByText('1 / 3').waitFor();
    await tasks.getByRole('button', { name: 'Log' }).click();
    const log = tasks.getByLabel('Log of app');
    await eventually(async () => assert.match((await log.textContent()) ?? '', /Dry run: nothing was removed/));
    assert.equal(((await log.textContent()) ?? '').match(/ DEL /g)?.length, 2);
    await page.keyboard.press('Escape');
    await tasks.waitFor({ state: 'hidden' });
    assert.equal((await digestsOf(server, 'tidy/app')).size, 3, 'the dry run removed nothing');

    await section.getByRole('button', { name: 'Run now' }).click();
    await executions.getByRole('row').filter({ hasText: 'Success' }).filter({ hasText: 'no' }).waitFor();
    await eventually(async () => assert.deepEqual([...(await digestsOf(server, 'tidy/app'))], [digests[2]]));
    watched.assertNoConsoleErrors();
  });
});
