import { createHash, constants, verify as verifySignature, type KeyObject } from 'node:crypto';
import type { SignatureInput, SignatureVerifier, TrustKey, VerificationResult } from '../types.js';
import { ChainError, readCertificates, subjectName, trustStoreCertificates, verifyChain } from './notation-chain.js';
import { EnvelopeError, notationHeaders, parseCose, parseJws, type NotationEnvelope } from './notation-envelope.js';

export const notationSignatureType = 'application/vnd.cncf.notary.signature';
export const notationPayloadType = 'application/vnd.cncf.notary.payload.v1+json';
const envelopeTypes = { 'application/jose+json': parseJws, 'application/cose': parseCose } as const;
/** Envelopes carry a certificate chain and a small payload; callers cap reads, this caps what is parsed. */
const maxEnvelopeBytes = 4 * 1024 * 1024;

/** The headers this verifier understands and enforces, so may appear in `crit`. Plugin headers are not: Berth runs no plugins. */
const understoodCritical = new Set<string>([notationHeaders.signingScheme, notationHeaders.authenticSigningTime, notationHeaders.expiry]);

const algorithms: Record<string, { hash: string; rsaPss?: boolean; saltLength?: number }> = {
  PS256: { hash: 'sha256', rsaPss: true, saltLength: 32 },
  PS384: { hash: 'sha384', rsaPss: true, saltLength: 48 },
  PS512: { hash: 'sha512', rsaPss: true, saltLength: 64 },
  ES256: { hash: 'sha256' },
  ES384: { hash: 'sha384' },
  ES512: { hash: 'sha512' },
};

