/**
 * Real cosign key-based signatures for tests, in the formats `cosign sign --key` writes
 * (sigstore/cosign specs/SIGNATURE_SPEC.md): a simple-signing payload
 * `{"critical":{"identity":{"docker-reference"},"image":{"docker-manifest-digest"},"type"},"optional"}`
 * as a layer blob of media type application/vnd.dev.cosign.simplesigning.v1+json, its
 * signature (ECDSA P-256 DER over SHA-256, Ed25519, or RSA PKCS#1 v1.5 SHA-256) base64 in
 * the layer annotation dev.cosignproject.cosign/signature; stored under the legacy tag
 * `sha256-<hex>.sig` or (cosign 2 `--registry-referrers-mode=oci-1-1`) as a manifest with
 * config media type application/vnd.dev.cosign.artifact.sig.v1+json and a subject.
 */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { pushBlob, pushManifest, sha256, types } from './oci.js';
import type { TestServer } from './server.js';

export type CosignKeyKind = 'ecdsa-p256' | 'ed25519' | 'rsa-2048';

export interface CosignKeyPair {
  kind: CosignKeyKind;
  privateKey: KeyObject;
  /** cosign.pub: SPKI PEM. */
  publicPem: string;
}

export function cosignKeyPair(kind: CosignKeyKind = 'ecdsa-p256'): CosignKeyPair {
  const pair =
    kind === 'ecdsa-p256'
      ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
      : kind === 'ed25519'
        ? generateKeyPairSync('ed25519')
        : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kind, privateKey: pair.privateKey, publicPem: pair.publicKey.export({ format: 'pem', type: 'spki' }).toString() };
}

/** The payload cosign signs, byte for byte as it marshals it (Go's encoding/json field order). */
export function simpleSigningPayload(dockerReference: string, digest: string, options: { keyCase?: 'lower' | 'Docker' } = {}): Buffer {
  const digestKey = options.keyCase === 'Docker' ? 'Docker-manifest-digest' : 'docker-manifest-digest';
  return Buffer.from(
    `{"critical":{"identity":{"docker-reference":${JSON.stringify(dockerReference)}},"image":{"${digestKey}":${JSON.stringify(digest)}},` +
      `"type":"cosign container image signature"},"optional":null}`,
  );
}

export function signPayload(key: CosignKeyPair, payload: Buffer): string {
  const algorithm = key.kind === 'ed25519' ? null : 'sha256';
  return sign(algorithm, payload, key.privateKey).toString('base64');
}

export interface CosignLayer {
  payload: Buffer;
  /** base64 signature annotation; defaults to a real signature of `payload` with `key`. */
  signature?: string;
  key?: CosignKeyPair;
  /** Extra layer annotations (a keyless signature carries dev.sigstore.cosign/certificate and /bundle). */
  annotations?: Record<string, string>;
}

/** One signature layer: the payload signed by `key` (or the given signature). */
export function cosignLayer(key: CosignKeyPair, payload: Buffer, signature = signPayload(key, payload)): CosignLayer {
  return { payload, signature, key };
}

/**
 * Pushes signature layers for a subject: `mode` 'tag' (legacy `sha256-<hex>.sig`, image
 * config) or 'referrer' (OCI 1.1 manifest with a subject, pushed by digest). Returns the
 * signature manifest's digest.
 */
export async function pushCosignSignatureOf(
  server: TestServer,
  repo: string,
  subject: { digest: string; mediaType: string; size: number },
  layers: CosignLayer[],
  mode: 'tag' | 'referrer' = 'tag',
): Promise<{ digest: string; manifest: Record<string, unknown> }> {
  const headers = server.admin;
  const pushedLayers = [];
  for (const layer of layers) {
    const blob = await pushBlob(server.url, repo, layer.payload, headers);
    pushedLayers.push({
      mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json',
      size: blob.size,
      digest: blob.digest,
      annotations: { 'dev.cosignproject.cosign/signature': layer.signature ?? '', ...layer.annotations },
    });
  }
  let manifest: Record<string, unknown>;
  if (mode === 'tag') {
    const config = JSON.stringify({
      architecture: '',
      created: '0001-01-01T00:00:00Z',
      history: [{ created: '0001-01-01T00:00:00Z' }],
      os: '',
      rootfs: { type: 'layers', diff_ids: layers.map((l) => sha256(l.payload)) },
      config: {},
    });
    const blob = await pushBlob(server.url, repo, config, headers);
    manifest = {
      schemaVersion: 2,
      mediaType: types.manifest,
      config: { mediaType: types.config, size: blob.size, digest: blob.digest },
      layers: pushedLayers,
    };
    const tag = `${subject.digest.replace(':', '-')}.sig`;
    const pushed = await pushManifest(server.url, repo, tag, manifest, types.manifest, headers);
    return { digest: pushed.digest, manifest };
  }
  const blob = await pushBlob(server.url, repo, '{}', headers);
  manifest = {
    schemaVersion: 2,
    mediaType: types.manifest,
    config: { mediaType: 'application/vnd.dev.cosign.artifact.sig.v1+json', size: blob.size, digest: blob.digest },
    layers: pushedLayers,
    subject: { mediaType: subject.mediaType, size: subject.size, digest: subject.digest },
  };
  const pushed = await pushManifest(server.url, repo, null, manifest, types.manifest, headers);
  return { digest: pushed.digest, manifest };
}
