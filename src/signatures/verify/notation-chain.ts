import { X509Certificate as NodeCertificate, type KeyObject } from 'node:crypto';
import { X509Certificate as Asn1Certificate } from '@sigstore/core';

/**
 * The certificate rules of the Notary Project signature specification ("Certificate
 * Requirements") and its trust-store step (trust-store-trust-policy.md, "Validate
 * Authenticity"). Node's X509Certificate verifies issuers and signatures; @sigstore/core's
 * parser reads what Node does not expose (extension criticality, key usage bits).
 */

const oid = {
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
};
/** Key usage bit positions (RFC 5280 §4.2.1.3). */
const keyUsageBits = {
  digitalSignature: 0,
  keyEncipherment: 2,
  dataEncipherment: 3,
  keyAgreement: 4,
  keyCertSign: 5,
  cRLSign: 6,
  encipherOnly: 7,
  decipherOnly: 8,
};
const forbiddenLeafUsages = [
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
] as const;
/** Extended key usages a code-signing certificate must not carry. */
const forbiddenExtendedUsages: Record<string, string> = {
  '2.5.29.37.0': 'anyExtendedKeyUsage',
  '1.3.6.1.5.5.7.3.1': 'serverAuth',
  '1.3.6.1.5.5.7.3.2': 'clientAuth',
  '1.3.6.1.5.5.7.3.4': 'emailProtection',
  '1.3.6.1.5.5.7.3.8': 'timeStamping',
};

export interface ChainCertificate {
  node: NodeCertificate;
  asn1: Asn1Certificate;
}

export class ChainError extends Error {}

export function readCertificates(ders: Buffer[]): ChainCertificate[] {
  return ders.map((der, index) => {
    try {
      return { node: new NodeCertificate(der), asn1: Asn1Certificate.parse(der as Buffer<ArrayBuffer>) };
    } catch {
      throw new ChainError(`certificate ${index + 1} of the chain is not an X.509 certificate`);
    }
  });
}

/** "C=US, O=Example, CN=signer": the subject as the Notary Project's trusted identities write it. */
export function subjectName(certificate: NodeCertificate): string {
  return certificate.subject.split('\n').filter(Boolean).join(', ');
}

function keyUsage(certificate: Asn1Certificate): { critical: boolean; bits: number[] } | undefined {
  const extension = certificate.extension(oid.keyUsage);
  if (!extension) return undefined;
  return { critical: extension.critical, bits: extension.valueObj.subs[0]?.toBitString() ?? [] };
}

function describe(certificate: ChainCertificate): string {
  return `"${subjectName(certificate.node)}"`;
}

function checkKeyLength(key: KeyObject, what: string): void {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa' && (details.modulusLength ?? 0) < 2048)
    throw new ChainError(`${what} has an RSA key shorter than 2048 bits`);
  if (key.asymmetricKeyType === 'ec' && !['prime256v1', 'secp384r1', 'secp521r1'].includes(details.namedCurve ?? '')) {
    throw new ChainError(`${what} has an EC key on a curve shorter than 256 bits or not allowed (${details.namedCurve})`);
  }
  if (key.asymmetricKeyType !== 'rsa' && key.asymmetricKeyType !== 'ec')
    throw new ChainError(`${what} has a ${key.asymmetricKeyType} key; Notation signs with RSA or ECDSA`);
}

