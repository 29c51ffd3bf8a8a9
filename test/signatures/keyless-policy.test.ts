import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { api } from '../helpers/api.js';
import { cosignKeyPair, cosignLayer, pushCosignSignatureOf, simpleSigningPayload } from '../helpers/cosign-sign.js';
import { pushImage, types } from '../helpers/oci.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { createPrivateSigstore, issueFulcioCertificate, legacyKeylessAnnotations, type PrivateSigstore } from '../helpers/sigstore-sign.js';
import { createProject } from '../projects/fixtures.js';

let server: TestServer;
let sigstore: PrivateSigstore;
const repo = 'keyless/app';

async function pull(tag: string) {
  const params = new URLSearchParams({ service: 'harbor-registry', scope: `repository:${repo}:pull` });
  const token = ((await (await fetch(`${server.url}/service/token?${params}`, { headers: server.admin })).json()) as { token: string })
    .token;
  const res = await fetch(`${server.url}/v2/${repo}/manifests/${tag}`, {
    headers: { authorization: `Bearer ${token}`, accept: types.manifest },
  });
  return { status: res.status, body: await res.text() };
}

async function signatures(tag: string) {
  const res = await api(server, 'GET', `/projects/keyless/repositories/app/artifacts/${tag}`, { auth: server.admin.authorization });
  return res.body.signatures as any[];
}

async function push(tag: string) {
  const pushed = await pushImage(server.url, repo, tag, { headers: server.admin, layer: `${tag} ${Math.random()}` });
  return { digest: pushed.digest, mediaType: types.manifest, size: pushed.size };
}

before(async () => {
  server = await startServer();
  sigstore = await createPrivateSigstore('keyless-policy');
  await createProject(server, { project_name: 'keyless', metadata: { enable_content_trust_cosign: 'true' } });
});

after(() => server.stop());

test("cosign 2's keyless .sig layers count under the project's trusted root, beside key-based layers", async () => {
  const image = await push('v1');
  const payload = simpleSigningPayload(`registry.example.com/${repo}`, image.digest);
  const certificate = await issueFulcioCertificate(sigstore, { email: 'ci@example.com', issuer: 'https://issuer.example' });
  // cosign appends: a key-based layer by a key nobody trusts, then a keyless one.
  await pushCosignSignatureOf(server, repo, image, [
    cosignLayer(cosignKeyPair(), payload),
    { payload, annotations: legacyKeylessAnnotations(payload, certificate, sigstore) },
  ]);
  // With a cosign key only, neither layer verifies.
  const cosignKey = await api(server, 'POST', '/projects/keyless/trust/keys', {
    auth: server.admin.authorization,
    body: { name: 'release', type: 'cosign', pem: cosignKeyPair().publicPem },
  });
  assert.equal(cosignKey.status, 201);
  assert.equal((await pull('v1')).status, 412);
  const [refused] = await signatures('v1');
  assert.equal(refused.status, 'unverified');
  assert.match(refused.reason, /does not verify with the project's cosign key/);
  // Trusting the private Sigstore's root makes the keyless layer count, naming the identity.
  const root = await api(server, 'POST', '/projects/keyless/trust/keys', {
    auth: server.admin.authorization,
    body: { name: 'private sigstore', type: 'sigstore-root', pem: JSON.stringify(sigstore.trustedRoot()) },
  });
  assert.equal(root.status, 201, JSON.stringify(root.body));
  assert.equal((await pull('v1')).status, 200);
  const [view] = await signatures('v1');
  assert.equal(view.status, 'verified', view.reason);
  assert.equal(view.signer, 'ci@example.com (issuer https://issuer.example)');
  assert.equal(view.key_name, 'private sigstore');

  // A keyless layer under another Sigstore does not count.
  const stranger = await createPrivateSigstore('stranger');
  const other = await push('v2');
  const otherPayload = simpleSigningPayload(`registry.example.com/${repo}`, other.digest);
  const strangerCert = await issueFulcioCertificate(stranger, { ctlog: stranger.ctlog });
  await pushCosignSignatureOf(server, repo, other, [
    { payload: otherPayload, annotations: legacyKeylessAnnotations(otherPayload, strangerCert, stranger) },
  ]);
  assert.equal((await pull('v2')).status, 412);
  assert.equal((await signatures('v2'))[0].status, 'unverified');
});
