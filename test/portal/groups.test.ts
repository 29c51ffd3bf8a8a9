import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { api, createUser } from '../helpers/api.js';
import {
  browserSkip,
  desktopDark,
  eventually,
  field,
  inspectPage,
  launchBrowser,
  openPage,
  phoneDark,
  type WatchedPage,
} from '../helpers/browser.js';
import { basicAuth, type TestServer } from '../helpers/server.js';
import { signInThroughProvider, startOidcProvider, type TestOidcProvider } from '../helpers/oidc-provider.js';
import { ldapSettings, slapdSkip, startSlapd, type Slapd } from '../helpers/slapd.js';
import {
  assertNoOverflow,
  chooseOption,
  closePortal,
  confirmWith,
  dismissDialog,
  inSignedInPage,
  openDialog,
  openSignedIn,
  startPortalServer,
  submitDialog,
} from './ui.js';

const skip = browserSkip();

interface GroupView {
  id: number;
  group_name: string;
  group_type: number;
  ldap_group_dn: string;
}

/**
 * User groups in the portal against a real Berth: the Groups page (its empty state, nothing
 * saved without a name or an LDAP group's DN, a duplicate and a malformed DN refused by the
 * server with the reason on the field, search, paging, rename, delete); a group added to a
 * project in the Members tab as Developer (shown with its type), its role changed, then
 * removed; a user whose only way into the project is that group sees it in the portal while
 * the group is a member, on a phone in dark; axe and no console error throughout.
 */
