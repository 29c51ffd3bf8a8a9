import { createHash, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toTrustMaterial } from '@sigstore/verify';
import { apiError } from '../lib/errors.js';
import { trustKeyTypes, type TrustKeyType } from './types.js';

/** A trusted key as sent to POST …/trust/keys, checked and fingerprinted. */
export interface TrustKeyInput {
  name: string;
  type: TrustKeyType;
  /** As stored: the key or certificates re-encoded as PEM; a trusted root as sent. */
  pem: string;
  fingerprint: string;
}

const maxPemBytes = 256 * 1024;
const sha256Hex = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const bad = (message: string) => apiError('BAD_REQUEST', message);

/** Checks the body of a trusted-key create: every field present, and the PEM the kind of key its type says. */
export function parseTrustKeyInput(body: Record<string, unknown>): TrustKeyInput {
  for (const field of Object.keys(body)) {
    if (!['name', 'type', 'pem'].includes(field)) throw bad(`unknown field "${field}": a trusted key has name, type and pem`);
  }
  const { name, type, pem } = body;
  if (typeof name !== 'string' || name.trim() === '') throw bad('name is required: a non-empty string');
  if (name.length > 255) throw bad('name may have at most 255 characters');
  if (typeof type !== 'string' || !(trustKeyTypes as readonly string[]).includes(type)) {
    throw bad(`type must be one of ${trustKeyTypes.join(', ')}, not ${JSON.stringify(type ?? null)}`);
  }
  if (typeof pem !== 'string' || pem.trim() === '') throw bad('pem is required: the key, certificates or trusted root as text');
  if (Buffer.byteLength(pem) > maxPemBytes) throw bad(`pem may have at most ${maxPemBytes} bytes`);
  const parsed = parseKeyMaterial(type as TrustKeyType, pem);
  return { name: name.trim(), type: type as TrustKeyType, ...parsed };
}

export function parseKeyMaterial(type: TrustKeyType, pem: string): { pem: string; fingerprint: string } {
  switch (type) {
    case 'cosign':
      return cosignKey(pem);
    case 'notation-ca':
      return notationCertificates(pem);
    case 'sigstore-root':
      return sigstoreRoot(pem);
  }
}

/** cosign.pub: one SPKI public key, ECDSA (P-256, P-384, P-521), Ed25519 or RSA (2048 bits or more). */
function cosignKey(pem: string): { pem: string; fingerprint: string } {
  const blocks = pemBlocks(pem);
  if (blocks.length !== 1 || blocks[0].label !== 'PUBLIC KEY') {
    if (blocks.some((b) => b.label.includes('PRIVATE')))
      throw bad('pem holds a private key: give the public key (cosign.pub), never the private one');
    throw bad('a cosign key must be one PEM block "-----BEGIN PUBLIC KEY-----" (cosign.pub)');
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: blocks[0].der, format: 'der', type: 'spki' });
  } catch (err) {
    throw bad(`pem is not a public key: ${(err as Error).message}`);
  }
  checkCosignKeyKind(key);
  const der = key.export({ format: 'der', type: 'spki' });
  return { pem: key.export({ format: 'pem', type: 'spki' }).toString(), fingerprint: sha256Hex(der) };
}

function checkCosignKeyKind(key: KeyObject): void {
  const kind = key.asymmetricKeyType;
  if (kind === 'ed25519') return;
  if (kind === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'prime256v1' || curve === 'secp384r1' || curve === 'secp521r1') return;
    throw bad(`an ECDSA cosign key must be on P-256, P-384 or P-521, not ${curve}`);
  }
  if (kind === 'rsa') {
    if ((key.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048) return;
    throw bad('an RSA cosign key must have at least 2048 bits');
  }
  throw bad(`a cosign key must be ECDSA, Ed25519 or RSA, not ${kind}`);
}

