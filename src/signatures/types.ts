/**
 * Signatures' shared shapes: a project's trusted keys, what a verifier is given about one
 * signature accessory, and what it answers.
 *
 * Policies (project metadata, as Harbor): `enable_content_trust_cosign` and
 * `enable_content_trust` (Notation). Without trusted keys in the project, a signature of the
 * right kind that merely exists counts (Harbor's behaviour); with keys, only one that
 * verifies against them, for that exact subject digest.
 */

export type TrustKeyType = 'cosign' | 'notation-ca' | 'sigstore-root';

export const trustKeyTypes: readonly TrustKeyType[] = ['cosign', 'notation-ca', 'sigstore-root'];

/** A trusted key, certificate or Sigstore trusted root held by a project. */
export interface TrustKey {
  id: number;
  projectId: number;
  name: string;
  type: TrustKeyType;
  /**
   * cosign: an SPKI public key PEM (ECDSA P-256, Ed25519, RSA).
   * notation-ca: one or more X.509 CA certificates, PEM.
   * sigstore-root: a Sigstore trusted_root.json document (the API field is still `pem`).
   */
  pem: string;
  /** sha256 hex of the key material (SPKI DER, certificate DER, or the JSON text): shown, and the verification cache's key. */
  fingerprint: string;
  createdAt: string;
}

/** The kind of a signature accessory, from its accessory type and layout. */
export type SignatureKind = 'cosign' | 'notation';

/** What a verifier is given for one signature accessory of one subject. */
export interface SignatureInput {
  /** The signed artifact. */
  subject: { digest: string; mediaType: string; size: number; repository: string };
  /** The signature accessory (its manifest, parsed, and its own digest). */
  signature: {
    digest: string;
    mediaType: string;
    /** `artifactType`, else the config media type. */
    artifactType: string;
    manifest: any;
  };
  /** Reads a blob of the signature's repository whole (signature layers are small; callers cap the size). */
  readBlob(digest: string): Promise<Buffer>;
}

export interface VerificationResult {
  verified: boolean;
  /** Who signed, as the trust material names them: the key's name, a certificate subject, a keyless identity (SAN + issuer). */
  signer?: string;
  /** The trusted key (TrustKey.name) it verified against. */
  keyName?: string;
  /** Why it did not verify (or what was checked), in words. */
  reason?: string;
}

/** Verifies one signature against a project's keys of the types it uses; never throws for a bad signature. */
export type SignatureVerifier = (input: SignatureInput, keys: TrustKey[]) => Promise<VerificationResult>;

/** One signature as the artifact API and the portal show it (Berth extension field `signatures` on Artifact). */
export interface SignatureView {
  digest: string;
  /** 'cosign' | 'notation' */
  kind: SignatureKind;
  /** 'verified' — checked against the project's keys; 'unverified' — keys exist, it did not verify; 'signed' — the project has no keys of that kind, so not checked. */
  status: 'verified' | 'unverified' | 'signed';
  signer?: string;
  key_name?: string;
  reason?: string;
}

/** Outbox-free: results are cached per (signature digest, trust fingerprint set) in signature_verifications. */
export const signaturePolicyKeys = {
  cosign: 'enable_content_trust_cosign',
  notation: 'enable_content_trust',
} as const;
