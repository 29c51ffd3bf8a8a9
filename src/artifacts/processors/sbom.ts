import type { ParsedManifest } from '../../oci/manifest.js';
import { genericProcessor, genericType } from './generic.js';
import type { Processor } from './processor.js';

/** Harbor's SBOM artifactType; its `sbom` addition answers with this content type. */
const harborSbomType = 'application/vnd.goharbor.harbor.sbom.v1';
/** SBOM documents are JSON of a few megabytes at most; a larger layer is not served as an addition. */
const maxSbomBytes = 64 * 1024 * 1024;

/**
 * SBOM artifacts (Harbor's `sbom.harbor` accessories, SPDX or CycloneDX referrers): typed and
 * described as the generic processor does, plus Harbor's `sbom` addition, the document held
 * by the artifact's one layer (what Harbor's portal reads through `addition_links.sboms`).
 */
export const sbomProcessor: Processor = {
  type: 'SBOM',
  icon: genericProcessor.icon,
  additions: ['sbom'],
  owns: (m: ParsedManifest) => m.kind === 'image' && genericType(m) === 'SBOM',
  extraAttrs: (content) => genericProcessor.extraAttrs(content),
  async addition(name, content) {
    const m = content.manifest;
    if (name !== 'sbom' || m.layers.length !== 1) return null;
    const bytes = await content.blob(m.layers[0].digest, maxSbomBytes);
    if (!bytes) return null;
    const harbor = m.declaredArtifactType === harborSbomType || m.config?.mediaType === harborSbomType;
    return { contentType: harbor ? harborSbomType : m.layers[0].mediaType, body: bytes.toString('utf8') };
  },
};