/** Notation's trust store: one or more X.509 CA certificates (the roots signatures must chain to). */
function notationCertificates(pem: string): { pem: string; fingerprint: string } {
  const blocks = pemBlocks(pem);
  if (blocks.length === 0) throw bad('pem holds no "-----BEGIN CERTIFICATE-----" block');
  const ders: Buffer[] = [];
  for (const [i, block] of blocks.entries()) {
    if (block.label !== 'CERTIFICATE') throw bad(`block ${i + 1} of pem is "${block.label}", not a CERTIFICATE`);
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(block.der);
    } catch (err) {
      throw bad(`certificate ${i + 1} of pem does not parse: ${(err as Error).message}`);
    }
    if (!cert.ca)
      throw bad(`certificate ${i + 1} (${cert.subject.replace(/\n/g, ', ')}) is not a CA certificate (basicConstraints CA:TRUE)`);
    ders.push(cert.raw);
  }
  const text = ders.map((der) => toPem('CERTIFICATE', der)).join('');
  return { pem: text, fingerprint: sha256Hex(Buffer.concat(ders)) };
}

/** A Sigstore trusted_root.json (Fulcio CAs, Rekor, CT log and TSA keys), checked part by part. */
function sigstoreRoot(text: string): { pem: string; fingerprint: string } {
  let doc: any;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw bad(`a sigstore-root must be a trusted_root.json document: ${(err as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw bad('a sigstore-root must be a JSON object (trusted_root.json)');
  if (typeof doc.mediaType !== 'string' || !doc.mediaType.startsWith('application/vnd.dev.sigstore.trustedroot')) {
    throw bad('a sigstore-root needs mediaType "application/vnd.dev.sigstore.trustedroot+json;version=0.1" (or a later version)');
  }
  const list = (field: string): any[] => {
    const value = doc[field];
    if (value === undefined) return [];
    if (!Array.isArray(value)) throw bad(`${field} of the trusted root must be an array`);
    return value;
  };
  const cas = [...list('certificateAuthorities'), ...list('timestampAuthorities')];
  const logs = [...list('tlogs'), ...list('ctlogs')];
  if (cas.length === 0 && logs.length === 0) throw bad('the trusted root names no certificate authority and no log key');
  for (const [i, ca] of cas.entries()) {
    const certs = ca?.certChain?.certificates;
    if (!Array.isArray(certs) || certs.length === 0) throw bad(`certificate authority ${i + 1} has no certChain.certificates`);
    for (const cert of certs) {
      try {
        new X509Certificate(Buffer.from(String(cert?.rawBytes ?? ''), 'base64'));
      } catch {
        throw bad(`a certificate of certificate authority ${i + 1} (${ca?.uri ?? 'no uri'}) does not parse as X.509 DER (base64 rawBytes)`);
      }
    }
  }
  for (const [i, log] of logs.entries()) {
    try {
      createPublicKey({ key: Buffer.from(String(log?.publicKey?.rawBytes ?? ''), 'base64'), format: 'der', type: 'spki' });
    } catch {
      throw bad(`the public key of log ${i + 1} (${log?.baseUrl ?? 'no baseUrl'}) does not parse as SPKI DER (base64 rawBytes)`);
    }
    if (typeof log?.logId?.keyId !== 'string') throw bad(`log ${i + 1} (${log?.baseUrl ?? 'no baseUrl'}) has no logId.keyId`);
  }
  try {
    // What the Sigstore verifier (verify/sigstore.ts) builds from it must build now, not at the first pull.
    toTrustMaterial(TrustedRoot.fromJSON(doc));
  } catch (err) {
    throw bad(`the trusted root cannot be used by the Sigstore verifier: ${(err as Error).message}`);
  }
  return { pem: text, fingerprint: sha256Hex(text) };
}

interface PemBlock {
  label: string;
  der: Buffer;
}

/** The PEM blocks of a text; anything outside them is ignored, as openssl does. */
export function pemBlocks(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const body = m[2].replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body === '') throw bad(`the "${m[1]}" block of pem is not base64`);
    out.push({ label: m[1], der: Buffer.from(body, 'base64') });
  }
  if (out.length === 0 && /-----BEGIN /.test(text)) throw bad('pem has a BEGIN line without its matching END line');
  return out;
}

function toPem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
