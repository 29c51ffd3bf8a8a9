import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { SignatureInput, TrustKey } from '../../src/signatures/types.js';
import { verifyNotation } from '../../src/signatures/verify/notation.js';
import {
  createRootCa,
  extendedKeyUsage,
  issueCertificate,
  notationManifest,
  sha256Digest,
  signEnvelope,
  type Issued,
  type SignOptions,
  type Subject,
} from '../helpers/notation-sign.js';
import { api } from '../helpers/api.js';
import { pushBlob, pushImage, pushManifest, types } from '../helpers/oci.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { createProject } from '../projects/fixtures.js';

const day = 24 * 60 * 60 * 1000;
const imageManifest = Buffer.from(
  JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', layers: [] }),
);
const subject: Subject = {
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  digest: sha256Digest(imageManifest),
  size: imageManifest.length,
};

function trustKey(name: string, pem: string, type: TrustKey['type'] = 'notation-ca'): TrustKey {
  return { id: 1, projectId: 1, name, type, pem, fingerprint: 'f', createdAt: new Date().toISOString() };
}

/** What the signature service hands a verifier for a pushed signature: its manifest and a blob reader. */
function input(
  options: Partial<SignOptions> & { chain: Issued[] },
  overrides: { subject?: Subject; blob?: (b: Buffer) => Buffer; manifest?: (m: any) => any } = {},
): SignatureInput {
  const signed = signEnvelope({ format: 'jws', subject, ...options });
  const manifest = (overrides.manifest ?? ((m) => m))(notationManifest(signed, subject, options.chain));
  const blobs = new Map([[manifest.layers[0]?.digest as string, (overrides.blob ?? ((b) => b))(signed.envelope)]]);
  return {
    subject: { ...(overrides.subject ?? subject), repository: 'library/app' },
    signature: {
      digest: sha256Digest(JSON.stringify(manifest)),
      mediaType: manifest.mediaType,
      artifactType: manifest.artifactType,
      manifest,
    },
    readBlob: async (digest) => {
      const blob = blobs.get(digest);
      if (!blob) throw new Error(`blob ${digest} unknown`);
      return blob;
    },
  };
}

let root: Issued;
let leaf: Issued;
let otherRoot: Issued;
let keys: TrustKey[];
before(async () => {
  root = await createRootCa();
  leaf = await issueCertificate(root);
  otherRoot = await createRootCa({ name: 'C=US, ST=WA, O=Someone Else, CN=Other Root' });
  keys = [trustKey('acme-root', root.pem), trustKey('a cosign key', '-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----', 'cosign')];
});

