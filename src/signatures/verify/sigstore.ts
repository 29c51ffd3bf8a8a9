import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { bundleFromJSON, type Bundle } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier, type SignedEntity, type TrustMaterial } from '@sigstore/verify';
import type { SignatureInput, SignatureVerifier, TrustKey, VerificationResult } from '../types.js';
import { readSimpleSigningPayload, simpleSigningLayerType } from './cosign.js';

/** cosign v3 (and `--new-bundle-format`) stores this as the signature's artifactType and layer media type. */
export const sigstoreBundleType = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const inTotoPayloadType = 'application/vnd.in-toto+json';
const inTotoStatementTypes = ['https://in-toto.io/Statement/v1', 'https://in-toto.io/Statement/v0.1'];
/** A bundle is a signature, a certificate chain and log entries: small. */
const maxBundleBytes = 4 * 1024 * 1024;

/** cosign 2's keyless signatures in `.sig` manifests and OCI 1.1 cosign artifacts: the annotations of each simple-signing layer. */
const legacyAnnotations = {
  signature: 'dev.cosignproject.cosign/signature',
  certificate: 'dev.sigstore.cosign/certificate',
  chain: 'dev.sigstore.cosign/chain',
  bundle: 'dev.sigstore.cosign/bundle',
} as const;

class Refusal extends Error {}

/** Whether the signature carries Sigstore material this verifier reads: a bundle layer, or a keyless (certificate-bearing) simple-signing layer. */
export function hasSigstoreMaterial(artifactType: string, manifest: any): boolean {
  const layers: any[] = Array.isArray(manifest?.layers) ? manifest.layers : [];
  return artifactType.startsWith('application/vnd.dev.sigstore.bundle') || layers.some((l) => isBundleLayer(l) || isKeylessLayer(l));
}

function isKeylessLayer(layer: any): boolean {
  return layer?.mediaType === simpleSigningLayerType && typeof layer?.annotations?.[legacyAnnotations.certificate] === 'string';
}

function isBundleLayer(layer: any): boolean {
  return typeof layer?.mediaType === 'string' && layer.mediaType.startsWith('application/vnd.dev.sigstore.bundle');
}

async function readBundle(input: SignatureInput): Promise<Bundle> {
  const layers: any[] = Array.isArray(input.signature.manifest?.layers) ? input.signature.manifest.layers : [];
  const layer =
    layers.find(isBundleLayer) ?? (input.signature.artifactType.startsWith('application/vnd.dev.sigstore.bundle') ? layers[0] : undefined);
  if (!layer) throw new Refusal('the signature has no Sigstore bundle layer');
  if (typeof layer.digest !== 'string' || !/^sha256:[a-f0-9]{64}$/.test(layer.digest))
    throw new Refusal('the bundle layer has no sha256 digest');
  if (!(Number(layer.size) <= maxBundleBytes)) throw new Refusal('the bundle layer is too large to be a Sigstore bundle');
  const blob = await input.readBlob(layer.digest);
  if (createHash('sha256').update(blob).digest('hex') !== layer.digest.slice('sha256:'.length))
    throw new Refusal(`the bundle blob does not have the layer's digest ${layer.digest}`);
  let json: unknown;
  try {
    json = JSON.parse(blob.toString('utf8'));
  } catch {
    throw new Refusal('the bundle is not JSON');
  }
  try {
    return bundleFromJSON(json);
  } catch (error) {
    throw new Refusal(`the bundle is not a valid Sigstore bundle: ${(error as Error).message}`);
  }
}

/**
 * What the bundle signs must be the subject: a DSSE in-toto statement naming the subject's
 * digest (cosign v3), or a message signature over the subject manifest itself, whose bytes
 * are then needed to check the signature (returned).
 */
