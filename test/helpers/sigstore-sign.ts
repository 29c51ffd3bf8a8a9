/**
 * Real Sigstore bundles for tests, in the formats cosign writes (sigstore/protobuf-specs
 * bundle v0.1–v0.3, cosign v3's DSSE in-toto statement for images) and a private Sigstore:
 * a Fulcio-like CA issuing short-lived certificates with the SAN and OIDC-issuer extensions
 * and an embedded SCT from a CT log key, and a Rekor-like log key signing inclusion promises
 * (SETs) and checkpoints, all described by a trusted_root.json as a user would upload it.
 */
import 'reflect-metadata';
import { createHash, generateKeyPairSync, KeyObject, sign, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { json as canonicalJson, X509Certificate as Asn1Certificate } from '@sigstore/core';
import { createRootCa, issueCertificate, type Issued } from './notation-sign.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const minute = 60_000;
const ecdsa = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };

export interface LogKey {
  privateKey: KeyObject;
  spki: Buffer;
  /** sha256 of the SPKI: the log ID Rekor and CT logs use. */
  logId: Buffer;
  baseUrl: string;
}

function logKey(baseUrl: string): LogKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  return { privateKey, spki, logId: createHash('sha256').update(spki).digest(), baseUrl };
}

export interface PrivateSigstore {
  root: Issued;
  intermediate: Issued;
  rekor: LogKey;
  ctlog: LogKey;
  /** A trusted_root.json for this Sigstore (mediaType application/vnd.dev.sigstore.trustedroot+json;version=0.1). */
  trustedRoot(options?: { withCtlog?: boolean; withTlog?: boolean }): Record<string, unknown>;
}

export async function createPrivateSigstore(name = 'berth-test'): Promise<PrivateSigstore> {
  const root = await createRootCa({ name: `O=${name}, CN=${name} Fulcio Root` });
  const intermediate = await issueCertificate(root, { ca: true, subject: `O=${name}, CN=${name} Fulcio Intermediate` });
  const rekor = logKey(`https://rekor.${name}.example`);
  const ctlog = logKey(`https://ctfe.${name}.example/test`);
  const instance = (log: LogKey) => ({
    baseUrl: log.baseUrl,
    hashAlgorithm: 'SHA2_256',
    publicKey: {
      rawBytes: log.spki.toString('base64'),
      keyDetails: 'PKIX_ECDSA_P256_SHA_256',
      validFor: { start: '2020-01-01T00:00:00Z' },
    },
    logId: { keyId: log.logId.toString('base64') },
  });
  return {
    root,
    intermediate,
    rekor,
    ctlog,
    trustedRoot: ({ withCtlog = true, withTlog = true } = {}) => ({
      mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
      tlogs: withTlog ? [instance(rekor)] : [],
      certificateAuthorities: [
        {
          subject: { organization: name, commonName: `${name} Fulcio` },
          uri: `https://fulcio.${name}.example`,
          certChain: { certificates: [{ rawBytes: intermediate.der.toString('base64') }, { rawBytes: root.der.toString('base64') }] },
          validFor: { start: '2020-01-01T00:00:00Z' },
        },
      ],
      ctlogs: withCtlog ? [instance(ctlog)] : [],
      timestampAuthorities: [],
    }),
  };
}

export interface FulcioCertificate {
  der: Buffer;
  pem: string;
  privateKey: KeyObject;
}

function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  if (length < 0x100) return Buffer.from([0x81, length]);
  return Buffer.from([0x82, length >> 8, length & 0xff]);
}

function derOctetString(content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0x04]), derLength(content.length), content]);
}

function derUtf8String(text: string): Buffer {
  const content = Buffer.from(text, 'utf8');
  return Buffer.concat([Buffer.from([0x0c]), derLength(content.length), content]);
}

