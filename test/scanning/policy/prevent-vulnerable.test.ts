import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TokenService } from '../../../src/auth/tokens.js';
import { signingKeyFromDatabase } from '../../../src/auth/signing-key.js';
import { scannerSubject } from '../../../src/scanning/scans/credential.js';
import { api } from '../../helpers/api.js';
import { pushBlob, pushImage, pushManifest, types } from '../../helpers/oci.js';
import { startServer, type TestServer } from '../../helpers/server.js';
import { requireTools, runTool } from '../../helpers/tools.js';
import { createProject } from '../../projects/fixtures.js';
import { defaultScanner, finding, seedReport } from './helpers.js';

let server: TestServer;
let admin: string;
let scanner: string;
const repo = 'guarded/app';
const images: Record<string, string> = {};
const sizes: Record<string, number> = {};
let vulnerableLayer = '';

const clause = (label: string) =>
  `due to configured policy in 'Prevent images with vulnerability severity of "${label}" or higher from running.'`;
const messages = {
  vulnerable: (n: number, label: string) =>
    `current image with ${n} ${n > 1 ? 'vulnerabilities' : 'vulnerability'} cannot be pulled ${clause(label)} ` +
    'To continue with pull, please contact your project administrator to exempt matched vulnerabilities through configuring the CVE allowlist.',
  unscanned: (label: string) =>
    `current image without vulnerability scanning cannot be pulled ${clause(label)} To continue with pull, please contact your project administrator for help.`,
  status: (status: string, label: string) =>
    `current image with "${status}" status of vulnerability scanning cannot be pulled ${clause(label)} To continue with pull, please contact your project administrator for help.`,
};

/** A registry token from /service/token, as docker and skopeo get one. */
async function token(actions = 'pull', auth = admin): Promise<string> {
  const params = new URLSearchParams({ service: 'harbor-registry', scope: `repository:${repo}:${actions}` });
  const res = await fetch(`${server.url}/service/token?${params}`, { headers: { authorization: auth } });
  assert.equal(res.status, 200);
  return ((await res.json()) as { token: string }).token;
}

async function pull(
  reference: string,
  options: { method?: string; bearer?: string; userAgent?: string; path?: 'manifests' | 'blobs' } = {},
) {
  const headers: Record<string, string> = {
    authorization: `Bearer ${options.bearer ?? (await token())}`,
    accept: [types.manifest, types.index, types.dockerManifest, types.dockerList].join(', '),
  };
  if (options.userAgent) headers['user-agent'] = options.userAgent;
  const res = await fetch(`${server.url}/v2/${repo}/${options.path ?? 'manifests'}/${reference}`, {
    method: options.method ?? 'GET',
    headers,
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as any) };
}

function assertRefused(res: { status: number; body: any }, message: string) {
  assert.equal(res.status, 412, JSON.stringify(res.body));
  assert.deepEqual(res.body, { errors: [{ code: 'PROJECTPOLICYVIOLATION', message }] });
}

async function setMetadata(key: string, value: string) {
  const res = await api(server, 'PUT', `/projects/guarded/metadatas/${key}`, { auth: admin, body: { [key]: value } });
  assert.equal(res.status, 200, JSON.stringify(res.body));
}

async function setSystemAllowlist(items: string[], expiresAt: number | null = null) {
  const body = { items: items.map((cve_id) => ({ cve_id })), expires_at: expiresAt };
  assert.equal((await api(server, 'PUT', '/system/CVEAllowlist', { auth: admin, body })).status, 200);
}

