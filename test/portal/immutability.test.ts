import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { api } from '../helpers/api.js';
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
import { pushImage } from '../helpers/oci.js';
import type { TestServer } from '../helpers/server.js';
import { createProject } from '../projects/fixtures.js';
import { closePortal, inSignedInPage, openDialog, openSignedIn, startPortalServer } from './ui.js';

const skip = browserSkip();

/**
 * Tag immutability in the portal: the project's Policy tab (add, a refused pattern, edit,
 * disable, delete), the lock on immutable tags in the artifact list and the explanation
 * instead of a delete; axe on each, no console error.
 */
describe('portal: tag immutability', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  let watched: WatchedPage;
  let teamId: number;
  const rules = async () =>
    (await api<any[]>(server, 'GET', '/projects/team/immutabletagrules', { auth: server.admin.authorization })).body;

  before(async () => {
    server = await startPortalServer();
    teamId = await createProject(server, { project_name: 'team' });
    await pushImage(server.url, 'team/app', 'v1', { headers: server.admin, layer: 'one' });
    await pushImage(server.url, 'team/app', 'latest', { headers: server.admin, layer: 'two' });
    browser = await launchBrowser();
  });
  after(async () => {
    await closePortal({ watched, browser, server });
  });

  test('the Policy tab adds a rule, shows a refused pattern in words, edits and disables it', async () => {
    watched = await openSignedIn(browser, server, desktopLight, {
      expected: [{ path: `/api/v2.0/projects/${teamId}/immutabletagrules`, status: 400 }],
    });
    const { page } = watched;
    await page.goto('/projects/team');
    await page.getByRole('tab', { name: 'Policy' }).click();
    const section = page.getByRole('region', { name: 'Tag immutability' });
    await section.getByText('No immutability rules').waitFor();
    await inspectPage(page, 'project-policy-empty');

    await section.getByRole('button', { name: 'Add rule' }).click();
    let dialog = await openDialog(page);
    await field(dialog, 'Tag pattern').fill('v{1');
    await dialog.getByRole('button', { name: 'Add rule' }).click();
    await dialog.getByText(/tag_selectors\[0\]\.pattern "v\{1" is not a valid doublestar pattern/).waitFor();
    assert.deepEqual(await rules(), []);
    await field(dialog, 'Tag pattern').fill('v*');
    await dialog.getByRole('button', { name: 'Add rule' }).click();
    await dialog.waitFor({ state: 'hidden' });
    const table = page.getByRole('table', { name: 'Tag immutability rules' });
    await table.getByText('v*').waitFor();
    await eventually(async () => assert.equal((await rules()).length, 1));
    assert.deepEqual((await rules())[0].tag_selectors, [{ kind: 'doublestar', decoration: 'matches', pattern: 'v*' }]);
    await inspectPage(page, 'project-policy-rule');

    await table.getByRole('button', { name: 'Edit rule for tags v*' }).click();
    dialog = await openDialog(page);
    await field(dialog, 'Tag pattern').fill('v{1,2}*');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await table.getByText('v{1,2}*').waitFor();

    await table.getByRole('switch').click({ force: true });
    await eventually(async () => assert.equal((await rules())[0].disabled, true));
    await table.getByRole('switch').click({ force: true });
    await eventually(async () => assert.equal((await rules())[0].disabled, false));
    watched.assertNoConsoleErrors();
  });

  test('immutable tags carry a lock; deleting their artifact explains why it cannot be done', async () => {
    const { page } = watched;
    await page.goto('/projects/team/repositories/app');
    const artifacts = page.getByRole('table').first();
    await artifacts.getByRole('img', { name: 'v1 is immutable' }).waitFor();
    assert.equal(await artifacts.getByRole('img', { name: 'latest is immutable' }).count(), 0);
    await inspectPage(page, 'repository-immutable-tags');
    const row = artifacts.getByRole('row').filter({ hasText: 'v1' });
    await row.getByRole('button', { name: /^Delete artifact/ }).click();
    const dialog = await openDialog(page);
    await dialog.getByText('This artifact cannot be deleted').waitFor();
    await dialog.getByText(/holds the immutable tag v1/).waitFor();
    await inspectPage(page, 'repository-immutable-delete');
    await dialog.getByRole('link', { name: 'Policy' }).waitFor();
    await dialog.getByRole('button', { name: 'Close' }).last().click();
    await dialog.waitFor({ state: 'hidden' });
    // The artifact's page: the lock in its tags, and a delete button that says why it cannot.
    await page.goto('/projects/team/repositories/app/-/artifacts/v1');
    const tags = page.getByRole('region', { name: 'Tags' });
    await tags.getByRole('img', { name: 'v1 is immutable' }).waitFor();
    await tags.getByRole('button', { name: 'Delete tag v1 (not possible: the tag is immutable)' }).hover();
    await page.getByText("Immutable: a rule in the project's Policy tab protects this tag from deletion").waitFor();
    await inspectPage(page, 'artifact-immutable-tag');
    // Still there.
    assert.equal((await fetch(`${server.url}/v2/team/app/manifests/v1`, { method: 'HEAD', headers: server.admin })).status, 200);
    watched.assertNoConsoleErrors();
  });

  test('on a phone in dark: the rule is listed and deleted', async () => {
    await inSignedInPage(browser, server, phoneDark, async (phone) => {
      const { page } = phone;
      await page.goto('/projects/team/policy');
      const table = page.getByRole('table', { name: 'Tag immutability rules' });
      await table.getByText('v{1,2}*').waitFor();
      await inspectPage(page, 'project-policy-phone');
      await table.getByRole('button', { name: /^Delete rule for tags/ }).click();
      const dialog = await openDialog(page);
      await dialog.getByRole('button', { name: 'Delete' }).click();
      await dialog.waitFor({ state: 'hidden' });
      await page.getByText('No immutability rules').waitFor();
      assert.deepEqual(await rules(), []);
      phone.assertNoConsoleErrors();
    });
  });
});
