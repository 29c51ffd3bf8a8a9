import type { ParsedManifest } from '../../oci/manifest.js';
import { icons } from '../icons.js';
import { noAddition, pick, type Json, type Processor } from './processor.js';

const cnabManifestType = 'application/vnd.cnab.manifest.v1';
const cnabConfigType = 'application/vnd.cnab.config.v1+json';
const bundleKeys = ['schemaVersion', 'name', 'version', 'description', 'keywords', 'maintainers', 'license', 'invocationImages', 'images', 'parameters', 'credentials', 'outputs', 'custom'];

function isCnab(m: ParsedManifest): boolean {
  if (m.kind === 'image') return m.config!.mediaType === cnabConfigType;
  const a = m.annotations ?? {};
  return m.declaredArtifactType === cnabManifestType || a['org.opencontainers.artifactType'] === cnabManifestType || 'io.cnab.runtime_version' in a;
}

/**
 * CNAB bundles as cnab-to-oci pushes them: an index whose child annotated
 * `io.cnab.manifest.type: config` holds bundle.json as its config.
 */
export const cnabProcessor: Processor = {
  type: 'CNAB',
  icon: icons.cnab,
  additions: [],
  owns: isCnab,
  async extraAttrs(content) {
    const m = content.manifest;
    let bundle: Json | null = null;
    if (m.kind === 'image') bundle = await content.config();
    else {
      const configChild = m.manifests.find((d) => d.annotations?.['io.cnab.manifest.type'] === 'config');
      const child = configChild ? await content.child(configChild.digest) : null;
      if (child?.config) bundle = await content.jsonBlob(child.config.digest);
    }
    return pick(bundle, bundleKeys);
  },
  addition: noAddition,
};
