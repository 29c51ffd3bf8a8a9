/**
 * Real Notation signatures for tests, built as the Notary Project specifications define them
 * (signature-specification.md, signature-envelope-jws.md, signature-envelope-cose.md) and as
 * `notation sign` stores them: X.509 certificates issued here (a CA and code-signing leaves,
 * with the extensions the spec requires or, on request, without them), a JWS or COSE_Sign1
 * envelope over the payload `{"targetArtifact": …}`, and the signature manifest.
 */
import 'reflect-metadata';
import { createHash, constants, KeyObject, sign, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { encode, Tag } from 'cbor2';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export type KeyKind = 'ec-p256' | 'ec-p384' | 'ec-p521' | 'rsa-2048' | 'rsa-3072' | 'rsa-4096';

const keyAlgorithms: Record<KeyKind, { generate: any; jws: string; cose: number }> = {
  'ec-p256': { generate: { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' }, jws: 'ES256', cose: -7 },
  'ec-p384': { generate: { name: 'ECDSA', namedCurve: 'P-384', hash: 'SHA-384' }, jws: 'ES384', cose: -35 },
  'ec-p521': { generate: { name: 'ECDSA', namedCurve: 'P-521', hash: 'SHA-512' }, jws: 'ES512', cose: -36 },
  'rsa-2048': {
    generate: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    jws: 'PS256',
    cose: -37,
  },
  'rsa-3072': {
    generate: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 3072, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-384' },
    jws: 'PS384',
    cose: -38,
  },
  'rsa-4096': {
    generate: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 4096, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-512' },
    jws: 'PS512',
    cose: -39,
  },
};

export interface Issued {
  certificate: x509.X509Certificate;
  der: Buffer;
  pem: string;
  keys: CryptoKeyPair;
  privateKey: KeyObject;
  kind: KeyKind;
}

const day = 24 * 60 * 60 * 1000;
let serial = 1;

function nextSerial(): string {
  serial += 1;
  return serial.toString(16).padStart(4, '0');
}

async function keyPair(kind: KeyKind): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(keyAlgorithms[kind].generate, true, ['sign', 'verify'])) as CryptoKeyPair;
}

function issued(certificate: x509.X509Certificate, keys: CryptoKeyPair, kind: KeyKind): Issued {
  return {
    certificate,
    der: Buffer.from(certificate.rawData),
    pem: certificate.toString('pem'),
    keys,
    privateKey: KeyObject.from(keys.privateKey as any),
    kind,
  };
}

/** A self-signed root CA as Notation's spec requires (critical basicConstraints cA, critical keyUsage keyCertSign). */
export async function createRootCa(
  options: { name?: string; kind?: KeyKind; notBefore?: Date; notAfter?: Date; keyUsageCritical?: boolean } = {},
): Promise<Issued> {
  const kind = options.kind ?? 'ec-p256';
  const keys = await keyPair(kind);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: nextSerial(),
    name: options.name ?? 'C=US, ST=WA, O=Berth Test, CN=Berth Test Root CA',
    notBefore: options.notBefore ?? new Date(Date.now() - 365 * day),
    notAfter: options.notAfter ?? new Date(Date.now() + 365 * day),
    keys,
    signingAlgorithm: keyAlgorithms[kind].generate,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, options.keyUsageCritical ?? true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return issued(certificate, keys, kind);
}

export interface CertificateOptions {
  subject?: string;
  kind?: KeyKind;
  notBefore?: Date;
  notAfter?: Date;
  /** Extended key usages; default code signing. `null` leaves the extension out. */
  extendedKeyUsages?: string[] | null;
  /** Key usage flags; default digitalSignature. */
  keyUsage?: number;
  keyUsageCritical?: boolean;
  /** Issue a CA certificate (for intermediates). */
  ca?: boolean;
}

export const extendedKeyUsage = { codeSigning: '1.3.6.1.5.5.7.3.3', serverAuth: '1.3.6.1.5.5.7.3.1', timeStamping: '1.3.6.1.5.5.7.3.8' };

/** A certificate issued by `issuer`: by default a code-signing leaf as the Notary Project requires. */
export async function issueCertificate(issuer: Issued, options: CertificateOptions = {}): Promise<Issued> {
  const kind = options.kind ?? 'ec-p256';
  const keys = await keyPair(kind);
  const extensions: x509.Extension[] = [];
  if (options.ca) {
    extensions.push(new x509.BasicConstraintsExtension(true, undefined, true));
    extensions.push(new x509.KeyUsagesExtension(options.keyUsage ?? x509.KeyUsageFlags.keyCertSign, options.keyUsageCritical ?? true));
  } else {
    extensions.push(new x509.BasicConstraintsExtension(false, undefined, false));
    extensions.push(new x509.KeyUsagesExtension(options.keyUsage ?? x509.KeyUsageFlags.digitalSignature, options.keyUsageCritical ?? true));
    const ekus = options.extendedKeyUsages === undefined ? [extendedKeyUsage.codeSigning] : options.extendedKeyUsages;
    if (ekus !== null) extensions.push(new x509.ExtendedKeyUsageExtension(ekus, false));
  }
  extensions.push(await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey));
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: nextSerial(),
    subject: options.subject ?? 'C=US, ST=WA, L=Seattle, O=Berth Test, CN=Berth Test Signer',
    issuer: issuer.certificate.subject,
    notBefore: options.notBefore ?? new Date(Date.now() - day),
    notAfter: options.notAfter ?? new Date(Date.now() + 30 * day),
    publicKey: keys.publicKey,
    signingKey: issuer.keys.privateKey,
    signingAlgorithm: keyAlgorithms[issuer.kind].generate,
    extensions,
  });
  return issued(certificate, keys, kind);
}

