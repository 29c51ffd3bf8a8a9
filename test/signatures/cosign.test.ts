import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { parseKeyMaterial } from '../../src/signatures/keys.js';
import type { SignatureInput, TrustKey } from '../../src/signatures/types.js';
import { verifyCosign } from '../../src/signatures/verify/cosign.js';
import { cosignKeyPair, signPayload, simpleSigningPayload, type CosignKeyPair } from '../helpers/cosign-sign.js';

const subject = `sha256:${'ab'.repeat(32)}`;
const other = `sha256:${'cd'.repeat(32)}`;
const digestOf = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

function trustKey(pair: CosignKeyPair, name: string, id = 1): TrustKey {
  const { pem, fingerprint } = parseKeyMaterial('cosign', pair.publicPem);
  return { id, projectId: 1, name, type: 'cosign', pem, fingerprint, createdAt: '2026-01-01T00:00:00.000Z' };
}

/** A signature accessory with one simple-signing layer; `stored` is what the blob store holds under the layer's digest. */
function input(layer: { payload: Buffer; signature?: string; stored?: Buffer; digest?: string }): SignatureInput {
  const digest = layer.digest ?? digestOf(layer.payload);
  const blobs = new Map([[digest, layer.stored ?? layer.payload]]);
  return {
    subject: { digest: subject, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 500, repository: 'p/app' },
    signature: {
      digest: `sha256:${'ef'.repeat(32)}`,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/vnd.oci.image.config.v1+json',
      manifest: {
        schemaVersion: 2,
        layers: [
          {
            mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
            digest,
            size: layer.payload.length,
            ...(layer.signature !== undefined && { annotations: { 'dev.cosignproject.cosign/signature': layer.signature } }),
          },
        ],
      },
    },
    async readBlob(d) {
      const blob = blobs.get(d);
      if (!blob) throw new Error(`no blob ${d}`);
      return blob;
    },
  };
}

describe('cosign key-based verification', () => {
  for (const kind of ['ecdsa-p256', 'ed25519', 'rsa-2048'] as const) {
    test(`a ${kind} signature of the subject verifies with its public key`, async () => {
      const pair = cosignKeyPair(kind);
      const payload = simpleSigningPayload('registry.example.com/p/app', subject);
      const result = await verifyCosign(input({ payload, signature: signPayload(pair, payload) }), [trustKey(pair, 'release')]);
      assert.deepEqual(result, { verified: true, signer: 'release', keyName: 'release', reason: 'verified with cosign key "release"' });
    });
  }

  test('the payload keys are matched whatever their case (Docker-manifest-digest)', async () => {
    const pair = cosignKeyPair();
    const payload = simpleSigningPayload('r/p/app', subject.toUpperCase().replace('SHA256', 'sha256'), { keyCase: 'Docker' });
    const result = await verifyCosign(input({ payload, signature: signPayload(pair, payload) }), [trustKey(pair, 'k')]);
    assert.equal(result.verified, true, result.reason);
  });

  test('any of several keys may verify it; the one that did is named', async () => {
    const [a, b] = [cosignKeyPair(), cosignKeyPair('ed25519')];
    const payload = simpleSigningPayload('r/p/app', subject);
    const result = await verifyCosign(input({ payload, signature: signPayload(b, payload) }), [trustKey(a, 'a', 1), trustKey(b, 'b', 2)]);
    assert.equal(result.keyName, 'b');
  });

  test('a signature by another key does not verify', async () => {
    const [signer, trusted] = [cosignKeyPair(), cosignKeyPair()];
    const payload = simpleSigningPayload('r/p/app', subject);
    const result = await verifyCosign(input({ payload, signature: signPayload(signer, payload) }), [trustKey(trusted, 'trusted')]);
    assert.equal(result.verified, false);
    assert.match(result.reason!, /does not verify with the project's cosign key/);
  });

  test('a valid signature of another digest does not count for this subject', async () => {
    const pair = cosignKeyPair();
    const payload = simpleSigningPayload('r/p/app', other);
    const result = await verifyCosign(input({ payload, signature: signPayload(pair, payload) }), [trustKey(pair, 'k')]);
    assert.equal(result.verified, false);
    assert.equal(result.reason, `the payload signs ${other}, not ${subject}`);
  });

  test('a tampered payload (signature over the original, blob changed) does not verify', async () => {
    const pair = cosignKeyPair();
    const original = simpleSigningPayload('r/p/app', subject);
    const tampered = Buffer.from(original.toString().replace('r/p/app', 'r/p/evil'));
    const result = await verifyCosign(input({ payload: tampered, signature: signPayload(pair, original) }), [trustKey(pair, 'k')]);
    assert.equal(result.verified, false);
    assert.match(result.reason!, /does not verify/);
  });

  test("a blob that does not have the layer's digest is refused before any signature check", async () => {
    const pair = cosignKeyPair();
    const payload = simpleSigningPayload('r/p/app', subject);
    const stored = Buffer.from(payload.toString().replace('null', '{} '));
    const result = await verifyCosign(input({ payload, signature: signPayload(pair, payload), stored }), [trustKey(pair, 'k')]);
    assert.equal(result.verified, false);
    assert.match(result.reason!, /does not have the layer's digest/);
  });

  test('a payload of another type, a layer without a signature, and no keys are each said', async () => {
    const pair = cosignKeyPair();
    const wrongType = Buffer.from(`{"critical":{"identity":{},"image":{"docker-manifest-digest":"${subject}"},"type":"something else"}}`);
    let result = await verifyCosign(input({ payload: wrongType, signature: signPayload(pair, wrongType) }), [trustKey(pair, 'k')]);
    assert.match(result.reason!, /critical\.type is "something else"/);
    const payload = simpleSigningPayload('r/p/app', subject);
    result = await verifyCosign(input({ payload }), [trustKey(pair, 'k')]);
    assert.match(result.reason!, /no dev\.cosignproject\.cosign\/signature annotation/);
    result = await verifyCosign(input({ payload, signature: signPayload(pair, payload) }), []);
    assert.deepEqual(result, { verified: false, reason: 'the project has no cosign key to verify it with' });
  });
});
