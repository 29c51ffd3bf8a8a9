import type { ParsedManifest } from '../../oci/manifest.js';
import { mediaTypes } from '../../oci/mediatypes.js';
import { icons } from '../icons.js';
import { jsonAddition, pick, type ArtifactContent, type Processor } from './processor.js';

const imageConfigTypes = new Set<string>([mediaTypes.ociConfig, mediaTypes.dockerConfig]);

/** The image history as `docker history` shows it. */
export async function buildHistory(content: ArtifactContent) {
  const config = await content.config();
  const history = Array.isArray(config?.history) ? config.history : [];
  return jsonAddition(history);
}

/** One entry of the `layers` addition (Berth's own): a layer descriptor of the manifest. */
export interface LayerEntry {
  /** 0-based position in the manifest's layers. */
  index: number;
  digest: string;
  media_type: string;
  size: number;
}

/** The manifest's layers, in its order, from the stored manifest alone (no blob is read). */
export function layers(content: ArtifactContent) {
  const entries: LayerEntry[] = content.manifest.layers.map((l, index) => ({
    index,
    digest: l.digest,
    media_type: l.mediaType,
    size: l.size,
  }));
  return jsonAddition(entries);
}

/** Container images (Docker schema 2 and OCI), and anything else with an image config and no artifactType. */
export const imageProcessor: Processor = {
  type: 'IMAGE',
  icon: icons.image,
  additions: ['build_history', 'layers'],
  owns: (m: ParsedManifest) => m.kind === 'image' && m.declaredArtifactType === null && imageConfigTypes.has(m.config!.mediaType),
  async extraAttrs(content) {
    return pick(await content.config(), ['architecture', 'os', 'variant', 'author', 'created', 'config']);
  },
  async addition(name, content) {
    if (name === 'build_history') return buildHistory(content);
    if (name === 'layers') return layers(content);
    return null;
  },
};
