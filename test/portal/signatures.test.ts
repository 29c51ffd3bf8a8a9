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
import { cosignKeyPair, cosignLayer, pushCosignSignatureOf, simpleSigningPayload, type CosignKeyPair } from '../helpers/cosign-sign.js';
import { createRootCa, issueCertificate, notationManifest, signEnvelope } from '../helpers/notation-sign.js';
import { pushBlob, pushImage, pushManifest, types } from '../helpers/oci.js';
import type { TestServer } from '../helpers/server.js';
import { createProject } from '../projects/fixtures.js';
import {
  assertNoOverflow,
  chooseOption,
  closePortal,
  confirmWith,
  inSignedInPage,
  openDialog,
  openSignedIn,
  startPortalServer,
} from './ui.js';

const skip = browserSkip();

type Subject = { digest: string; mediaType: string; size: number };

/** Signs `subject` as `cosign sign --key` does (its legacy .sig tag, a real signature of the simple-signing payload). */
async function cosignSign(server: TestServer, repo: string, subject: Subject, key: CosignKeyPair) {
  const payload = simpleSigningPayload(`${new URL(server.url).host}/${repo}`, subject.digest);
  return pushCosignSignatureOf(server, repo, subject, [cosignLayer(key, payload)]);
}

/** Signs `subject` as `notation sign` does (a JWS envelope by a code-signing leaf, an OCI 1.1 referrer). */
async function notationSign(server: TestServer, repo: string, subject: Subject, chain: Parameters<typeof notationManifest>[2]) {
  const signed = signEnvelope({ format: 'jws', subject, chain });
  await pushBlob(server.url, repo, '{}', server.admin);
  await pushBlob(server.url, repo, signed.envelope, server.admin);
  return pushManifest(server.url, repo, null, notationManifest(signed, subject, chain), types.manifest, server.admin);
}

/**
 * Signatures in the portal, with real keys and real cosign and Notation signatures: without
 * trusted keys a signed image is marked "signed"; a key added in the project's Configuration
 * (a refused PEM shown in words first) makes the one signed with it "verified" and the one
 * signed with another key "unverified", in the list and on the artifact page with signer,
 * key and reason; a Notation CA certificate loaded from a file verifies the Notation one; the cosign policy switch is saved; a maintainer reads the keys but cannot change
 * them; the key is deleted. Light at desktop width and dark on a phone, axe on each.
 */
