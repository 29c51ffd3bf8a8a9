import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
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
import { pushBlob, pushImage, pushManifest, sha256, types } from '../helpers/oci.js';
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

/**
 * Signs `subjectDigest` as cosign does with a key pair (its legacy scheme): the simple-signing
 * payload as the one layer of a manifest tagged sha256-<hex>.sig, its ECDSA P-256 signature
 * (ASN.1 DER, base64) in the layer's dev.cosignproject.cosign/signature annotation.
 */
async function cosignSign(server: TestServer, repo: string, subjectDigest: string, key: KeyObject) {
  const payload = JSON.stringify({
    critical: {
      identity: { 'docker-reference': `${new URL(server.url).host}/${repo}` },
      image: { 'docker-manifest-digest': subjectDigest },
      type: 'cosign container image signature',
    },
    optional: null,
  });
  const signature = sign('sha256', Buffer.from(payload), key).toString('base64');
  const config = {
    architecture: '',
    created: '0001-01-01T00:00:00Z',
    history: [{ created: '0001-01-01T00:00:00Z' }],
    os: '',
    rootfs: { type: 'layers', diff_ids: [sha256(payload)] },
    config: {},
  };
  const configBlob = await pushBlob(server.url, repo, JSON.stringify(config), server.admin);
  const layer = await pushBlob(server.url, repo, payload, server.admin);
  const manifest = {
    schemaVersion: 2,
    mediaType: types.manifest,
    config: { mediaType: types.config, digest: configBlob.digest, size: configBlob.size },
    layers: [
      {
        mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
        digest: layer.digest,
        size: layer.size,
        annotations: { 'dev.cosignproject.cosign/signature': signature },
      },
    ],
  };
  const tag = `${subjectDigest.replace(':', '-')}.sig`;
  return pushManifest(server.url, repo, tag, manifest, types.manifest, server.admin);
}

function ecKeyPair() {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { privateKey, pem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/**
 * Signatures in the portal, with real keys and real cosign signatures: without trusted keys
 * a signed image is marked "signed"; a key added in the project's Configuration (a refused
 * PEM shown in words first) makes the one signed with it "verified" and the one signed with
 * another key "unverified", in the list and on the artifact page with signer, key and
 * reason; the cosign policy switch is saved; a maintainer reads the keys but cannot change
 * them; the key is deleted. Light at desktop width and dark on a phone, axe on each.
 */
describe('portal: signatures and trusted keys', { skip }, () => {
  let server: TestServer;
  let browser: Browser;
  let watched: WatchedPage;
  let teamId: number;
  const trusted = ecKeyPair();
  const stranger = ecKeyPair();
  const subjects: Record<string, string> = {};
  const keys = async () => (await api<any[]>(server, 'GET', '/projects/team/trust/keys', { auth: server.admin.authorization })).body;
  const artifactRow = (page: WatchedPage['page'], tag: string) =>
    page.getByRole('table').first().getByRole('row').filter({ hasText: tag }).filter({ hasNotText: '.sig' });
  /** The row's visible mark (on a phone, another column holds it). */
  const mark = (page: WatchedPage['page'], tag: string, text: string) =>
    artifactRow(page, tag).getByText(text, { exact: true }).filter({ visible: true });

  before(async () => {
    server = await startPortalServer();
    teamId = await createProject(server, { project_name: 'team' });
    for (const tag of ['good', 'other', 'plain']) {
      subjects[tag] = (await pushImage(server.url, 'team/app', tag, { headers: server.admin, layer: `layer ${tag}` })).digest;
    }
    await cosignSign(server, 'team/app', subjects.good, trusted.privateKey);
    await cosignSign(server, 'team/app', subjects.other, stranger.privateKey);
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

  test('Configuration: a refused key is explained, a cosign key is added, the cosign policy is switched on', async () => {
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
    await field(dialog, 'Public key (PEM)').fill(trusted.pem);
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

  test('on a phone in dark: the key is deleted, and signatures are no longer checked', async () => {
    await inSignedInPage(browser, server, phoneDark, async (phone) => {
      const { page } = phone;
      await page.goto('/projects/team/configuration');
      const section = page.getByRole('region', { name: 'Trusted keys' });
      await section.getByRole('button', { name: 'Delete key ci' }).waitFor();
      await inspectPage(page, 'project-trust-keys-phone');
      await assertNoOverflow(page);
      await section.getByRole('button', { name: 'Delete key ci' }).click();
      await confirmWith(page, 'Delete');
      await section.getByText('No trusted keys: signatures are not verified.').waitFor();
      assert.deepEqual(await keys(), []);

      await page.goto('/projects/team/repositories/app/-/artifacts/other');
      await page.getByRole('table', { name: 'Signatures' }).getByText('signed', { exact: true }).waitFor();
      await inspectPage(page, 'artifact-signatures-phone');
      await assertNoOverflow(page);
      phone.assertNoConsoleErrors();
    });
  });
});