/** The one algorithm the signing key allows ("Algorithm Selection"): RSA by modulus size, EC by curve. */
function algorithmForKey(key: KeyObject): string | undefined {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa') return { 2048: 'PS256', 3072: 'PS384', 4096: 'PS512' }[details.modulusLength ?? 0];
  if (key.asymmetricKeyType === 'ec') return { prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' }[details.namedCurve ?? ''];
  return undefined;
}

function signatureVerifies(envelope: NotationEnvelope, key: KeyObject): boolean {
  const algorithm = algorithms[envelope.alg];
  try {
    return algorithm.rsaPss
      ? verifySignature(
          algorithm.hash,
          envelope.signedBytes,
          { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: algorithm.saltLength },
          envelope.signature,
        )
      : verifySignature(algorithm.hash, envelope.signedBytes, { key, dsaEncoding: 'ieee-p1363' }, envelope.signature);
  } catch {
    return false;
  }
}

class Refusal extends Error {}

function checkHeaders(envelope: NotationEnvelope): void {
  if (envelope.contentType !== notationPayloadType)
    throw new Refusal(`the content type is ${JSON.stringify(envelope.contentType ?? null)}, not ${notationPayloadType}`);
  if (!envelope.crit) throw new Refusal('the envelope has no crit header');
  const crit = envelope.crit.map(String);
  if (!crit.includes(notationHeaders.signingScheme)) throw new Refusal(`crit does not list ${notationHeaders.signingScheme}`);
  for (const name of crit) {
    if (!understoodCritical.has(name))
      throw new Refusal(
        `the critical header ${name} is not understood by Berth${name.startsWith('io.cncf.notary.verificationPlugin') ? ' (it runs no verification plugins)' : ''}`,
      );
    if (!envelope.protectedNames.includes(name)) throw new Refusal(`crit lists ${name}, which is not in the protected header`);
  }
  for (const name of [notationHeaders.authenticSigningTime, notationHeaders.expiry]) {
    if (envelope.protectedNames.includes(name) && !crit.includes(name)) throw new Refusal(`${name} is present but not marked critical`);
  }
  if (envelope.signingScheme === 'notary.x509') {
    if (!envelope.signingTime) throw new Refusal(`the notary.x509 signing scheme requires ${notationHeaders.signingTime}`);
  } else if (envelope.signingScheme === 'notary.x509.signingAuthority') {
    if (!envelope.authenticSigningTime)
      throw new Refusal(`the notary.x509.signingAuthority signing scheme requires ${notationHeaders.authenticSigningTime}`);
  } else {
    throw new Refusal(
      `the signing scheme ${JSON.stringify(envelope.signingScheme ?? null)} is neither notary.x509 nor notary.x509.signingAuthority`,
    );
  }
}

function checkPayload(envelope: NotationEnvelope, subject: SignatureInput['subject']): void {
  let payload: any;
  try {
    payload = JSON.parse(envelope.payload.toString('utf8'));
  } catch {
    throw new Refusal('the payload is not JSON');
  }
  const target = payload?.targetArtifact;
  if (typeof target !== 'object' || target === null) throw new Refusal('the payload has no targetArtifact');
  if (typeof target.digest !== 'string' || target.digest.toLowerCase() !== subject.digest.toLowerCase()) {
    throw new Refusal(`the payload signs ${JSON.stringify(target.digest ?? null)}, not ${subject.digest}`);
  }
  if (target.mediaType !== subject.mediaType)
    throw new Refusal(
      `the payload's targetArtifact.mediaType ${JSON.stringify(target.mediaType ?? null)} is not the artifact's ${subject.mediaType}`,
    );
  if (target.size !== subject.size)
    throw new Refusal(`the payload's targetArtifact.size ${JSON.stringify(target.size ?? null)} is not the artifact's ${subject.size}`);
}

async function readEnvelope(input: SignatureInput): Promise<NotationEnvelope> {
  const layers: any[] = Array.isArray(input.signature.manifest?.layers) ? input.signature.manifest.layers : [];
  if (layers.length !== 1) throw new Refusal(`a Notation signature manifest has exactly one layer, this one has ${layers.length}`);
  const [layer] = layers;
  const parse = envelopeTypes[layer?.mediaType as keyof typeof envelopeTypes];
  if (!parse)
    throw new Refusal(
      `the envelope media type ${JSON.stringify(layer?.mediaType ?? null)} is neither application/jose+json nor application/cose`,
    );
  if (typeof layer.digest !== 'string' || !/^sha256:[a-f0-9]{64}$/.test(layer.digest))
    throw new Refusal('the envelope layer has no sha256 digest');
  if (!(Number(layer.size) <= maxEnvelopeBytes)) throw new Refusal('the envelope layer is too large to be a signature envelope');
  const blob = await input.readBlob(layer.digest);
  if (createHash('sha256').update(blob).digest('hex') !== layer.digest.slice('sha256:'.length))
    throw new Refusal(`the envelope blob does not have the layer's digest ${layer.digest}`);
  try {
    return parse(blob);
  } catch (error) {
    if (error instanceof EnvelopeError) throw new Refusal(error.message);
    throw error;
  }
}

/**
 * Verifies a Notation signature (JWS or COSE envelope) against the project's notation-ca
 * certificates, following the Notary Project's verification steps at the "strict" level
 * for integrity, authenticity and expiry, with every certificate of the chain required to
 * be valid now (or at the authentic signing time of notary.x509.signingAuthority). Not
 * checked: revocation (OCSP/CRL, which needs the network) and RFC 3161 timestamp
 * countersignatures (without one, the chain must be valid now, which is the stricter rule).
 * Trusted identities are "*": any signing certificate that chains to the store counts.
 */
export const verifyNotation: SignatureVerifier = async (input: SignatureInput, keys: TrustKey[]): Promise<VerificationResult> => {
  const trusted = keys
    .filter((k) => k.type === 'notation-ca')
    .flatMap((k) => trustStoreCertificates(k.pem).map((certificate) => ({ name: k.name, certificate })));
  if (trusted.length === 0) return { verified: false, reason: 'the project has no notation-ca certificate to verify it with' };
  try {
    const envelope = await readEnvelope(input);
    checkHeaders(envelope);
    const chain = readCertificates(envelope.certificates);
    const signer = subjectName(chain[0].node);
    const leafKey = chain[0].node.publicKey;
    const expected = algorithmForKey(leafKey);
    if (!algorithms[envelope.alg]) throw new Refusal(`the algorithm ${envelope.alg} is not one Notation allows`);
    if (expected !== envelope.alg)
      throw new Refusal(
        `the algorithm ${envelope.alg} does not match the signing certificate's key (${expected ?? 'a key Notation does not allow'})`,
      );
    if (!signatureVerifies(envelope, leafKey))
      return {
        verified: false,
        signer,
        reason: `the ${envelope.format.toUpperCase()} signature does not verify with the signing certificate's key`,
      };
    checkPayload(envelope, input.subject);
    const now = new Date();
    const at = envelope.signingScheme === 'notary.x509.signingAuthority' ? envelope.authenticSigningTime! : now;
    const anchor = verifyChain(chain, trusted, at);
    if (envelope.expiry && now > envelope.expiry)
      return { verified: false, signer, reason: `the signature expired at ${envelope.expiry.toISOString()}` };
    return {
      verified: true,
      signer,
      keyName: anchor.name,
      reason: `Notation ${envelope.format.toUpperCase()} signature by "${signer}", chained to "${subjectName(anchor.certificate)}" of trusted certificate "${anchor.name}"`,
    };
  } catch (error) {
    if (error instanceof Refusal || error instanceof ChainError) return { verified: false, reason: error.message };
    // Not a verdict on the signature (the blob store failed, say): the caller reports it without remembering it.
    throw error;
  }
};