for (const format of ['jws', 'cose'] as const) {
  describe(`Notation ${format.toUpperCase()} envelopes`, () => {
    test('a signature by a code-signing certificate issued by the trusted root verifies, naming the signer', async () => {
      const result = await verifyNotation(input({ format, chain: [leaf, root] }), keys);
      assert.equal(result.verified, true, result.reason);
      assert.equal(result.signer, 'C=US, ST=WA, L=Seattle, O=Berth Test, CN=Berth Test Signer');
      assert.equal(result.keyName, 'acme-root');
    });

    test('every algorithm Notation allows: RSA 2048/3072 with PSS, EC P-384 and P-521', async () => {
      for (const kind of ['rsa-2048', 'rsa-3072', 'ec-p384', 'ec-p521'] as const) {
        const signer = await issueCertificate(root, { kind });
        const result = await verifyNotation(input({ format, chain: [signer, root] }), keys);
        assert.equal(result.verified, true, `${kind}: ${result.reason}`);
      }
    });

    test('a chain through an intermediate CA, and a store holding the intermediate only', async () => {
      const intermediate = await issueCertificate(root, { ca: true, subject: 'C=US, ST=WA, O=Berth Test, CN=Intermediate' });
      const signer = await issueCertificate(intermediate);
      assert.equal((await verifyNotation(input({ format, chain: [signer, intermediate, root] }), keys)).verified, true);
      const onlyIntermediate = [trustKey('intermediate', intermediate.pem)];
      assert.equal((await verifyNotation(input({ format, chain: [signer, intermediate, root] }), onlyIntermediate)).verified, true);
      const missing = await verifyNotation(input({ format, chain: [signer, root] }), keys);
      assert.equal(missing.verified, false);
      assert.match(missing.reason!, /not issued and signed by the next certificate/);
    });

    test('a certificate from another root (untrusted CA) does not verify', async () => {
      const stranger = await issueCertificate(otherRoot);
      const result = await verifyNotation(input({ format, chain: [stranger, otherRoot] }), keys);
      assert.equal(result.verified, false);
      assert.match(result.reason!, /no certificate of the chain is in the project's notation trust store/);
    });

    test('a chain claiming the trusted root without being signed by it does not verify', async () => {
      const stranger = await issueCertificate(otherRoot, { subject: 'C=US, ST=WA, O=Mallory, CN=Mallory' });
      const result = await verifyNotation(input({ format, chain: [stranger, root] }), keys);
      assert.equal(result.verified, false);
      assert.match(result.reason!, /is not issued and signed by the next certificate/);
    });

    test('a signature for another digest, media type or size does not count for this artifact', async () => {
      const other = { ...subject, digest: sha256Digest('another manifest') };
      const wrongDigest = await verifyNotation(input({ format, chain: [leaf, root], subject: other }), keys);
      assert.equal(wrongDigest.verified, false);
      assert.match(wrongDigest.reason!, /the payload signs "sha256:[0-9a-f]+", not sha256:/);
      const wrongType = await verifyNotation(
        input({ format, chain: [leaf, root], targetArtifact: { ...subject, mediaType: 'application/vnd.oci.image.index.v1+json' } }),
        keys,
      );
      assert.match(wrongType.reason!, /targetArtifact.mediaType/);
      const wrongSize = await verifyNotation(
        input({ format, chain: [leaf, root], targetArtifact: { ...subject, size: subject.size + 1 } }),
        keys,
      );
      assert.match(wrongSize.reason!, /targetArtifact.size/);
    });

    test('a tampered envelope does not verify (payload bytes changed after signing)', async () => {
      const tamper = (blob: Buffer): Buffer => {
        if (format === 'jws') {
          const jws = JSON.parse(blob.toString());
          const payload = JSON.parse(Buffer.from(jws.payload, 'base64url').toString());
          payload.targetArtifact.annotations = { injected: 'yes' };
          jws.payload = Buffer.from(JSON.stringify(payload)).toString('base64url');
          return Buffer.from(JSON.stringify(jws));
        }
        // The payload's JSON sits inside the CBOR byte string: change one byte of it, same length.
        const at = blob.indexOf(Buffer.from('"size":'));
        const copy = Buffer.from(blob);
        copy[at + 1] = 'S'.charCodeAt(0);
        return copy;
      };
      const result = await verifyNotation(input({ format, chain: [leaf, root] }, { blob: tamper, manifest: (m) => m }), keys);
      // The layer digest no longer matches the tampered blob; the reader must refuse it first.
      assert.equal(result.verified, false);
      assert.match(result.reason!, /does not have the layer's digest/);
      // With the manifest rewritten to the tampered blob's digest, the signature itself fails.
      let tamperedBlob!: Buffer;
      const rewritten = input(
        { format, chain: [leaf, root] },
        {
          blob: (b) => (tamperedBlob = tamper(b)),
          manifest: (m) => m,
        },
      );
      rewritten.signature.manifest.layers[0].digest = sha256Digest(tamperedBlob);
      const original = rewritten.readBlob;
      rewritten.readBlob = async (digest) => (digest === sha256Digest(tamperedBlob) ? tamperedBlob : original(digest));
      const signatureResult = await verifyNotation(rewritten, keys);
      assert.equal(signatureResult.verified, false);
      assert.match(signatureResult.reason!, /signature does not verify with the signing certificate's key/);
    });

    test("signed with a key other than the certificate's (wrong key) does not verify", async () => {
      const impostor = await issueCertificate(root);
      // The impostor's private key signs; the envelope carries the trusted leaf's certificate.
      const result = await verifyNotation(input({ format, chain: [{ ...leaf, privateKey: impostor.privateKey }, root] }), keys);
      assert.equal(result.verified, false);
      assert.match(result.reason!, /does not verify/);
    });

    test('an expired signature (io.cncf.notary.expiry passed) does not verify', async () => {
      const result = await verifyNotation(
        input({ format, chain: [leaf, root], signingTime: new Date(Date.now() - 2 * 3600_000), expiry: new Date(Date.now() - 3600_000) }),
        keys,
      );
      assert.equal(result.verified, false);
      assert.match(result.reason!, /the signature expired at/);
      const later = await verifyNotation(input({ format, chain: [leaf, root], expiry: new Date(Date.now() + 3600_000) }), keys);
      assert.equal(later.verified, true, later.reason);
    });

    test('an expired or not yet valid certificate does not verify; with signingAuthority the authentic signing time counts', async () => {
      const expired = await issueCertificate(root, { notBefore: new Date(Date.now() - 10 * day), notAfter: new Date(Date.now() - day) });
      const result = await verifyNotation(input({ format, chain: [expired, root] }), keys);
      assert.equal(result.verified, false);
      assert.match(result.reason!, /is not valid at/);
      const future = await issueCertificate(root, { notBefore: new Date(Date.now() + day), notAfter: new Date(Date.now() + 10 * day) });
      assert.equal((await verifyNotation(input({ format, chain: [future, root] }), keys)).verified, false);
      const authentic = await verifyNotation(
        input({ format, chain: [expired, root], authenticSigningTime: new Date(Date.now() - 5 * day) }),
        keys,
      );
      assert.equal(authentic.verified, true, authentic.reason);
      const outside = await verifyNotation(
        input({ format, chain: [expired, root], authenticSigningTime: new Date(Date.now() - 20 * day) }),
        keys,
      );
      assert.equal(outside.verified, false);
    });

    test('certificate requirements: code-signing EKU, digitalSignature key usage, critical, CA constraints', async () => {
      const serverCert = await issueCertificate(root, { extendedKeyUsages: [extendedKeyUsage.serverAuth] });
      const eku = await verifyNotation(input({ format, chain: [serverCert, root] }), keys);
      assert.equal(eku.verified, false);
      assert.match(eku.reason!, /extendedKeyUsage has serverAuth/);
      const timestamping = await issueCertificate(root, {
        extendedKeyUsages: [extendedKeyUsage.codeSigning, extendedKeyUsage.timeStamping],
      });
      assert.match((await verifyNotation(input({ format, chain: [timestamping, root] }), keys)).reason!, /timeStamping/);
      // The specification makes the extension optional: without one the certificate is accepted.
      const noEku = await issueCertificate(root, { extendedKeyUsages: null });
      assert.equal((await verifyNotation(input({ format, chain: [noEku, root] }), keys)).verified, true);
      const notCritical = await issueCertificate(root, { keyUsageCritical: false });
      assert.match(
        (await verifyNotation(input({ format, chain: [notCritical, root] }), keys)).reason!,
        /keyUsage extension is not critical/,
      );
      const encipher = await issueCertificate(root, { keyUsage: 1 | 4 /* digitalSignature | keyEncipherment in @peculiar/x509 flags */ });
      assert.match((await verifyNotation(input({ format, chain: [encipher, root] }), keys)).reason!, /also allows keyEncipherment/);
      const caAsLeaf = await issueCertificate(root, { ca: true });
      assert.match((await verifyNotation(input({ format, chain: [caAsLeaf, root] }), keys)).reason!, /is a CA certificate/);
    });

    test('alg must match the signing key; every crit entry must be understood and present', async () => {
      const wrongAlg = await verifyNotation(input({ format, chain: [leaf, root], alg: 'ES384' }), keys);
      assert.equal(wrongAlg.verified, false);
      assert.match(wrongAlg.reason!, /the algorithm ES384 does not match the signing certificate's key \(ES256\)/);
      const plugin = await verifyNotation(
        input({
          format,
          chain: [leaf, root],
          extraProtected: { 'io.cncf.notary.verificationPlugin': 'com.example.plugin' },
          extraCritical: ['io.cncf.notary.verificationPlugin'],
        }),
        keys,
      );
      assert.equal(plugin.verified, false);
      assert.match(plugin.reason!, /critical header io.cncf.notary.verificationPlugin is not understood/);
      const unknown = await verifyNotation(
        input({
          format,
          chain: [leaf, root],
          extraProtected: { 'com.example.must-check': true },
          extraCritical: ['com.example.must-check'],
        }),
        keys,
      );
      assert.match(unknown.reason!, /critical header com.example.must-check is not understood/);
      const absent = await verifyNotation(input({ format, chain: [leaf, root], extraCritical: ['io.cncf.notary.expiry'] }), keys);
      assert.equal(absent.verified, false);
      assert.match(absent.reason!, /crit lists io.cncf.notary.expiry, which is not in the protected header/);
    });

    test('without notation-ca certificates in the project nothing verifies', async () => {
      const result = await verifyNotation(
        input({ format, chain: [leaf, root] }),
        keys.filter((k) => k.type !== 'notation-ca'),
      );
      assert.equal(result.verified, false);
      assert.match(result.reason!, /no notation-ca certificate/);
    });
  });
}

test('a manifest whose layer is not a Notation envelope, or is garbage, does not verify and does not throw', async () => {
  const notEnvelope = input(
    { chain: [leaf, root] },
    { manifest: (m) => ({ ...m, layers: [{ ...m.layers[0], mediaType: 'application/octet-stream' }] }) },
  );
  assert.match((await verifyNotation(notEnvelope, keys)).reason!, /neither application\/jose\+json nor application\/cose/);
  for (const mediaType of ['application/jose+json', 'application/cose']) {
    const garbage = Buffer.from('not an envelope');
    const bad = input(
      { chain: [leaf, root] },
      { manifest: (m) => ({ ...m, layers: [{ mediaType, digest: sha256Digest(garbage), size: garbage.length }] }) },
    );
    bad.readBlob = async () => garbage;
    const result = await verifyNotation(bad, keys);
    assert.equal(result.verified, false);
    assert.ok(result.reason);
  }
  // A storage failure is not a verdict: it is thrown, so the caller says so without remembering it.
  const unreadable = input({ chain: [leaf, root] });
  unreadable.readBlob = async () => {
    throw new Error('blob store unavailable');
  };
  await assert.rejects(verifyNotation(unreadable, keys), /blob store unavailable/);
  const noLayers = input({ chain: [leaf, root] }, { manifest: (m) => ({ ...m, layers: [] }) });
  assert.match((await verifyNotation(noLayers, keys)).reason!, /exactly one layer/);
});

describe('through a real Berth: enable_content_trust with a notation-ca certificate', () => {
  let server: TestServer;
  const repo = 'notary/app';
  const refusal = { errors: [{ code: 'PROJECTPOLICYVIOLATION', message: 'The image is not signed by notation.' }] };
  const pushed: Record<string, Subject> = {};

  /** Pushes what `notation sign` pushes: the envelope blob, the empty config, the signature manifest with the subject. */
  async function pushNotation(target: Subject, format: 'jws' | 'cose', chain: Issued[]) {
    const signed = signEnvelope({ format, subject: target, chain });
    await pushBlob(server.url, repo, '{}', server.admin);
    await pushBlob(server.url, repo, signed.envelope, server.admin);
    return pushManifest(server.url, repo, null, notationManifest(signed, target, chain), types.manifest, server.admin);
  }

  async function pull(tag: string) {
    const res = await fetch(`${server.url}/v2/${repo}/manifests/${tag}`, { headers: { ...server.admin, accept: types.manifest } });
    const text = await res.text();
    return { status: res.status, body: res.status === 200 ? undefined : JSON.parse(text) };
  }

  before(async () => {
    server = await startServer();
    await createProject(server, { project_name: 'notary', metadata: { enable_content_trust: 'true' } });
    for (const tag of ['jws', 'cose', 'stranger', 'tampered', 'unsigned']) {
      const image = await pushImage(server.url, repo, tag, { headers: server.admin, layer: `notation ${tag} ${Math.random()}` });
      pushed[tag] = { mediaType: types.manifest, digest: image.digest, size: image.size };
    }
    await pushNotation(pushed.jws, 'jws', [leaf, root]);
    await pushNotation(pushed.cose, 'cose', [leaf, root]);
    const stranger = await issueCertificate(otherRoot);
    await pushNotation(pushed.stranger, 'jws', [stranger, otherRoot]);
    // A real signature of the jws image attached to another one: the payload names another digest.
    const signed = signEnvelope({ format: 'cose', subject: pushed.jws, chain: [leaf, root] });
    await pushBlob(server.url, repo, signed.envelope, server.admin);
    await pushManifest(server.url, repo, null, notationManifest(signed, pushed.tampered, [leaf, root]), types.manifest, server.admin);
    const added = await api(server, 'POST', '/projects/notary/trust/keys', {
      auth: server.admin.authorization,
      body: { name: 'acme-root', type: 'notation-ca', pem: root.pem },
    });
    assert.equal(added.status, 201, JSON.stringify(added.body));
  });

  after(() => server?.stop());

  test('JWS and COSE signatures chaining to the trusted root are pulled and shown verified with the signer', async () => {
    for (const tag of ['jws', 'cose']) {
      assert.equal((await pull(tag)).status, 200, tag);
      const res = await api(server, 'GET', `/projects/notary/repositories/app/artifacts/${tag}`, { auth: server.admin.authorization });
      assert.equal(res.status, 200);
      const [view] = res.body.signatures;
      assert.equal(view.kind, 'notation');
      assert.equal(view.status, 'verified', view.reason);
      assert.equal(view.signer, 'C=US, ST=WA, L=Seattle, O=Berth Test, CN=Berth Test Signer');
      assert.equal(view.key_name, 'acme-root');
    }
  });

  test("an untrusted CA's signature, a signature of another digest and no signature are refused with Harbor's 412", async () => {
    for (const tag of ['stranger', 'tampered', 'unsigned']) {
      const res = await pull(tag);
      assert.equal(res.status, 412, tag);
      assert.deepEqual(res.body, refusal);
    }
    const res = await api(server, 'GET', '/projects/notary/repositories/app/artifacts/tampered', { auth: server.admin.authorization });
    assert.equal(res.body.signatures[0].status, 'unverified');
    assert.match(res.body.signatures[0].reason, /the payload signs/);
  });
});
