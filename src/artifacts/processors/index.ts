import type { ParsedManifest } from '../../oci/manifest.js';
import { chartProcessor } from './chart.js';
import { cnabProcessor } from './cnab.js';
import { genericProcessor, genericType } from './generic.js';
import { imageIndexProcessor } from './image-index.js';
import { imageProcessor } from './image.js';
import type { Processor } from './processor.js';
import { sbomProcessor } from './sbom.js';
import { wasmProcessor } from './wasm.js';

/** In order: the first processor that owns a manifest describes it; the generic one owns everything. */
const processors: Processor[] = [
  chartProcessor,
  cnabProcessor,
  wasmProcessor,
  imageProcessor,
  imageIndexProcessor,
  sbomProcessor,
  genericProcessor,
];

export function processorFor(manifest: ParsedManifest): Processor {
  return processors.find((p) => p.owns(manifest))!;
}

/** The artifact type name: the processor's, or for the generic processor one derived from the media types. */
export function artifactTypeOf(manifest: ParsedManifest, processor: Processor): string {
  return processor === genericProcessor ? genericType(manifest) : processor.type;
}

/** The additions a stored artifact offers, from the type its processor gave it (no manifest read). */
export function additionsOf(type: string, isIndex: boolean): readonly string[] {
  if (isIndex) return [];
  return processors.find((p) => p.type === type && p !== imageIndexProcessor)?.additions ?? [];
}