function checkLeaf(leaf: ChainCertificate): void {
  const name = `the signing certificate ${describe(leaf)}`;
  const constraints = leaf.asn1.extension(oid.basicConstraints);
  if (constraints && leaf.asn1.extBasicConstraints?.isCA) throw new ChainError(`${name} is a CA certificate (basicConstraints cA true)`);
  const usage = keyUsage(leaf.asn1);
  if (!usage) throw new ChainError(`${name} has no keyUsage extension`);
  if (!usage.critical) throw new ChainError(`${name}'s keyUsage extension is not critical`);
  if (usage.bits[keyUsageBits.digitalSignature] !== 1) throw new ChainError(`${name}'s keyUsage lacks digitalSignature`);
  const extra = forbiddenLeafUsages.filter((u) => usage.bits[keyUsageBits[u]] === 1);
  if (extra.length > 0) throw new ChainError(`${name}'s keyUsage also allows ${extra.join(', ')}`);
  if (leaf.asn1.extension(oid.extKeyUsage)) {
    const usages = leaf.node.keyUsage ?? [];
    const bad = usages.filter((u) => forbiddenExtendedUsages[u]).map((u) => forbiddenExtendedUsages[u]);
    if (bad.length > 0)
      throw new ChainError(`${name}'s extendedKeyUsage has ${bad.join(', ')}, which a code-signing certificate must not have`);
  }
  checkKeyLength(leaf.node.publicKey, name);
}

function checkAuthority(ca: ChainCertificate, casBelow: number): void {
  const name = `the CA certificate ${describe(ca)}`;
  const constraints = ca.asn1.extension(oid.basicConstraints);
  if (!constraints || !constraints.critical || !ca.asn1.extBasicConstraints?.isCA) {
    throw new ChainError(`${name} lacks a critical basicConstraints extension with cA true`);
  }
  const pathLength = ca.asn1.extBasicConstraints.pathLenConstraint;
  if (pathLength !== undefined && pathLength < BigInt(casBelow))
    throw new ChainError(`${name}'s pathLenConstraint ${pathLength} is shorter than the chain below it`);
  const usage = keyUsage(ca.asn1);
  if (!usage || !usage.critical || usage.bits[keyUsageBits.keyCertSign] !== 1)
    throw new ChainError(`${name} lacks a critical keyUsage with keyCertSign`);
}

/**
 * Checks the envelope's chain: signing certificate first, each issued and signed by the
 * next, ending in a self-signed root; no SHA-1 signatures; every certificate valid at
 * `at`; and some certificate of it present in the trust store. Returns the trusted one.
 */
export function verifyChain(
  chain: ChainCertificate[],
  trusted: { name: string; certificate: NodeCertificate }[],
  at: Date,
): { name: string; certificate: NodeCertificate } {
  if (chain.length === 0) throw new ChainError('the envelope has no certificate');
  checkLeaf(chain[0]);
  for (let i = 1; i < chain.length; i++) checkAuthority(chain[i], i - 1);
  for (let i = 0; i < chain.length; i++) {
    const certificate = chain[i];
    const issuer = chain[i + 1] ?? certificate;
    const issued = certificate.node.checkIssued(issuer.node) && certificate.node.verify(issuer.node.publicKey);
    if (!issued) {
      throw new ChainError(
        i + 1 < chain.length
          ? `${describe(certificate)} is not issued and signed by the next certificate of the chain, ${describe(issuer)}`
          : `the chain does not end in a self-signed root certificate (${describe(certificate)} is not)`,
      );
    }
    const algorithm = certificate.asn1.signatureAlgorithm ?? '';
    if (/sha1/i.test(algorithm)) throw new ChainError(`${describe(certificate)} is signed with SHA-1`);
    if (!certificate.asn1.validForDate(at)) {
      throw new ChainError(
        `${describe(certificate)} is not valid at ${at.toISOString()} (valid ${certificate.asn1.notBefore.toISOString()} to ${certificate.asn1.notAfter.toISOString()})`,
      );
    }
  }
  for (const link of chain) {
    const match = trusted.find((t) => t.certificate.raw.equals(link.node.raw));
    if (match) return match;
  }
  throw new ChainError("no certificate of the chain is in the project's notation trust store");
}

/** The certificates of a notation-ca trust key (one PEM may hold several). */
export function trustStoreCertificates(pem: string): NodeCertificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const out: NodeCertificate[] = [];
  for (const block of blocks) {
    try {
      out.push(new NodeCertificate(block));
    } catch {
      // A key that does not parse was refused when added; skip rather than fail every signature.
    }
  }
  return out;
}