export interface Subject {
  mediaType: string;
  digest: string;
  size: number;
}

export interface SignOptions {
  format: 'jws' | 'cose';
  subject: Subject;
  /** The signing certificate (its private key signs) followed by the rest of the chain, root last. */
  chain: Issued[];
  signingTime?: Date;
  expiry?: Date;
  /** Sign as notary.x509.signingAuthority with this authentic signing time. */
  authenticSigningTime?: Date;
  /** Override the `alg` written (the key still signs with its own algorithm). */
  alg?: string;
  /** More protected headers, and names to add to `crit`. */
  extraProtected?: Record<string, unknown>;
  extraCritical?: string[];
  /** Replace the payload's targetArtifact. */
  targetArtifact?: Record<string, unknown>;
}

export interface SignedEnvelope {
  envelope: Buffer;
  mediaType: 'application/jose+json' | 'application/cose';
}

const payloadType = 'application/vnd.cncf.notary.payload.v1+json';

function signBytes(signer: Issued, alg: string, data: Buffer): Buffer {
  const hash = { '256': 'sha256', '384': 'sha384', '512': 'sha512' }[alg.slice(2)]!;
  if (alg.startsWith('PS'))
    return sign(hash, data, { key: signer.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(alg.slice(2)) / 8 });
  return sign(hash, data, { key: signer.privateKey, dsaEncoding: 'ieee-p1363' });
}

function seconds(date: Date): Tag {
  return new Tag(1, Math.floor(date.getTime() / 1000));
}

function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A signature envelope over `{"targetArtifact": subject}` as `notation sign` writes it. */
export function signEnvelope(options: SignOptions): SignedEnvelope {
  const [signer] = options.chain;
  const alg = options.alg ?? keyAlgorithms[signer.kind].jws;
  const payload = Buffer.from(JSON.stringify({ targetArtifact: options.targetArtifact ?? { ...options.subject } }));
  const scheme = options.authenticSigningTime ? 'notary.x509.signingAuthority' : 'notary.x509';
  const crit = ['io.cncf.notary.signingScheme'];
  if (options.authenticSigningTime) crit.push('io.cncf.notary.authenticSigningTime');
  if (options.expiry) crit.push('io.cncf.notary.expiry');
  crit.push(...(options.extraCritical ?? []));
  const signingTime = options.signingTime ?? new Date();
  if (options.format === 'jws') {
    const headers: Record<string, unknown> = { alg, crit, cty: payloadType, 'io.cncf.notary.signingScheme': scheme };
    if (options.authenticSigningTime) headers['io.cncf.notary.authenticSigningTime'] = rfc3339(options.authenticSigningTime);
    else headers['io.cncf.notary.signingTime'] = rfc3339(signingTime);
    if (options.expiry) headers['io.cncf.notary.expiry'] = rfc3339(options.expiry);
    Object.assign(headers, options.extraProtected);
    const protectedPart = Buffer.from(JSON.stringify(headers)).toString('base64url');
    const payloadPart = payload.toString('base64url');
    const signature = signBytes(signer, keyAlgorithms[signer.kind].jws, Buffer.from(`${protectedPart}.${payloadPart}`, 'ascii'));
    const jws = {
      payload: payloadPart,
      protected: protectedPart,
      header: { x5c: options.chain.map((c) => c.der.toString('base64')), 'io.cncf.notary.signingAgent': 'notation-go/1.3.0' },
      signature: signature.toString('base64url'),
    };
    return { envelope: Buffer.from(JSON.stringify(jws)), mediaType: 'application/jose+json' };
  }
  const coseAlg = options.alg ? Object.values(keyAlgorithms).find((a) => a.jws === options.alg)!.cose : keyAlgorithms[signer.kind].cose;
  const headers = new Map<unknown, unknown>([
    [1, coseAlg],
    [2, crit],
    [3, payloadType],
    ['io.cncf.notary.signingScheme', scheme],
  ]);
  if (options.authenticSigningTime) headers.set('io.cncf.notary.authenticSigningTime', seconds(options.authenticSigningTime));
  else headers.set('io.cncf.notary.signingTime', seconds(signingTime));
  if (options.expiry) headers.set('io.cncf.notary.expiry', seconds(options.expiry));
  for (const [name, value] of Object.entries(options.extraProtected ?? {})) headers.set(name, value);
  const protectedBytes = Buffer.from(encode(headers));
  const toBeSigned = Buffer.from(encode(['Signature1', new Uint8Array(protectedBytes), new Uint8Array(0), new Uint8Array(payload)]));
  const signature = signBytes(signer, keyAlgorithms[signer.kind].jws, toBeSigned);
  const unprotected = new Map<unknown, unknown>([
    [33, options.chain.map((c) => new Uint8Array(c.der))],
    ['io.cncf.notary.signingAgent', 'notation-go/1.3.0'],
  ]);
  const message = encode(new Tag(18, [new Uint8Array(protectedBytes), unprotected, new Uint8Array(payload), new Uint8Array(signature)]));
  return { envelope: Buffer.from(message), mediaType: 'application/cose' };
}

export function sha256Digest(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** The signature manifest `notation sign` pushes (OCI 1.1 artifactType, empty config, subject, thumbprint annotation). */
export function notationManifest(signed: SignedEnvelope, subject: Subject, chain: Issued[]): Record<string, unknown> {
  return {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    artifactType: 'application/vnd.cncf.notary.signature',
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256Digest('{}'), size: 2 },
    layers: [{ mediaType: signed.mediaType, digest: sha256Digest(signed.envelope), size: signed.envelope.length }],
    subject,
    annotations: {
      'io.cncf.notary.x509chain.thumbprint#S256': JSON.stringify(chain.map((c) => createHash('sha256').update(c.der).digest('hex'))),
    },
  };
}