function uint(value: number | bigint, bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  let v = BigInt(value);
  for (let i = bytes - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/**
 * A Fulcio-style code-signing certificate: SAN (email or URI, critical), OIDC issuer in both
 * Fulcio extensions (1.3.6.1.4.1.57264.1.1 raw, .1.8 DER UTF8String), and, unless `sct` is
 * false, an embedded SCT signed by the CT log over the precertificate TBS (RFC 6962 §3.2).
 */
export async function issueFulcioCertificate(
  sigstore: PrivateSigstore,
  options: { email?: string; uri?: string; issuer?: string; notBefore?: Date; notAfter?: Date; sct?: boolean; ctlog?: LogKey } = {},
): Promise<FulcioCertificate> {
  const keys = (await webcrypto.subtle.generateKey(ecdsa, true, ['sign', 'verify'])) as CryptoKeyPair;
  const issuer = sigstore.intermediate;
  const notBefore = options.notBefore ?? new Date(Math.floor((Date.now() - minute) / 1000) * 1000);
  const notAfter = options.notAfter ?? new Date(notBefore.getTime() + 10 * minute);
  const serialNumber = createHash('sha256').update(String(Math.random())).digest('hex').slice(0, 16);
  const oidcIssuer = options.issuer ?? 'https://accounts.example.com';
  const base = [
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension(['1.3.6.1.5.5.7.3.3'], false),
    await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey),
    new x509.SubjectAlternativeNameExtension(
      options.uri ? [{ type: 'url', value: options.uri }] : [{ type: 'email', value: options.email ?? 'signer@example.com' }],
      true,
    ),
    new x509.Extension('1.3.6.1.4.1.57264.1.1', false, Buffer.from(oidcIssuer, 'ascii')),
    new x509.Extension('1.3.6.1.4.1.57264.1.8', false, new Uint8Array(derUtf8String(oidcIssuer))),
  ];
  const params = {
    serialNumber,
    subject: '',
    issuer: issuer.certificate.subject,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: issuer.keys.privateKey,
    signingAlgorithm: ecdsa,
  };
  let extensions: x509.Extension[] = base;
  if (options.sct !== false) {
    // The precertificate's TBS is the final certificate's TBS without the SCT extension.
    const precert = await x509.X509CertificateGenerator.create({ ...params, extensions: base });
    const tbs = Asn1Certificate.parse(Buffer.from(precert.rawData)).tbsCertificate.toDER();
    const log = options.ctlog ?? sigstore.ctlog;
    const timestamp = uint(BigInt(Date.now()), 8);
    const issuerKeyHash = createHash('sha256').update(Buffer.from(issuer.certificate.publicKey.rawData)).digest();
    const signed = Buffer.concat([Buffer.from([0, 0]), timestamp, uint(1, 2), issuerKeyHash, uint(tbs.length, 3), tbs, uint(0, 2)]);
    const signature = sign('sha256', signed, log.privateKey);
    const sct = Buffer.concat([
      Buffer.from([0]),
      log.logId,
      timestamp,
      uint(0, 2),
      Buffer.from([4, 3]),
      uint(signature.length, 2),
      signature,
    ]);
    const list = Buffer.concat([uint(sct.length + 2, 2), uint(sct.length, 2), sct]);
    extensions = [...base, new x509.Extension('1.3.6.1.4.1.11129.2.4.2', false, new Uint8Array(derOctetString(list)))];
  }
  const certificate = await x509.X509CertificateGenerator.create({ ...params, extensions });
  return { der: Buffer.from(certificate.rawData), pem: certificate.toString('pem'), privateKey: KeyObject.from(keys.privateKey as any) };
}

export const inTotoPayloadType = 'application/vnd.in-toto+json';

/** The in-toto statement `cosign sign` (v3) signs for an image. */
export function cosignStatement(repository: string, digest: string): Buffer {
  const [algorithm, hex] = digest.split(':');
  return Buffer.from(
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: repository, digest: { [algorithm]: hex } }],
      predicateType: 'https://sigstore.dev/cosign/sign/v1',
      predicate: {},
    }),
  );
}

/** DSSE pre-authentication encoding. */
export function pae(payloadType: string, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`DSSEv1 ${Buffer.byteLength(payloadType)} ${payloadType} ${payload.length} `), payload]);
}

export type BundleVersion = 'v0.1' | 'v0.2' | 'v0.3';
const bundleMediaTypes: Record<BundleVersion, string> = {
  'v0.1': 'application/vnd.dev.sigstore.bundle+json;version=0.1',
  'v0.2': 'application/vnd.dev.sigstore.bundle+json;version=0.2',
  'v0.3': 'application/vnd.dev.sigstore.bundle.v0.3+json',
};

