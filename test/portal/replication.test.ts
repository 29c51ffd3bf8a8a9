import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { api } from '../helpers/api.js';
import { browserSkip, eventually, field, h1, inspectPage, launchBrowser, phoneLight, type WatchedPage } from '../helpers/browser.js';
import { refusedPort } from '../helpers/ports.js';
import { startDockerRegistry, type DockerRegistry } from '../helpers/docker-registry.js';
import { startCountingProxy, type CountingProxy } from '../helpers/counting-proxy.js';
import { pushImage } from '../helpers/oci.js';
import type { TestServer } from '../helpers/server.js';
import { requireTools } from '../helpers/tools.js';
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

const skip = browserSkip() || requireTools('docker-registry');

/**
 * Replication and proxy cache in the portal, against a real Berth and a real docker-registry
 * (CNCF Distribution) as the other registry: the endpoint added under Registries (Test
 * connection, a closed port refused, a duplicate name refused with nothing saved), a push rule
 * written in the editor (filters, destination namespace, flattening; a bad cron refused with
 * nothing saved), Replicate, the execution's counts, tasks and log, the image found in the
 * docker-registry; the rule edited to event-based with delete sync, disabled, deleted; a
 * proxy-cache project created from New project; with axe and no console error.
 */
describe('portal: registries, replication rules and proxy-cache projects', { skip }, () => {
  let server: TestServer;
  let distribution: DockerRegistry;
  let flaky: CountingProxy;
  let browser: Browser;
  let watched: WatchedPage;
  const admin = () => server.admin.authorization;
  const registries = async () => (await api(server, 'GET', '/registries', { auth: admin() })).body as Array<Record<string, any>>;
  const policies = async () => (await api(server, 'GET', '/replication/policies', { auth: admin() })).body as Array<Record<string, any>>;

  before(async () => {
    server = await startPortalServer({ yaml: { 'jobs.poll_interval_ms': 50 } });
    distribution = await startDockerRegistry();
    flaky = await startCountingProxy(distribution.url);
    const created = await api(server, 'POST', '/projects', {
      auth: admin(),
      body: { project_name: 'shop', metadata: { public: 'false' } },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await pushImage(server.url, 'shop/app', 'v1', { headers: server.admin });
    await pushImage(server.url, 'shop/app', 'dev', { headers: server.admin });
    const pulled = await api(server, 'POST', '/projects', {
      auth: admin(),
      body: { project_name: 'pulled', metadata: { public: 'false' } },
    });
    assert.equal(pulled.status, 201, JSON.stringify(pulled.body));
    browser = await launchBrowser();
    watched = await openSignedIn(browser, server);
  });
  after(async () => {
    await closePortal({ watched, browser, server });
    await flaky?.close();
    await distribution?.close();
  });

  test('Registries: a docker-registry endpoint tested and added; a closed port and a taken name refused', async () => {
    const { page } = watched;
    await navigate(page, 'Registries');
    await eventually(async () => assert.equal(await h1(page).textContent(), 'Registries'));
    await page.getByText('No registry endpoint yet.').waitFor();

    // A port nothing listens on: Test connection says why.
    const closed = `http://127.0.0.1:${await refusedPort()}`;
    watched.expectFailure({ path: '/api/v2.0/registries/ping', status: 400 });
    await page.getByRole('button', { name: 'New endpoint' }).click();
    let dialog = await openDialog(page);
    await chooseOption(page, field(dialog, 'Provider'), 'Docker Registry');
    await field(dialog, 'Name').fill('distribution');
    await field(dialog, 'Endpoint URL').fill(closed);
    await testConnection(dialog, 'failed');

    await field(dialog, 'Endpoint URL').fill(distribution.url);
    await testConnection(dialog, 'works');
    await inspectPage(page, 'admin-registries-new');
    await submitDialog(dialog, 'OK');
    const table = page.getByRole('table', { name: 'Registries' });
    const row = table.getByRole('row').filter({ hasText: 'distribution' });
    await row.getByText('Docker Registry').waitFor();
    const saved = await registries();
    assert.equal(saved.length, 1);
    assert.equal(saved[0].url, distribution.url);
    assert.equal(saved[0].type, 'docker-registry');

    // The same name again: the server's 409 in the dialog, nothing saved.
    watched.expectFailure({ path: '/api/v2.0/registries', status: 409 });
    await page.getByRole('button', { name: 'New endpoint' }).click();
    dialog = await openDialog(page);
    await chooseOption(page, field(dialog, 'Provider'), 'Docker Registry');
    await field(dialog, 'Name').fill('distribution');
    await field(dialog, 'Endpoint URL').fill(distribution.url);
    await dialog.getByRole('button', { name: 'OK' }).click();
    await dialog.getByText('The registry was not saved').waitFor();
    assert.equal((await registries()).length, 1);
    await dismissDialog(page, dialog);

    // Edited: the description changes, the URL stays.
    await row.getByRole('button', { name: 'Edit registry distribution' }).click();
    dialog = await openDialog(page);
    await field(dialog, 'Description').fill('Distribution on loopback');
    await submitDialog(dialog);
    await eventually(async () => assert.equal((await registries())[0].description, 'Distribution on loopback'));
    await inspectPage(page, 'admin-registries');
    watched.assertNoConsoleErrors();
  });

  test('Replications: a push rule written, a bad cron refused, replicated, its execution, task and log read', async () => {
    const { page } = watched;
    await navigate(page, 'Replications');
    await eventually(async () => assert.equal(await h1(page).textContent(), 'Replications'));
    await page.getByText('No replication rule yet.').waitFor();

    await page.getByRole('button', { name: 'New replication rule' }).click();
    const dialog = await openDialog(page);
    await field(dialog, 'Name').fill('to-distribution');
    await chooseOption(page, field(dialog, 'Destination registry'), /^distribution/);
    await field(dialog, 'Repository name').fill('shop/**');
    await field(dialog, 'Tag').fill('v*');
    await field(dialog, 'Destination namespace').fill('mirror');
    await chooseOption(page, field(dialog, 'Flattening'), 'Flatten 1 level');

    // Six fields, but hour 99: the server's 400 in the dialog, nothing saved.
    watched.expectFailure({ path: '/api/v2.0/replication/policies', status: 400 });
    await chooseOption(page, field(dialog, 'Trigger mode'), 'Scheduled');
    await field(dialog, 'Cron').fill('0 0 99 * * *');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.getByText('The rule was not saved').waitFor();
    assert.equal((await policies()).length, 0);
    await inspectPage(page, 'admin-replication-rule-editor');

    await chooseOption(page, field(dialog, 'Trigger mode'), 'Manual');
    await submitDialog(dialog);
    const rules = page.getByRole('table', { name: 'Replication rules' });
    const rule = rules.getByRole('row').filter({ hasText: 'to-distribution' });
    await rule.getByText('Push-based').waitFor();
    const [saved] = await policies();
    assert.equal(saved.dest_registry.name, 'distribution');
    assert.ok(!saved.src_registry || !saved.src_registry.id, 'the source is this Berth');
    assert.equal(saved.dest_namespace, 'mirror');
    assert.equal(saved.dest_namespace_replace_count, 1);
    assert.equal(saved.trigger.type, 'manual');
    assert.deepEqual([...saved.filters].map((f: { type: string; value: unknown }) => [f.type, f.value]).sort(), [
      ['name', 'shop/**'],
      ['tag', 'v*'],
    ]);

    await rule.getByRole('button', { name: 'Replicate to-distribution' }).click();
    await confirmWith(page, 'Replicate');
    const executions = page.getByRole('table', { name: 'Replication executions' });
    const execution = executions.getByRole('row').filter({ hasText: 'to-distribution' }).first();
    await execution.getByText('Succeed').waitFor({ timeout: 60_000 });
    await execution.getByText('1 / 1').waitFor();
    await inspectPage(page, 'admin-replications');

    // The tag matching v* reached the docker-registry under the flattened namespace; dev did not.
    const tags = await (await fetch(`${distribution.url}/v2/mirror/app/tags/list`)).json();
    assert.deepEqual(tags.tags, ['v1']);

    await execution.getByRole('button', { name: /^Details of execution/ }).click();
    const details = await openDialog(page);
    const task = details.getByRole('table', { name: 'Replication tasks' }).getByRole('row').filter({ hasText: 'shop/app' });
    await task.getByText('Succeed').waitFor();
    // The task's job log, once loaded: what it copied.
    await readTaskLog(details, task, /mirror\/app/);
    await inspectPage(page, 'admin-replication-execution');
    await dismissDialog(page, details);
    watched.assertNoConsoleErrors();
  });

  test('a pull rule from the docker-registry: only its filters and triggers offered, replicated into Berth', async () => {
    const { page } = watched;
    await page.getByRole('button', { name: 'New replication rule' }).click();
    const dialog = await openDialog(page);
    await field(dialog, 'Name').fill('from-distribution');
    await dialog.getByText('Pull-based').click();
    await chooseOption(page, field(dialog, 'Source registry'), /^distribution/);
    // What the docker-registry adapter supports: no label filter, no event trigger.
    await eventually(async () => assert.equal(await field(dialog, 'Label').count(), 0));
    await field(dialog, 'Trigger mode').click();
    await page.getByRole('option', { name: 'Scheduled' }).waitFor();
    assert.equal(await page.getByRole('option', { name: 'Event based' }).count(), 0);
    await page.keyboard.press('Escape');
    await field(dialog, 'Repository name').fill('mirror/**');
    await field(dialog, 'Destination namespace').fill('pulled');
    await submitDialog(dialog);
    const rule = page.getByRole('table', { name: 'Replication rules' }).getByRole('row').filter({ hasText: 'from-distribution' });
    await rule.getByText('Pull-based').waitFor();
    const saved = (await policies()).find((p) => p.name === 'from-distribution')!;
    assert.equal(saved.src_registry.name, 'distribution');
    assert.ok(!saved.dest_registry || !saved.dest_registry.id, 'the destination is this Berth');

    await rule.getByRole('button', { name: 'Replicate from-distribution' }).click();
    await confirmWith(page, 'Replicate');
    // The executions of this rule alone.
    await chooseOption(page, page.getByLabel('Executions of rule', { exact: true }), 'from-distribution');
    const executions = page.getByRole('table', { name: 'Replication executions' });
    await eventually(async () => assert.equal(await executions.getByRole('row').filter({ hasText: 'to-distribution' }).count(), 0));
    const execution = executions.getByRole('row').filter({ hasText: 'from-distribution' }).first();
    await execution.getByText('Succeed').waitFor({ timeout: 60_000 });
    await execution.getByText('1 / 1').waitFor();
    const pulled = await api(server, 'GET', '/projects/pulled/repositories/app/artifacts?with_tag=true', { auth: admin() });
    assert.equal(pulled.status, 200, JSON.stringify(pulled.body));
    assert.deepEqual(
      pulled.body.flatMap((a: { tags?: Array<{ name: string }> }) => (a.tags ?? []).map((t) => t.name)),
      ['v1'],
    );
    watched.assertNoConsoleErrors();
  });

  test('the rule edited to event-based with delete sync, disabled, and deleted', async () => {
    const { page } = watched;
    const rules = page.getByRole('table', { name: 'Replication rules' });
    const rule = rules.getByRole('row').filter({ hasText: 'to-distribution' });
    await rowAction(page, rule, 'Actions for rule to-distribution', 'Edit');
    const dialog = await openDialog(page);
    await eventually(async () => assert.equal(await field(dialog, 'Destination namespace').inputValue(), 'mirror'));
    await chooseOption(page, field(dialog, 'Trigger mode'), 'Event based');
    await dialog.getByLabel('Delete remote resources when locally deleted').check();
    await submitDialog(dialog);
    await rule.getByText('Event based').waitFor();
    const edited = (await policies()).find((p) => p.name === 'to-distribution')!;
    assert.equal(edited.trigger.type, 'event_based');
    assert.equal(edited.replicate_deletion, true);
    assert.equal(edited.dest_namespace, 'mirror');

    // A push matching the rule replicates by itself: an event-based execution in the list.
    await pushImage(server.url, 'shop/app', 'v2', { headers: server.admin });
    await chooseOption(page, page.getByLabel('Executions of rule', { exact: true }), 'to-distribution');
    const executions = page.getByRole('table', { name: 'Replication executions' });
    const byEvent = executions.getByRole('row').filter({ hasText: 'Event based' }).first();
    await byEvent.getByText('Succeed').waitFor({ timeout: 60_000 });
    const tags = await (await fetch(`${distribution.url}/v2/mirror/app/tags/list`)).json();
    assert.deepEqual(tags.tags.sort(), ['v1', 'v2']);

    await rowAction(page, rule, 'Actions for rule to-distribution', 'Disable');
    await rule.getByText('Disabled').waitFor();
    assert.equal((await policies()).find((p) => p.name === 'to-distribution')!.enabled, false);
    assert.equal(await rule.getByRole('button', { name: 'Replicate to-distribution' }).isDisabled(), true);

    await inSignedInPage(browser, server, phoneLight, async (phone) => {
      await phone.page.goto('/admin/replications');
      await phone.page.getByRole('table', { name: 'Replication rules' }).getByText('to-distribution').waitFor();
      await assertNoOverflow(phone.page, 'Replications');
      await inspectPage(phone.page, 'admin-replications-phone');
      phone.assertNoConsoleErrors();
    });

    await rowAction(page, rule, 'Actions for rule to-distribution', 'Delete');
    await confirmWith(page, 'Delete');
    await rule.waitFor({ state: 'detached' });
    assert.deepEqual(
      (await policies()).map((p) => p.name),
      ['from-distribution'],
    );
    watched.assertNoConsoleErrors();
  });

  test('New project: a proxy cache of the endpoint, shown as such; the endpoint it uses cannot be deleted', async () => {
    const { page } = watched;
    await navigate(page, 'Projects');
    await page.getByRole('button', { name: 'New project' }).click();
    const dialog = await openDialog(page);
    await field(dialog, 'Project name').fill('mirror-cache');
    await dialog.getByLabel('Proxy Cache').check();
    // No registry chosen: said in the dialog, nothing sent.
    await dialog.getByRole('button', { name: 'Create' }).click();
    await dialog.getByText('Choose the registry this project mirrors').waitFor();
    await chooseOption(page, field(dialog, 'Registry'), /^distribution/);
    await field(dialog, 'Cache freshness (seconds)').fill('60');
    await inspectPage(page, 'projects-new-proxy-cache');
    await submitDialog(dialog, 'Create');
    const row = page.getByRole('table', { name: 'Projects' }).getByRole('row').filter({ hasText: 'mirror-cache' });
    await row.getByText('Proxy cache').waitFor();
    const project = await api(server, 'GET', '/projects/mirror-cache', { auth: admin(), headers: { 'X-Is-Resource-Name': 'true' } });
    assert.equal(project.status, 200, JSON.stringify(project.body));
    const [endpoint] = await registries();
    assert.equal(project.body.registry_id, endpoint.id);
    assert.equal(project.body.metadata.proxy_cache_freshness_seconds, '60');

    // Its summary names the endpoint it mirrors and offers only the pull command.
    await row.getByRole('link', { name: 'mirror-cache' }).click();
    const proxyCard = page.getByText(`A pull-through cache of distribution (${distribution.url})`);
    await proxyCard.waitFor();
    await page.getByText(/served from the cache for 60 s/).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Copy push command' }).count(), 0);
    await inspectPage(page, 'project-proxy-cache-summary');

    // Its freshness changed in Configuration; a value that is no number of seconds refused, nothing saved.
    await page.getByRole('tab', { name: 'Configuration' }).click();
    const freshness = field(page, 'Cache freshness (seconds)');
    await eventually(async () => assert.equal(await freshness.inputValue(), '60'));
    await freshness.fill('120');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    const metadataOf = async () =>
      (await api(server, 'GET', '/projects/mirror-cache', { auth: admin(), headers: { 'X-Is-Resource-Name': 'true' } })).body.metadata;
    await eventually(async () => assert.equal((await metadataOf()).proxy_cache_freshness_seconds, '120'));
    watched.expectFailure({ path: `/api/v2.0/projects/${project.body.project_id}`, status: 400 });
    await freshness.fill('soon');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByText('Could not save the configuration').waitFor();
    assert.equal((await metadataOf()).proxy_cache_freshness_seconds, '120');

    // The endpoint a project mirrors: its deletion is refused, and the reason shown.
    await navigate(page, 'Registries');
    watched.expectFailure({ path: `/api/v2.0/registries/${endpoint.id}`, status: 412 });
    await page.getByRole('button', { name: 'Delete registry distribution' }).click();
    const confirm = await openDialog(page);
    await confirm.getByRole('button', { name: 'Delete' }).click();
    await page.getByText('That did not work').waitFor();
    assert.equal((await registries()).length, 1);
    await submitDialog(confirm, 'Cancel');
    watched.assertNoConsoleErrors();
  });
  test('a destination that went down: the execution waits in progress to retry, and Stop stops it', async () => {
    const { page } = watched;
    const endpoint = await api(server, 'POST', '/registries', {
      auth: admin(),
      body: { name: 'flaky', type: 'docker-registry', url: flaky.url, insecure: false },
    });
    assert.equal(endpoint.status, 201, JSON.stringify(endpoint.body));
    const registryId = Number(endpoint.headers.get('location')!.split('/').pop());
    const policy = await api(server, 'POST', '/replication/policies', {
      auth: admin(),
      body: {
        name: 'to-flaky',
        src_registry: null,
        dest_registry: { id: registryId },
        dest_namespace: 'flaky',
        dest_namespace_replace_count: 1,
        trigger: { type: 'manual', trigger_settings: { cron: '' } },
        filters: [{ type: 'name', value: 'shop/**' }],
        override: true,
        enabled: true,
      },
    });
    assert.equal(policy.status, 201, JSON.stringify(policy.body));
    flaky.mode = 'refuse';

    await navigate(page, 'Replications');
    const rule = page.getByRole('table', { name: 'Replication rules' }).getByRole('row').filter({ hasText: 'to-flaky' });
    await rule.getByRole('button', { name: 'Replicate to-flaky' }).click();
    await confirmWith(page, 'Replicate');
    await chooseOption(page, page.getByLabel('Executions of rule', { exact: true }), 'to-flaky');
    const execution = page.getByRole('table', { name: 'Replication executions' }).getByRole('row').filter({ hasText: 'to-flaky' });
    await execution.getByText('In progress').waitFor({ timeout: 30_000 });
    await execution.getByRole('button', { name: /^Stop execution/ }).click();
    await execution.getByText('Stopped').waitFor({ timeout: 30_000 });
    const executions = await api(server, 'GET', `/replication/executions?policy_id=${policy.headers.get('location')!.split('/').pop()}`, {
      auth: admin(),
    });
    assert.equal(executions.body[0].status, 'Stopped');
    assert.equal(executions.body[0].succeed, 0);

    // Its tasks, filtered to the stopped ones; the log says why the copy did not happen.
    await execution.getByRole('button', { name: /^Details of execution/ }).click();
    const details = await openDialog(page);
    // The status filter (a segmented control: its labels take the clicks).
    await details
      .locator('label')
      .filter({ hasText: /^Stopped$/ })
      .click();
    await eventually(async () => assert.equal(await details.getByRole('radio', { name: 'Stopped' }).isChecked(), true));
    const tasks = details.getByRole('table', { name: 'Replication tasks' });
    const task = tasks.getByRole('row').filter({ hasText: 'Stopped' }).filter({ hasText: 'shop/app' }).first();
    await task.waitFor();
    assert.equal(await tasks.getByRole('row').filter({ hasText: 'Succeed' }).count(), 0);
    await readTaskLog(details, task, /attempt 1/);
    await inspectPage(page, 'admin-replication-stopped');
    await dismissDialog(page, details);
    watched.assertNoConsoleErrors();
  });
});