describe('portal: user groups', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  let watched: WatchedPage;
  const admin = () => server.admin.authorization;
  const groups = async () => (await api(server, 'GET', '/usergroups?page_size=100', { auth: admin() })).body as GroupView[];
  const members = async () => (await api(server, 'GET', '/projects/squad/members', { auth: admin() })).body as Array<Record<string, any>>;
  const table = () => watched.page.getByRole('table', { name: 'Groups' });
  const groupRow = (name: string) => table().getByRole('row').filter({ hasText: name });

  before(async () => {
    server = await startPortalServer();
    const created = await api(server, 'POST', '/projects', {
      auth: admin(),
      body: { project_name: 'squad', metadata: { public: 'false' } },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    browser = await launchBrowser();
    watched = await openSignedIn(browser, server);
  });
  after(() => closePortal({ watched, browser, server }));

  test('Groups page: nothing saved without a name or a DN; a duplicate and a bad DN refused; searched, renamed, deleted', async () => {
    const { page } = watched;
    await page.goto('/admin/groups');
    await page.getByText(/^No groups yet\. Signing in with LDAP or OIDC records/).waitFor();
    await inspectPage(page, 'admin-groups-empty');

    await page.getByRole('button', { name: 'New group' }).click();
    let dialog = await openDialog(page);
    await dialog.getByRole('button', { name: 'Create' }).click();
    await dialog.getByText('Enter a group name.').waitFor();
    await field(dialog, 'Name').fill('ops');
    await chooseOption(page, field(dialog, 'Type'), 'LDAP');
    await dialog.getByRole('button', { name: 'Create' }).click();
    await dialog.getByText("Enter the LDAP group's DN.").waitFor();
    assert.deepEqual(await groups(), []);

    // The server checks a DN's syntax: its answer goes under the DN field, nothing is saved.
    await field(dialog, 'LDAP group DN').fill('not a dn');
    watched.expectFailure({ path: '/api/v2.0/usergroups', status: 400 });
    await dialog.getByRole('button', { name: 'Create' }).click();
    await dialog.getByText(/invalid DN syntax/i).waitFor();
    assert.deepEqual(await groups(), []);
    await inspectPage(page, 'admin-groups-new-errors');

    await chooseOption(page, field(dialog, 'Type'), 'OIDC');
    assert.equal(await field(dialog, 'LDAP group DN').count(), 0, 'only an LDAP group has a DN');
    await submitDialog(dialog, 'Create');
    await groupRow('ops').getByText('OIDC').waitFor();

    // Same name and type again: 409, said on the name field.
    await page.getByRole('button', { name: 'New group' }).click();
    dialog = await openDialog(page);
    await field(dialog, 'Name').fill('ops');
    await chooseOption(page, field(dialog, 'Type'), 'OIDC');
    watched.expectFailure({ path: '/api/v2.0/usergroups', status: 409 });
    await dialog.getByRole('button', { name: 'Create' }).click();
    await dialog.getByText(/duplicate user group/i).waitFor();
    assert.equal((await groups()).length, 1);
    await dismissDialog(page, dialog);

    await page.getByRole('button', { name: 'New group' }).click();
    dialog = await openDialog(page);
    await field(dialog, 'Name').fill('directory-devs');
    await chooseOption(page, field(dialog, 'Type'), 'LDAP');
    await field(dialog, 'LDAP group DN').fill('cn=devs,ou=groups,dc=example,dc=org');
    await submitDialog(dialog, 'Create');
    await groupRow('directory-devs').getByText('cn=devs,ou=groups,dc=example,dc=org').waitFor();
    const saved = (await groups()).find((g) => g.group_name === 'directory-devs');
    assert.equal(saved?.group_type, 1);
    assert.equal(saved?.ldap_group_dn, 'cn=devs,ou=groups,dc=example,dc=org');

    // Searched by name (group_name, part of the name).
    const search = page.getByRole('textbox', { name: 'Search groups' });
    await search.fill('devs');
    await eventually(async () => assert.equal(await groupRow('ops').count(), 0));
    await groupRow('directory-devs').waitFor();
    await search.fill('nobody');
    await page.getByText('Nothing matches “nobody”.').waitFor();
    await search.fill('');

    // Renamed: an empty name is refused in the form; the new name is saved.
    await groupRow('ops').getByRole('button', { name: 'Rename group ops' }).click();
    dialog = await openDialog(page);
    await field(dialog, 'Name').fill('');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.getByText('Enter a group name.').waitFor();
    await field(dialog, 'Name').fill('operations');
    await submitDialog(dialog, 'Save');
    await groupRow('operations').waitFor();
    assert.deepEqual((await groups()).map((g) => g.group_name).sort(), ['directory-devs', 'operations']);

    await groupRow('directory-devs').getByRole('button', { name: 'Delete group directory-devs' }).click();
    await confirmWith(page, 'Delete');
    await eventually(async () => assert.equal(await groupRow('directory-devs').count(), 0));
    assert.deepEqual(
      (await groups()).map((g) => g.group_name),
      ['operations'],
    );
    await inspectPage(page, 'admin-groups');
    watched.assertNoConsoleErrors();
  });

  test('Groups page pages through many groups', async () => {
    const { page } = watched;
    for (let i = 1; i <= 16; i++) {
      const res = await api(server, 'POST', '/usergroups', {
        auth: admin(),
        body: { group_name: `bulk-${String(i).padStart(2, '0')}`, group_type: 2 },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
    }
    await page.goto('/admin/groups');
    const rows = table().getByRole('row');
    await groupRow('bulk-').first().waitFor();
    // 17 groups: a header row and a page of 15, then the last 2.
    await eventually(async () => assert.equal(await rows.count(), 1 + 15));
    await page.getByRole('button', { name: 'Page 2' }).click();
    await eventually(async () => assert.equal(await rows.count(), 1 + 2));
    for (const group of await groups()) {
      if (group.group_name.startsWith('bulk-')) {
        const res = await api(server, 'DELETE', `/usergroups/${group.id}`, { auth: admin() });
        assert.equal(res.status, 200);
      }
    }
    watched.assertNoConsoleErrors();
  });

  test('a group as a project member: added as Developer, its role changed, its user sees the project, then removed', async () => {
    const { page } = watched;
    const ginaId = await createUser(server, 'gina');
    const gina = basicAuth('gina', 'Passw0rd1');
    // As an OIDC sign-in would record it.
    const [groupId] = await server.berth.userGroups.setUserGroups(ginaId, 3, [{ name: 'squad-devs' }]);
    assert.ok(groupId, 'setUserGroups returns the group id');
    const ginaSeesSquad = async () =>
      ((await api(server, 'GET', '/projects', { auth: gina })).body as Array<{ name: string }>).some((p) => p.name === 'squad');
    assert.equal(await ginaSeesSquad(), false, 'gina does not see the private project yet');

    await page.goto('/projects/squad/members');
    const tab = page.getByRole('table', { name: 'Members' });
    await tab.getByText('admin').first().waitFor();
    await page.getByRole('button', { name: 'Add group' }).click();
    let dialog = await openDialog(page);
    await dialog.getByRole('button', { name: 'Add' }).click();
    await dialog.getByText('Choose a group.').waitFor();
    await field(dialog, 'Group').fill('squad');
    await page.getByRole('option', { name: /squad-devs/ }).click();
    await chooseOption(page, field(dialog, 'Role'), 'Developer');
    await inspectPage(page, 'project-members-add-group');
    await submitDialog(dialog, 'Add');

    const row = tab.getByRole('row').filter({ hasText: 'squad-devs' });
    await row.getByText('Group · OIDC').waitFor();
    await row.getByRole('img', { name: 'Group' }).waitFor();
    assert.equal(await field(row, 'Role of squad-devs').inputValue(), 'Developer');
    const added = (await members()).find((m) => m.entity_type === 'g');
    assert.equal(added?.entity_name, 'squad-devs');
    assert.equal(added?.entity_id, groupId);
    assert.equal(added?.role_id, 2);

    // Once more: the server says the group is a member already; nothing changes.
    await page.getByRole('button', { name: 'Add group' }).click();
    dialog = await openDialog(page);
    await field(dialog, 'Group').fill('squad-devs');
    await page.getByRole('option', { name: /squad-devs/ }).click();
    const squad = (await api(server, 'GET', '/projects/squad', { auth: admin() })).body as { project_id: number };
    // The portal names a project by id in API paths.
    watched.expectFailure({ path: `/api/v2.0/projects/${squad.project_id}/members`, status: 409 });
    await dialog.getByRole('button', { name: 'Add' }).click();
    await dialog.getByText('Could not add the group').waitFor();
    assert.equal((await members()).filter((m) => m.entity_type === 'g').length, 1);
    await dismissDialog(page, dialog);

    await chooseOption(page, field(row, 'Role of squad-devs'), 'Maintainer');
    await eventually(async () => assert.equal((await members()).find((m) => m.entity_type === 'g')?.role_id, 4));
    await inspectPage(page, 'project-members-group');

    // gina's only way in is the group: the portal shows her the project, on a phone in dark.
    assert.equal(await ginaSeesSquad(), true, 'gina sees the project through the group');
    await inSignedInPage(
      browser,
      server,
      phoneDark,
      async (phone) => {
        await phone.page.getByRole('link', { name: 'squad', exact: true }).first().waitFor();
        await assertNoOverflow(phone.page, 'Projects');
        await phone.page.goto('/projects/squad');
        await phone.page.getByRole('heading', { level: 1, name: 'squad' }).waitFor();
        await inspectPage(phone.page, 'projects-through-group-phone-dark');
        phone.assertNoConsoleErrors();
      },
      { username: 'gina', password: 'Passw0rd1' },
    );
    // And the administrator's Members tab fits a phone too.
    await inSignedInPage(browser, server, phoneDark, async (phone) => {
      await phone.page.goto('/projects/squad/members');
      await phone.page.getByRole('table', { name: 'Members' }).getByText('squad-devs').waitFor();
      await assertNoOverflow(phone.page, 'Members');
      await inspectPage(phone.page, 'project-members-group-phone-dark');
      phone.assertNoConsoleErrors();
    });
    // A project administrator who is no system administrator sees the group's type and finds groups to add.
    await createUser(server, 'pam');
    const pam = await api(server, 'POST', '/projects/squad/members', {
      auth: admin(),
      body: { role_id: 1, member_user: { username: 'pam' } },
    });
    assert.equal(pam.status, 201, JSON.stringify(pam.body));
    await inSignedInPage(
      browser,
      server,
      desktopDark,
      async (other) => {
        await other.page.goto('/projects/squad/members');
        const groupRow = other.page.getByRole('table', { name: 'Members' }).getByRole('row').filter({ hasText: 'squad-devs' });
        await groupRow.getByText('Group · OIDC').waitFor();
        await other.page.getByRole('button', { name: 'Add group' }).click();
        const add = await openDialog(other.page);
        await field(add, 'Group').fill('devs');
        await other.page.getByRole('option', { name: /squad-devs/ }).waitFor();
        await inspectPage(other.page, 'project-members-add-group-project-admin-dark');
        await submitDialog(add, 'Cancel');
        other.assertNoConsoleErrors();
      },
      { username: 'pam', password: 'Passw0rd1' },
    );

    await row.getByRole('button', { name: 'Remove member squad-devs' }).click();
    await confirmWith(page, 'Remove');
    await eventually(async () => assert.equal(await row.count(), 0));
    assert.equal((await members()).filter((m) => m.entity_type === 'g').length, 0);
    assert.equal(await ginaSeesSquad(), false, 'without the group gina sees the project no more');
    watched.assertNoConsoleErrors();
  });
});

/**
 * In ldap_auth against a real slapd: a new group is an LDAP group by default and its DN must be
 * in the directory; the Members tab finds a directory group by name and adds it by DN as
 * Developer; alice, whom the directory puts in that group, signs in with her directory password
 * and sees the project.
 */
describe('portal: LDAP groups as project members', { skip: skip || slapdSkip() }, () => {
  let slapd: Slapd;
  let server: TestServer;
  let browser: Browser;
  let watched: WatchedPage;
  const admin = () => server.admin.authorization;

  before(async () => {
    slapd = await startSlapd();
    server = await startPortalServer();
    const configured = await api(server, 'PUT', '/configurations', {
      auth: admin(),
      body: { auth_mode: 'ldap_auth', ...ldapSettings(slapd) },
    });
    assert.equal(configured.status, 200, JSON.stringify(configured.body));
    const created = await api(server, 'POST', '/projects', {
      auth: admin(),
      body: { project_name: 'directory', metadata: { public: 'false' } },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    browser = await launchBrowser();
    watched = await openSignedIn(browser, server);
  });
  after(async () => {
    await closePortal({ watched, browser, server });
    await slapd?.stop();
  });

  test('a new group is an LDAP group whose DN the directory must know', async () => {
    const { page } = watched;
    await page.goto('/admin/groups');
    await page.getByRole('button', { name: 'New group' }).click();
    const dialog = await openDialog(page);
    assert.equal(await field(dialog, 'Type').inputValue(), 'LDAP');
    await field(dialog, 'Name').fill('ghosts');
    await field(dialog, 'LDAP group DN').fill(`cn=ghosts,${slapd.groupsDn}`);
    watched.expectFailure({ path: '/api/v2.0/usergroups', status: 400 });
    await dialog.getByRole('button', { name: 'Create' }).click();
    await dialog.getByText(/LDAP Group DN is not found/i).waitFor();
    await field(dialog, 'LDAP group DN').fill(slapd.groups.platform!.dn);
    await submitDialog(dialog, 'Create');
    await page.getByRole('table', { name: 'Groups' }).getByText(slapd.groups.platform!.dn).waitFor();
    watched.assertNoConsoleErrors();
  });

  test('a directory group found by name, added by DN as Developer; its LDAP user sees the project', async () => {
    const { page } = watched;
    await page.goto('/projects/directory/members');
    await page.getByRole('button', { name: 'Add group' }).click();
    const dialog = await openDialog(page);
    await dialog.getByText('LDAP directory', { exact: true }).click();
    await eventually(async () => assert.equal(await dialog.getByRole('radio', { name: 'LDAP directory' }).isChecked(), true));
    const dn = field(dialog, 'LDAP group DN');
    await dialog.getByRole('button', { name: 'Add' }).click();
    await dialog.getByText("Enter the LDAP group's DN, or search the directory by name.").waitFor();

    watched.expectFailure({ path: '/api/v2.0/ldap/groups/search', status: 404 });
    await dn.fill('nobody-here');
    await dialog.getByText('No directory group is named “nobody-here”: enter its DN').waitFor();
    await dn.fill('developers');
    await page.getByRole('option', { name: new RegExp(slapd.groups.developers!.dn) }).click();
    assert.equal(await dn.inputValue(), slapd.groups.developers!.dn);
    await chooseOption(page, field(dialog, 'Role'), 'Developer');
    await inspectPage(page, 'project-members-add-ldap-group');
    await submitDialog(dialog, 'Add');

    const row = page.getByRole('table', { name: 'Members' }).getByRole('row').filter({ hasText: 'developers' });
    await row.getByText('Group · LDAP').waitFor();
    const listed = (await api(server, 'GET', '/projects/directory/members', { auth: admin() })).body as Array<Record<string, any>>;
    const group = listed.find((m) => m.entity_type === 'g');
    assert.equal(group?.entity_name, 'developers');
    assert.equal(group?.role_id, 2);

    await inSignedInPage(
      browser,
      server,
      phoneDark,
      async (phone) => {
        await phone.page.getByRole('link', { name: 'directory', exact: true }).first().waitFor();
        await assertNoOverflow(phone.page, 'Projects');
        await inspectPage(phone.page, 'projects-through-ldap-group-phone-dark');
        phone.assertNoConsoleErrors();
      },
      { username: 'alice', password: 'alice-ldap-pw' },
    );
    watched.assertNoConsoleErrors();
  });
});

/**
 * In oidc_auth against a real OpenID Connect provider: a group no sign-in has recorded yet is
 * added to a project by its name as Maintainer (Berth adds the OIDC group); olga, whose ID token
 * puts her in that group, signs in through the provider and the portal shows her the project.
 */
describe('portal: OIDC groups as project members', { skip }, () => {
  let server: TestServer;
  let provider: TestOidcProvider;
  let browser: Browser;
  let watched: WatchedPage;
  const admin = () => server.admin.authorization;

  before(async () => {
    server = await startPortalServer();
    provider = await startOidcProvider({
      berthUrls: [server.url],
      accounts: [{ id: 'olga-sub', preferred_username: 'olga', name: 'Olga', email: 'olga@example.com', groups: ['release-team'] }],
    });
    const configured = await api(server, 'PUT', '/configurations', { auth: admin(), body: provider.settings() });
    assert.equal(configured.status, 200, JSON.stringify(configured.body));
    const created = await api(server, 'POST', '/projects', {
      auth: admin(),
      body: { project_name: 'releases', metadata: { public: 'false' } },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    browser = await launchBrowser();
    watched = await openSignedIn(browser, server);
  });
  after(async () => {
    await closePortal({ watched, browser, server });
    await provider?.stop();
  });

  test('a group added by name before anyone of it signed in; its OIDC user sees the project', async () => {
    const { page } = watched;
    await page.goto('/projects/releases/members');
    await page.getByRole('button', { name: 'Add group' }).click();
    const dialog = await openDialog(page);
    await dialog.getByText('By name (OIDC)', { exact: true }).click();
    await eventually(async () => assert.equal(await dialog.getByRole('radio', { name: 'By name (OIDC)' }).isChecked(), true));
    await dialog.getByRole('button', { name: 'Add' }).click();
    await dialog.getByText("Enter the group's name.").waitFor();
    await field(dialog, 'OIDC group name').fill('release-team');
    await chooseOption(page, field(dialog, 'Role'), 'Maintainer');
    await inspectPage(page, 'project-members-add-oidc-group');
    await submitDialog(dialog, 'Add');

    const row = page.getByRole('table', { name: 'Members' }).getByRole('row').filter({ hasText: 'release-team' });
    await row.getByText('Group · OIDC').waitFor();
    const known = (await api(server, 'GET', '/usergroups?group_name=release-team', { auth: admin() })).body as GroupView[];
    assert.deepEqual(
      known.map((g) => [g.group_name, g.group_type]),
      [['release-team', 3]],
    );

    const signedIn = await signInThroughProvider(server.url, 'olga-sub');
    assert.equal(signedIn.status, 302, signedIn.body);
    const sid = signedIn.cookies.get('sid');
    assert.ok(sid, 'olga is signed in');
    const phone = await openPage(browser, server.url, phoneDark);
    try {
      await phone.context.addCookies([{ name: 'sid', value: sid, url: server.url }]);
      await phone.page.goto('/projects');
      await phone.page.getByRole('link', { name: 'releases', exact: true }).first().waitFor();
      await assertNoOverflow(phone.page, 'Projects');
      await inspectPage(phone.page, 'projects-through-oidc-group-phone-dark');
      phone.assertNoConsoleErrors();
    } finally {
      await phone.close();
    }
    watched.assertNoConsoleErrors();
  });
});
