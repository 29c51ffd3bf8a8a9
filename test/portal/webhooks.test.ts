import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Browser, Locator } from 'playwright-core';
import { api, createUser } from '../helpers/api.js';
import { browserSkip, eventually, field, inspectPage, launchBrowser, phoneDark, type WatchedPage } from '../helpers/browser.js';
import { pushImage } from '../helpers/oci.js';
import type { TestServer } from '../helpers/server.js';
import {
  assertNoOverflow,
  chooseOption,
  closePortal,
  confirmWith,
  dismissDialog,
  inSignedInPage,
  openDialog,
  openSignedIn,
  readTaskLog,
  rowAction,
  startPortalServer,
  submitDialog,
} from './ui.js';

const skip = browserSkip();

interface Received {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A real HTTP receiver on loopback: every request recorded; paths under /broken answer 500. */
async function startReceiver(): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const broken = (req.url ?? '').startsWith('/broken');
      res.writeHead(broken ? 500 : 200, { 'content-type': 'text/plain' });
      res.end(broken ? 'receiver broken' : 'received, thanks');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A row's visible cells by their column's header: { Status: 'Success', Attempts: '1', … }. */
async function cellsOf(table: Locator, row: Locator): Promise<Record<string, string>> {
  const headers = await table.getByRole('columnheader').allTextContents();
  const cells = await row.getByRole('cell').allTextContents();
  assert.equal(cells.length, headers.length, `a row of ${headers.length} columns: ${JSON.stringify(cells)}`);
  return Object.fromEntries(headers.map((h, i) => [h.trim(), cells[i]!.trim()]));
}

/**
 * The project's Webhooks tab against a real Berth and a real HTTP receiver on loopback: a
 * policy written in the editor (nothing saved without a name, an event type or an address;
 * a taken name refused by the server with nothing saved), its test event refused by a
 * receiver answering 500 and delivered to one answering 200 with the auth header, two targets
 * (http and slack); a push delivered and shown as an execution with its tasks (status,
 * attempts, response code, duration, the request body and the response, the log) and in
 * "Last triggered"; the policy edited to a failing receiver, whose task ends in Error after
 * its attempts with the 500 shown; a maintainer reads but cannot change; on a phone in dark;
 * disabled and deleted; with axe and no console error.
 */
describe('portal: project webhooks', { skip }, () => {
  let server: TestServer;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let browser: Browser;
  let watched: WatchedPage;
  const admin = () => server.admin.authorization;
  const policies = async () =>
    (await api(server, 'GET', '/projects/hooks/webhook/policies', { auth: admin() })).body as Array<Record<string, any>>;
  const deliveries = (prefix: string) => receiver.received.filter((r) => r.path.startsWith(prefix));
  const tab = () => watched.page.getByRole('region', { name: 'Webhooks' });
  const policyRow = (name: string) => tab().getByRole('table', { name: 'Webhook policies' }).getByRole('row').filter({ hasText: name });
  const target = (dialog: Locator, n: number) => dialog.getByRole('group', { name: `Target ${n}` });

  before(async () => {
    server = await startPortalServer({
      yaml: { 'jobs.poll_interval_ms': 50, 'webhooks.max_attempts': 2, 'webhooks.retry_base_seconds': 0.05, 'webhooks.timeout_seconds': 5 },
    });
    receiver = await startReceiver();
    const created = await api(server, 'POST', '/projects', {
      auth: admin(),
      body: { project_name: 'hooks', metadata: { public: 'false' } },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    browser = await launchBrowser();
    watched = await openSignedIn(browser, server);
  });
  after(async () => {
    await closePortal({ watched, browser, server });
    await receiver?.close();
  });

  test('New webhook: nothing saved without a name, an event type or an address; the test event; two targets saved', async () => {
    const { page } = watched;
    await page.goto('/projects/hooks/webhooks');
    await tab().getByText('No webhook yet.').first().waitFor();

    await tab().getByRole('button', { name: 'New webhook' }).click();
    const dialog = await openDialog(page);
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.getByText('Give the webhook a name.').waitFor();
    await dialog.getByText('Choose at least one event type.').waitFor();
    await dialog.getByText('Enter the address to send to.').waitFor();
    await field(target(dialog, 1), 'Endpoint URL').fill('ftp://ci.example.com');
    await dialog.getByRole('button', { name: 'Send test event' }).click();
    await dialog.getByText('Enter an http:// or https:// address.').waitFor();
    assert.equal(receiver.received.length, 0);

    await field(dialog, 'Name').fill('ci');
    await dialog.getByRole('checkbox', { name: 'Artifact pushed' }).check();
    await dialog.getByRole('checkbox', { name: 'Artifact deleted' }).check();
    await field(target(dialog, 1), 'Endpoint URL').fill(`${receiver.url}/broken/ci`);
    await field(target(dialog, 1), 'Auth header').fill('Bearer s3cret');
    await chooseOption(page, field(target(dialog, 1), 'Payload format'), 'CloudEvents');

    // The test event goes to the receiver, which answers 500: the dialog says so, naming the target.
    watched.expectFailure({ path: '/api/v2.0/projects/hooks/webhook/policies/test', status: 400 });
    await dialog.getByRole('button', { name: 'Send test event' }).click();
    const refused = dialog.getByRole('status').filter({ hasText: 'Test event not delivered' });
    await refused.waitFor();
    assert.match((await refused.textContent()) ?? '', new RegExp(`${receiver.url}/broken/ci.*500`));
    assert.equal(deliveries('/broken/ci').length, 1);
    await inspectPage(page, 'project-webhooks-editor-test-failed');

    await field(target(dialog, 1), 'Endpoint URL').fill(`${receiver.url}/hooks/ci`);
    await dialog.getByRole('button', { name: 'Send test event' }).click();
    await dialog.getByText('Test event delivered').waitFor();
    const [tested] = deliveries('/hooks/ci');
    assert.equal(tested.headers.authorization, 'Bearer s3cret');
    assert.ok(tested.body.length > 0, 'the test event has a body');

    await dialog.getByRole('button', { name: 'Add target' }).click();
    await chooseOption(page, field(target(dialog, 2), 'Notify type'), 'slack');
    assert.equal(await field(target(dialog, 2), 'Payload format').count(), 0, 'a slack target has no payload format');
    assert.equal(await field(target(dialog, 2), 'Auth header').count(), 0, 'a slack target has no auth header');
    await field(target(dialog, 2), 'Endpoint URL').fill(`${receiver.url}/slack/T1`);
    await inspectPage(page, 'project-webhooks-editor');
    await submitDialog(dialog);

    const row = policyRow('ci');
    await row.getByText('http · CloudEvents').waitFor();
    await row.getByText('slack', { exact: true }).waitFor();
    const [saved] = await policies();
    assert.equal(saved.name, 'ci');
    assert.equal(saved.enabled, true);
    assert.deepEqual([...saved.event_types].sort(), ['DELETE_ARTIFACT', 'PUSH_ARTIFACT']);
    assert.deepEqual(saved.targets, [
      {
        type: 'http',
        address: `${receiver.url}/hooks/ci`,
        auth_header: 'Bearer s3cret',
        skip_cert_verify: false,
        payload_format: 'CloudEvents',
      },
      { type: 'slack', address: `${receiver.url}/slack/T1`, skip_cert_verify: false },
    ]);

    // A second policy of the same name: the server refuses it, the dialog says why, nothing is saved.
    await tab().getByRole('button', { name: 'New webhook' }).click();
    const again = await openDialog(page);
    await field(again, 'Name').fill('ci');
    await again.getByRole('checkbox', { name: 'Artifact pulled' }).check();
    await field(target(again, 1), 'Endpoint URL').fill(`${receiver.url}/hooks/other`);
    watched.expectFailure({ path: '/api/v2.0/projects/hooks/webhook/policies', status: 409 });
    await again.getByRole('button', { name: 'Save' }).click();
    await again.getByText('The webhook was not saved').waitFor();
    await again.getByText(/already exists/).waitFor();
    assert.equal((await policies()).length, 1);
    await dismissDialog(page, again);

    // Searched by name (Harbor's q=name=~…).
    const search = tab().getByRole('textbox', { name: 'Search webhooks' });
    await search.fill('nightly');
    await tab().getByText('Nothing matches “nightly”.').waitFor();
    await search.fill('c');
    await policyRow('ci').waitFor();
    await search.fill('');
    await inspectPage(page, 'project-webhooks');
    watched.assertNoConsoleErrors();
  });

  test('a push is delivered: the execution, its tasks (status, attempts, response, duration), request, response, log; last triggered', async () => {
    const { page } = watched;
    await pushImage(server.url, 'hooks/app', 'v1', { headers: server.admin });
    await eventually(() => assert.equal(deliveries('/hooks/ci').length, 2), 30_000);
    await eventually(() => assert.equal(deliveries('/slack/T1').length, 1), 30_000);
    const pushed = deliveries('/hooks/ci')[1];
    assert.equal(pushed.headers.authorization, 'Bearer s3cret');
    assert.equal(pushed.headers['ce-type'] ?? JSON.parse(pushed.body).type, 'harbor.artifact.pushed');

    await policyRow('ci').getByRole('button', { name: 'Executions of ci' }).click();
    const executions = tab().getByRole('table', { name: 'Webhook executions' });
    const execution = executions.getByRole('row').filter({ hasText: 'Artifact pushed' }).first();
    await eventually(async () => {
      await tab().getByRole('button', { name: 'Refresh the executions of ci' }).click();
      await execution.getByText('Success').waitFor({ timeout: 1_000 });
    }, 30_000);
    await execution.getByText('2 / 2').waitFor();

    await execution.getByRole('button', { name: /^Tasks of execution/ }).click();
    const tasks = await openDialog(page);
    await tasks
      .getByLabel('Event payload')
      .getByText(/hooks\/app/)
      .first()
      .waitFor();
    const taskTable = tasks.getByRole('table', { name: 'Webhook tasks' });
    const httpTask = taskTable.getByRole('row').filter({ hasText: '/hooks/ci' });
    await httpTask.getByText('Success').waitFor();
    const cells = await cellsOf(taskTable, httpTask);
    assert.equal(cells.Status, 'Success');
    assert.equal(cells.Attempts, '1');
    assert.equal(cells.Response, '200');
    assert.match(cells.Duration, /^\d+ ms$|^\d+\.\d\d s$/);
    const slackTask = taskTable.getByRole('row').filter({ hasText: '/slack/T1' });
    assert.equal((await cellsOf(taskTable, slackTask)).Status, 'Success');

    await httpTask.getByRole('button', { name: /^Show the request and response of task/ }).click();
    const exchange = tasks.getByRole('region', { name: /^Delivery of task/ });
    const body = exchange.getByLabel(/^Request body of task/);
    // Exactly what the receiver got (shown indented).
    await eventually(async () => assert.deepEqual(JSON.parse((await body.textContent()) ?? ''), JSON.parse(pushed.body)));
    assert.match((await body.textContent()) ?? '', /hooks\/app/);
    const response = exchange.getByLabel(/^Response of task/);
    assert.match((await response.textContent()) ?? '', /HTTP 200[\s\S]*received, thanks/);
    await inspectPage(page, 'project-webhooks-tasks');

    await readTaskLog(tasks, httpTask, /200/);
    await dismissDialog(page, tasks);

    const last = page.getByRole('table', { name: 'Last triggered' });
    await eventually(async () => {
      await page.getByRole('region', { name: 'Last triggered webhooks' }).getByRole('button', { name: 'Refresh' }).click();
      const pushRow = last.getByRole('row').filter({ hasText: 'Artifact pushed' });
      await pushRow.getByText('ci').waitFor({ timeout: 1_000 });
      assert.doesNotMatch((await pushRow.textContent()) ?? '', /never/);
    }, 15_000);
    await last.getByRole('row').filter({ hasText: 'Artifact deleted' }).getByText('never').waitFor();
    watched.assertNoConsoleErrors();
  });

  test('edited to a failing receiver: the delivery ends in Error after its attempts, the 500 shown', async () => {
    const { page } = watched;
    await rowAction(page, policyRow('ci'), 'Actions for webhook ci', 'Edit');
    const dialog = await openDialog(page);
    assert.equal(await field(target(dialog, 1), 'Auth header').inputValue(), 'Bearer s3cret');
    await dialog.getByRole('button', { name: 'Remove target 2' }).click();
    await field(target(dialog, 1), 'Endpoint URL').fill(`${receiver.url}/broken/ci`);
    await chooseOption(page, field(target(dialog, 1), 'Payload format'), 'Default');
    await submitDialog(dialog, 'Save');
    await policyRow('ci').getByText('http · Default').waitFor();
    const [saved] = await policies();
    assert.equal(saved.targets.length, 1);
    assert.equal(saved.targets[0].address, `${receiver.url}/broken/ci`);
    assert.equal(saved.targets[0].payload_format, 'Default');

    await pushImage(server.url, 'hooks/app', 'v2', { headers: server.admin });
    await eventually(() => assert.equal(deliveries('/broken/ci').length, 3), 30_000);
    const executions = tab().getByRole('table', { name: 'Webhook executions' });
    const failed = executions.getByRole('row').filter({ hasText: 'Error' }).first();
    await eventually(async () => {
      await tab().getByRole('button', { name: 'Refresh the executions of ci' }).click();
      await failed.waitFor({ timeout: 1_000 });
    }, 30_000);
    await failed.getByText('0 / 1').waitFor();
    await failed.getByRole('button', { name: /^Tasks of execution/ }).click();
    const tasks = await openDialog(page);
    const taskTable = tasks.getByRole('table', { name: 'Webhook tasks' });
    const task = taskTable.getByRole('row').filter({ hasText: '/broken/ci' });
    await task.getByText('Error').waitFor();
    const cells = await cellsOf(taskTable, task);
    assert.equal(cells.Attempts, '2');
    assert.equal(cells.Response, '500');
    await task.getByRole('button', { name: /^Show the request and response of task/ }).click();
    const response = tasks.getByLabel(/^Response of task/);
    await eventually(async () => assert.match((await response.textContent()) ?? '', /HTTP 500[\s\S]*receiver broken/));
    await inspectPage(page, 'project-webhooks-failed-task');
    await dismissDialog(page, tasks);
    watched.assertNoConsoleErrors();
  });

  test('a maintainer reads the webhooks but cannot change them; on a phone in dark the tab fits; disabled, then deleted', async () => {
    await createUser(server, 'keeper');
    const member = await api(server, 'POST', '/projects/hooks/members', {
      auth: admin(),
      body: { role_id: 4, member_user: { username: 'keeper' } },
    });
    assert.equal(member.status, 201, JSON.stringify(member.body));
    await inSignedInPage(
      browser,
      server,
      phoneDark,
      async (phone) => {
        await phone.page.goto('/projects/hooks/webhooks');
        const region = phone.page.getByRole('region', { name: 'Webhooks' });
        await region.getByRole('button', { name: 'Executions of ci' }).waitFor();
        assert.equal(await region.getByRole('button', { name: 'New webhook' }).count(), 0);
        assert.equal(await region.getByRole('button', { name: 'Actions for webhook ci' }).count(), 0);
        await assertNoOverflow(phone.page, 'Webhooks');
        await inspectPage(phone.page, 'project-webhooks-phone-dark-maintainer');
        phone.assertNoConsoleErrors();
      },
      { username: 'keeper', password: 'Passw0rd1' },
    );

    const { page } = watched;
    await rowAction(page, policyRow('ci'), 'Actions for webhook ci', 'Disable');
    await policyRow('ci').getByText('Disabled').waitFor();
    assert.equal((await policies())[0].enabled, false);
    await rowAction(page, policyRow('ci'), 'Actions for webhook ci', 'Delete');
    await confirmWith(page, 'Delete');
    await tab().getByText('No webhook yet.').first().waitFor();
    assert.equal((await policies()).length, 0);
    watched.assertNoConsoleErrors();
  });
});
