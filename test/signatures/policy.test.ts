import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { signingKeyFromDatabase } from '../../src/auth/signing-key.js';
import { TokenService } from '../../src/auth/tokens.js';
import { scannerSubject } from '../../src/scanning/scans/credential.js';
import { api } from '../helpers/api.js';
import { cosignKeyPair, cosignLayer, pushCosignSignatureOf, signPayload, simpleSigningPayload } from '../helpers/cosign-sign.js';
import { pushBlob, pushImage, pushManifest, types } from '../helpers/oci.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { requireTools, runTool } from '../helpers/tools.js';
import { createProject } from '../projects/fixtures.js';
import { selfSignedCertificate } from './fixtures.js';

let server: TestServer;
let admin: string;
const repo = 'signed/app';
const images: Record<string, { digest: string; mediaType: string; size: number }> = {};
const k1 = cosignKeyPair('ecdsa-p256');
const k2 = cosignKeyPair('ed25519');
const k3 = cosignKeyPair('rsa-2048');
const keyIds: Record<string, number> = {};
const cosignRefusal = 'The image is not signed by cosign.';
const notationRefusal = 'The image is not signed by notation.';

const accept = [types.manifest, types.index, types.dockerManifest, types.dockerList].join(', ');

/** A registry token from /service/token, as docker, cosign and notation get one. */
async function token(repository: string, actions = 'pull'): Promise<string> {
  const params = new URLSearchParams({ service: 'harbor-registry', scope: `repository:${repository}:${actions}` });
  const res = await fetch(`${server.url}/service/token?${params}`, { headers: { authorization: admin } });
  assert.equal(res.status, 200);
  return ((await res.json()) as { token: string }).token;
}

async function pull(reference: string, options: { repository?: string; bearer?: string; userAgent?: string; method?: string } = {}) {
  const repository = options.repository ?? repo;
  const headers: Record<string, string> = { authorization: `Bearer ${options.bearer ?? (await token(repository))}`, accept };
  if (options.userAgent) headers['user-agent'] = options.userAgent;
  const res = await fetch(`${server.url}/v2/${repository}/manifests/${reference}`, { method: options.method ?? 'GET', headers });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : (JSON.parse(text) as any) };
}

function assertRefused(res: { status: number; body: any }, message = cosignRefusal) {
  assert.equal(res.status, 412, JSON.stringify(res.body));
  assert.deepEqual(res.body, { errors: [{ code: 'PROJECTPOLICYVIOLATION', message }] });
}