describe('portal: signatures and trusted keys', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  let watched: WatchedPage;
  let teamId: number;
  const trusted = cosignKeyPair();
  const stranger = cosignKeyPair();
  const subjects: Record<string, Subject> = {};
  let rootPem = '';
  const keys = async () => (await api<any[]>(server, 'GET', '/projects/team/trust/keys', { auth: server.admin.authorization })).body;
  const artifactRow = (page: WatchedPage['page'], tag: string) =>
    page.getByRole('table').first().getByRole('row').filter({ hasText: tag }).filter({ hasNotText: '.sig' });
  /** The row's visible mark (on a phone, another column holds it). */
  const mark = (page: WatchedPage['page'], tag: string, text: string) =>
    artifactRow(page, tag).getByText(text, { exact: true }).filter({ visible: true });

  before(async () => {
    server = await startPortalServer();
    teamId = await createProject(server, { project_name: 'team' });
    for (const tag of ['good', 'other', 'plain', 'notarised']) {
      const image = await pushImage(server.url, 'team/app', tag, { headers: server.admin, layer: `layer ${tag}` });
      subjects[tag] = { digest: image.digest, mediaType: types.manifest, size: image.size };
    }
    await cosignSign(server, 'team/app', subjects.good, trusted);
    await cosignSign(server, 'team/app', subjects.other, stranger);
    const root = await createRootCa();
    const leaf = await issueCertificate(root);
    rootPem = root.pem;
    await notationSign(server, 'team/app', subjects.notarised, [leaf, root]);
    await createUser(server, 'dev');
    const member = await api(server, 'POST', '/projects/team/members', {
      auth: server.admin.authorization,
      body: { role_id: 4, member_user: { username: 'dev' } },
    });
    assert.equal(member.status, 201, JSON.stringify(member.body));
    browser = await launchBrowser();
  });
  after(async () => {
    await closePortal({ watched, browser, server });
  });

  test('without trusted keys, signed images are marked signed and their signatures are not checked', async () => {
    watched = await openSignedIn(browser, server, desktopLight, {
      expected: [{ path: `/api/v2.0/projects/${teamId}/trust/keys`, status: 400 }],
    });
    const { page } = watched;
    await page.goto('/projects/team/repositories/app');
    await mark(page, 'good', 'signed').waitFor();
    await mark(page, 'other', 'signed').waitFor();
    await mark(page, 'notarised', 'signed').waitFor();
    assert.equal(
      await artifactRow(page, 'plain')
        .getByText(/^(signed|verified|unverified)$/)
        .count(),
      0,
    );

    await page.goto('/projects/team/repositories/app/-/artifacts/good');
    const section = page.getByRole('region', { name: 'Signatures' });
    const table = section.getByRole('table', { name: 'Signatures' });
    await table.getByRole('row').filter({ hasText: 'Cosign' }).getByText('signed', { exact: true }).waitFor();
    await section.getByText(/the project holds no trusted keys of this kind/).waitFor();
    await section.getByRole('link', { name: 'Configuration' }).waitFor();
    await inspectPage(page, 'artifact-signatures-unchecked');
    // An image without signatures has no Signatures section.
    await page.goto('/projects/team/repositories/app/-/artifacts/plain');
    await page.getByRole('region', { name: 'Accessories' }).waitFor();
    assert.equal(await page.getByRole('region', { name: 'Signatures' }).count(), 0);
    watched.assertNoConsoleErrors();
  });

  test('Configuration: a refused key is explained, a cosign key and a Notation CA (from a file) are added, the cosign policy is switched on', async () => {
    const { page } = watched;
    await page.goto('/projects/team/configuration');
    const section = page.getByRole('region', { name: 'Trusted keys' });
    await section.getByText('No trusted keys: signatures are not verified.').waitFor();
    await inspectPage(page, 'project-trust-keys-empty');

    await section.getByRole('button', { name: 'Add key' }).click();
    const dialog = await openDialog(page);
    // Nothing filled in: said under the fields, nothing sent.
    await dialog.getByRole('button', { name: 'Add key' }).click();
    await dialog.getByText('Enter a name for the key').waitFor();
    await dialog.getByText('Paste the key material or load it from a file').waitFor();
    await field(dialog, 'Name').fill('ci');
    await field(dialog, 'Public key (PEM)').fill('-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n');
    await dialog.getByRole('button', { name: 'Add key' }).click();
    await dialog.getByText('The key was not added').waitFor();
    assert.deepEqual(await keys(), [], 'a refused key is not stored');
    await inspectPage(page, 'project-trust-keys-refused');

    // The other types name their material.
    await chooseOption(page, field(dialog, 'Type'), 'Notation CA certificate');
    await field(dialog, 'CA certificates (PEM)').waitFor();
    await chooseOption(page, field(dialog, 'Type'), 'Cosign public key');
    await field(dialog, 'Public key (PEM)').fill(trusted.publicPem);
    await dialog.getByRole('button', { name: 'Add key' }).click();
    await dialog.waitFor({ state: 'hidden' });
    const table = section.getByRole('table', { name: 'Trusted keys' });
    const row = table.getByRole('row').filter({ hasText: 'ci' });
    await row.getByText('Cosign public key').waitFor();
    const stored = await eventually(async () => {
      const list = await keys();
      assert.equal(list.length, 1);
      return list[0];
    });
    assert.equal(stored.name, 'ci');
    assert.equal(stored.type, 'cosign');
    await row.getByText(`${stored.fingerprint.slice(0, 16)}…`).waitFor();
    await inspectPage(page, 'project-trust-keys-one');

    // A Notation CA certificate, loaded from a file: its name comes from the file's.
    await section.getByRole('button', { name: 'Add key' }).click();
    const second = await openDialog(page);
    await chooseOption(page, field(second, 'Type'), 'Notation CA certificate');
    const chooser = page.waitForEvent('filechooser');
    await second.getByRole('button', { name: 'Load from a file' }).click();
    await (await chooser).setFiles({ name: 'root-ca.pem', mimeType: 'application/x-pem-file', buffer: Buffer.from(rootPem) });
    await eventually(async () => assert.equal(await field(second, 'Name').inputValue(), 'root-ca'));
    assert.equal((await field(second, 'CA certificates (PEM)').inputValue()).trim(), rootPem.trim());
    await second.getByRole('button', { name: 'Add key' }).click();
    await second.waitFor({ state: 'hidden' });
    await table.getByRole('row').filter({ hasText: 'root-ca' }).getByText('Notation CA certificate').waitFor();
    assert.deepEqual(
      (await keys()).map((k) => [k.name, k.type]),
      [
        ['ci', 'cosign'],
        ['root-ca', 'notation-ca'],
      ],
    );

    await page.getByRole('switch', { name: /^Enforce cosign signatures/ }).click({ force: true });
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByText('Configuration of team saved').waitFor();
    const project = await api(server, 'GET', '/projects/team', { auth: server.admin.authorization });
    assert.equal(project.body.metadata.enable_content_trust_cosign, 'true');
    watched.assertNoConsoleErrors();
  });

  test('with the key, the image signed with it is verified and the other unverified, in the list and on their pages', async () => {
    const { page } = watched;
    await page.goto('/projects/team/repositories/app');
    await mark(page, 'good', 'verified').waitFor();
    await mark(page, 'other', 'unverified').waitFor();
    await mark(page, 'notarised', 'verified').waitFor();
    await inspectPage(page, 'repository-signatures-verified');

    await page.goto('/projects/team/repositories/app/-/artifacts/good');
    let signatures = page.getByRole('table', { name: 'Signatures' });
    let row = signatures.getByRole('row').filter({ hasText: 'Cosign' });
    await row.getByText('verified', { exact: true }).waitFor();
    // Kind, Status, Signed by, Trusted key: as the API says.
    const good = (await api(server, 'GET', '/projects/team/repositories/app/artifacts/good', { auth: server.admin.authorization })).body;
    assert.equal(good.signatures[0].status, 'verified');
    assert.equal(good.signatures[0].key_name, 'ci');
    assert.equal(await row.getByRole('cell').nth(2).textContent(), good.signatures[0].signer || '—');
    assert.equal(await row.getByRole('cell').nth(3).textContent(), 'ci');
    await inspectPage(page, 'artifact-signature-verified');

    await page.goto('/projects/team/repositories/app/-/artifacts/other');
    signatures = page.getByRole('table', { name: 'Signatures' });
    row = signatures.getByRole('row').filter({ hasText: 'Cosign' });
    await row.getByText('unverified', { exact: true }).waitFor();
    const view = (await api(server, 'GET', '/projects/team/repositories/app/artifacts/other', { auth: server.admin.authorization })).body;
    assert.equal(view.signatures.length, 1);
    assert.equal(view.signatures[0].status, 'unverified');
    if (view.signatures[0].reason) await row.getByText(view.signatures[0].reason).waitFor();
    await inspectPage(page, 'artifact-signature-unverified');

    // Notation: signed by the certificate's subject, verified against the CA.
    await page.goto('/projects/team/repositories/app/-/artifacts/notarised');
    row = page.getByRole('table', { name: 'Signatures' }).getByRole('row').filter({ hasText: 'Notation' });
    await row.getByText('verified', { exact: true }).waitFor();
    const notarised = (
      await api(server, 'GET', '/projects/team/repositories/app/artifacts/notarised', { auth: server.admin.authorization })
    ).body;
    assert.equal(notarised.signatures[0].kind, 'notation');
    assert.equal(notarised.signatures[0].status, 'verified');
    assert.match(notarised.signatures[0].signer, /Berth Test Signer/);
    assert.equal(await row.getByRole('cell').nth(2).textContent(), notarised.signatures[0].signer);
    assert.equal(await row.getByRole('cell').nth(3).textContent(), notarised.signatures[0].key_name || '—');
    await inspectPage(page, 'artifact-signature-notation');
    watched.assertNoConsoleErrors();
  });

  test('a maintainer sees the keys but cannot add or delete them', async () => {
    await inSignedInPage(
      browser,
      server,
      desktopLight,
      async (dev) => {
        const { page } = dev;
        await page.goto('/projects/team/configuration');
        const section = page.getByRole('region', { name: 'Trusted keys' });
        await section.getByRole('table', { name: 'Trusted keys' }).getByText('ci', { exact: true }).waitFor();
        assert.equal(await section.getByRole('button', { name: 'Add key' }).count(), 0);
        assert.equal(await section.getByRole('button', { name: /^Delete key/ }).count(), 0);
        dev.assertNoConsoleErrors();
      },
      { username: 'dev', password: 'Passw0rd1' },
    );
  });

  test('on a phone in dark: the cosign key is deleted, and cosign signatures are no longer checked', async () => {
    await inSignedInPage(browser, server, phoneDark, async (phone) => {
      const { page } = phone;
      await page.goto('/projects/team/configuration');
      const section = page.getByRole('region', { name: 'Trusted keys' });
      await section.getByRole('button', { name: 'Delete key ci' }).waitFor();
      await inspectPage(page, 'project-trust-keys-phone');
      await assertNoOverflow(page);
      await section.getByRole('button', { name: 'Delete key ci' }).click();
      await confirmWith(page, 'Delete');
      await section.getByRole('table', { name: 'Trusted keys' }).getByText('ci', { exact: true }).waitFor({ state: 'detached' });
      assert.deepEqual(
        (await keys()).map((k) => k.name),
        ['root-ca'],
      );

      await page.goto('/projects/team/repositories/app/-/artifacts/other');
      await page.getByRole('table', { name: 'Signatures' }).getByText('signed', { exact: true }).waitFor();
      await inspectPage(page, 'artifact-signatures-phone');
      await assertNoOverflow(page);
      phone.assertNoConsoleErrors();
    });
  });
});