export interface BundleOptions {
  version?: BundleVersion;
  /** The key that signs. */
  privateKey: KeyObject;
  /** Keyless: the Fulcio certificate; key-based: a public key hint. */
  certificate?: Buffer;
  publicKeyPem?: string;
  /** The log that records it; none for a key-based bundle made with --tlog-upload=false. */
  rekor?: LogKey;
  /** The time the log says it integrated the entry. */
  integratedTime?: Date;
}

function tlogEntry(
  rekor: LogKey,
  kind: 'dsse' | 'hashedrekord',
  body: Record<string, unknown>,
  version: BundleVersion,
  integratedTime: Date,
) {
  const canonicalizedBody = Buffer.from(canonicalJson.canonicalize(body));
  const logIndex = 1;
  const time = Math.floor(integratedTime.getTime() / 1000);
  const set = sign(
    'sha256',
    Buffer.from(
      canonicalJson.canonicalize({
        body: canonicalizedBody.toString('base64'),
        integratedTime: time,
        logIndex,
        logID: rekor.logId.toString('hex'),
      }),
    ),
    rekor.privateKey,
  );
  // A two-leaf tree: another entry at index 0, this one at index 1.
  const leaf = (data: Buffer) =>
    createHash('sha256')
      .update(Buffer.from([0]))
      .update(data)
      .digest();
  const sibling = leaf(Buffer.from('{"another":"entry"}'));
  const rootHash = createHash('sha256')
    .update(Buffer.from([1]))
    .update(sibling)
    .update(leaf(canonicalizedBody))
    .digest();
  const origin = `${new URL(rekor.baseUrl).host} - 1193050959916656506`;
  const note = `${origin}\n2\n${rootHash.toString('base64')}\n`;
  const noteSignature = Buffer.concat([rekor.logId.subarray(0, 4), sign('sha256', Buffer.from(note), rekor.privateKey)]);
  const entry: Record<string, unknown> = {
    logIndex: String(logIndex),
    logId: { keyId: rekor.logId.toString('base64') },
    kindVersion: { kind, version: '0.0.1' },
    integratedTime: String(time),
    inclusionPromise: { signedEntryTimestamp: set.toString('base64') },
    canonicalizedBody: canonicalizedBody.toString('base64'),
  };
  if (version !== 'v0.1') {
    entry.inclusionProof = {
      logIndex: String(logIndex),
      rootHash: rootHash.toString('base64'),
      treeSize: '2',
      hashes: [sibling.toString('base64')],
      checkpoint: { envelope: `${note}\n\u2014 ${new URL(rekor.baseUrl).host} ${noteSignature.toString('base64')}\n` },
    };
  }
  return entry;
}

function verificationMaterial(options: BundleOptions, version: BundleVersion, entries: unknown[]) {
  if (options.certificate) {
    const raw = options.certificate.toString('base64');
    return version === 'v0.3'
      ? { certificate: { rawBytes: raw }, tlogEntries: entries, timestampVerificationData: {} }
      : { x509CertificateChain: { certificates: [{ rawBytes: raw }] }, tlogEntries: entries, timestampVerificationData: {} };
  }
  return {
    publicKey: { hint: options.publicKeyPem ? createHash('sha256').update(options.publicKeyPem).digest('base64') : '' },
    tlogEntries: entries,
    timestampVerificationData: {},
  };
}

function verifierPem(options: BundleOptions): string {
  if (options.certificate) return `-----BEGIN CERTIFICATE-----\n${options.certificate.toString('base64')}\n-----END CERTIFICATE-----\n`;
  return options.publicKeyPem ?? '';
}

/** A bundle holding a DSSE envelope over `payload` (cosign v3 signing an image: an in-toto statement). */
export function dsseBundle(payload: Buffer, options: BundleOptions): Record<string, unknown> {
  const version = options.version ?? 'v0.3';
  const signature = signWith(options.privateKey, pae(inTotoPayloadType, payload));
  const envelope = {
    payload: payload.toString('base64'),
    payloadType: inTotoPayloadType,
    signatures: [{ sig: signature.toString('base64'), keyid: '' }],
  };
  const entries = options.rekor
    ? [
        tlogEntry(
          options.rekor,
          'dsse',
          {
            apiVersion: '0.0.1',
            kind: 'dsse',
            spec: {
              envelopeHash: { algorithm: 'sha256', value: createHash('sha256').update(JSON.stringify(envelope)).digest('hex') },
              payloadHash: { algorithm: 'sha256', value: createHash('sha256').update(payload).digest('hex') },
              signatures: [{ signature: signature.toString('base64'), verifier: Buffer.from(verifierPem(options)).toString('base64') }],
            },
          },
          version,
          options.integratedTime ?? new Date(),
        ),
      ]
    : [];
  return {
    mediaType: bundleMediaTypes[version],
    verificationMaterial: verificationMaterial(options, version, entries),
    dsseEnvelope: envelope,
  };
}