async function signedArtifact(bundle: Bundle, input: SignatureInput): Promise<Buffer | undefined> {
  const [algorithm, hex] = input.subject.digest.toLowerCase().split(':');
  if (bundle.content.$case === 'dsseEnvelope') {
    const envelope = bundle.content.dsseEnvelope;
    if (envelope.payloadType !== inTotoPayloadType)
      throw new Refusal(`the DSSE payload type is ${envelope.payloadType}, not ${inTotoPayloadType}`);
    let statement: any;
    try {
      statement = JSON.parse(Buffer.from(envelope.payload).toString('utf8'));
    } catch {
      throw new Refusal('the DSSE payload is not a JSON in-toto statement');
    }
    if (!inTotoStatementTypes.includes(statement?._type))
      throw new Refusal(`the DSSE payload is not an in-toto statement (_type ${JSON.stringify(statement?._type ?? null)})`);
    const subjects: any[] = Array.isArray(statement.subject) ? statement.subject : [];
    if (!subjects.some((s) => typeof s?.digest?.[algorithm] === 'string' && s.digest[algorithm].toLowerCase() === hex)) {
      const named = subjects
        .map((s) =>
          Object.entries(s?.digest ?? {})
            .map(([a, d]) => `${a}:${d}`)
            .join(','),
        )
        .join('; ');
      throw new Refusal(`the in-toto statement's subjects (${named || 'none'}) do not include ${input.subject.digest}`);
    }
    return undefined;
  }
  const digest = Buffer.from(bundle.content.messageSignature.messageDigest?.digest ?? []).toString('hex');
  if (algorithm !== 'sha256' || digest !== hex)
    throw new Refusal(`the message signature signs sha256:${digest}, not ${input.subject.digest}`);
  let manifest: Buffer;
  try {
    manifest = await input.readBlob(input.subject.digest);
  } catch (error) {
    throw new Refusal(`the message signature needs the signed manifest's bytes, which could not be read: ${(error as Error).message}`);
  }
  if (createHash('sha256').update(manifest).digest('hex') !== hex)
    throw new Refusal('the manifest bytes read do not have the subject digest');
  return manifest;
}

/**
 * A trusted root as @sigstore/verify needs it, or why it cannot be used. Every authority must
 * say from when it is valid: the library would read a missing start as "always", which the
 * Sigstore conformance suite requires a verifier to refuse.
 */
function parseRoot(key: TrustKey): { root: TrustedRoot } | { problem: string } {
  let root: TrustedRoot;
  try {
    root = TrustedRoot.fromJSON(JSON.parse(key.pem));
  } catch (error) {
    return { problem: `trusted root "${key.name}" is not a trusted_root.json document: ${(error as Error).message}` };
  }
  const logs = [...root.tlogs, ...root.ctlogs].filter((log) => !log.publicKey?.validFor?.start);
  const authorities = [...root.certificateAuthorities, ...root.timestampAuthorities].filter((ca) => !ca.validFor?.start);
  if (logs.length > 0 || authorities.length > 0) {
    const named = [...logs.map((l) => l.baseUrl), ...authorities.map((a) => a.uri)].join(', ');
    return { problem: `trusted root "${key.name}" has a log or authority without a validity start (${named}), so it is not used` };
  }
  return { root };
}

function reasonOf(error: unknown): string {
  const e = error as { code?: string; message?: string };
  return e.code ? `${e.code}: ${e.message}` : String(e.message ?? error);
}

function describeSigner(identity: { subjectAlternativeName?: string; extensions?: { issuer?: string } } | undefined): string | undefined {
  if (!identity?.subjectAlternativeName) return undefined;
  return identity.extensions?.issuer
    ? `${identity.subjectAlternativeName} (issuer ${identity.extensions.issuer})`
    : identity.subjectAlternativeName;
}

/**
 * A bundle signed with a key: each of the project's cosign keys is tried as the bundle's key.
 * With a sigstore-root in the project its transparency log entries are verified against that
 * root's Rekor keys; without one they are not used (as `cosign verify --key … --insecure-ignore-tlog`),
 * the project's key being the whole of the trust.
 */
function verifyWithKeys(
  bundle: Bundle,
  entity: SignedEntity,
  cosignKeys: { name: string; key: KeyObject }[],
  roots: { name: string; root: TrustedRoot }[],
): VerificationResult {
  const problems: string[] = [];
  for (const candidate of cosignKeys) {
    const finder = () => ({ publicKey: candidate.key, validFor: () => true });
    const attempts: { material: TrustMaterial; entity: SignedEntity; tlog: number }[] =
      roots.length > 0 && bundle.verificationMaterial.tlogEntries.length > 0
        ? roots.map(({ root }) => ({ material: toTrustMaterial(root, finder), entity, tlog: 1 }))
        : [
            {
              material: { certificateAuthorities: [], timestampAuthorities: [], tlogs: [], ctlogs: [], publicKey: finder },
              entity: { ...entity, tlogEntries: [], timestamps: [] },
              tlog: 0,
            },
          ];
    for (const attempt of attempts) {
      try {
        new Verifier(attempt.material, { tlogThreshold: attempt.tlog, ctlogThreshold: 0, timestampThreshold: 0 }).verify(attempt.entity);
        return {
          verified: true,
          signer: candidate.name,
          keyName: candidate.name,
          reason: `Sigstore bundle verified with cosign key "${candidate.name}"${attempt.tlog ? ' and its transparency log entry' : ''}`,
        };
      } catch (error) {
        problems.push(reasonOf(error));
      }
    }
  }
  if (cosignKeys.length === 0) return { verified: false, reason: 'the bundle is signed with a key and the project has no cosign key' };
  return {
    verified: false,
    reason: `the bundle does not verify with the project's cosign key${cosignKeys.length > 1 ? 's' : ''}: ${[...new Set(problems)].join('; ')}`,
  };
}

