import type { ParsedManifest } from '../oci/manifest.js';

/** Accessory types as Harbor names them, plus `sbom` and `attestation` for the formats Harbor files as generic. */
const byArtifactType: Record<string, string> = {
  'application/vnd.dev.cosign.artifact.sig.v1+json': 'signature.cosign',
  'application/vnd.dev.sigstore.bundle.v0.3+json': 'signature.cosign',
  'application/vnd.cncf.notary.signature': 'signature.notation',
  'application/vnd.goharbor.harbor.sbom.v1': 'sbom.harbor',
  'application/spdx+json': 'sbom',
  'text/spdx': 'sbom',
  'application/vnd.cyclonedx+json': 'sbom',
  'application/vnd.cyclonedx+xml': 'sbom',
  'application/vnd.syft+json': 'sbom',
  'application/vnd.in-toto+json': 'attestation',
  'application/vnd.dsse.envelope.v1+json': 'attestation',
  'application/vnd.dev.cosign.attestation.v1+json': 'attestation',
};

/** cosign's tag scheme: `sha256-<hex>.sig`, `.att` and `.sbom` name the artifact they belong to. */
const cosignTag = /^(sha256|sha512)-([a-f0-9]{64}|[a-f0-9]{128})\.(sig|att|sbom)$/;
const cosignTagTypes: Record<string, string> = { sig: 'signature.cosign', att: 'attestation', sbom: 'sbom' };

export interface AccessoryLink {
  /** Digest of the subject, in the same repository. */
  of: string;
  type: string;
}

/**
 * Whether a manifest pushed with these tags is an accessory of another artifact, and of
 * which type: an OCI `subject` decides, else a cosign-scheme tag.
 */
export function accessoryOf(manifest: ParsedManifest, tags: readonly string[]): AccessoryLink | null {
  if (manifest.subject) {
    const kind = manifest.declaredArtifactType ?? manifest.config?.mediaType ?? '';
    return { of: manifest.subject.digest, type: byArtifactType[kind] ?? layerAccessoryType(manifest) ?? 'subject.accessory' };
  }
  for (const tag of tags) {
    const match = cosignTag.exec(tag);
    if (match) return { of: `${match[1]}:${match[2]}`, type: cosignTagTypes[match[3]] };
  }
  return null;
}

/** An accessory with an empty config is typed by its layers (e.g. one SPDX layer). */
function layerAccessoryType(manifest: ParsedManifest): string | undefined {
  for (const layer of manifest.layers) {
    const type = byArtifactType[layer.mediaType];
    if (type) return type;
  }
  return undefined;
}
