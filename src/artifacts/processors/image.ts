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

/** Container images (Docker schema 2 and OCI), and anything else with an image config and no artifactType. */
export const imageProcessor: Processor = {
  type: 'IMAGE',
  icon: icons.image,
  additions: ['build_history'],
  owns: (m: ParsedManifest) => m.kind === 'image' && m.declaredArtifactType === null && imageConfigTypes.has(m.config!.mediaType),
  async extraAttrs(content) {
    return pick(await content.config(), ['architecture', 'os', 'variant', 'author', 'created', 'config']);
  },
  async addition(name, content) {
    return name === 'build_history' ? buildHistory(content) : null;
  },
};