/**
 * A keyless bundle (Fulcio certificate) against each of the project's trusted roots: the
 * certificate chains to the root's certificate authority at a verified time (a Rekor entry's
 * integrated time, or an RFC 3161 timestamp from the root's TSAs), carries an SCT from its CT
 * logs when it lists any, the Rekor entry is included (SET or inclusion proof and checkpoint)
 * and matches the signature, and the signature verifies with the certificate's key.
 */
function verifyWithRoots(entity: SignedEntity, roots: { name: string; root: TrustedRoot }[]): VerificationResult {
  if (roots.length === 0)
    return { verified: false, reason: 'the bundle is keyless (a certificate) and the project has no sigstore-root trusted root' };
  const problems: string[] = [];
  for (const { name, root } of roots) {
    try {
      const verifier = new Verifier(toTrustMaterial(root), {
        tlogThreshold: root.tlogs.length > 0 ? 1 : 0,
        ctlogThreshold: root.ctlogs.length > 0 ? 1 : 0,
        // Without a verified time the library does not check the certificate chain at all.
        timestampThreshold: 1,
      });
      const signer = verifier.verify(entity);
      const who = describeSigner(signer.identity);
      return {
        verified: true,
        signer: who,
        keyName: name,
        reason: `keyless Sigstore bundle${who ? ` by ${who}` : ''} verified against trusted root "${name}"`,
      };
    } catch (error) {
      problems.push(`"${name}": ${reasonOf(error)}`);
    }
  }
  return {
    verified: false,
    reason: `the bundle does not verify against the project's trusted root${roots.length > 1 ? 's' : ''}: ${problems.join('; ')}`,
  };
}

function pemBlocks(text: string): Buffer[] {
  return (text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((block) =>
    Buffer.from(block.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, ''), 'base64'),
  );
}

/**
 * A keyless simple-signing layer as cosign 2 writes it, turned into the v0.1 bundle it
 * amounts to (as cosign itself does): a message signature over the payload blob, the
 * certificate and chain, and the Rekor entry of the `dev.sigstore.cosign/bundle` annotation
 * (`{SignedEntryTimestamp, Payload: {body, integratedTime, logIndex, logID}}`) with its SET.
 */
async function legacyBundle(layer: any, input: SignatureInput): Promise<{ bundle: Bundle; payload: Buffer }> {
  if (typeof layer.digest !== 'string' || !/^sha256:[a-f0-9]{64}$/.test(layer.digest))
    throw new Refusal('the simple-signing layer has no sha256 digest');
  if (!(Number(layer.size) <= maxBundleBytes)) throw new Refusal('the simple-signing layer is too large to be a signature payload');
  const payload = await input.readBlob(layer.digest);
  const digest = createHash('sha256').update(payload).digest();
  if (digest.toString('hex') !== layer.digest.slice('sha256:'.length))
    throw new Refusal(`the payload blob does not have the layer's digest ${layer.digest}`);
  const claim = readSimpleSigningPayload(payload);
  if ('problem' in claim) throw new Refusal(claim.problem);
  if (claim.digest.toLowerCase() !== input.subject.digest.toLowerCase())
    throw new Refusal(`the payload signs ${claim.digest}, not ${input.subject.digest}`);
  const annotations = layer.annotations ?? {};
  const certificates = [
    ...pemBlocks(String(annotations[legacyAnnotations.certificate] ?? '')),
    ...pemBlocks(String(annotations[legacyAnnotations.chain] ?? '')),
  ];
  if (certificates.length === 0) throw new Refusal("the keyless layer's certificate annotation holds no PEM certificate");
  const tlogEntries: unknown[] = [];
  if (typeof annotations[legacyAnnotations.bundle] === 'string') {
    let rekor: any;
    try {
      rekor = JSON.parse(annotations[legacyAnnotations.bundle]);
    } catch {
      throw new Refusal(`the ${legacyAnnotations.bundle} annotation is not JSON`);
    }
    const entry = rekor?.Payload ?? {};
    let body: any;
    try {
      body = JSON.parse(Buffer.from(String(entry.body ?? ''), 'base64').toString('utf8'));
    } catch {
      throw new Refusal(`the ${legacyAnnotations.bundle} annotation's body is not a Rekor entry`);
    }
    tlogEntries.push({
      logIndex: String(entry.logIndex ?? ''),
      logId: { keyId: Buffer.from(String(entry.logID ?? ''), 'hex').toString('base64') },
      kindVersion: { kind: String(body?.kind ?? ''), version: String(body?.apiVersion ?? '') },
      integratedTime: String(entry.integratedTime ?? ''),
      inclusionPromise: { signedEntryTimestamp: String(rekor?.SignedEntryTimestamp ?? '') },
      canonicalizedBody: String(entry.body ?? ''),
    });
  }
  try {
    const bundle = bundleFromJSON({
      mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.1',
      verificationMaterial: {
        x509CertificateChain: { certificates: certificates.map((c) => ({ rawBytes: c.toString('base64') })) },
        tlogEntries,
      },
      messageSignature: {
        messageDigest: { algorithm: 'SHA2_256', digest: digest.toString('base64') },
        signature: String(annotations[legacyAnnotations.signature] ?? ''),
      },
    });
    return { bundle, payload };
  } catch (error) {
    throw new Refusal(`the keyless layer does not make a valid Sigstore bundle: ${(error as Error).message}`);
  }
}

