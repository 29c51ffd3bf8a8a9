import type { ParsedManifest } from '../../oci/manifest.js';

export type Json = Record<string, unknown>;

/** What a processor may read about the artifact it describes. Reads are bounded and cached. */
export interface ArtifactContent {
  manifest: ParsedManifest;
  /** The config blob parsed as a JSON object; null when there is none or it is not small JSON. */
  config(): Promise<Json | null>;
  /** A child manifest of an index (same repository), parsed; null when absent. */
  child(digest: string): Promise<ParsedManifest | null>;
  /** A blob's config, parsed as JSON; null when absent or not small JSON. */
  jsonBlob(digest: string): Promise<Json | null>;
  /** A blob's bytes, at most `maxBytes`; null when absent or larger. */
  blob(digest: string, maxBytes: number): Promise<Buffer | null>;
}

export interface Addition {
  contentType: string;
  body: string;
}

/**
 * One kind of artifact (Harbor's "processor"): recognises its manifests, extracts
 * `extra_attrs` at push time, and serves its additions.
 */
export interface Processor {
  /** Harbor's artifact `type`: IMAGE, CHART, CNAB, WASM, … */
  readonly type: string;
  readonly icon: string;
  /** Addition names this kind offers (e.g. build_history, values.yaml). */
  readonly additions: readonly string[];
  owns(manifest: ParsedManifest): boolean;
  extraAttrs(content: ArtifactContent): Promise<Json>;
  addition(name: string, content: ArtifactContent): Promise<Addition | null>;
}

export const noAddition = async (): Promise<Addition | null> => null;

export function jsonAddition(value: unknown): Addition {
  return { contentType: 'application/json; charset=utf-8', body: JSON.stringify(value) };
}

/** Copies the named keys that are present. */
export function pick(source: Json | null, keys: readonly string[]): Json {
  const out: Json = {};
  if (!source) return out;
  for (const k of keys) if (source[k] !== undefined) out[k] = source[k];
  return out;
}