/** A bundle holding a message signature over `artifact` (hashedrekord in the log). */
export function messageBundle(artifact: Buffer, options: BundleOptions): Record<string, unknown> {
  const version = options.version ?? 'v0.3';
  const digest = createHash('sha256').update(artifact).digest();
  const signature = signWith(options.privateKey, artifact);
  const entries = options.rekor
    ? [
        tlogEntry(
          options.rekor,
          'hashedrekord',
          {
            apiVersion: '0.0.1',
            kind: 'hashedrekord',
            spec: {
              data: { hash: { algorithm: 'sha256', value: digest.toString('hex') } },
              signature: {
                content: signature.toString('base64'),
                publicKey: { content: Buffer.from(verifierPem(options)).toString('base64') },
              },
            },
          },
          version,
          options.integratedTime ?? new Date(),
        ),
      ]
    : [];
  return {
    mediaType: bundleMediaTypes[version],
    verificationMaterial: verificationMaterial(options, version, entries),
    messageSignature: {
      messageDigest: { algorithm: 'SHA2_256', digest: digest.toString('base64') },
      signature: signature.toString('base64'),
    },
  };
}

/** How cosign signs with a key: SHA-256 (ECDSA DER, RSA), Ed25519 pure. */
function signWith(key: KeyObject, data: Buffer): Buffer {
  return sign(key.asymmetricKeyType === 'ed25519' ? null : 'sha256', data, key);
}

function sha256Digest(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** The OCI 1.1 manifest cosign v3 pushes for a bundle: artifactType the bundle type, empty config, one layer, subject. */
export function bundleManifest(bundle: Buffer, subject: { mediaType: string; digest: string; size: number }): Record<string, any> {
  return {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256Digest('{}'), size: 2 },
    layers: [{ mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json', digest: sha256Digest(bundle), size: bundle.length }],
    subject,
    annotations: {
      'dev.sigstore.bundle.content': 'dsse-envelope',
      'dev.sigstore.bundle.predicateType': 'https://sigstore.dev/cosign/sign/v1',
    },
  };
}

/**
 * The annotations cosign 2 puts on a keyless simple-signing layer: the signature, the Fulcio
 * certificate and chain (PEM), and the Rekor entry with its SET
 * (`{"SignedEntryTimestamp", "Payload": {"body", "integratedTime", "logIndex", "logID"}}`).
 */
export function legacyKeylessAnnotations(
  payload: Buffer,
  certificate: FulcioCertificate,
  sigstore: PrivateSigstore,
  options: { rekor?: LogKey; integratedTime?: Date; signingKey?: KeyObject } = {},
): Record<string, string> {
  const signature = sign('sha256', payload, options.signingKey ?? certificate.privateKey).toString('base64');
  const rekor = options.rekor ?? sigstore.rekor;
  const body = Buffer.from(
    canonicalJson.canonicalize({
      apiVersion: '0.0.1',
      kind: 'hashedrekord',
      spec: {
        data: { hash: { algorithm: 'sha256', value: createHash('sha256').update(payload).digest('hex') } },
        signature: { content: signature, publicKey: { content: Buffer.from(certificate.pem).toString('base64') } },
      },
    }),
  ).toString('base64');
  const integratedTime = Math.floor((options.integratedTime ?? new Date()).getTime() / 1000);
  const entry = { body, integratedTime, logIndex: 7, logID: rekor.logId.toString('hex') };
  const set = sign('sha256', Buffer.from(canonicalJson.canonicalize(entry)), rekor.privateKey).toString('base64');
  return {
    'dev.cosignproject.cosign/signature': signature,
    'dev.sigstore.cosign/certificate': certificate.pem,
    'dev.sigstore.cosign/chain': `${sigstore.intermediate.pem}${sigstore.root.pem}`,
    'dev.sigstore.cosign/bundle': JSON.stringify({ SignedEntryTimestamp: set, Payload: entry }),
  };
}