/** Legacy keyless layers: the first that verifies against a trusted root counts. */
async function verifyLegacyKeyless(input: SignatureInput, roots: { name: string; root: TrustedRoot }[]): Promise<VerificationResult> {
  const layers: any[] = (Array.isArray(input.signature.manifest?.layers) ? input.signature.manifest.layers : []).filter(isKeylessLayer);
  const problems: string[] = [];
  for (const layer of layers) {
    try {
      const { bundle, payload } = await legacyBundle(layer, input);
      const result = verifyWithRoots(toSignedEntity(bundle, payload), roots);
      if (result.verified) return result;
      problems.push(result.reason ?? 'did not verify');
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      problems.push(error.message);
    }
  }
  return { verified: false, reason: [...new Set(problems)].join('; ') };
}

/**
 * Verifies a Sigstore bundle (v0.1–v0.3) stored as a cosign signature accessory, for exactly
 * the subject digest, with @sigstore/verify and no network: against the project's cosign
 * keys when the bundle names a public key, against its sigstore-root trusted roots when it
 * carries a certificate. cosign 2's keyless simple-signing layers (certificate and Rekor SET
 * in annotations) are verified the same way, as the v0.1 bundle they amount to.
 */
export const verifySigstoreBundle: SignatureVerifier = async (input: SignatureInput, keys: TrustKey[]): Promise<VerificationResult> => {
  const cosignKeys = keys
    .filter((k) => k.type === 'cosign')
    .flatMap((k) => {
      try {
        return [{ name: k.name, key: createPublicKey(k.pem) }];
      } catch {
        return [];
      }
    });
  const parsed = keys.filter((k) => k.type === 'sigstore-root').map((k) => ({ name: k.name, parsed: parseRoot(k) }));
  const roots = parsed.flatMap(({ name, parsed }) => ('root' in parsed ? [{ name, root: parsed.root }] : []));
  const unusable = parsed.flatMap(({ parsed }) => ('problem' in parsed ? [parsed.problem] : []));
  const result = await verifyWith(input, cosignKeys, roots);
  return result.verified || unusable.length === 0 ? result : { ...result, reason: `${result.reason}; ${unusable.join('; ')}` };
};

async function verifyWith(
  input: SignatureInput,
  cosignKeys: { name: string; key: KeyObject }[],
  roots: { name: string; root: TrustedRoot }[],
): Promise<VerificationResult> {
  if (cosignKeys.length === 0 && roots.length === 0)
    return { verified: false, reason: 'the project has no cosign key or sigstore-root to verify it with' };
  try {
    const layers: any[] = Array.isArray(input.signature.manifest?.layers) ? input.signature.manifest.layers : [];
    if (!layers.some(isBundleLayer) && layers.some(isKeylessLayer)) return await verifyLegacyKeyless(input, roots);
    const bundle = await readBundle(input);
    const artifact = await signedArtifact(bundle, input);
    let entity: SignedEntity;
    try {
      entity = toSignedEntity(bundle, artifact);
    } catch (error) {
      return { verified: false, reason: `the bundle could not be read: ${reasonOf(error)}` };
    }
    return entity.key.$case === 'public-key' ? verifyWithKeys(bundle, entity, cosignKeys, roots) : verifyWithRoots(entity, roots);
  } catch (error) {
    if (error instanceof Refusal) return { verified: false, reason: error.message };
    // Not a verdict on the signature (the blob store failed, say): the caller reports it without remembering it.
    throw error;
  }
}
