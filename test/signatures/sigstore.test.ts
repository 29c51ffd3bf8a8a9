import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { SignatureInput, TrustKey } from '../../src/signatures/types.js';
import { verifySigstoreBundle } from '../../src/signatures/verify/sigstore.js';
import {
  bundleManifest,
  cosignStatement,
  createPrivateSigstore,
  dsseBundle,
  issueFulcioCertificate,
  legacyKeylessAnnotations,
  messageBundle,
  type BundleVersion,
  type PrivateSigstore,
} from '../helpers/sigstore-sign.js';
import { api } from '../helpers/api.js';
import { simpleSigningPayload } from '../helpers/cosign-sign.js';
import { pushBlob, pushImage, pushManifest, types } from '../helpers/oci.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { createProject } from '../projects/fixtures.js';

const imageManifest = Buffer.from(
  JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: {}, layers: [] }),
);
const digestOf = (data: Buffer | string) => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const subject = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: digestOf(imageManifest), size: imageManifest.length };
const repository = 'registry.example/library/app';

function key(name: string, type: TrustKey['type'], pem: string): TrustKey {
  return { id: 1, projectId: 1, name, type, pem, fingerprint: 'f', createdAt: new Date().toISOString() };
}

/** A pushed bundle as the signature service hands it over: the manifest and a reader of the repository's blobs (manifests included). */
function input(bundle: Record<string, unknown> | Buffer, options: { subject?: typeof subject } = {}): SignatureInput {
  const bytes = Buffer.isBuffer(bundle) ? bundle : Buffer.from(JSON.stringify(bundle));
  const forSubject = options.subject ?? subject;
  const manifest = bundleManifest(bytes, forSubject);
  const blobs = new Map([
    [manifest.layers[0].digest, bytes],
    [subject.digest, imageManifest],
  ]);
  return {
    subject: { ...forSubject, repository: 'library/app' },
    signature: { digest: digestOf(JSON.stringify(manifest)), mediaType: manifest.mediaType, artifactType: manifest.artifactType, manifest },
    readBlob: async (digest) => {
      const blob = blobs.get(digest);
      if (!blob) throw new Error(`blob ${digest} unknown`);
      return blob;
    },
  };
}

function cosignKey(type: 'ec' | 'ed25519' | 'rsa' = 'ec'): { privateKey: KeyObject; pem: string } {
  const pair =
    type === 'ec'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : type === 'rsa'
        ? generateKeyPairSync('rsa', { modulusLength: 2048 })
        : generateKeyPairSync('ed25519');
  return { privateKey: pair.privateKey, pem: pair.publicKey.export({ format: 'pem', type: 'spki' }).toString() };
}

let sigstore: PrivateSigstore;
let otherSigstore: PrivateSigstore;
let rootKey: TrustKey;
before(async () => {
  sigstore = await createPrivateSigstore('berth-test');
  otherSigstore = await createPrivateSigstore('elsewhere');
  rootKey = key('private sigstore', 'sigstore-root', JSON.stringify(sigstore.trustedRoot()));
});

