import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { api } from '../helpers/api.js';
import { browserSkip, eventually, field, h1, inspectPage, launchBrowser, phoneDark, type WatchedPage } from '../helpers/browser.js';
import { refusedPort } from '../helpers/ports.js';
import { startDragonflyFake, type DragonflyFake } from '../helpers/dragonfly-fake.js';
import { pushImage } from '../helpers/oci.js';
import type { TestServer } from '../helpers/server.js';
import {
  assertNoOverflow,
  chooseOption,
  closePortal,
  confirmWith,
  dismissDialog,
  inSignedInPage,
  navigate,
  openDialog,
  openSignedIn,
  readTaskLog,
  rowAction,
  startPortalServer,
  submitDialog,
  testConnection,
} from './ui.js';

const skip = browserSkip();

/**
 * P2P preheat in the portal, against a real Berth and a loopback Dragonfly manager written
 * from Dragonfly's open API documentation (the engine cannot be installed here): the instance
 * added under Distributions (Test connection against a closed port and the manager, OAuth
 * token), made the default; in the project's P2P Preheat tab a policy written (a bad cron
 * refused with nothing saved), executed, its execution, task and log read, the job the
 * manager received checked; the policy deleted; with axe and no console error.
 */
describe('portal: P2P preheat', { skip }, () => {
  let server: TestServer;
  let dragonfly: DragonflyFake;
  let browser: Browser;
  let watched: WatchedPage;
  const admin = () => server.admin.authorization;
  const instances = async () => (await api(server, 'GET', '/p2p/preheat/instances', { auth: admin() })).body as Array<Record<string, any>>;
  const policies = async () =>
    (await api(server, 'GET', '/projects/fleet/preheat/policies', { auth: admin() })).body as Array<Record<string, any>>;

  before(async () => {
    server = await startPortalServer({ yaml: { 'jobs.poll_interval_ms': 50 } });
    dragonfly = await startDragonflyFake();
    const created = await api(server, 'POST', '/projects', {
      auth: admin(),
      body: { project_name: 'fleet', metadata: { public: 'false' } },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await pushImage(server.url, 'fleet/app', 'v1', { headers: server.admin });
    await pushImage(server.url, 'fleet/app', 'dev', { headers: server.admin });
    browser = await launchBrowser();
    watched = await openSignedIn(browser, server);
  });
  after(async () => {
    await closePortal({ watched, browser, server });
    await dragonfly?.close();
  });

  test('Distributions: a Dragonfly instance tested (a closed port fails), added with a token, made the default', async () => {
    const { page } = watched;
    await navigate(page, 'Distributions');
    await eventually(async () => assert.equal(await h1(page).textContent(), 'Distributions'));
    await page.getByText('No preheat instance yet.').waitFor();

    watched.expectFailure({ path: '/api/v2.0/p2p/preheat/instances/ping', status: 400 });
    await page.getByRole('button', { name: 'New instance' }).click();
    const dialog = await openDialog(page);
    await eventually(async () => assert.match(await field(dialog, 'Provider').inputValue(), /Dragonfly/i));
    await field(dialog, 'Name').fill('dragonfly-1');
    await field(dialog, 'Endpoint').fill(`http://127.0.0.1:${await refusedPort()}`);
    await testConnection(dialog, 'failed');

    await field(dialog, 'Endpoint').fill(dragonfly.url);
    await chooseOption(page, field(dialog, 'Auth mode'), 'OAuth (bearer token)');
    await field(dialog, 'Token').fill('personal-access-token');
    await testConnection(dialog, 'works');
    await inspectPage(page, 'admin-distributions-new');
    await submitDialog(dialog, 'OK');

    const row = page.getByRole('table', { name: 'Preheat instances' }).getByRole('row').filter({ hasText: 'dragonfly-1' });
    await row.getByText('Enabled').waitFor();
    const [saved] = await instances();
    assert.equal(saved.vendor, 'dragonfly');
    assert.equal(saved.endpoint, dragonfly.url);
    assert.equal(saved.auth_mode, 'OAUTH');

    await rowAction(page, row, 'Actions for instance dragonfly-1', 'Set as default');
    await row.getByText('Default').waitFor();
    assert.equal((await instances())[0].default, true);
    await inspectPage(page, 'admin-distributions');
    watched.assertNoConsoleErrors();
  });

  test('P2P Preheat tab: a policy written (a bad cron refused), executed, its task and log read', async () => {
    const { page } = watched;
    await page.goto('/projects/fleet/p2p-preheat');
    const tab = page.getByRole('region', { name: 'P2P preheat policies' });
    await tab.getByText('No preheat policy yet.').waitFor();

    await tab.getByRole('button', { name: 'New policy' }).click();
    const dialog = await openDialog(page);
    await eventually(async () => assert.match(await field(dialog, 'Provider').inputValue(), /dragonfly-1/));
    await field(dialog, 'Name').fill('warm');
    await field(dialog, 'Tags').fill('v*');
    watched.expectFailure({ path: '/api/v2.0/projects/fleet/preheat/policies', status: 400 });
    await chooseOption(page, field(dialog, 'Trigger'), 'Scheduled');
    await field(dialog, 'Cron').fill('0 0 99 * * *');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.getByText('The policy was not saved').waitFor();
    assert.equal((await policies()).length, 0);
    await inspectPage(page, 'project-preheat-editor');
    await chooseOption(page, field(dialog, 'Trigger'), 'Manual');
    await submitDialog(dialog);

    const row = tab.getByRole('table', { name: 'Preheat policies' }).getByRole('row').filter({ hasText: 'warm' });
    await row.getByText('repositories ** · tags v*').waitFor();
    const [saved] = await policies();
    assert.deepEqual(JSON.parse(saved.filters), [
      { type: 'repository', value: '**' },
      { type: 'tag', value: 'v*' },
    ]);
    assert.equal(JSON.parse(saved.trigger).type, 'manual');

    await row.getByRole('button', { name: 'Execute warm' }).click();
    const executions = tab.getByRole('table', { name: 'Preheat executions' });
    const execution = executions.getByRole('row').filter({ hasText: 'Success' }).first();
    await execution.getByText('1 / 1').waitFor({ timeout: 60_000 });
    await inspectPage(page, 'project-preheat');

    // The manager got one preheat job, for the manifest of the tag the policy matched.
    assert.equal(dragonfly.jobs.length, 1);
    assert.equal(dragonfly.jobs[0].type, 'preheat');
    assert.match(String(dragonfly.jobs[0].args.url), /\/v2\/fleet\/app\/manifests\/v1$/);

    await execution.getByRole('button', { name: /^Tasks of execution/ }).click();
    const tasks = await openDialog(page);
    const task = tasks.getByRole('table', { name: 'Preheat tasks' }).getByRole('row').filter({ hasText: 'Success' });
    await task.getByText(/fleet\/app/).waitFor();
    await readTaskLog(tasks, task, /fleet\/app/);
    await inspectPage(page, 'project-preheat-tasks');
    await dismissDialog(page, tasks);
    watched.assertNoConsoleErrors();
  });

  test('on a phone, in dark: the tab fits; the policy is disabled and deleted', async () => {
    await inSignedInPage(browser, server, phoneDark, async (phone) => {
      await phone.page.goto('/projects/fleet/p2p-preheat');
      await phone.page.getByRole('table', { name: 'Preheat policies' }).getByText('warm').waitFor();
      await assertNoOverflow(phone.page, 'P2P Preheat');
      await inspectPage(phone.page, 'project-preheat-phone-dark');
      phone.assertNoConsoleErrors();
    });
    const { page } = watched;
    const tab = page.getByRole('region', { name: 'P2P preheat policies' });
    const row = tab.getByRole('table', { name: 'Preheat policies' }).getByRole('row').filter({ hasText: 'warm' });
    await rowAction(page, row, 'Actions for policy warm', 'Disable');
    await row.getByText('Disabled').waitFor();
    assert.equal((await policies())[0].enabled, false);
    await rowAction(page, row, 'Actions for policy warm', 'Delete');
    await confirmWith(page, 'Delete');
    await tab.getByText('No preheat policy yet.').waitFor();
    assert.equal((await policies()).length, 0);
    watched.assertNoConsoleErrors();
  });
});
