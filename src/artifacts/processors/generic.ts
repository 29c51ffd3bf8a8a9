import type { ParsedManifest } from '../../oci/manifest.js';
import { mediaTypes } from '../../oci/mediatypes.js';
import { icons } from '../icons.js';
import { noAddition, type Processor } from './processor.js';

const sbomTypes = new Set(['application/vnd.goharbor.harbor.sbom.v1', 'application/spdx+json', 'application/vnd.cyclonedx+json', 'text/spdx', 'application/vnd.syft+json']);
const signatureTypes = new Set([
  'application/vnd.dev.cosign.artifact.sig.v1+json',
  'application/vnd.dev.sigstore.bundle.v0.3+json',
  'application/vnd.cncf.notary.signature',
]);

/**
 * A type name for an artifact no dedicated processor owns, from its artifactType or
 * config media type: `application/vnd.<vendor>.<kind>.config.v1+json` is KIND, as
 * Harbor derives it; SBOMs and signatures get their own names; anything else UNKNOWN.
 */
export function genericType(m: ParsedManifest): string {
  const declared = m.declaredArtifactType;
  const configType = m.config && m.config.mediaType !== mediaTypes.ociEmpty ? m.config.mediaType : null;
  for (const t of [declared, configType]) {
    if (!t) continue;
    if (sbomTypes.has(t)) return 'SBOM';
    if (signatureTypes.has(t)) return 'SIGNATURE';
    const match = /^application\/vnd\.[^.]+\.([a-z0-9.-]+?)\.(?:config|manifest)(?:\.v[0-9a-z]+)?(?:\+json)?$/i.exec(t);
    if (match) return match[1].replace(/[.-]/g, '_').toUpperCase();
  }
  return 'UNKNOWN';
}

/** Every other OCI artifact: typed by its media types, its config (when small JSON) as extra_attrs. */
export const genericProcessor: Processor = {
  type: 'UNKNOWN',
  icon: icons.generic,
  additions: [],
  owns: () => true,
  async extraAttrs(content) {
    const m = content.manifest;
    if (!m.config || m.config.mediaType === mediaTypes.ociEmpty || !/json/i.test(m.config.mediaType)) return {};
    return (await content.config()) ?? {};
  },
  addition: noAddition,
};
