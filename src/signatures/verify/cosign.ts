import { createHash, createPublicKey, verify as verifySignature, type KeyObject } from 'node:crypto';
import type { SignatureInput, SignatureVerifier, TrustKey, VerificationResult } from '../types.js';

export const simpleSigningLayerType = 'application/vnd.dev.cosign.simplesigning.v1+json';
const signatureAnnotation = 'dev.cosignproject.cosign/signature';
const simpleSigningType = 'cosign container image signature';
/** A simple-signing payload is a few hundred bytes; anything much larger is not one. */
const maxPayloadBytes = 1024 * 1024;

/** A key of an object whatever its case (cosign writes `docker-manifest-digest`; older tools `Docker-manifest-digest`). */
function field(object: unknown, name: string): unknown {
  if (typeof object !== 'object' || object === null) return undefined;
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(object)) if (key.toLowerCase() === wanted) return value;
  return undefined;
}

function digestMatches(digest: string, data: Buffer): boolean {
  const [algorithm, hex] = digest.split(':');
  if ((algorithm !== 'sha256' && algorithm !== 'sha512') || !hex) return false;
  return createHash(algorithm).update(data).digest('hex') === hex.toLowerCase();
}

/** What a simple-signing payload claims: its type and the digest it signs, or why it is not one. */
export function readSimpleSigningPayload(payload: Buffer): { digest: string } | { problem: string } {
  let doc: unknown;
  try {
    doc = JSON.parse(payload.toString('utf8'));
  } catch {
    return { problem: 'the simple-signing payload is not JSON' };
  }
  const critical = field(doc, 'critical');
  const type = field(critical, 'type');
  if (typeof type !== 'string' || type.toLowerCase() !== simpleSigningType) {
    return { problem: `the payload's critical.type is ${JSON.stringify(type ?? null)}, not "${simpleSigningType}"` };
  }
  const digest = field(field(critical, 'image'), 'docker-manifest-digest');
  if (typeof digest !== 'string') return { problem: 'the payload has no critical.image.docker-manifest-digest' };
  return { digest };
}

/** Verifies with one key the way cosign signs with it: ECDSA DER over SHA-256 (or the curve's hash), RSA PKCS#1 v1.5 or PSS, Ed25519. */
function verifiesWith(key: KeyObject, payload: Buffer, signature: Buffer): boolean {
  const attempt = (algorithm: string | null, options: Record<string, unknown> = {}) => {
    try {
      return verifySignature(algorithm, payload, { key, ...options }, signature);
    } catch {
      return false;
    }
  };
  switch (key.asymmetricKeyType) {
    case 'ed25519':
      return attempt(null);
    case 'ec': {
      const curveHash = { secp384r1: 'sha384', secp521r1: 'sha512' }[key.asymmetricKeyDetails?.namedCurve ?? ''];
      return attempt('sha256') || (curveHash !== undefined && attempt(curveHash));
    }
    case 'rsa':
      return attempt('sha256') || attempt('sha256', { padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: 32 });
    default:
      return false;
  }
}

/**
 * cosign's key-based signatures: the simple-signing layers of a legacy `sha256-<hex>.sig`
 * manifest or of an OCI 1.1 cosign artifact. A layer counts when its blob has the layer's
 * digest, it is a cosign image signature for exactly the subject's digest, and its
 * signature annotation verifies over the blob with one of the project's cosign keys.
 */
export const verifyCosign: SignatureVerifier = async (input: SignatureInput, keys: TrustKey[]): Promise<VerificationResult> => {
  const cosignKeys = keys.filter((k) => k.type === 'cosign').map((k) => ({ name: k.name, key: createPublicKey(k.pem) }));
  if (cosignKeys.length === 0) return { verified: false, reason: 'the project has no cosign key to verify it with' };
  const layers: any[] = Array.isArray(input.signature.manifest?.layers) ? input.signature.manifest.layers : [];
  const signing = layers.filter((l) => l?.mediaType === simpleSigningLayerType);
  if (signing.length === 0) return { verified: false, reason: `the signature has no ${simpleSigningLayerType} layer` };
  const problems: string[] = [];
  for (const layer of signing) {
    const encoded = layer.annotations?.[signatureAnnotation];
    if (typeof encoded !== 'string' || encoded === '') {
      problems.push(`a layer has no ${signatureAnnotation} annotation (a keyless signature is checked through a Sigstore bundle)`);
      continue;
    }
    if (typeof layer.digest !== 'string' || !(Number(layer.size) <= maxPayloadBytes)) {
      problems.push('a layer is too large to be a simple-signing payload');
      continue;
    }
    const payload = await input.readBlob(layer.digest);
    if (!digestMatches(layer.digest, payload)) {
      problems.push(`the payload blob does not have the layer's digest ${layer.digest}`);
      continue;
    }
    const claim = readSimpleSigningPayload(payload);
    if ('problem' in claim) {
      problems.push(claim.problem);
      continue;
    }
    if (claim.digest.toLowerCase() !== input.subject.digest.toLowerCase()) {
      problems.push(`the payload signs ${claim.digest}, not ${input.subject.digest}`);
      continue;
    }
    const signature = Buffer.from(encoded, 'base64');
    const match = cosignKeys.find((k) => verifiesWith(k.key, payload, signature));
    if (match) return { verified: true, signer: match.name, keyName: match.name, reason: `verified with cosign key "${match.name}"` };
    problems.push(`the signature does not verify with the project's cosign key${cosignKeys.length > 1 ? 's' : ''}`);
  }
  return { verified: false, reason: [...new Set(problems)].join('; ') };
};