describe('key-based bundles (cosign sign --key, new bundle format)', () => {
  test('a DSSE in-toto statement for the image signed with a project cosign key verifies (ECDSA P-256 and Ed25519)', async () => {
    for (const type of ['ec', 'ed25519', 'rsa'] as const) {
      const signer = cosignKey(type);
      const bundle = dsseBundle(cosignStatement(repository, subject.digest), { privateKey: signer.privateKey, publicKeyPem: signer.pem });
      const result = await verifySigstoreBundle(input(bundle), [key('release key', 'cosign', signer.pem)]);
      assert.equal(result.verified, true, `${type}: ${result.reason}`);
      assert.equal(result.keyName, 'release key');
      assert.equal(result.signer, 'release key');
    }
  });

  test("with a trusted root in the project, the bundle's Rekor entry is verified too", async () => {
    const signer = cosignKey();
    const bundle = dsseBundle(cosignStatement(repository, subject.digest), {
      privateKey: signer.privateKey,
      publicKeyPem: signer.pem,
      rekor: sigstore.rekor,
    });
    const result = await verifySigstoreBundle(input(bundle), [key('release key', 'cosign', signer.pem), rootKey]);
    assert.equal(result.verified, true, result.reason);
    assert.match(result.reason!, /transparency log entry/);
    const foreignLog = dsseBundle(cosignStatement(repository, subject.digest), {
      privateKey: signer.privateKey,
      publicKeyPem: signer.pem,
      rekor: otherSigstore.rekor,
    });
    const refused = await verifySigstoreBundle(input(foreignLog), [key('release key', 'cosign', signer.pem), rootKey]);
    assert.equal(refused.verified, false);
  });

  test('the wrong key does not verify', async () => {
    const signer = cosignKey();
    const other = cosignKey();
    const bundle = dsseBundle(cosignStatement(repository, subject.digest), { privateKey: signer.privateKey, publicKeyPem: signer.pem });
    const result = await verifySigstoreBundle(input(bundle), [key('someone else', 'cosign', other.pem)]);
    assert.equal(result.verified, false);
    assert.match(result.reason!, /does not verify with the project's cosign key/);
  });

  test('a statement for another digest does not count for this image', async () => {
    const signer = cosignKey();
    const bundle = dsseBundle(cosignStatement(repository, digestOf('another image')), {
      privateKey: signer.privateKey,
      publicKeyPem: signer.pem,
    });
    const result = await verifySigstoreBundle(input(bundle), [key('release key', 'cosign', signer.pem)]);
    assert.equal(result.verified, false);
    assert.match(result.reason!, /do not include sha256:/);
  });

  test('a tampered statement (subject swapped after signing) does not verify', async () => {
    const signer = cosignKey();
    const bundle: any = dsseBundle(cosignStatement(repository, digestOf('another image')), {
      privateKey: signer.privateKey,
      publicKeyPem: signer.pem,
    });
    bundle.dsseEnvelope.payload = cosignStatement(repository, subject.digest).toString('base64');
    const result = await verifySigstoreBundle(input(bundle), [key('release key', 'cosign', signer.pem)]);
    assert.equal(result.verified, false);
    assert.match(result.reason!, /SIGNATURE_ERROR/);
  });

  test('a message signature over the image manifest itself verifies; over other bytes it does not count', async () => {
    const signer = cosignKey();
    const bundle = messageBundle(imageManifest, { privateKey: signer.privateKey, publicKeyPem: signer.pem });
    const result = await verifySigstoreBundle(input(bundle), [key('release key', 'cosign', signer.pem)]);
    assert.equal(result.verified, true, result.reason);
    const other = messageBundle(Buffer.from('a simple-signing payload'), { privateKey: signer.privateKey, publicKeyPem: signer.pem });
    assert.match(
      (await verifySigstoreBundle(input(other), [key('release key', 'cosign', signer.pem)])).reason!,
      /message signature signs sha256:/,
    );
  });
});

describe('keyless bundles (Fulcio certificate, Rekor entry) against a trusted root', () => {
  for (const version of ['v0.1', 'v0.2', 'v0.3'] as BundleVersion[]) {
    test(`bundle ${version}: a certificate from the root's CA with an SCT and a logged entry verifies, naming the identity`, async () => {
      const certificate = await issueFulcioCertificate(sigstore, { email: 'dev@example.com', issuer: 'https://accounts.example.com' });
      const bundle = dsseBundle(cosignStatement(repository, subject.digest), {
        version,
        privateKey: certificate.privateKey,
        certificate: certificate.der,
        rekor: sigstore.rekor,
      });
      const result = await verifySigstoreBundle(input(bundle), [rootKey]);
      assert.equal(result.verified, true, result.reason);
      assert.equal(result.signer, 'dev@example.com (issuer https://accounts.example.com)');
      assert.equal(result.keyName, 'private sigstore');
    });
  }

  test('a message-signature keyless bundle (hashedrekord entry) verifies', async () => {
    const certificate = await issueFulcioCertificate(sigstore, {
      uri: 'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main',
      issuer: 'https://token.actions.githubusercontent.com',
    });
    const bundle = messageBundle(imageManifest, {
      privateKey: certificate.privateKey,
      certificate: certificate.der,
      rekor: sigstore.rekor,
    });
    const result = await verifySigstoreBundle(input(bundle), [rootKey]);
    assert.equal(result.verified, true, result.reason);
    assert.equal(
      result.signer,
      'https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main (issuer https://token.actions.githubusercontent.com)',
    );
  });

  test('a certificate from another Sigstore (untrusted CA) does not verify', async () => {
    const certificate = await issueFulcioCertificate(otherSigstore, { ctlog: otherSigstore.ctlog });
    const bundle = dsseBundle(cosignStatement(repository, subject.digest), {
      privateKey: certificate.privateKey,
      certificate: certificate.der,
      rekor: sigstore.rekor,
    });
    const result = await verifySigstoreBundle(input(bundle), [rootKey]);
    assert.equal(result.verified, false);
    assert.match(result.reason!, /CERTIFICATE_ERROR/);
  });

  test("signed with a key other than the certificate's does not verify", async () => {
    const certificate = await issueFulcioCertificate(sigstore);
    const impostor = cosignKey();
    const bundle = dsseBundle(cosignStatement(repository, subject.digest), {
      privateKey: impostor.privateKey,
      certificate: certificate.der,
      rekor: sigstore.rekor,
    });
    const result = await verifySigstoreBundle(input(bundle), [rootKey]);
    assert.equal(result.verified, false);
    assert.match(result.reason!, /SIGNATURE_ERROR/);
  });

  test('wrong digest and tampered payload do not verify', async () => {
    const certificate = await issueFulcioCertificate(sigstore);
    const wrong = dsseBundle(cosignStatement(repository, digestOf('other')), {
      privateKey: certificate.privateKey,
      certificate: certificate.der,
      rekor: sigstore.rekor,
    });
    assert.match((await verifySigstoreBundle(input(wrong), [rootKey])).reason!, /do not include/);
    const tampered: any = dsseBundle(cosignStatement(repository, digestOf('other')), {
      privateKey: certificate.privateKey,
      certificate: certificate.der,
      rekor: sigstore.rekor,
    });
    tampered.dsseEnvelope.payload = cosignStatement(repository, subject.digest).toString('base64');
    const result = await verifySigstoreBundle(input(tampered), [rootKey]);
    assert.equal(result.verified, false);
    assert.match(result.reason!, /TLOG_BODY_ERROR|SIGNATURE_ERROR/);
  });

  test('a certificate expired when the log integrated the entry does not verify', async () => {
    const start = new Date(Math.floor((Date.now() - 60 * 60_000) / 1000) * 1000);
    const certificate = await issueFulcioCertificate(sigstore, { notBefore: start, notAfter: new Date(start.getTime() + 10 * 60_000) });
    const bundle = dsseBundle(cosignStatement(repository, subject.digest), {
      privateKey: certificate.privateKey,
      certificate: certificate.der,
      rekor: sigstore.rekor,
      integratedTime: new Date(),
    });
    const result = await verifySigstoreBundle(input(bundle), [rootKey]);
    assert.equal(result.verified, false);
    assert.match(result.reason!, /CERTIFICATE_ERROR/);
    // Within its ten minutes it verifies even though it has long expired now: the log's time is what counts.
    const inTime = dsseBundle(cosignStatement(repository, subject.digest), {
      privateKey: certificate.privateKey,
      certificate: certificate.der,
      rekor: sigstore.rekor,
      integratedTime: new Date(start.getTime() + 5 * 60_000),
    });
    assert.equal((await verifySigstoreBundle(input(inTime), [rootKey])).verified, true);
  });

  test('no log entry (no verified time), an entry from an untrusted log, or no SCT when the root lists CT logs: refused', async () => {
    const certificate = await issueFulcioCertificate(sigstore);
    const unlogged = dsseBundle(cosignStatement(repository, subject.digest), {
      version: 'v0.3',
      privateKey: certificate.privateKey,
      certificate: certificate.der,
    });
    assert.equal((await verifySigstoreBundle(input(unlogged), [rootKey])).verified, false);
    const foreignLog = dsseBundle(cosignStatement(repository, subject.digest), {
      privateKey: certificate.privateKey,
      certificate: certificate.der,
      rekor: otherSigstore.rekor,
    });
    assert.match((await verifySigstoreBundle(input(foreignLog), [rootKey])).reason!, /TLOG/);
    const noSct = await issueFulcioCertificate(sigstore, { sct: false });
    const bundle = dsseBundle(cosignStatement(repository, subject.digest), {
      privateKey: noSct.privateKey,
      certificate: noSct.der,
      rekor: sigstore.rekor,
    });
    assert.match((await verifySigstoreBundle(input(bundle), [rootKey])).reason!, /expected 1 SCTs/);
    // A root without CT logs (a private deployment without one) does not ask for SCTs.
    const noCtRoot = key('no ct', 'sigstore-root', JSON.stringify(sigstore.trustedRoot({ withCtlog: false })));
    assert.equal((await verifySigstoreBundle(input(bundle), [noCtRoot])).verified, true);
  });

  test('a trusted root whose log has no validity start is not used (Sigstore conformance: malformed root)', async () => {
    const certificate = await issueFulcioCertificate(sigstore);
    const bundle = dsseBundle(cosignStatement(repository, subject.digest), {
      privateKey: certificate.privateKey,
      certificate: certificate.der,
      rekor: sigstore.rekor,
    });
    const document: any = sigstore.trustedRoot();
    delete document.tlogs[0].publicKey.validFor.start;
    const result = await verifySigstoreBundle(input(bundle), [key('malformed', 'sigstore-root', JSON.stringify(document))]);
    assert.equal(result.verified, false);
    assert.match(result.reason!, /trusted root "malformed" has a log or authority without a validity start/);
  });

  test('keyless bundles need a trusted root; key-based bundles need a cosign key', async () => {
    const certificate = await issueFulcioCertificate(sigstore);
    const keyless = dsseBundle(cosignStatement(repository, subject.digest), {
      privateKey: certificate.privateKey,
      certificate: certificate.der,
      rekor: sigstore.rekor,
    });
    const signer = cosignKey();
    assert.match((await verifySigstoreBundle(input(keyless), [key('k', 'cosign', signer.pem)])).reason!, /no sigstore-root/);
    const keyed = dsseBundle(cosignStatement(repository, subject.digest), { privateKey: signer.privateKey, publicKeyPem: signer.pem });
    assert.match((await verifySigstoreBundle(input(keyed), [rootKey])).reason!, /no cosign key/);
    assert.match((await verifySigstoreBundle(input(keyed), [])).reason!, /no cosign key or sigstore-root/);
  });
});

describe("cosign 2's keyless simple-signing layers (certificate and Rekor SET in annotations)", () => {
  /** A `.sig` manifest with keyless layers, as the signature service hands it over. */
  function legacyInput(layers: { payload: Buffer; annotations: Record<string, string> }[]): SignatureInput {
    const blobs = new Map(layers.map((l) => [digestOf(l.payload), l.payload]));
    const manifest = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digestOf('{}'), size: 2 },
      layers: layers.map((l) => ({
        mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
        digest: digestOf(l.payload),
        size: l.payload.length,
        annotations: l.annotations,
      })),
    };
    return {
      subject: { ...subject, repository: 'library/app' },
      signature: {
        digest: digestOf(JSON.stringify(manifest)),
        mediaType: manifest.mediaType,
        artifactType: manifest.config.mediaType,
        manifest,
      },
      readBlob: async (digest) => {
        const blob = blobs.get(digest);
        if (!blob) throw new Error(`blob ${digest} unknown`);
        return blob;
      },
    };
  }

  test('a keyless layer under the trusted root verifies, naming the identity', async () => {
    const certificate = await issueFulcioCertificate(sigstore, { email: 'ci@example.com', issuer: 'https://issuer.example' });
    const payload = simpleSigningPayload(repository, subject.digest);
    const result = await verifySigstoreBundle(
      legacyInput([{ payload, annotations: legacyKeylessAnnotations(payload, certificate, sigstore) }]),
      [rootKey],
    );
    assert.equal(result.verified, true, result.reason);
    assert.equal(result.signer, 'ci@example.com (issuer https://issuer.example)');
  });

  test('wrong digest, tampered payload, impostor key, foreign log and untrusted CA do not verify', async () => {
    const certificate = await issueFulcioCertificate(sigstore);
    const otherDigest = simpleSigningPayload(repository, digestOf('other image'));
    assert.match(
      (
        await verifySigstoreBundle(
          legacyInput([{ payload: otherDigest, annotations: legacyKeylessAnnotations(otherDigest, certificate, sigstore) }]),
          [rootKey],
        )
      ).reason!,
      /the payload signs sha256:/,
    );
    const payload = simpleSigningPayload(repository, subject.digest);
    const signedOther = legacyKeylessAnnotations(simpleSigningPayload('elsewhere/app', subject.digest), certificate, sigstore);
    const tampered = await verifySigstoreBundle(legacyInput([{ payload, annotations: signedOther }]), [rootKey]);
    assert.equal(tampered.verified, false);
    const impostor = await verifySigstoreBundle(
      legacyInput([
        { payload, annotations: legacyKeylessAnnotations(payload, certificate, sigstore, { signingKey: cosignKey().privateKey }) },
      ]),
      [rootKey],
    );
    assert.equal(impostor.verified, false);
    const foreignLog = await verifySigstoreBundle(
      legacyInput([{ payload, annotations: legacyKeylessAnnotations(payload, certificate, sigstore, { rekor: otherSigstore.rekor }) }]),
      [rootKey],
    );
    assert.match(foreignLog.reason!, /TLOG/);
    const stranger = await issueFulcioCertificate(otherSigstore, { ctlog: otherSigstore.ctlog });
    const untrusted = await verifySigstoreBundle(
      legacyInput([{ payload, annotations: legacyKeylessAnnotations(payload, stranger, otherSigstore, { rekor: sigstore.rekor }) }]),
      [rootKey],
    );
    assert.match(untrusted.reason!, /CERTIFICATE_ERROR/);
  });
});

