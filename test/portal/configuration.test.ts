import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { api, createUser } from '../helpers/api.js';
import { browserSkip, eventually, field, h1, inspectPage, launchBrowser, phoneDark, settle, type WatchedPage } from '../helpers/browser.js';
import { startOidcProvider, type TestOidcProvider } from '../helpers/oidc-provider.js';
import type { TestServer } from '../helpers/server.js';
import { slapdSkip, startSlapd, type Slapd } from '../helpers/slapd.js';
import { assertNoOverflow, chooseOption, closePortal, inSignedInPage, openSignedIn, startPortalServer } from './ui.js';

const skip = browserSkip();
const ldapSkip = slapdSkip();

type Configurations = Record<string, { value: unknown; editable: boolean }>;

/** A local date as a date input takes it (YYYY-MM-DD) and as Harbor stores it (MM/DD/YYYY), `days` from today. */
function day(days: number): { input: string; harbor: string } {
  const d = new Date();
  d.setDate(d.getDate() + days);
  const [y, m, dd] = [d.getFullYear(), String(d.getMonth() + 1).padStart(2, '0'), String(d.getDate()).padStart(2, '0')];
  return { input: `${y}-${m}-${dd}`, harbor: `${m}/${dd}/${y}` };
}

/**
 * Administration › Configuration against a real Berth, a real slapd and a real OIDC provider:
 * System Settings changed in the form and read back through GET /configurations (only the
 * changed keys sent, the unsaved-changes hint, Discard), nothing saved while a field is wrong;
 * the banner (type, closable, dates) and read-only mode shown above every page; LDAP chosen
 * with its required fields, "Test LDAP server" succeeding and failing with a wrong password,
 * the write-only search password; OIDC with its test button, the redirect URI, and the server's
 * 400 shown on the field it names with nothing saved; the mode fixed once another user exists;
 * a user who is not an administrator never sees the page; on a phone in dark; axe; no console error.
 */
