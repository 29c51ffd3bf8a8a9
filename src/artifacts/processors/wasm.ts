import { icons } from '../icons.js';
import { buildHistory } from './image.js';
import { pick, type Processor } from './processor.js';

const wasmConfigTypes = new Set(['application/vnd.wasm.config.v1+json', 'application/vnd.wasm.config.v0+json', 'application/vnd.module.wasm.config.v1+json']);
const wasmLayerTypes = new Set(['application/vnd.wasm.content.layer.v1+wasm', 'application/wasm', 'application/vnd.module.wasm.content.layer.v1+wasm']);

/** WebAssembly modules: wasm-to-oci, the OCI WASM artifact layout, and images whose layers are WASM. */
export const wasmProcessor: Processor = {
  type: 'WASM',
  icon: icons.wasm,
  additions: ['build_history'],
  owns: (m) =>
    m.kind === 'image' &&
    (wasmConfigTypes.has(m.config!.mediaType) ||
      (m.declaredArtifactType !== null && wasmConfigTypes.has(m.declaredArtifactType)) ||
      (m.layers.length > 0 && m.layers.every((l) => wasmLayerTypes.has(l.mediaType)))),
  async extraAttrs(content) {
    return pick(await content.config(), ['architecture', 'os', 'author', 'created', 'config', 'layerDigests', 'components']);
  },
  async addition(name, content) {
    return name === 'build_history' ? buildHistory(content) : null;
  },
};