before(async () => {
  server = await startServer();
  admin = server.admin.authorization;
  await createProject(server, { project_name: 'guarded', metadata: { prevent_vul: 'true', severity: 'high' } });
  scanner = await defaultScanner(server);
  const headers = { authorization: admin };
  for (const tag of ['vulnerable', 'clean', 'unscanned', 'failed']) {
    const pushed = await pushImage(server.url, repo, tag, { headers, layer: `${tag} layer` });
    images[tag] = pushed.digest;
    sizes[pushed.digest] = pushed.size;
    if (tag === 'vulnerable') vulnerableLayer = pushed.layer.digest;
  }
  await seedReport(server, {
    repository: repo,
    digest: images.vulnerable,
    scanner,
    findings: [finding('CVE-2024-1000', 'High'), finding('CVE-2024-2000', 'Medium', { package: 'zlib' }), finding('CVE-2024-3000', 'Low')],
  });
  await seedReport(server, { repository: repo, digest: images.clean, scanner, findings: [finding('CVE-2024-4000', 'Low')] });
  await seedReport(server, { repository: repo, digest: images.failed, scanner, status: 'Error' });
  // A Helm chart: no scanner can scan it, so an unscanned one passes.
  const config = await pushBlob(server.url, repo, '{"name":"chart","version":"1.0.0"}', headers);
  const layer = await pushBlob(server.url, repo, 'chart tarball', headers);
  const chart = {
    schemaVersion: 2,
    mediaType: types.manifest,
    config: { mediaType: 'application/vnd.cncf.helm.config.v1+json', digest: config.digest, size: config.size },
    layers: [{ mediaType: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip', digest: layer.digest, size: layer.size }],
  };
  images.chart = (await pushManifest(server.url, repo, 'chart', chart, types.manifest, headers)).digest;
  // Indexes: one over scanned images, one over an unscanned one.
  const index = (digests: string[]) => ({
    schemaVersion: 2,
    mediaType: types.index,
    manifests: digests.map((digest, i) => ({
      mediaType: types.manifest,
      digest,
      size: 1,
      platform: { architecture: ['amd64', 'arm64'][i], os: 'linux' },
    })),
  });
  for (const [tag, digests] of [
    ['multi', [images.vulnerable, images.clean]],
    ['multi-unscanned', [images.unscanned]],
    ['multi-partly', [images.clean, images.unscanned]],
  ] as const) {
    const doc = index([...digests]);
    doc.manifests.forEach((m) => (m.size = sizes[m.digest]));
    images[tag] = (await pushManifest(server.url, repo, tag, doc, types.index, headers)).digest;
  }
  // A cosign signature of the vulnerable image (the tag scheme makes it an accessory).
  images.signature = (
    await pushImage(server.url, repo, `${images.vulnerable.replace(':', '-')}.sig`, { headers, layer: 'signature' })
  ).digest;
});
after(async () => server.stop());

describe('prevent vulnerable images (project prevent_vul and severity)', () => {
  test('findings at or above the severity are refused with 412 on GET and HEAD, by tag, by digest and through the blob endpoint', async () => {
    const message = messages.vulnerable(3, 'High');
    assertRefused(await pull('vulnerable'), message);
    assertRefused(await pull(images.vulnerable), message);
    assertRefused(await pull(images.vulnerable, { path: 'blobs' }), message);
    const head = await pull('vulnerable', { method: 'HEAD' });
    assert.equal(head.status, 412);
  });

  test('findings below the severity, charts and signatures pass', async () => {
    assert.equal((await pull('clean')).status, 200);
    assert.equal((await pull('chart')).status, 200);
    assert.equal((await pull(images.signature)).status, 200);
    // Layers are never gated: only the manifest is.
    const layer = await fetch(`${server.url}/v2/${repo}/blobs/${vulnerableLayer}`, {
      headers: { authorization: `Bearer ${await token()}` },
    });
    assert.equal(layer.status, 200);
    assert.equal(await layer.text(), 'vulnerable layer');
  });

  test('an unscanned image and a failed scan are refused, as in Harbor', async () => {
    assertRefused(await pull('unscanned'), messages.unscanned('High'));
    assertRefused(await pull('failed'), messages.status('Error', 'High'));
  });

  test('an index passes when its children were scanned (each child is judged when pulled), not when one was never scanned', async () => {
    assert.equal((await pull('multi')).status, 200);
    assertRefused(await pull('multi-unscanned'), messages.unscanned('High'));
    assertRefused(await pull('multi-partly'), messages.unscanned('High'));
  });

  test('the system allowlist exempts its CVEs until it expires', async () => {
    await setSystemAllowlist(['CVE-2024-1000']);
    // One High allowlisted: Medium and Low remain, below High.
    assert.equal((await pull('vulnerable')).status, 200);
    await setSystemAllowlist(['CVE-2024-1000'], Math.floor(Date.now() / 1000) - 60);
    assertRefused(await pull('vulnerable'), messages.vulnerable(3, 'High'));
    await setSystemAllowlist([]);
  });

  test("a project that does not reuse the system's list is judged by its own", async () => {
    await setSystemAllowlist(['CVE-2024-1000']);
    await setMetadata('reuse_sys_cve_allowlist', 'false');
    assertRefused(await pull('vulnerable'), messages.vulnerable(3, 'High'));
    assert.equal(
      (await api(server, 'PUT', '/projects/guarded', { auth: admin, body: { cve_allowlist: { items: [{ cve_id: 'CVE-2024-1000' }] } } }))
        .status,
      200,
    );
    assert.equal((await pull('vulnerable')).status, 200);
    await setMetadata('severity', 'medium');
    assertRefused(await pull('vulnerable'), messages.vulnerable(2, 'Medium'));
    await setMetadata('severity', 'critical');
    assert.equal((await pull('vulnerable')).status, 200);
    await setMetadata('severity', 'none');
    assertRefused(await pull('clean'), messages.vulnerable(1, 'None'));
    await setMetadata('severity', 'high');
    await setMetadata('reuse_sys_cve_allowlist', 'true');
    await setSystemAllowlist([]);
  });

  test("the scanner's own credential and signers whose token may push are let through", async () => {
    const key = await signingKeyFromDatabase(server.berth.database.db, `${server.dataDir}/unused.key`);
    const tokens = await TokenService.open({ pem: key, lifetimeSeconds: 300 });
    const scan = await tokens.issue(scannerSubject('Berth built-in', '00000000-0000-0000-0000-000000000001'), [
      { type: 'repository', name: repo, actions: ['pull'] },
    ]);
    assert.equal((await pull('unscanned', { bearer: scan.token })).status, 200);
    const push = await token('pull,push');
    assert.equal((await pull('vulnerable', { bearer: push, userAgent: 'cosign/v2.4.1 (linux; amd64)' })).status, 200);
    assert.equal((await pull('vulnerable', { bearer: push, userAgent: 'notation/v1.2.0' })).status, 200);
    // Pull-only signers, and pushers that are not signers, are judged like anyone.
    assertRefused(await pull('vulnerable', { userAgent: 'cosign/v2.4.1 (linux; amd64)' }), messages.vulnerable(3, 'High'));
    assertRefused(await pull('vulnerable', { bearer: push, userAgent: 'docker/27.0' }), messages.vulnerable(3, 'High'));
  });

  test('turning prevent_vul off lets every pull through at once, and on again refuses them', async () => {
    await setMetadata('prevent_vul', 'false');
    for (const tag of ['vulnerable', 'unscanned', 'failed']) assert.equal((await pull(tag)).status, 200, tag);
    await setMetadata('prevent_vul', 'true');
    assertRefused(await pull('vulnerable'), messages.vulnerable(3, 'High'));
  });

  const skip = requireTools('skopeo');
  test('skopeo is refused with the policy message, and pulls once the CVEs are allowlisted', { skip }, async () => {
    const host = new URL(server.url).host;
    const args = ['inspect', '--raw', '--tls-verify=false', '--creds', 'admin:Harbor12345', `docker://${host}/${repo}:vulnerable`];
    await assert.rejects(runTool('skopeo', args), (err: Error) => {
      assert.match(err.message, /cannot be pulled due to configured policy/);
      return true;
    });
    await setSystemAllowlist(['CVE-2024-1000', 'CVE-2024-2000']);
    const out = await runTool('skopeo', args);
    assert.equal(JSON.parse(out.stdout).mediaType, types.manifest);
    await setSystemAllowlist([]);
  });
});