describe('portal: configuration', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  let watched: WatchedPage;
  let slapd: Slapd | undefined;
  let provider: TestOidcProvider | undefined;
  const admin = () => server.admin.authorization;
  const configurations = async () => {
    const res = await api(server, 'GET', '/configurations', { auth: admin() });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as Configurations;
  };
  const value = async (key: string) => (await configurations())[key]?.value;
  const form = (page: Page) => page.getByRole('form', { name: 'System configuration' });
  const tab = (page: Page, name: string) => page.getByRole('tab', { name: new RegExp(`^${name}`) });

  async function openConfiguration(page: Page, tabName = 'Authentication'): Promise<void> {
    await page.goto('/admin/configuration');
    await h1(page).filter({ hasText: 'Configuration' }).waitFor();
    await tab(page, tabName).click();
    await settle(page);
  }

  async function save(page: Page): Promise<void> {
    await form(page).getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByText('Configuration saved').first().waitFor();
    await form(page)
      .getByText(/^Unsaved changes/)
      .waitFor({ state: 'hidden' });
  }

  before(async () => {
    server = await startPortalServer();
    browser = await launchBrowser();
    watched = await openSignedIn(browser, server);
    if (!ldapSkip) slapd = await startSlapd();
    provider = await startOidcProvider({ berthUrls: [server.url] });
  });
  after(async () => {
    await closePortal({ watched, browser, server });
    await slapd?.stop();
    await provider?.stop();
  });

  test('System Settings: nothing saved while a field is wrong; the changed keys saved and read back through the API', async () => {
    const { page } = watched;
    await openConfiguration(page, 'System Settings');
    const before = await configurations();
    assert.equal(before.audit_log_forward_endpoint!.editable, true);
    assert.ok(await field(page, 'Audit log forwarding endpoint').isEnabled(), 'the forwarding endpoint applies without a restart');

    // Wrong values: the checks name each field, nothing is sent.
    await field(page, 'Registry token expiration (minutes)').fill('0');
    await field(page, 'Robot name prefix').fill('');
    await field(page, 'Session timeout (minutes)').fill('');
    await field(page, 'Audit log forwarding endpoint').fill('syslog.example.com');
    await page.getByRole('switch', { name: 'Skip audit log database' }).click();
    await form(page).getByText('Unsaved changes (5 settings)').waitFor();
    await form(page).getByRole('button', { name: 'Save', exact: true }).click();
    await form(page).getByText('Enter a whole number of minutes, at least 1.').first().waitFor();
    await form(page).getByText('Enter the prefix of robot account names.').waitFor();
    await form(page).getByText('Enter host:port of the syslog server (TCP).').waitFor();
    await field(page, 'Audit log forwarding endpoint').fill('');
    await form(page).getByRole('button', { name: 'Save', exact: true }).click();
    await form(page)
      .getByText(/^Records can skip the database only while they are forwarded/)
      .waitFor();
    await form(page).getByRole('alert').filter({ hasText: 'Nothing saved' }).waitFor();
    await inspectPage(page, 'configuration-system-invalid');
    assert.deepEqual(await configurations(), before, 'nothing changed');

    // Leaving asks first; staying keeps what was typed.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'System', exact: true }).click();
    const leave = page.getByRole('dialog', { name: 'Leave without saving?' });
    await leave.getByRole('button', { name: 'Stay' }).click();
    await leave.waitFor({ state: 'hidden' });
    assert.equal(await field(page, 'Registry token expiration (minutes)').inputValue(), '0');

    // Discard puts back what is saved.
    await form(page).getByRole('button', { name: 'Discard changes' }).click();
    assert.equal(await field(page, 'Registry token expiration (minutes)').inputValue(), String(before.token_expiration!.value));
    assert.equal(
      await form(page)
        .getByText(/^Unsaved changes/)
        .count(),
      0,
    );

    // Valid values, saved: only what changed is sent.
    const sent: unknown[] = [];
    page.on('request', (r) => {
      if (r.method() === 'PUT' && r.url().endsWith('/api/v2.0/configurations')) sent.push(r.postDataJSON());
    });
    await chooseOption(page, field(page, 'Project creation'), 'Admin only');
    await field(page, 'Registry token expiration (minutes)').fill('45');
    await field(page, 'Robot token expiration (days)').fill('60');
    await field(page, 'Robot name prefix').fill('bot$');
    await field(page, 'Session timeout (minutes)').fill('90');
    const unlimited = page.getByRole('switch', { name: 'Unlimited storage per project by default' });
    if (await unlimited.isChecked()) await unlimited.click();
    await field(page, 'Default storage per project').fill('20');
    await chooseOption(page, field(page, 'Unit'), 'GiB');
    const webhooks = page.getByRole('switch', { name: 'Webhooks enabled' });
    const webhooksWere = await webhooks.isChecked();
    await webhooks.click();
    await page.getByRole('switch', { name: 'Scanners do not update the pull time' }).click();
    await chooseOption(page, field(page, 'Event types not recorded'), 'pull_artifact');
    await page.keyboard.press('Escape');
    await form(page).getByText('Unsaved changes (9 settings)').waitFor();
    await inspectPage(page, 'configuration-system');
    await save(page);

    const after = await configurations();
    assert.equal(after.project_creation_restriction!.value, 'adminonly');
    assert.equal(after.token_expiration!.value, 45);
    assert.equal(after.robot_token_duration!.value, 60);
    assert.equal(after.robot_name_prefix!.value, 'bot$');
    assert.equal(after.session_timeout!.value, 90);
    assert.equal(after.storage_per_project!.value, 20 * 1024 ** 3);
    assert.equal(after.notification_enable!.value, !webhooksWere);
    assert.equal(after.scanner_skip_update_pulltime!.value, true);
    assert.equal(after.disabled_audit_log_event_types!.value, 'pull_artifact');
    assert.deepEqual(Object.keys(sent[0] as object).sort(), [
      'disabled_audit_log_event_types',
      'notification_enable',
      'project_creation_restriction',
      'robot_name_prefix',
      'robot_token_duration',
      'scanner_skip_update_pulltime',
      'session_timeout',
      'storage_per_project',
      'token_expiration',
    ]);
    // The form shows what is saved after a reload.
    await openConfiguration(page, 'System Settings');
    assert.equal(await field(page, 'Default storage per project').inputValue(), '20');
    assert.equal(await field(page, 'Robot name prefix').inputValue(), 'bot$');
    watched.assertNoConsoleErrors();
  });

  test('The banner (within its dates, closable) and the read-only bar above every page; on a phone in dark', async () => {
    const { page } = watched;
    await openConfiguration(page, 'System Settings');
    await field(page, 'Banner message').fill('Maintenance on Saturday');
    await chooseOption(page, field(page, 'Banner type'), 'Warning');
    await page.getByRole('checkbox', { name: 'Users may close it' }).check();
    await field(page, 'Show from').fill(day(1).input);
    await field(page, 'Show until').fill(day(-1).input);
    await form(page).getByRole('button', { name: 'Save', exact: true }).click();
    await form(page).getByText('The banner ends before it starts.').waitFor();
    assert.equal(await value('banner_message'), '');
    await field(page, 'Show from').fill(day(0).input);
    await field(page, 'Show until').fill(day(1).input);
    await page.getByRole('switch', { name: 'Read-only mode' }).click();
    await form(page).getByRole('status').filter({ hasText: 'every push and change is refused' }).waitFor();
    await save(page);

    assert.deepEqual(JSON.parse(String(await value('banner_message'))), {
      message: 'Maintenance on Saturday',
      type: 'warning',
      closable: true,
      fromDate: day(0).harbor,
      toDate: day(1).harbor,
    });
    assert.equal(await value('read_only'), true);
    const readOnlyBar = page.getByRole('status', { name: 'Read-only mode' });
    const banner = page.getByRole('status', { name: 'Announcement' });
    await readOnlyBar.getByText('The system is in read-only mode: pushes and changes are refused').waitFor();
    await banner.getByText('Maintenance on Saturday').waitFor();
    // Read-only for real: a change through the API is refused.
    await eventually(async () => {
      const refused = await api(server, 'POST', '/projects', { auth: admin(), body: { project_name: 'refused', metadata: {} } });
      assert.equal(refused.status, 403, JSON.stringify(refused.body));
    });

    await page.goto('/projects');
    await h1(page).waitFor();
    await banner.waitFor();
    await readOnlyBar.waitFor();
    await inspectPage(page, 'configuration-banner-read-only');

    await inSignedInPage(browser, server, phoneDark, async (phone) => {
      await openConfiguration(phone.page, 'System Settings');
      await phone.page.getByRole('status', { name: 'Announcement' }).waitFor();
      await assertNoOverflow(phone.page, 'System Settings');
      await inspectPage(phone.page, 'configuration-system-phone-dark');
      for (const name of ['Authentication', 'Security']) {
        await tab(phone.page, name).click();
        await settle(phone.page);
        await assertNoOverflow(phone.page, name);
        await inspectPage(phone.page, `configuration-${name.toLowerCase()}-phone-dark`);
      }
      phone.assertNoConsoleErrors();
    });

    // Closed, it stays closed in this session.
    await banner.getByRole('button', { name: 'Close the announcement' }).click();
    await banner.waitFor({ state: 'hidden' });
    await page.reload();
    await h1(page).waitFor();
    await readOnlyBar.waitFor();
    assert.equal(await banner.count(), 0);

    // Outside its dates, it is not shown; read-only switched off, the bar goes.
    const past = JSON.stringify({ message: 'Old news', type: 'info', closable: false, fromDate: day(-3).harbor, toDate: day(-1).harbor });
    const put = await api(server, 'PUT', '/configurations', { auth: admin(), body: { banner_message: past } });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    await openConfiguration(page, 'System Settings');
    await page.getByRole('switch', { name: 'Read-only mode' }).click();
    await save(page);
    await readOnlyBar.waitFor({ state: 'hidden' });
    assert.equal(await banner.count(), 0, 'a banner past its dates is not shown');
    assert.equal(await value('read_only'), false);
    watched.assertNoConsoleErrors();
  });

  test(
    'LDAP: required fields, "Test LDAP server" against slapd (works; a wrong password fails), saved with a write-only password',
    { skip: ldapSkip },
    async () => {
      const { page } = watched;
      const directory = slapd!;
      await openConfiguration(page);
      await chooseOption(page, field(page, 'Authentication mode'), 'LDAP');
      await form(page).getByRole('status').filter({ hasText: 'Changing the authentication mode' }).waitFor();
      await field(page, 'UID attribute').fill('');
      await form(page).getByRole('button', { name: 'Save', exact: true }).click();
      await form(page).getByText('Enter the LDAP server address.').waitFor();
      await form(page).getByText('Enter the base DN to search users under.').waitFor();
      await form(page)
        .getByText(/^Enter the attribute holding the username/)
        .waitFor();
      assert.equal(await value('auth_mode'), 'db_auth');

      await field(page, 'LDAP URL').fill(directory.ldapsUrl);
      await field(page, 'CA certificate (PEM)').fill(directory.caPem);
      await field(page, 'Search DN').fill(directory.bindDn);
      await field(page, 'Search password').fill(directory.bindPassword);
      await field(page, 'Base DN').fill(directory.baseDn);
      await field(page, 'Filter').fill('(objectClass=inetOrgPerson)');
      await field(page, 'UID attribute').fill('uid');
      await chooseOption(page, field(page, 'Scope'), 'Subtree');
      await field(page, 'Group base DN').fill(directory.groupsDn);
      await field(page, 'Group filter').fill('(objectClass=groupOfNames)');
      await field(page, 'Group GID attribute').fill('cn');
      await field(page, 'Group admin DN').fill(directory.groups.admins!.dn);
      await field(page, 'Group membership attribute').fill('memberof');

      const works = form(page).getByRole('status').filter({ hasText: 'LDAP server reached' });
      const failed = form(page).getByRole('status').filter({ hasText: 'LDAP test failed' });
      await form(page).getByRole('button', { name: 'Test LDAP server' }).click();
      await works.waitFor();
      await field(page, 'Search password').fill('not-the-password');
      await form(page).getByRole('button', { name: 'Test LDAP server' }).click();
      await failed.waitFor();
      assert.match((await failed.textContent()) ?? '', /credential|bind|password|49/i);
      await inspectPage(page, 'configuration-ldap-test-failed');

      await field(page, 'Search password').fill(directory.bindPassword);
      await save(page);
      const saved = await configurations();
      assert.equal(saved.auth_mode!.value, 'ldap_auth');
      assert.equal(saved.ldap_url!.value, directory.ldapsUrl);
      assert.equal(saved.ldap_uid!.value, 'uid');
      assert.equal(saved.ldap_group_admin_dn!.value, directory.groups.admins!.dn);
      assert.ok(!('ldap_search_password' in saved), 'the password is never answered');
      // The stored password is used when none is typed.
      const password = field(page, 'Search password');
      assert.equal(await password.inputValue(), '');
      assert.equal(await password.getAttribute('placeholder'), 'unchanged');
      await form(page).getByRole('button', { name: 'Test LDAP server' }).click();
      await works.waitFor();
      await inspectPage(page, 'configuration-ldap');
      watched.assertNoConsoleErrors();
    },
  );

  test('OIDC: "Test OIDC server" against the provider, the redirect URI, the server\'s 400 on its field with nothing saved', async () => {
    const { page } = watched;
    const oidc = provider!;
    const modeBefore = await value('auth_mode');
    await openConfiguration(page);
    await chooseOption(page, field(page, 'Authentication mode'), 'OIDC');
    await form(page).getByRole('button', { name: 'Save', exact: true }).click();
    await form(page).getByText('Enter the provider name shown on the sign-in page.').waitFor();
    await form(page).getByText('Enter the provider address.').waitFor();
    await form(page).getByText('Enter the client ID registered at the provider.').waitFor();

    await field(page, 'Provider name').fill('Test provider');
    await field(page, 'OIDC endpoint').fill('http://127.0.0.1:1');
    await field(page, 'Client ID').fill(oidc.clientId);
    await field(page, 'Client secret').fill(oidc.clientSecret);
    await field(page, 'Username claim').fill('preferred_username');
    await field(page, 'Groups claim').fill('groups');
    await field(page, 'Admin group').fill('registry-admins');
    await page.getByRole('switch', { name: 'Automatic onboarding' }).click();

    const redirect = `${server.url}/c/oidc/callback`;
    assert.equal((await page.getByTestId('oidc-redirect-uri').textContent())?.trim(), redirect);
    await page.getByRole('button', { name: 'Copy redirect URI' }).click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), redirect);

    watched.expectFailure({ path: '/api/v2.0/system/oidc/ping', status: 400 });
    await form(page).getByRole('button', { name: 'Test OIDC server' }).click();
    await form(page).getByRole('status').filter({ hasText: 'OIDC test failed' }).waitFor();
    await field(page, 'OIDC endpoint').fill(oidc.issuer);
    await form(page).getByRole('button', { name: 'Test OIDC server' }).click();
    await form(page).getByRole('status').filter({ hasText: 'OIDC server reached' }).waitFor();

    // The server refuses a value the form lets through: its message, on the field it names; nothing stored.
    watched.expectFailure({ path: '/api/v2.0/configurations', status: 400 });
    await field(page, 'Extra redirect parameters').fill('{"max_age": 5}');
    await form(page).getByRole('button', { name: 'Save', exact: true }).click();
    const refused = form(page).getByRole('alert').filter({ hasText: 'The configuration was not saved' });
    await refused.waitFor();
    assert.match((await refused.textContent()) ?? '', /oidc_extra_redirect_parms/);
    await eventually(async () => assert.match((await field(page, 'Extra redirect parameters').getAttribute('aria-invalid')) ?? '', /true/));
    await inspectPage(page, 'configuration-oidc-refused');
    assert.equal(await value('auth_mode'), modeBefore);
    assert.equal(await value('oidc_client_id'), '');

    await field(page, 'Extra redirect parameters').fill('{"prompt":"consent"}');
    await save(page);
    const saved = await configurations();
    assert.equal(saved.auth_mode!.value, 'oidc_auth');
    assert.equal(saved.oidc_endpoint!.value, oidc.issuer);
    assert.equal(saved.oidc_client_id!.value, oidc.clientId);
    assert.equal(saved.oidc_auto_onboard!.value, true);
    assert.equal(saved.oidc_extra_redirect_parms!.value, '{"prompt":"consent"}');
    assert.ok(!('oidc_client_secret' in saved), 'the secret is never answered');
    await inspectPage(page, 'configuration-oidc');
    watched.assertNoConsoleErrors();
  });

  test('The mode is fixed once another user exists; a user who is not an administrator never sees the page', async () => {
    const { page } = watched;
    const back = await api(server, 'PUT', '/configurations', { auth: admin(), body: { auth_mode: 'db_auth' } });
    assert.equal(back.status, 200, JSON.stringify(back.body));
    await openConfiguration(page);
    const mode = page.getByRole('combobox', { name: 'Authentication mode' });
    assert.equal(await mode.isDisabled(), false);
    await page.getByRole('switch', { name: 'Allow self-registration' }).waitFor();

    await createUser(server, 'casey');
    await openConfiguration(page);
    assert.ok(await mode.isDisabled(), 'the mode cannot change any more');
    await page.getByText(/^The mode can change only while no user other than admin exists/).waitFor();
    assert.equal((await configurations()).auth_mode!.editable, false);
    await inspectPage(page, 'configuration-auth-fixed');

    await inSignedInPage(
      browser,
      server,
      phoneDark,
      async (user) => {
        const requests: string[] = [];
        user.page.on('request', (r) => requests.push(new URL(r.url()).pathname));
        await user.page.goto('/admin/configuration');
        await user.page.getByText('This page is for system administrators.').waitFor();
        assert.equal(await user.page.getByRole('link', { name: 'Configuration' }).count(), 0);
        assert.ok(!requests.includes('/api/v2.0/configurations'), 'the settings are not even asked for');
        user.assertNoConsoleErrors();
      },
      { username: 'casey', password: 'Passw0rd1' },
    );
    watched.assertNoConsoleErrors();
  });
});