async function signatures(reference: string, repository = repo) {
  const [project, ...rest] = repository.split('/');
  const res = await api(server, 'GET', `/projects/${project}/repositories/${encodeURIComponent(rest.join('/'))}/artifacts/${reference}`, {
    auth: admin,
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.signatures as any[];
}

async function addKey(name: string, type: string, pem: string, project = 'signed') {
  const res = await api(server, 'POST', `/projects/${project}/trust/keys`, { auth: admin, body: { name, type, pem } });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  keyIds[name] = Number(res.headers.get('location')!.split('/').pop());
}

async function removeKey(name: string, project = 'signed') {
  assert.equal((await api(server, 'DELETE', `/projects/${project}/trust/keys/${keyIds[name]}`, { auth: admin })).status, 200);
}

async function push(repository: string, tag: string | null) {
  const pushed = await pushImage(server.url, repository, tag ?? `tmp-${Math.random()}`, {
    headers: server.admin,
    layer: `${repository}:${tag} ${Math.random()}`,
  });
  return { digest: pushed.digest, mediaType: types.manifest, size: pushed.size };
}

/**
 * A manifest laid out as `notation sign` stores one (artifactType, empty config, one JWS
 * layer, subject) whose envelope is not a real signature: enough for Harbor's existence check.
 */
async function pushNotationLike(target: TestServer, repository: string, subject: { digest: string; mediaType: string; size: number }) {
  const config = await pushBlob(target.url, repository, '{}', target.admin);
  const envelope = await pushBlob(
    target.url,
    repository,
    JSON.stringify({ payload: '', protected: '', header: {}, signature: '' }),
    target.admin,
  );
  const manifest = {
    schemaVersion: 2,
    mediaType: types.manifest,
    artifactType: 'application/vnd.cncf.notary.signature',
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: config.digest, size: config.size },
    layers: [{ mediaType: 'application/jose+json', digest: envelope.digest, size: envelope.size }],
    subject,
    annotations: { 'io.cncf.notary.x509chain.thumbprint#S256': '["00"]' },
  };
  return pushManifest(target.url, repository, null, manifest, types.manifest, target.admin);
}

before(async () => {
  server = await startServer();
  admin = server.admin.authorization;
  await createProject(server, { project_name: 'signed', metadata: { enable_content_trust_cosign: 'true' } });
  await createProject(server, { project_name: 'open' });
  await createProject(server, { project_name: 'notary', metadata: { enable_content_trust: 'true' } });
  await createProject(server, { project_name: 'both', metadata: { enable_content_trust: 'true', enable_content_trust_cosign: 'true' } });
  for (const tag of ['unsigned', 'a', 'b', 'c', 'd', 'e', 'f']) images[tag] = await push(repo, tag);
  images.open = await push('open/app', 'latest');
});

after(() => server.stop());

describe('content trust on pulls', () => {
  test("an unsigned image is refused with 412 and Harbor's message; without the policy it is pulled", async () => {
    assertRefused(await pull('unsigned'));
    assertRefused(await pull(images.unsigned.digest));
    // HEAD too (crane digest, docker's first request): the status, without a body.
    assert.equal((await pull('unsigned', { method: 'HEAD' })).status, 412);
    assert.equal((await pull('latest', { repository: 'open/app' })).status, 200);
    assert.deepEqual(await signatures('unsigned'), []);
  });

  test('without trusted keys a cosign signature that exists is enough (as Harbor), shown as signed', async () => {
    const payload = simpleSigningPayload(`registry.example.com/${repo}`, images.a.digest);
    const sig = await pushCosignSignatureOf(server, repo, images.a, [cosignLayer(k1, payload)]);
    assert.equal((await pull('a')).status, 200);
    assert.deepEqual(await signatures('a'), [{ digest: sig.digest, kind: 'cosign', status: 'signed' }]);
    // Even a signature by an unknown key counts while the project trusts no key.
    const other = simpleSigningPayload(`registry.example.com/${repo}`, images.b.digest);
    await pushCosignSignatureOf(server, repo, images.b, [cosignLayer(k2, other)], 'referrer');
    assert.equal((await pull('b')).status, 200);
  });

  test('with a cosign key, only signatures that verify against it for that digest count', async () => {
    await addKey('k1', 'cosign', k1.publicPem);
    // a: signed by k1 → verified.
    assert.equal((await pull('a')).status, 200);
    const [view] = await signatures('a');
    assert.deepEqual(
      { ...view, digest: undefined },
      {
        digest: undefined,
        kind: 'cosign',
        status: 'verified',
        signer: 'k1',
        key_name: 'k1',
        reason: 'verified with cosign key "k1"',
      },
    );
    // b: signed by k2, which the project does not trust.
    assertRefused(await pull('b'));
    const [b] = await signatures('b');
    assert.equal(b.status, 'unverified');
    assert.match(b.reason, /does not verify with the project's cosign key/);
    // c: a real k1 signature, but of a's digest, attached to c.
    const wrongDigest = simpleSigningPayload(`registry.example.com/${repo}`, images.a.digest);
    await pushCosignSignatureOf(server, repo, images.c, [cosignLayer(k1, wrongDigest)]);
    assertRefused(await pull('c'));
    assert.equal((await signatures('c'))[0].reason, `the payload signs ${images.a.digest}, not ${images.c.digest}`);
    // d: the payload changed after signing (the signature is k1's over the original).
    const original = simpleSigningPayload(`registry.example.com/${repo}`, images.d.digest);
    const tampered = Buffer.from(original.toString().replace(`registry.example.com/${repo}`, 'evil.example.com/app'));
    await pushCosignSignatureOf(server, repo, images.d, [{ payload: tampered, signature: signPayload(k1, original) }]);
    assertRefused(await pull('d'));
    assert.equal((await signatures('d'))[0].status, 'unverified');
    // e: two layers in one .sig (cosign appends): one by k2, one by k1; the k1 one counts.
    const payloadE = simpleSigningPayload(`registry.example.com/${repo}`, images.e.digest);
    await pushCosignSignatureOf(server, repo, images.e, [cosignLayer(k2, payloadE), cosignLayer(k1, payloadE)]);
    assert.equal((await pull('e')).status, 200);
  });

  test('OCI 1.1 cosign signatures and RSA and Ed25519 keys verify; adding a key re-judges at once', async () => {
    // b's signature is by k2 (Ed25519, OCI 1.1 referrer): trusting k2 makes it count.
    await addKey('k2', 'cosign', k2.publicPem);
    assert.equal((await pull('b')).status, 200);
    assert.equal((await signatures('b'))[0].key_name, 'k2');
    const payload = simpleSigningPayload(`registry.example.com/${repo}`, images.f.digest);
    await pushCosignSignatureOf(server, repo, images.f, [cosignLayer(k3, payload)], 'referrer');
    assertRefused(await pull('f'));
    await addKey('k3', 'cosign', k3.publicPem);
    assert.equal((await pull('f')).status, 200);
    assert.equal((await signatures('f'))[0].status, 'verified');
  });

  test('removing a key stops its signatures counting; with no key left, existence counts again', async () => {
    await removeKey('k1');
    assertRefused(await pull('a'));
    assert.equal((await signatures('a'))[0].status, 'unverified');
    assert.equal((await pull('b')).status, 200);
    await removeKey('k2');
    await removeKey('k3');
    assert.equal((await pull('a')).status, 200);
    assert.equal((await signatures('a'))[0].status, 'signed');
    await addKey('k1', 'cosign', k1.publicPem);
  });

  test("Harbor's bypasses: the scanner, push-capable signers, and signatures themselves", async () => {
    const key = await signingKeyFromDatabase(server.berth.database.db, `${server.dataDir}/unused.key`);
    const tokens = await TokenService.open({ pem: key, lifetimeSeconds: 300 });
    const scan = await tokens.issue(scannerSubject('Berth built-in', '00000000-0000-0000-0000-000000000001'), [
      { type: 'repository', name: repo, actions: ['pull'] },
    ]);
    assert.equal((await pull('unsigned', { bearer: scan.token })).status, 200);
    const pusher = await token(repo, 'pull,push');
    assert.equal((await pull('unsigned', { bearer: pusher, userAgent: 'cosign/v2.4.1 (linux; amd64)' })).status, 200);
    assert.equal((await pull('unsigned', { bearer: pusher, userAgent: 'notation/v1.2.0' })).status, 200);
    assertRefused(await pull('unsigned', { userAgent: 'cosign/v2.4.1 (linux; amd64)' }));
    assertRefused(await pull('unsigned', { bearer: pusher, userAgent: 'docker/27.0' }));
    // The signature manifest itself (cosign verify reads it), even one that does not verify.
    const subject = await push(repo, 'signed-by-stranger');
    const stranger = await pushCosignSignatureOf(server, repo, subject, [cosignLayer(k2, simpleSigningPayload('r', subject.digest))]);
    assertRefused(await pull('signed-by-stranger'));
    assert.equal((await pull(stranger.digest)).status, 200);
    assert.equal((await pull(`${subject.digest.replace(':', '-')}.sig`)).status, 200);
  });

  test('an index is judged by its own signatures, and so is each child pulled by digest', async () => {
    const children = [await push(repo, null), await push(repo, null)];
    const index = {
      schemaVersion: 2,
      mediaType: types.index,
      manifests: children.map((c, i) => ({
        mediaType: c.mediaType,
        digest: c.digest,
        size: c.size,
        platform: { architecture: ['amd64', 'arm64'][i], os: 'linux' },
      })),
    };
    const pushed = await pushManifest(server.url, repo, 'multi', index, types.index, server.admin);
    assertRefused(await pull('multi'));
    const subject = { digest: pushed.digest, mediaType: types.index, size: pushed.size };
    await pushCosignSignatureOf(server, repo, subject, [cosignLayer(k1, simpleSigningPayload('r', pushed.digest))]);
    assert.equal((await pull('multi')).status, 200);
    assert.equal((await signatures('multi'))[0].status, 'verified');
    assertRefused(await pull(children[0].digest));
    await pushCosignSignatureOf(server, repo, children[0], [cosignLayer(k1, simpleSigningPayload('r', children[0].digest))]);
    assert.equal((await pull(children[0].digest)).status, 200);
  });

  test("Notation's policy asks for a Notation signature; with both policies on, both are needed", async () => {
    const n = await push('notary/app', 'v1');
    assertRefused(await pull('v1', { repository: 'notary/app' }), notationRefusal);
    await pushCosignSignatureOf(server, 'notary/app', n, [cosignLayer(k1, simpleSigningPayload('r', n.digest))]);
    assertRefused(await pull('v1', { repository: 'notary/app' }), notationRefusal);
    await pushNotationLike(server, 'notary/app', n);
    assert.equal((await pull('v1', { repository: 'notary/app' })).status, 200);
    const views = await signatures('v1', 'notary/app');
    assert.deepEqual(
      views.map((v) => [v.kind, v.status]),
      [
        ['cosign', 'signed'],
        ['notation', 'signed'],
      ],
    );

    // With a Notation trust store, a Notation signature must verify against it: this one cannot.
    await addKey('notation-root', 'notation-ca', (await selfSignedCertificate('notation root', true)).pem, 'notary');
    assertRefused(await pull('v1', { repository: 'notary/app' }), notationRefusal);
    const judged = await signatures('v1', 'notary/app');
    assert.deepEqual(
      judged.map((v) => [v.kind, v.status]),
      [
        ['cosign', 'signed'],
        ['notation', 'unverified'],
      ],
    );
    assert.ok(judged[1].reason);

    const both = await push('both/app', 'v1');
    assertRefused(await pull('v1', { repository: 'both/app' }), cosignRefusal);
    await pushNotationLike(server, 'both/app', both);
    assertRefused(await pull('v1', { repository: 'both/app' }), cosignRefusal);
    await pushCosignSignatureOf(server, 'both/app', both, [cosignLayer(k1, simpleSigningPayload('r', both.digest))]);
    assert.equal((await pull('v1', { repository: 'both/app' })).status, 200);
  });

  const skip = requireTools('skopeo');
  test("skopeo is refused with Harbor's message for an unsigned image and reads a verified one", { skip }, async () => {
    const host = new URL(server.url).host;
    const args = (tag: string) => [
      'inspect',
      '--raw',
      '--tls-verify=false',
      '--creds',
      'admin:Harbor12345',
      `docker://${host}/${repo}:${tag}`,
    ];
    await assert.rejects(runTool('skopeo', args('unsigned')), (err: Error) => {
      assert.match(err.message, /The image is not signed by cosign\./);
      return true;
    });
    assert.equal((await signatures('e'))[0].status, 'verified');
    const out = await runTool('skopeo', args('e'));
    assert.equal(JSON.parse(out.stdout).mediaType, types.manifest);
  });

  test('turning the policy off lets unsigned images through; on again refuses them', async () => {
    const set = (value: string) =>
      api(server, 'PUT', '/projects/signed/metadatas/enable_content_trust_cosign', {
        auth: admin,
        body: { enable_content_trust_cosign: value },
      });
    assert.equal((await set('false')).status, 200);
    assert.equal((await pull('unsigned')).status, 200);
    assert.equal((await set('true')).status, 200);
    assertRefused(await pull('unsigned'));
  });
});

describe('signatures on the artifact API', () => {
  test('lists carry them only with with_signature=true; a single GET always', async () => {
    const plain = await api(server, 'GET', '/projects/signed/repositories/app/artifacts?page_size=100', { auth: admin });
    assert.equal(plain.status, 200);
    assert.ok(plain.body.every((a: any) => !('signatures' in a)));
    const listed = await api(server, 'GET', '/projects/signed/repositories/app/artifacts?with_signature=true&page_size=100', {
      auth: admin,
    });
    const byDigest = new Map(listed.body.map((a: any) => [a.digest, a.signatures]));
    assert.deepEqual(byDigest.get(images.unsigned.digest), []);
    assert.deepEqual(
      (byDigest.get(images.a.digest) as any[]).map((s) => [s.kind, s.status, s.key_name]),
      [['cosign', 'verified', 'k1']],
    );
    const project = await api(server, 'GET', '/projects/signed/artifacts?with_signature=true&page_size=100', { auth: admin });
    assert.equal(project.status, 200);
    assert.ok(project.body.every((a: any) => Array.isArray(a.signatures)));
  });

  test('verification results are cached per signature, subject and key set', async () => {
    const rows = await server.berth.database.db.selectFrom('signature_verifications').selectAll().execute();
    assert.ok(rows.length > 0);
    assert.ok(rows.some((r) => Number(r.verified) === 1) && rows.some((r) => Number(r.verified) === 0));
  });
});