test("garbage, a non-bundle JSON and a blob that is not the layer's digest are refused without throwing", async () => {
  const signer = cosignKey();
  const keys = [key('k', 'cosign', signer.pem)];
  assert.match((await verifySigstoreBundle(input(Buffer.from('not json')), keys)).reason!, /not JSON/);
  assert.match((await verifySigstoreBundle(input({ mediaType: 'application/json' }), keys)).reason!, /not a valid Sigstore bundle/);
  const good = input(dsseBundle(cosignStatement(repository, subject.digest), { privateKey: signer.privateKey, publicKeyPem: signer.pem }));
  good.readBlob = async () => Buffer.from('{}');
  assert.match((await verifySigstoreBundle(good, keys)).reason!, /does not have the layer's digest/);
  // A storage failure is not a verdict: it is thrown, so the caller says so without remembering it.
  good.readBlob = async () => {
    throw new Error('blob store unavailable');
  };
  await assert.rejects(verifySigstoreBundle(good, keys), /blob store unavailable/);
});

describe('through a real Berth: enable_content_trust_cosign with a sigstore-root and a cosign key', () => {
  let server: TestServer;
  const repo = 'cosigned/app';
  const refusal = { errors: [{ code: 'PROJECTPOLICYVIOLATION', message: 'The image is not signed by cosign.' }] };
  const pushed: Record<string, typeof subject> = {};
  const release = cosignKey();

  /** Pushes what cosign v3 pushes for a bundle: the empty config, the bundle blob, the OCI 1.1 manifest with the subject. */
  async function pushBundle(target: typeof subject, bundle: Record<string, unknown>) {
    const bytes = Buffer.from(JSON.stringify(bundle));
    await pushBlob(server.url, repo, '{}', server.admin);
    await pushBlob(server.url, repo, bytes, server.admin);
    return pushManifest(server.url, repo, null, bundleManifest(bytes, target), types.manifest, server.admin);
  }

  async function pull(tag: string) {
    const res = await fetch(`${server.url}/v2/${repo}/manifests/${tag}`, { headers: { ...server.admin, accept: types.manifest } });
    const text = await res.text();
    return { status: res.status, body: res.status === 200 ? undefined : JSON.parse(text) };
  }

  before(async () => {
    server = await startServer();
    await createProject(server, { project_name: 'cosigned', metadata: { enable_content_trust_cosign: 'true' } });
    for (const tag of ['keyless', 'keyed', 'foreign', 'other-digest', 'unsigned']) {
      const image = await pushImage(server.url, repo, tag, { headers: server.admin, layer: `sigstore ${tag} ${Math.random()}` });
      pushed[tag] = { mediaType: types.manifest, digest: image.digest, size: image.size };
    }
    const certificate = await issueFulcioCertificate(sigstore, { email: 'dev@example.com', issuer: 'https://accounts.example.com' });
    await pushBundle(
      pushed.keyless,
      dsseBundle(cosignStatement(repo, pushed.keyless.digest), {
        privateKey: certificate.privateKey,
        certificate: certificate.der,
        rekor: sigstore.rekor,
      }),
    );
    await pushBundle(
      pushed.keyed,
      dsseBundle(cosignStatement(repo, pushed.keyed.digest), {
        privateKey: release.privateKey,
        publicKeyPem: release.pem,
        rekor: sigstore.rekor,
      }),
    );
    const foreign = await issueFulcioCertificate(otherSigstore, { ctlog: otherSigstore.ctlog });
    await pushBundle(
      pushed.foreign,
      dsseBundle(cosignStatement(repo, pushed.foreign.digest), {
        privateKey: foreign.privateKey,
        certificate: foreign.der,
        rekor: otherSigstore.rekor,
      }),
    );
    await pushBundle(
      pushed['other-digest'],
      dsseBundle(cosignStatement(repo, pushed.keyless.digest), {
        privateKey: certificate.privateKey,
        certificate: certificate.der,
        rekor: sigstore.rekor,
      }),
    );
    for (const body of [
      { name: 'private sigstore', type: 'sigstore-root', pem: JSON.stringify(sigstore.trustedRoot()) },
      { name: 'release key', type: 'cosign', pem: release.pem },
    ]) {
      const added = await api(server, 'POST', '/projects/cosigned/trust/keys', { auth: server.admin.authorization, body });
      assert.equal(added.status, 201, JSON.stringify(added.body));
    }
  });

  after(() => server?.stop());

  test('a keyless bundle under the trusted root and a key-based bundle are pulled and shown verified, by whom', async () => {
    const expected: Record<string, { signer: string; key_name: string }> = {
      keyless: { signer: 'dev@example.com (issuer https://accounts.example.com)', key_name: 'private sigstore' },
      keyed: { signer: 'release key', key_name: 'release key' },
    };
    for (const [tag, want] of Object.entries(expected)) {
      assert.equal((await pull(tag)).status, 200, tag);
      const res = await api(server, 'GET', `/projects/cosigned/repositories/app/artifacts/${tag}`, { auth: server.admin.authorization });
      const [view] = res.body.signatures;
      assert.equal(view.kind, 'cosign');
      assert.equal(view.status, 'verified', view.reason);
      assert.equal(view.signer, want.signer);
      assert.equal(view.key_name, want.key_name);
    }
  });

  test("another Sigstore's certificate, a bundle for another digest and no bundle are refused with Harbor's 412", async () => {
    for (const tag of ['foreign', 'other-digest', 'unsigned']) {
      const res = await pull(tag);
      assert.equal(res.status, 412, tag);
      assert.deepEqual(res.body, refusal);
    }
  });
});
