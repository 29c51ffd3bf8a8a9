import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { api } from '../helpers/api.js';
import {
  browserSkip,
  desktopLight,
  eventually,
  field,
  h1,
  inspectPage,
  launchBrowser,
  openPage,
  settle,
  type WatchedPage,
} from '../helpers/browser.js';
import { buildImage, imageBlobs, writeOciLayout, type BuiltImage } from '../helpers/layout.js';
import { adminPassword, basicAuth, type TestServer } from '../helpers/server.js';
import { requireTools, runTool } from '../helpers/tools.js';
import { chooseOption, closePortal, formatBytes, navigate, openDialog, startPortalServer } from './ui.js';

const skip = browserSkip() || requireTools('skopeo', 'tar');

const project = 'scenario';
const repository = 'app';
const developer = { username: 'dev1', email: 'dev1@example.com', realname: 'Dev One', password: 'Passw0rd1' };

/**
 * The story, in a real browser and only through the portal: an administrator signs
 * in, creates a project and a user, makes the user a Developer; the user pushes with skopeo;
 * the administrator finds the artifact, copies its pull command, deletes a tag and reads the
 * audit log. Every page on the way is screenshotted and checked with axe.
 */
describe('portal scenario: project, user, member, push, pull command, tag delete, audit log', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  let watched: WatchedPage;
  let page: Page;
  let host: string;
  let work: string;
  let image: BuiltImage;
  let digest: string;
  let step = 0;
  /** What axe found on the pages visited, reported by the last test so that the story goes on. */
  const violations: string[] = [];
  const admin = () => server.admin.authorization;

  /** Screenshot (numbered in visiting order), axe, title and h1 of the page shown now. */
  async function visited(name: string, heading?: string | RegExp) {
    const title = h1(page);
    await title.waitFor();
    if (heading)
      await eventually(async () =>
        assert.match((await title.textContent()) ?? '', heading instanceof RegExp ? heading : new RegExp(`^${heading}$`)),
      );
    await shown(name);
  }

  /** Screenshot (numbered in visiting order), title and axe of what is shown now: a page or a dialog over it. */
  async function shown(name: string) {
    step++;
    await inspectPage(page, `scenario-${String(step).padStart(2, '0')}-${name}`, violations);
  }

  before(async () => {
    server = await startPortalServer();
    host = new URL(server.url).host;
    work = await mkdtemp(path.join(tmpdir(), 'berth-portal-scenario-'));
    image = await buildImage({ architecture: 'amd64', os: 'linux' }, [
      { 'app/': '', 'app/hello.txt': 'hello from the portal scenario\n' },
      { 'etc/motd': 'second layer\n'.repeat(200) },
    ]);
    await writeOciLayout(path.join(work, 'layout'), { v1: image.manifest }, imageBlobs(image));
    browser = await launchBrowser();
    watched = await openPage(browser, server.url, desktopLight);
    page = watched.page;
  });

  after(async () => {
    await closePortal({ watched, browser, server });
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('an anonymous visitor is sent to the sign-in page; the admin signs in', async () => {
    await page.goto('/');
    await page.waitForURL((url) => url.pathname === '/sign-in');
    await visited('sign-in', /Sign in/);
    await field(page, 'Username or email').fill('admin');
    await field(page, 'Password').fill(adminPassword);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((url) => url.pathname === '/projects');
    await visited('projects', 'Projects');
    await page.getByRole('button', { name: /^User menu for admin$/ }).waitFor();
    watched.assertNoConsoleErrors();
  });

  test('the admin creates the project', async () => {
    await page.getByRole('button', { name: 'New project' }).click();
    const dialog = await openDialog(page);
    await field(dialog, 'Project name').fill(project);
    await shown('new-project-dialog');
    await dialog.getByRole('button', { name: 'Create' }).click();
    await dialog.waitFor({ state: 'hidden' });
    // Whether the portal opens the new project or stays on the list, the project is listed.
    if (new URL(page.url()).pathname === '/projects') {
      await page.getByRole('link', { name: project, exact: true }).waitFor();
    } else {
      await page.waitForURL((url) => url.pathname.startsWith(`/projects/${project}`));
    }
    const res = await api(server, 'GET', `/projects/${project}`, { auth: admin() });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    watched.assertNoConsoleErrors();
  });

  test('the admin creates the user in Administration › Users', async () => {
    await navigate(page, 'Users');
    await page.waitForURL((url) => url.pathname === '/admin/users');
    await visited('admin-users', 'Users');
    await page.getByRole('button', { name: 'New user' }).click();
    const dialog = await openDialog(page);
    await field(dialog, 'Username').fill(developer.username);
    await field(dialog, 'Email').fill(developer.email);
    await field(dialog, 'Full name').fill(developer.realname);
    await field(dialog, 'Password').fill(developer.password);
    await field(dialog, 'Confirm password').fill(developer.password);
    await shown('new-user-dialog');
    await dialog.getByRole('button', { name: 'Create' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await page.getByRole('table', { name: 'Users' }).getByRole('cell', { name: developer.username, exact: true }).waitFor();
    const res = await api<Array<{ username: string; email: string; realname: string }>>(
      server,
      'GET',
      `/users?q=username%3D${developer.username}`,
      {
        auth: admin(),
      },
    );
    assert.equal(res.status, 200);
    assert.deepEqual(
      res.body.map((u) => [u.username, u.email, u.realname]),
      [[developer.username, developer.email, developer.realname]],
    );
    watched.assertNoConsoleErrors();
  });

  test('the admin adds the user to the project as Developer', async () => {
    await navigate(page, 'Projects');
    await page.waitForURL((url) => url.pathname === '/projects');
    await page.getByRole('link', { name: project, exact: true }).click();
    await page.waitForURL((url) => url.pathname.startsWith(`/projects/${project}`));
    await visited('project', new RegExp(project));
    await page.getByRole('tab', { name: 'Members' }).click();
    await page.waitForURL((url) => url.pathname === `/projects/${project}/members`);
    await visited('project-members', new RegExp(project));
    await page.getByRole('button', { name: 'Add member' }).click();
    const dialog = await openDialog(page);
    await field(dialog, 'Username').fill(developer.username);
    await chooseOption(page, field(dialog, 'Role'), 'Developer');
    await shown('add-member-dialog');
    await dialog.getByRole('button', { name: 'Add' }).click();
    await dialog.waitFor({ state: 'hidden' });
    // The role shows as a select (Role of <user>) to those who may change it, else as text.
    const row = page.getByRole('table', { name: 'Members' }).getByRole('row').filter({ hasText: developer.username });
    await row.waitFor();
    await eventually(async () => {
      const select = row.getByLabel(`Role of ${developer.username}`);
      const role = (await select.count()) > 0 ? await select.inputValue() : await row.textContent();
      assert.match(role ?? '', /Developer/);
    });
    const members = await api<Array<{ entity_name: string; role_id: number }>>(server, 'GET', `/projects/${project}/members`, {
      auth: admin(),
    });
    assert.deepEqual(members.body.map((m) => `${m.entity_name}:${m.role_id}`).sort(), ['admin:1', `${developer.username}:2`]);
    watched.assertNoConsoleErrors();
  });

  test('the developer pushes the image with skopeo under two tags', async () => {
    for (const tag of ['1.0', 'latest']) {
      await runTool(
        'skopeo',
        [
          '--insecure-policy',
          'copy',
          '--dest-tls-verify=false',
          '--dest-creds',
          `${developer.username}:${developer.password}`,
          `oci:${path.join(work, 'layout')}:v1`,
          `docker://${host}/${project}/${repository}:${tag}`,
        ],
        { env: { ...process.env, REGISTRY_AUTH_FILE: path.join(work, 'auth.json') }, timeoutMs: 120_000 },
      );
    }
    digest = image.manifest.digest;
    const res = await fetch(`${server.url}/v2/${project}/${repository}/manifests/1.0`, {
      method: 'HEAD',
      headers: { authorization: basicAuth(developer.username, developer.password), accept: image.manifest.mediaType },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('docker-content-digest'), digest);
  });

  test('the repository page shows the artifact with its tags and size', async () => {
    await page.getByRole('tab', { name: 'Repositories' }).click();
    await page.waitForURL((url) => url.pathname === `/projects/${project}/repositories`);
    await visited('project-repositories', new RegExp(project));
    await page.getByRole('link', { name: new RegExp(`^(${project}/)?${repository}$`) }).click();
    await page.waitForURL((url) => url.pathname === `/projects/${project}/repositories/${repository}`);
    await visited('repository', new RegExp(repository));

    const artifacts = await api<Array<{ digest: string; size: number; tags: Array<{ name: string }> }>>(
      server,
      'GET',
      `/projects/${project}/repositories/${repository}/artifacts?with_tag=true`,
      { auth: admin() },
    );
    assert.equal(artifacts.body.length, 1);
    const artifact = artifacts.body[0];
    assert.equal(artifact.digest, digest);
    assert.deepEqual(artifact.tags.map((t) => t.name).sort(), ['1.0', 'latest']);

    const row = page.getByRole('row').filter({ hasText: digest.slice('sha256:'.length, 'sha256:'.length + 12) });
    await row.waitFor();
    const text = (await row.textContent()) ?? '';
    for (const tag of ['1.0', 'latest']) assert.ok(text.includes(tag), `the artifact's row shows tag ${tag}: ${text}`);
    assert.ok(
      text.includes(formatBytes(artifact.size)),
      `the artifact's row shows its size ${formatBytes(artifact.size)} (${artifact.size} B): ${text}`,
    );
    watched.assertNoConsoleErrors();
  });

  test('the row menu copies the docker pull command', async () => {
    // The menu is named after the artifact's first tag.
    const menu = page.getByRole('button', { name: /^Pull commands for (1\.0|latest)$/ }).first();
    const tag = ((await menu.getAttribute('aria-label')) ?? '').replace('Pull commands for ', '');
    await menu.click();
    await page.getByRole('menuitem', { name: 'Copy docker pull command' }).click();
    const expected = `docker pull ${host}/${project}/${repository}:${tag}`;
    await eventually(async () => assert.equal(await page.evaluate(() => navigator.clipboard.readText()), expected));
    watched.assertNoConsoleErrors();
  });

  test('the artifact page deletes a tag', async () => {
    await page
      .getByRole('link', { name: new RegExp(digest.slice('sha256:'.length, 'sha256:'.length + 12)) })
      .first()
      .click();
    await page.waitForURL((url) => url.pathname.startsWith(`/projects/${project}/repositories/${repository}/-/artifacts/`));
    await visited('artifact');
    for (const section of ['Overview', 'Tags', 'Layers', 'Accessories', 'Labels'])
      await page.getByRole('heading', { name: section, exact: true }).waitFor();

    await page.getByRole('button', { name: 'Delete tag latest' }).click();
    const dialog = await openDialog(page);
    await shown('delete-tag-dialog');
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await page.getByRole('button', { name: 'Delete tag latest' }).waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Delete tag 1.0' }).waitFor();

    const tags = await api<Array<{ name: string }>>(
      server,
      'GET',
      `/projects/${project}/repositories/${repository}/artifacts/${digest}/tags`,
      {
        auth: admin(),
      },
    );
    assert.deepEqual(
      tags.body.map((t) => t.name),
      ['1.0'],
    );
    watched.assertNoConsoleErrors();
  });

  test('the audit log shows every step', async () => {
    await navigate(page, 'Audit log');
    await page.waitForURL((url) => url.pathname === '/admin/audit-logs');
    await visited('admin-audit-log', 'Audit log');
    // What the server recorded, to compare with the page.
    const records = await api<Array<{ operation: string; resource_type: string; resource: string; username: string }>>(
      server,
      'GET',
      '/audit-logs?page_size=100',
      { auth: admin() },
    );
    const expected: Array<[operation: string, type: string, resource: string, username: string]> = [
      ['create', 'project', project, 'admin'],
      ['create', 'user', developer.username, 'admin'],
      ['create', 'member', `${project}:${developer.username}`, 'admin'],
      ['create', 'artifact', `${project}/${repository}:1.0`, developer.username],
      ['delete', 'tag', `${project}/${repository}:latest`, 'admin'],
    ];
    for (const [operation, type, resource, username] of expected) {
      assert.ok(
        records.body.some(
          (r) => r.operation === operation && r.resource_type === type && r.resource === resource && r.username === username,
        ),
        `the server recorded ${operation} ${type} ${resource} by ${username}: ${JSON.stringify(records.body)}`,
      );
    }
    const table = page.getByRole('table', { name: 'Audit log' });
    await table.waitFor();
    for (const [operation, type, resource, username] of expected) {
      const row = table
        .getByRole('row')
        .filter({ has: page.getByRole('cell', { name: resource, exact: true }) })
        .filter({ hasText: type })
        .filter({ hasText: operation })
        .filter({ hasText: username });
      await eventually(async () =>
        assert.ok((await row.count()) >= 1, `the audit log shows ${operation} ${type} ${resource} by ${username}`),
      );
    }

    // The filters narrow the list to the tag records.
    await chooseOption(page, field(page, 'Resource type'), 'Tag');
    await settle(page);
    await eventually(async () => {
      const rows = await table
        .getByRole('row')
        .filter({ has: page.getByRole('cell') })
        .allTextContents();
      assert.ok(rows.length >= 1 && rows.every((r) => /tag/i.test(r)), `only tag records: ${JSON.stringify(rows)}`);
    });
    watched.assertNoConsoleErrors();
  });

  test('axe finds no violation on any page or dialog visited', () => {
    assert.ok(step >= 10, `the story visited ${step} pages and dialogs`);
    assert.deepEqual(violations, [], violations.join('\n'));
  });
});
